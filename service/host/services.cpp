#include "service/host/services.h"

#include "service/adapters/argon2_hasher.h"
#include "service/adapters/embedded.h"
#include "service/adapters/postgres_database.h"

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
    s.ports.blobs = embedded->blobs;
    s.urlEndpoint = embedded->blobs;
    s.description = dbName + " + local disk";

    s.service = std::make_shared<MasteringService>(config, s.ports);
    return s;
}

} // namespace quack::service
