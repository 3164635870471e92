#pragma once
/// BlobStore on an S3-compatible bucket (Cloudflare R2 first; AWS S3, MinIO), over libcurl with
/// our own SigV4 (sigv4.h). The browser PUTs and GETs the bucket directly through presigned
/// URLs; the server only HEADs, range-GETs, streams to and from local files, deletes and lists.
///
/// - presignPut signs content-length = maxBytes and content-type (R2 has no POST policy): the
///   holder must PUT exactly maxBytes bytes of exactly that type, or S3/R2 answer 403. Expiry is
///   capped at 7 days (the S3 limit); SignedUrl.expiresAt says the real one.
/// - presignGet signs response-content-disposition = attachment; filename="<downloadName>"
///   (made ASCII, no quotes or backslashes).
/// - putFromFile: one PUT up to partSizeBytes, else a multipart upload (parts of partSizeBytes,
///   each with its SHA-256 signed, so S3 rejects a corrupted part); a failed multipart upload
///   is aborted, so no half object ever becomes visible.
/// - Every request is retried with exponential backoff and jitter (at most maxAttempts tries)
///   when the store is unreachable, answers 5xx, 429 or SlowDown; then Unavailable.
/// - Errors: Unavailable (unreachable, 5xx, throttled, or the bucket is full / over quota:
///   507, QuotaExceeded), NotFound (no such object), PayloadTooLarge (EntityTooLarge), Internal
///   (credentials refused, no such bucket, anything else), each with a message naming the cause
///   and never a credential.
/// Thread-safe: each call uses its own curl handle; the configuration is immutable.
#include "service/adapters/sigv4.h"
#include "service/app/config.h"
#include "service/app/ports.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace quack::service {

struct S3Config {
    std::string endpoint;        ///< "https://<account>.r2.cloudflarestorage.com", "http://127.0.0.1:9000"
    std::string bucket;
    std::string region = "auto"; ///< R2: "auto"
    std::string accessKeyId;
    std::string secretAccessKey;
    bool pathStyle = false;      ///< true: <endpoint>/<bucket>/<key>; false: <bucket>.<host>/<key>
    /// Multipart part size and the single-PUT limit. S3/R2 need >= 5 MiB for all parts but the
    /// last; tests use less against s3rver.
    std::int64_t partSizeBytes = 64LL << 20;
    int maxAttempts = 4;         ///< tries per request when retryable (>= 1)
    int retryBaseDelayMs = 200;  ///< backoff: base * 2^try, plus up to the same again of jitter
    int connectTimeoutMs = 5000;
    int listPageSize = 1000;     ///< ListObjectsV2 max-keys (tests lower it to exercise paging)
    /// libcurl RESOLVE entries "host:port:address" (split DNS; tests map a virtual host to
    /// loopback).
    std::vector<std::string> resolve;
};

/// The adapter's settings from the service configuration (s3_* keys / QUACK_S3_* variables).
S3Config s3ConfigFrom(const ServiceConfig& config);

class S3BlobStore final : public BlobStore {
  public:
    /// Checks the configuration (endpoint scheme://host[:port] without a path, bucket name,
    /// credentials present); ValidationFailed naming the setting otherwise. No network I/O.
    static ApiResult<std::unique_ptr<S3BlobStore>> create(S3Config config,
                                                          std::shared_ptr<Clock> clock = systemClock());

    ApiResult<SignedUrl> presignPut(const std::string& key, std::int64_t maxBytes,
                                    const std::string& contentType, UnixSeconds expiresAt) override;
    ApiResult<SignedUrl> presignGet(const std::string& key, const std::string& downloadName,
                                    UnixSeconds expiresAt) override;
    ApiResult<std::optional<BlobInfo>> stat(const std::string& key) override;
    ApiResult<std::string> readPrefix(const std::string& key, std::size_t maxBytes) override;
    ApiStatus fetchToFile(const std::string& key, const std::string& localPath) override;
    ApiStatus putFromFile(const std::string& key, const std::string& localPath,
                          const std::string& contentType) override;
    ApiStatus remove(const std::string& key) override;
    ApiResult<std::vector<std::string>> list(const std::string& prefix) override;
    /// Aborts multipart uploads initiated before startedBefore (a worker killed mid-upload leaves
    /// its parts, which cost storage and are invisible to list()). A store without
    /// ListMultipartUploads (s3rver) answers 0: its lifecycle backstop rule aborts them.
    ApiResult<int> sweepIncomplete(UnixSeconds startedBefore) override;

    /// The origin presigned URLs point at ("https://bucket.acct.r2.cloudflarestorage.com"), for
    /// the Content-Security-Policy's connect-src.
    std::string publicOrigin() const;
    /// Replaces the bucket's CORS configuration (PUT ?cors) with one rule: the given origins
    /// may PUT (with Content-Type), GET and HEAD, preflights cached maxAgeSeconds.
    ApiStatus applyCors(const std::vector<std::string>& allowedOrigins, int maxAgeSeconds = 3600);
    /// Sets the bucket's lifecycle rules (PUT ?lifecycle) to the backstop of
    /// docs/decisions/0008-s3-storage.md: uploads/ and masters/ expire one day after their
    /// retention period rounded up to days, incomplete multipart uploads after one day. Only a
    /// backstop: the sweeper deletes on schedule. Replaces any existing rules.
    ApiStatus applyLifecycleBackstop(const RetentionPolicy& retention);
    /// The lifecycle document applyLifecycleBackstop sends.
    static std::string lifecycleBackstopXml(const RetentionPolicy& retention);
    /// A signed HEAD of the bucket, for start-up: Internal if it does not exist or the
    /// credentials are refused, Unavailable if unreachable.
    ApiStatus checkBucket();

    const S3Config& config() const { return config_; }

    struct Endpoint {
        bool https = true;
        std::string host;     ///< without port
        std::string hostPort; ///< host, or host:port when a port was given
    };

  private:
    S3BlobStore(S3Config config, Endpoint endpoint, std::shared_ptr<Clock> clock);
    struct Impl;
    S3Config config_;
    Endpoint endpoint_;
    std::shared_ptr<Clock> clock_;
};

} // namespace quack::service
