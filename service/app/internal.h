#pragma once
/// Small helpers shared by the use cases, the worker and the sweeper (not part of the contract).
#include "service/app/ports.h"
#include "service/domain/types.h"

#include <string>
#include <string_view>

namespace quack::service::detail {

/// prefix + 22 random base32 characters (110 bits), lower case: valid in blob keys and URLs.
std::string randomId(std::string_view prefix);
/// Lower-case hex SHA-256.
std::string sha256Hex(std::string_view data);
/// "2026-11-27T14:03:00Z".
std::string isoUtc(UnixSeconds t);
/// Blob key of a job's master: attempt-specific, so a worker that lost its lease can remove
/// what it stored without touching the master of the worker that took over.
std::string masterKey(const Job& job, std::string_view extension);
/// "<dataDir>/scratch".
std::string scratchDir(const std::string& dataDir);

/// Deletes a job's original and master bytes now and marks the job deleted (records events).
/// The status is written first: a worker still processing it then fails its next heartbeat
/// and abandons, and removes whatever it stored itself.
ApiStatus deleteJobFiles(Database& db, BlobStore& blobs, Job job, UnixSeconds now, const std::string& reason);
/// Deletes an upload's bytes, marks it deleted and records why.
ApiStatus deleteUploadBytes(Database& db, BlobStore& blobs, const Upload& upload, UnixSeconds now,
                            const std::string& reason);

} // namespace quack::service::detail
