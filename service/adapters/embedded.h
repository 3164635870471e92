#pragma once
/// The embedded default's adapters: SQLite at <dataDir>/quacktracks.db, blobs on local disk at
/// <dataDir>/blobs signed with <dataDir>/secret.key, scratch at <dataDir>/scratch. The host
/// (service/host/services.h) picks them when no database URL or bucket is configured; tests of
/// the adapters use them directly.
#include "service/adapters/local_blob_store.h"
#include "service/adapters/sqlite_database.h"
#include "service/app/config.h"

#include <memory>

namespace quack::service {

struct EmbeddedAdapters {
    std::shared_ptr<SqliteDatabase> db;
    std::shared_ptr<LocalBlobStore> blobs;
};

/// Creates dataDir (and blobs/, scratch/) if missing, opens/migrates the database, loads or
/// creates the signing secret. Errors: Internal naming the path that failed (no secrets).
/// withDatabase false: only the directories and the local store (the database is elsewhere;
/// db stays null).
ApiResult<EmbeddedAdapters> openEmbeddedAdapters(const ServiceConfig& config, bool withDatabase = true);

} // namespace quack::service
