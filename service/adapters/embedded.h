#pragma once
/// The embedded default deployment in one call: SQLite at <dataDir>/quacktracks.db, blobs on
/// local disk at <dataDir>/blobs signed with <dataDir>/secret.key, scratch at <dataDir>/scratch.
/// Used by `quacktracks serve`, `quacktracks worker` and the HTTP tests.
#include "service/adapters/local_blob_store.h"
#include "service/adapters/sqlite_database.h"
#include "service/app/config.h"
#include "service/app/mastering_service.h"

#include <memory>

namespace quack::service {

struct EmbeddedServices {
    std::shared_ptr<SqliteDatabase> db;
    std::shared_ptr<LocalBlobStore> blobs;
    std::shared_ptr<Clock> clock;
    std::shared_ptr<MasteringService> service;
};

/// Creates dataDir (and blobs/, scratch/) if missing, opens/migrates the database, loads or
/// creates the signing secret. Errors: Internal naming the path that failed (no secrets).
ApiResult<EmbeddedServices> openEmbedded(const ServiceConfig& config,
                                         std::shared_ptr<Clock> clock = systemClock());

} // namespace quack::service
