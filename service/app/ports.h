#pragma once
/// Ports: what the use cases need from the outside world. Adapters implement them
/// (adapters/sqlite + adapters/fs are the embedded default; PostgreSQL and S3/R2 are further
/// adapters of the same interfaces). A domain type never includes an adapter.
#include "service/domain/errors.h"
#include "service/domain/types.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace quack::service {

/// Wall clock, injectable so tests can advance time (retention).
class Clock {
  public:
    virtual ~Clock() = default;
    virtual UnixSeconds now() const = 0;
};

/// The system clock.
std::shared_ptr<Clock> systemClock();

/// A clock tests set and advance by hand. Thread-safe.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(UnixSeconds start) : now_(start) {}
    UnixSeconds now() const override;
    void set(UnixSeconds t);
    void advance(std::int64_t seconds);

  private:
    mutable std::mutex mutex_;
    UnixSeconds now_;
};

/// A URL the client uses directly (signed, expiring), the same shape for local disk and S3.
struct SignedUrl {
    std::string url;        ///< absolute, or root-relative ("/blob/...") for the local store
    std::string method;     ///< "PUT" or "GET"
    std::vector<std::pair<std::string, std::string>> headers; ///< headers the client must send
    UnixSeconds expiresAt = 0;
};

struct BlobInfo {
    std::int64_t size = 0;
};

/// Object storage (local disk, S3, R2). Keys are "uploads/<id>" and "masters/<job>.<ext>".
class BlobStore {
  public:
    virtual ~BlobStore() = default;
    /// A URL that lets its holder PUT at most maxBytes with this content type before expiresAt.
    virtual SignedUrl presignPut(const std::string& key, std::int64_t maxBytes,
                                 const std::string& contentType, UnixSeconds expiresAt) = 0;
    /// A URL that lets its holder GET the object before expiresAt, served as an attachment
    /// named downloadName.
    virtual SignedUrl presignGet(const std::string& key, const std::string& downloadName,
                                 UnixSeconds expiresAt) = 0;
    virtual std::optional<BlobInfo> stat(const std::string& key) = 0;
    /// Copies the object to a local file (for the engine). For the local store this may be a
    /// hard link or a copy; the caller deletes localPath.
    virtual ApiStatus fetchToFile(const std::string& key, const std::string& localPath) = 0;
    /// Stores a local file as the object (atomically: the object appears complete or not at all).
    virtual ApiStatus putFromFile(const std::string& key, const std::string& localPath,
                                  const std::string& contentType) = 0;
    /// Deletes the bytes. Idempotent: deleting a missing key succeeds.
    virtual ApiStatus remove(const std::string& key) = 0;
};

/// Persistence of users, sessions, uploads, jobs and the retention log. Every method is one
/// transaction. Implementations must be safe to call from many threads (and, for the job
/// queue, from many processes sharing the database).
class Database {
  public:
    virtual ~Database() = default;

    // users and sessions
    virtual ApiStatus insertUser(const User& user) = 0; ///< EmailTaken if the email exists
    virtual std::optional<User> userByEmail(const std::string& email) = 0;
    virtual std::optional<User> userById(const std::string& id) = 0;
    virtual void updatePasswordHash(const std::string& userId, const std::string& hash) = 0;
    virtual void updateUserName(const std::string& userId, const std::string& name) = 0;
    virtual void insertSession(const Session& session) = 0;
    virtual std::optional<Session> sessionByTokenHash(const std::string& tokenHash) = 0;
    virtual void touchSession(const std::string& tokenHash, UnixSeconds at) = 0;
    virtual void deleteSession(const std::string& tokenHash) = 0;
    virtual void deleteExpiredSessions(UnixSeconds now) = 0;

    // uploads
    virtual void insertUpload(const Upload& upload) = 0;
    virtual std::optional<Upload> uploadById(const std::string& id) = 0;
    /// Marks a pending upload consumed by a job and inserts the job, atomically. Conflict if the
    /// upload is not pending.
    virtual ApiStatus consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) = 0;
    virtual std::vector<Upload> uploadsToDelete(UnixSeconds now) = 0; ///< pending, deleteAfter <= now
    virtual void markUploadDeleted(const std::string& uploadId, UnixSeconds at) = 0;
    virtual std::vector<Upload> uploadsForUser(const std::string& userId) = 0; ///< any state

    // jobs
    virtual std::optional<Job> jobById(const std::string& id) = 0;
    virtual std::vector<Job> jobsForUser(const std::string& userId, int limit) = 0; ///< newest first
    virtual void updateJob(const Job& job) = 0;

    // queue: leases with heartbeats, fenced by worker id (see notes/service-facts.md)
    /// Leases the next runnable job (queued, scheduledAt <= now), sets status Processing,
    /// attempt+1, leasedBy, leaseExpiresAt = now + leaseSeconds. Atomic across processes.
    virtual std::optional<Job> leaseNextJob(const std::string& workerId, UnixSeconds now,
                                            std::int64_t leaseSeconds) = 0;
    /// Extends the lease and records progress; false if the lease was lost (fenced).
    virtual bool heartbeat(const std::string& jobId, const std::string& workerId, UnixSeconds now,
                           std::int64_t leaseSeconds, double progress, const std::string& stage) = 0;
    /// Completes a leased job (done or failed or re-queued); false if the lease was lost.
    virtual bool finishLeasedJob(const Job& job, const std::string& workerId) = 0;
    /// Jobs still processing whose lease expired (worker died or hung); read only.
    virtual std::vector<Job> expiredLeases(UnixSeconds now) = 0;
    /// Writes `updated` (re-queued with backoff, or failed for good) only if the job is still
    /// processing under expiredWorkerId with lease_expires_at <= now (the fence); false if that
    /// worker heartbeated or finished meanwhile.
    virtual bool requeueExpiredLease(const Job& updated, const std::string& expiredWorkerId,
                                     UnixSeconds now) = 0;

    // retention
    virtual std::vector<Job> mastersToExpire(UnixSeconds now) = 0; ///< done, downloadExpiresAt <= now, not deleted
    /// Jobs finished (done/failed for good) whose original upload is not yet deleted.
    virtual std::vector<Upload> consumedUploadsToDelete() = 0;
    virtual void recordRetentionEvent(const RetentionEvent& event) = 0;
    virtual std::vector<RetentionEvent> retentionEvents(const std::string& subjectId) = 0;

    // privacy (policy section 9)
    /// In one transaction: deletes the user's sessions, upload rows and user row, and
    /// anonymises their jobs (userId := anonymousId, original filename and report cleared), so
    /// only non-personal job metadata (timestamps, settings, status, usage) remains.
    virtual ApiStatus deleteUserAndAnonymise(const std::string& userId,
                                             const std::string& anonymousId) = 0;
};

} // namespace quack::service
