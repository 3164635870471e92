#include "service/adapters/embedded.h"

#include <filesystem>

namespace quack::service {

ApiResult<EmbeddedAdapters> openEmbeddedAdapters(const ServiceConfig& config, bool withDatabase) {
    namespace fs = std::filesystem;
    const fs::path dir(config.dataDir);
    for (const fs::path& d : {dir, dir / "blobs", dir / "scratch"}) {
        std::error_code ec;
        fs::create_directories(d, ec);
        if (ec)
            return apiError(ApiErrorCode::Internal, "cannot create the data directory " + d.string());
        // Owner only, whatever the umask: the data directory holds the database, personal data
        // and unreleased music.
        fs::permissions(d, fs::perms::owner_all, fs::perm_options::replace, ec);
        if (ec)
            return apiError(ApiErrorCode::Internal, "cannot restrict the data directory " + d.string());
    }
    EmbeddedAdapters a;
    if (withDatabase) {
        auto db = SqliteDatabase::open((dir / "quacktracks.db").string());
        if (!db)
            return db.error();
        a.db = db.value();
    }
    auto secret = LocalBlobStore::loadOrCreateSecret((dir / "secret.key").string());
    if (!secret)
        return secret.error();
    a.blobs = std::make_shared<LocalBlobStore>((dir / "blobs").string(), std::move(secret).value());
    return a;
}

} // namespace quack::service
