#pragma once
/// BlobStore on a local directory. It also serves its own signed URLs (the HTTP layer routes
/// `/blob/...` here): `/blob/<key>?expires=<unix>&max=<bytes>&ct=<type>&dn=<name>&sig=<hex>`,
/// where sig = HMAC-SHA256(secret, method \n key \n expires \n max \n ct \n dn) in hex.
/// Objects live at <root>/<key>; writes go to a temp file in the same directory and appear
/// only on an atomic rename (fsynced), so a crash never leaves a half object under its name.
///
/// How the HTTP layer serves the URLs:
/// - PUT /blob/...: verify(Put, target, now) -> service.checkUploadWritable(grant.key) (409 if the
///   upload was used or deleted) -> request Content-Type must equal grant.contentType (415) and
///   Content-Length, if given, <= grant.maxBytes (413, before reading the body) -> openWriter ->
///   write() each body chunk as it arrives -> commit() -> 200. Any error: drop the writer.
/// - GET /blob/...: verify(Get, target, now) -> pathOf(grant.key) (none: 404 not_found) -> stream
///   the file with Content-Type grant.contentType and `Content-Disposition: attachment;
///   filename="<grant.downloadName>"` (ASCII, no quotes: made safe by the service).
#include "service/app/ports.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace quack::service {

class LocalBlobStore final : public BlobStore, public SignedUrlEndpoint {
  public:
    /// rootDir is created if missing. secretKey: raw bytes (32), see loadOrCreateSecret.
    LocalBlobStore(std::string rootDir, std::string secretKey, std::string urlPrefix = "/blob/");

    /// Reads the 32-byte signing secret at path, or creates it (random, mode 0600) on first use.
    /// Errors: Internal if the file cannot be read/created or has the wrong size.
    static ApiResult<std::string> loadOrCreateSecret(const std::string& path);

    /// True if key matches [a-z0-9_./-]+, has no "..", no leading '/', no empty segment.
    static bool validKey(std::string_view key);

    // SignedUrlEndpoint
    /// Errors: InvalidSignature (403) for a missing/forged/tampered signature or a URL signed
    /// for the other method, UrlExpired (410) when now > expires, NotFound for malformed keys or
    /// a path outside urlPrefix.
    ApiResult<Grant> verify(Access access, std::string_view target, UnixSeconds now) const override;
    /// Bytes go to a temp file; the first bytes are sniffed (looksLikeAudio, else
    /// UnsupportedMediaType) so a wrong file is refused before it fills the disk; more than
    /// maxBytes -> PayloadTooLarge; the object appears only on commit(); the destructor removes
    /// an uncommitted temp file. After an error the writer is dead.
    ApiResult<std::unique_ptr<Writer>> openWriter(const Grant& grant) override;
    std::optional<std::string> pathOf(const std::string& key) const override;

    // BlobStore
    ApiResult<SignedUrl> presignPut(const std::string& key, std::int64_t maxBytes,
                                    const std::string& contentType, UnixSeconds expiresAt) override;
    ApiResult<SignedUrl> presignGet(const std::string& key, const std::string& downloadName,
                                    UnixSeconds expiresAt) override;
    /// contentType as written (an extended attribute of the file; empty where the file system
    /// keeps no user xattrs).
    ApiResult<std::optional<BlobInfo>> stat(const std::string& key) override;
    ApiResult<std::string> readPrefix(const std::string& key, std::size_t maxBytes) override;
    ApiStatus fetchToFile(const std::string& key, const std::string& localPath) override;
    ApiStatus putFromFile(const std::string& key, const std::string& localPath,
                          const std::string& contentType) override;
    ApiStatus remove(const std::string& key) override;
    /// Complete objects only: temp files (hidden names) are not objects.
    ApiResult<std::vector<std::string>> list(const std::string& prefix) override;
    /// Hidden temp files ('.<name>.<pid>-...tmp') last written before startedBefore.
    ApiResult<int> sweepIncomplete(UnixSeconds startedBefore) override;

    const std::string& rootDir() const { return root_; }

  private:
    std::string sign(std::string_view method, std::string_view key, UnixSeconds expires,
                     std::int64_t maxBytes, std::string_view contentType,
                     std::string_view downloadName) const;

    std::string root_;
    std::string secret_;
    std::string prefix_;
};

} // namespace quack::service
