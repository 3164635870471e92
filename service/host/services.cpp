#include "service/host/services.h"

#include "service/adapters/argon2_hasher.h"
#include "service/adapters/embedded.h"
#include "service/adapters/postgres_database.h"
#include "service/adapters/s3_blob_store.h"

namespace quack::service {

ApiResult<Services> openServices(const ServiceConfig& config, std::shared_ptr<Clock> clock) {
    Services s;
    s.ports.clock = std::move(clock);
    s.ports.hasher = std::make_shared<Argon2Hasher>(
        Argon2Params{config.passwordHashOpsLimit, config.passwordHashMemoryBytes, config.maxConcurrentHashes,
                     config.maxQueuedHashes});

    // The local store and the data directory exist in every deployment: scratch space for the
    // engine, and the blobs when no bucket is configured.
    auto embedded = openEmbeddedAdapters(config, config.databaseUrl.empty());
    if (!embedded)
        return embedded.error();
    std::string dbName = "SQLite";
    if (config.databaseUrl.empty()) {
        s.ports.db = embedded->db;
    } else {
        auto pg = openPostgres(config.databaseUrl);
        if (!pg)
            return pg.error(); // names host:port, never the password
        s.ports.db = pg.value();
        s.changeFeed = pg.value();
        dbName = "PostgreSQL";
    }
    std::string storeName = "local disk";
    if (config.s3Endpoint.empty()) {
        s.ports.blobs = embedded->blobs;
        s.urlEndpoint = embedded->blobs;
    } else {
        auto s3 = S3BlobStore::create(s3ConfigFrom(config), s.ports.clock);
        if (!s3)
            return s3.error(); // names the setting, never the secret
        // Fail at start-up, not on the first job: a missing bucket or refused credentials.
        if (auto st = s3.value()->checkBucket(); !st)
            return st.error();
        // The browser talks to the bucket directly: allow the app's origins (CORS).
        std::vector<std::string> origins = config.allowedOrigins;
        if (origins.empty() && !config.publicBaseUrl.empty())
            origins.push_back(config.publicBaseUrl);
        if (!origins.empty())
            if (auto st = s3.value()->applyCors(origins); !st)
                return st.error();
        s.blobOrigin = s3.value()->publicOrigin();
        s.ports.blobs = std::shared_ptr<S3BlobStore>(std::move(s3).value());
        storeName = "S3 bucket " + config.s3Bucket;
    }
    s.description = dbName + " + " + storeName;

    s.service = std::make_shared<MasteringService>(config, s.ports);
    return s;
}

} // namespace quack::service
