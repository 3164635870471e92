#pragma once
/// Every service setting in one place. Sources, later overriding earlier: built-in defaults,
/// a JSON config file (--config FILE), environment variables QUACK_<UPPER_SNAKE_NAME>
/// (e.g. QUACK_PORT, QUACK_DATA_DIR, QUACK_MASTER_RETENTION_SECONDS), then command-line flags.
#include "service/domain/errors.h"

#include <cstdint>
#include <string>
#include <vector>

namespace quack::service {

/// Retention rules (privacy policy sections 3 and 8), configurable here and nowhere else.
struct RetentionPolicy {
    std::int64_t unusedUploadSeconds = 24 * 3600;   ///< an upload never used by a job
    std::int64_t masterSeconds = 7 * 24 * 3600;     ///< download window of a finished master
    std::int64_t uploadUrlSeconds = 15 * 60;        ///< validity of a signed PUT URL
    std::int64_t downloadUrlSeconds = 15 * 60;      ///< validity of one signed GET URL (capped by masterSeconds)
    std::int64_t sweepIntervalSeconds = 60;         ///< how often the sweeper runs
};

struct ServiceConfig {
    std::string bindAddress = "127.0.0.1";
    int port = 8080;
    std::string dataDir = "./data";           ///< SQLite file, blobs/, scratch/, secret key
    /// PostgreSQL connection URL (postgresql://user:password@host:port/db); empty = the SQLite
    /// file in dataDir. Never logged: it holds a password.
    std::string databaseUrl;
    std::string publicBaseUrl;                ///< e.g. https://quack.example; empty: from Host
    std::vector<std::string> allowedOrigins;  ///< CSRF allow-list; empty: same origin as Host
    std::string webRoot;                      ///< built web assets; empty: <exe>/../share/web or web/dist
    bool secureCookies = false;               ///< set Secure on cookies (behind TLS)
    int workers = 1;                          ///< in-process workers for `serve` (0 = none)
    std::int64_t maxUploadBytes = 2LL << 30;  ///< 2 GiB: about 3 h of 24-bit 48 kHz stereo WAV
    std::int64_t leaseSeconds = 60;           ///< job lease; heartbeats every leaseSeconds/4
    int maxAttempts = 3;
    std::int64_t sessionSeconds = 30LL * 24 * 3600; ///< absolute session lifetime
    std::int64_t sessionIdleSeconds = 7LL * 24 * 3600;
    /// Failed sign-ins per (account, client address) in the window before backoff starts: each
    /// further failure doubles the wait (1 s, 2 s, 4 s ... capped at the window), so the real
    /// owner elsewhere is never locked out and a guesser slows to a crawl.
    int loginAttemptsPerWindow = 5;
    /// Failed sign-ins per client address (any account) in the window: a spray from one place.
    int loginAttemptsPerAddress = 30;
    std::int64_t loginWindowSeconds = 60;
    /// New accounts per client address per hour.
    int registrationsPerHour = 10;
    /// Addresses of the reverse proxies in front of the server (exact IPs or CIDR, e.g.
    /// "10.0.0.0/8"): only from these is the client address taken from X-Forwarded-For
    /// (right-most address that is not a trusted proxy). Empty: the socket address.
    std::vector<std::string> trustedProxies;
    /// Argon2id cost (libsodium crypto_pwhash_str). Defaults: OWASP (m = 19 MiB, t = 2, p = 1).
    /// Tests lower them; loadConfig refuses values below libsodium's minimums.
    std::int64_t passwordHashMemoryBytes = 19LL << 20;
    std::int64_t passwordHashOpsLimit = 2;
    int maxConcurrentHashes = 2;              ///< hashes running at once (each takes memory + a core)
    int maxQueuedHashes = 32;                 ///< callers waiting for a hash slot; more get 503
    /// Per-job resource limits (engine/chain/limits.h), checked from the input's header before
    /// decoding and again while decoding and rendering; a job over one fails with
    /// resource_limit. 0 = no limit. The defaults admit the largest upload (3 h of 48 kHz
    /// stereo) and stop the small-file bombs of issue 9 (a 1 MB FLAC declaring 10 min at 384 kHz).
    std::int64_t maxJobAudioSeconds = 3 * 3600;
    std::int64_t maxJobDecodedSamples = 3LL * 3600 * 48000 * 2; ///< frames x channels, any rate
    /// Decoded samples per byte of input: real codecs stay under ~130 (Opus at 6 kbit/s, 48 kHz
    /// stereo: 96000 samples/s from 750 B/s), digital silence in FLAC reaches thousands.
    std::int64_t maxJobDecodedSamplesPerInputByte = 256;
    std::int64_t maxJobTempBytes = 16LL << 30;  ///< spools + the master's temporary file
    std::int64_t maxJobCpuSeconds = 1800;       ///< CPU time of the worker thread on one job
    std::int64_t maxJobWallSeconds = 3600;      ///< wall time of the engine on one job
    /// A worker leases no job while its scratch or spool file system has less free than this
    /// (statvfs); the job waits in the queue for a worker with room instead of failing.
    std::int64_t minFreeTempBytes = 1LL << 30;
    RetentionPolicy retention;
    /// S3-compatible object storage (Cloudflare R2, AWS S3, MinIO) instead of local disk when
    /// s3Endpoint is set; then bucket and both keys are required. The secret is never logged.
    std::string s3Endpoint;                   ///< e.g. https://<account>.r2.cloudflarestorage.com
    std::string s3Bucket;
    std::string s3Region = "auto";            ///< R2: auto; AWS: the bucket's region
    std::string s3AccessKeyId;
    std::string s3SecretAccessKey;
    bool s3PathStyle = false;                 ///< endpoint/bucket/key instead of bucket.endpoint/key
    std::int64_t s3PartSizeBytes = 64LL << 20; ///< multipart part size (S3/R2 minimum 5 MiB)
};

/// Reads defaults <- file (if path non-empty) <- environment. InvalidArgument-style errors
/// (validation_failed) name the offending key.
ApiResult<ServiceConfig> loadConfig(const std::string& path);

} // namespace quack::service
