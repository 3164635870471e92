#pragma once
/// The use cases of the mastering service, beside (not inside) the HTTP handlers: each is a
/// plain function of its inputs and the ports, unit-tested without HTTP (userver style).
/// Thread-safe: HTTP handlers call it from many threads.
#include "service/app/config.h"
#include "service/app/ports.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quack::service {

/// Who is calling: resolved from the session cookie by the HTTP layer via authenticate().
struct Caller {
    std::string userId;
    std::string sessionTokenHash;
};

struct RegisterRequest {
    std::string email;
    std::string password; ///< 10..128 bytes
    std::string name;     ///< 1..100 bytes, trimmed
    std::string clientAddress; ///< for the registration limit only; never stored
};

struct LoginRequest {
    std::string email;
    std::string password;
    std::string clientAddress; ///< for rate limiting only; never stored in full
};

/// A new session: the raw token goes into the cookie once and is never stored.
struct NewSession {
    std::string token;      ///< 256-bit random, base64url
    UnixSeconds expiresAt = 0;
    UserProfile user;
};

struct CreateUploadRequest {
    std::string filename;
    std::int64_t size = 0;
    std::string contentType; ///< audio/wav, audio/x-wav, audio/flac, audio/mpeg, audio/aiff, audio/ogg, ...
};

struct CreateUploadResponse {
    std::string uploadId;
    SignedUrl url;
};

struct CreateJobRequest {
    std::string uploadId;
    JobSettings settings;
};

/// The API view of a job (GET /api/v1/jobs/{id}); http/wire.h gives its documented JSON.
struct JobView {
    Job job;
    std::optional<SignedUrl> download;  ///< when done and not expired
    // No URL for the original: it is deleted when the job finishes (policy section 3). The web
    // app plays the user's own local copy for the loudness-matched A/B.
};

/// What completeUpload verified about the stored object.
struct UploadedFile {
    std::string uploadId;
    std::int64_t size = 0;
};

/// Everything held about one user (access and portability, policy section 9). No hashes, no
/// tokens. http/wire.h serialises it as quacktracks.export.v1.
struct AccountExport {
    UnixSeconds generatedAt = 0;
    UserProfile user;
    std::vector<Job> jobs;
    std::vector<Upload> uploads;
    std::vector<RetentionEvent> retentionEvents;
};

/// The adapters the use cases run on, picked from config in one place (service/host).
struct ServicePorts {
    std::shared_ptr<Database> db;
    std::shared_ptr<BlobStore> blobs;
    std::shared_ptr<Clock> clock;
    std::shared_ptr<PasswordHasher> hasher;
    std::shared_ptr<Mailer> mailer;                              ///< may be null (no mail configured)
    std::vector<std::shared_ptr<IdentityProvider>> identityProviders; ///< configured ones only
    std::shared_ptr<PaymentProvider> payments;                   ///< may be null
};

class MasteringService {
  public:
    /// ports.db, blobs, clock and hasher are required.
    MasteringService(ServiceConfig config, ServicePorts ports);

    // accounts
    ApiResult<UserProfile> registerUser(const RegisterRequest& request);
    /// registerUser, then a new session for the new account (POST /auth/register sets the
    /// cookie) without hashing the password a second time.
    ApiResult<NewSession> registerAndLogin(const RegisterRequest& request);
    ApiResult<NewSession> login(const LoginRequest& request);
    ApiStatus logout(const Caller& caller);
    /// The caller behind a session token (cookie value); Unauthenticated if none/expired.
    ApiResult<Caller> authenticate(const std::string& sessionToken);
    ApiResult<UserProfile> me(const Caller& caller);

    // uploads and jobs; every lookup checks ownership: another user's id is NotFound
    ApiResult<CreateUploadResponse> createUpload(const Caller& caller, const CreateUploadRequest& request);
    ApiResult<JobView> createJob(const Caller& caller, const CreateJobRequest& request);
    ApiResult<JobView> getJob(const Caller& caller, const std::string& jobId);
    ApiResult<std::vector<JobView>> listJobs(const Caller& caller);
    /// Deletes the job's files now (original and master); the job shows `deleted`.
    ApiResult<JobView> deleteJob(const Caller& caller, const std::string& jobId);

    /// For the local store's PUT handler, before accepting bytes for a verified upload URL:
    /// Conflict unless the upload behind blobKey ("uploads/<id>") is still pending (not used by
    /// a job, not deleted), so a still-valid URL cannot re-create an original after retention
    /// deleted it. NotFound if no such upload.
    ApiStatus checkUploadWritable(const std::string& blobKey);
    /// Verifies the caller's uploaded object through the BlobStore port, whatever the store
    /// (local disk, S3, R2): it exists (Conflict "not uploaded yet"), is no larger than declared
    /// (PayloadTooLarge), has the declared type where the store records one and its first bytes
    /// look like audio (UnsupportedMediaType). A bad object is deleted, so the slot can be
    /// uploaded again. createJob calls it; clients may call it early (POST .../complete).
    ApiResult<UploadedFile> completeUpload(const Caller& caller, const std::string& uploadId);
    /// The same for the local store's PUT handler, right after it committed blobKey.
    ApiResult<UploadedFile> completeUploadByKey(const std::string& blobKey);

    // privacy rights (policy section 9)
    /// Everything we hold about the caller (access + portability).
    ApiResult<AccountExport> exportData(const Caller& caller);
    /// Re-authenticates with the password (InvalidCredentials), deletes every file's bytes, the
    /// sessions, uploads and personal data; job metadata is kept anonymised. Recorded as
    /// retention events with reason "user_deleted".
    ApiStatus deleteAccount(const Caller& caller, const std::string& password);
    /// Correction right: 1..100 bytes after trimming (ValidationFailed).
    ApiResult<UserProfile> changeName(const Caller& caller, const std::string& name);

    const ServiceConfig& config() const { return config_; }
    Clock& clock() { return *ports_.clock; }
    const ServicePorts& ports() const { return ports_; }

  private:
    ApiResult<UploadedFile> verifyUploaded(const Upload& upload);

    ServiceConfig config_;
    ServicePorts ports_;
    Database& db_;
    BlobStore& blobs_;
    Clock& clock_;
    PasswordHasher& hasher_;
    // login rate limiter state (accounts.cpp)
    struct State;
    std::shared_ptr<State> state_;
};

/// One worker: leases jobs, runs the engine with heartbeats and progress, stores the master,
/// deletes the original, completes the job. Many may run, in one process or many.
class Worker {
  public:
    Worker(ServiceConfig config, std::shared_ptr<Database> db, std::shared_ptr<BlobStore> blobs,
           std::shared_ptr<Clock> clock, std::string workerId);
    /// Recovers expired leases (as the sweeper does), then processes at most one job; returns
    /// true if it leased one.
    bool runOnce();
    /// Loops until stop() (polling every pollMs when idle).
    void run(int pollMs = 200);
    void stop();

  private:
    ServiceConfig config_;
    std::shared_ptr<Database> db_;
    std::shared_ptr<BlobStore> blobs_;
    std::shared_ptr<Clock> clock_;
    std::string workerId_;
    std::atomic<bool> stopping_{false};
    std::mutex stopMutex_;
    std::condition_variable stopCv_;
};

/// The retention sweeper: deletes unused uploads after 24 h, originals of finished jobs, expired
/// masters (job -> expired), stale sessions; re-queues jobs whose lease expired. Records each
/// deletion as a RetentionEvent.
struct SweepReport {
    int uploadsDeleted = 0;
    int mastersExpired = 0;
    int leasesRecovered = 0;
    int orphansDeleted = 0;     ///< objects without a live row (reconciliation)
    int incompleteDeleted = 0;  ///< partial writes left by a crash
    int errors = 0;             ///< steps that failed (retried on the next sweep)
};
/// Re-queues (backoff) or fails for good (error "lease_expired" kept) every job whose lease
/// expired. Returns how many it recovered. Used by sweepOnce and Worker::runOnce.
int recoverExpiredLeases(Database& db, const Clock& clock, const ServiceConfig& config);
/// Seconds before retry number `attempt` (1-based, the attempt that just failed): attempt^4
/// plus up to 10 % random jitter (River's backoff), so a burst of failures spreads out.
std::int64_t retryBackoffSeconds(int attempt);
SweepReport sweepOnce(Database& db, BlobStore& blobs, const Clock& clock, const ServiceConfig& config);
/// The stored objects (uploads/, masters/) that no live row needs: what the next sweep's
/// reconciliation would delete. Read only (`quacktracks admin orphans`).
ApiResult<std::vector<std::string>> orphanedObjects(Database& db, BlobStore& blobs);

} // namespace quack::service
