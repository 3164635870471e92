#pragma once
/// The one place that reads the configuration and picks the adapters (the composition root):
/// the database (SQLite file by default; PostgreSQL when database_url is set), the blob store
/// (local disk by default; S3/R2 when s3_endpoint is set), the password hasher, and later the
/// identity providers, mailer and payment processor. `serve`, `worker`, `admin` and the HTTP
/// tests all start here, so every process of one deployment runs on the same adapters.
#include "service/app/config.h"
#include "service/app/mastering_service.h"

#include <memory>
#include <string>

namespace quack::service {

struct Services {
    ServicePorts ports;
    /// The store's own signed-URL endpoint, when the store has one (local disk); null when the
    /// bucket serves the URLs itself.
    std::shared_ptr<SignedUrlEndpoint> urlEndpoint;
    /// Job change notifications across processes (PostgreSQL); null: the server polls.
    std::shared_ptr<JobChangeFeed> changeFeed;
    std::shared_ptr<MasteringService> service;
    /// Origin of presigned URLs when they point elsewhere (the bucket), for the CSP.
    std::string blobOrigin;
    std::string description; ///< e.g. "sqlite + local disk", for the start-up line (no secrets)

    Database& db() const { return *ports.db; }
    BlobStore& blobs() const { return *ports.blobs; }
};

/// Creates what the data directory needs (mode 0700), opens or migrates the database, loads
/// or creates the signing secret. Errors name the setting or path that failed, never a secret.
ApiResult<Services> openServices(const ServiceConfig& config, std::shared_ptr<Clock> clock = systemClock());

} // namespace quack::service
