#include "service/host/services.h"

#include "service/adapters/argon2_hasher.h"
#include "service/adapters/embedded.h"

namespace quack::service {

ApiResult<Services> openServices(const ServiceConfig& config, std::shared_ptr<Clock> clock) {
    Services s;
    s.ports.clock = std::move(clock);
    s.ports.hasher = std::make_shared<Argon2Hasher>(
        Argon2Params{config.passwordHashOpsLimit, config.passwordHashMemoryBytes, config.maxConcurrentHashes,
                     config.maxQueuedHashes});

    auto embedded = openEmbeddedAdapters(config);
    if (!embedded)
        return embedded.error();
    s.ports.db = embedded->db;
    s.ports.blobs = embedded->blobs;
    s.urlEndpoint = embedded->blobs;
    s.description = "SQLite + local disk";

    s.service = std::make_shared<MasteringService>(config, s.ports);
    return s;
}

} // namespace quack::service
