#pragma once
/// Ports: what the use cases need from the outside world. Adapters implement them
/// (adapters/sqlite + local disk are the embedded default; PostgreSQL and S3/R2 are further
/// adapters of the same interfaces, each passing the same contract suite). A domain type never
/// includes an adapter.
///
/// Every port says how it fails: a write returns ApiStatus, a read returns ApiResult, and "not
/// there" is an empty optional *inside* a successful result, never an error in disguise. A busy
/// or unreachable backend is ApiErrorCode::Unavailable (retryable); anything else unexpected is
/// Internal. Messages never contain secrets or personal data.
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

// ------------------------------------------------------------------------------ blobs

/// A URL the client uses directly (signed, expiring), the same shape for local disk and S3.
struct SignedUrl {
    std::string url;    ///< absolute (S3) or root-relative ("/blob/...") for the local store
    std::string method; ///< "PUT" or "GET"
    std::vector<std::pair<std::string, std::string>> headers; ///< headers the client must send
    UnixSeconds expiresAt = 0;
};

struct BlobInfo {
    std::int64_t size = 0;      ///< bytes
    std::string contentType;    ///< as stored (S3 Content-Type; local store: from the grant)
};

/// Object storage (local disk, S3, R2). Keys match [a-z0-9_./-]+ ("uploads/<id>",
/// "masters/<job>-<attempt>.<ext>").
class BlobStore {
  public:
    virtual ~BlobStore() = default;
    /// A URL that lets its holder PUT at most maxBytes with exactly this content type before
    /// expiresAt (S3: content-length and content-type are signed).
    virtual ApiResult<SignedUrl> presignPut(const std::string& key, std::int64_t maxBytes,
                                            const std::string& contentType,
                                            UnixSeconds expiresAt) = 0;
    /// A URL that lets its holder GET the object before expiresAt, served as an attachment
    /// named downloadName (S3: response-content-disposition).
    virtual ApiResult<SignedUrl> presignGet(const std::string& key,
                                            const std::string& downloadName,
                                            UnixSeconds expiresAt) = 0;
    /// Size and type of a complete object; nullopt if there is none (S3: HEAD).
    virtual ApiResult<std::optional<BlobInfo>> stat(const std::string& key) = 0;
    /// Up to maxBytes from the start of the object, for sniffing (S3: ranged GET).
    /// NotFound if the object does not exist.
    virtual ApiResult<std::string> readPrefix(const std::string& key, std::size_t maxBytes) = 0;
    /// Copies the object to a local file (for the engine); the caller deletes localPath.
    /// NotFound if the object does not exist (a bucket that lost an object).
    virtual ApiStatus fetchToFile(const std::string& key, const std::string& localPath) = 0;
    /// Stores a local file as the object, atomically (S3: one PUT, or multipart above the part
    /// size; the object appears complete or not at all).
    virtual ApiStatus putFromFile(const std::string& key, const std::string& localPath,
                                  const std::string& contentType) = 0;
    /// Deletes the bytes. Idempotent: deleting a missing key succeeds.
    virtual ApiStatus remove(const std::string& key) = 0;
    /// Every complete object whose key starts with prefix (for reconciling the store against
    /// the database: an object without a live row is deleted by the sweeper).
    virtual ApiResult<std::vector<std::string>> list(const std::string& prefix) = 0;
    /// Removes partial writes begun before `startedBefore` that never completed (local store:
    /// hidden temp files left by a killed process; S3: incomplete multipart uploads). Returns
    /// how many it removed.
    virtual ApiResult<int> sweepIncomplete(UnixSeconds startedBefore) = 0;
};

/// The HTTP side of a store that serves its own signed URLs (the local store's /blob/...).
/// The HTTP server takes this port, not a concrete store; S3 has none (the bucket serves).
class SignedUrlEndpoint {
  public:
    virtual ~SignedUrlEndpoint() = default;
    enum class Access { Get, Put };
    struct Grant {
        std::string key;
        std::int64_t maxBytes = 0; ///< PUT: size bound
        std::string contentType;   ///< PUT: the type the client must send; GET: the stored type
        std::string downloadName;  ///< GET: Content-Disposition filename
    };
    /// Verifies a URL as received (path + query). InvalidSignature, UrlExpired, NotFound.
    virtual ApiResult<Grant> verify(Access access, std::string_view target,
                                    UnixSeconds now) const = 0;
    /// Streaming writer for a verified PUT; the object appears only on commit().
    class Writer {
      public:
        virtual ~Writer() = default;
        virtual ApiStatus write(const char* data, std::size_t n) = 0;
        virtual ApiStatus commit() = 0;
    };
    virtual ApiResult<std::unique_ptr<Writer>> openWriter(const Grant& grant) = 0;
    /// Local path of an existing object to stream for a verified GET; nullopt if none.
    virtual std::optional<std::string> pathOf(const std::string& key) const = 0;
};

// ------------------------------------------------------------------------------ database

/// Persistence of users, sessions, uploads, jobs and the retention log. Every method is one
/// transaction. Safe to call from many threads, and for the queue from many processes (and
/// machines, on PostgreSQL) sharing the database.
class Database {
  public:
    virtual ~Database() = default;

    // users and sessions
    virtual ApiStatus insertUser(const User& user) = 0; ///< EmailTaken if the email exists
    virtual ApiResult<std::optional<User>> userByEmail(const std::string& email) = 0;
    virtual ApiResult<std::optional<User>> userById(const std::string& id) = 0;
    virtual ApiStatus updatePasswordHash(const std::string& userId, const std::string& hash) = 0;
    virtual ApiStatus updateUserName(const std::string& userId, const std::string& name) = 0;
    virtual ApiStatus insertSession(const Session& session) = 0;
    virtual ApiResult<std::optional<Session>> sessionByTokenHash(const std::string& tokenHash) = 0;
    virtual ApiStatus touchSession(const std::string& tokenHash, UnixSeconds at) = 0;
    virtual ApiStatus deleteSession(const std::string& tokenHash) = 0;
    virtual ApiStatus deleteExpiredSessions(UnixSeconds now) = 0;

    // uploads
    virtual ApiStatus insertUpload(const Upload& upload) = 0;
    virtual ApiResult<std::optional<Upload>> uploadById(const std::string& id) = 0;
    /// Marks a pending upload consumed by a job and inserts the job, atomically. Conflict if the
    /// upload is not pending.
    virtual ApiStatus consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) = 0;
    /// Pending uploads with deleteAfter <= now.
    virtual ApiResult<std::vector<Upload>> uploadsToDelete(UnixSeconds now) = 0;
    virtual ApiStatus markUploadDeleted(const std::string& uploadId, UnixSeconds at) = 0;
    virtual ApiResult<std::vector<Upload>> uploadsForUser(const std::string& userId) = 0;

    // jobs
    virtual ApiResult<std::optional<Job>> jobById(const std::string& id) = 0;
    /// Newest first.
    virtual ApiResult<std::vector<Job>> jobsForUser(const std::string& userId, int limit) = 0;
    virtual ApiStatus updateJob(const Job& job) = 0;

    // queue: leases with heartbeats, fenced by worker id (see notes/service-facts.md)
    /// Leases the next runnable job (queued, scheduledAt <= now), sets status Processing,
    /// attempt+1, leasedBy, leaseExpiresAt = now + leaseSeconds. Atomic across processes: no
    /// job is ever leased by two workers at once. nullopt when none is runnable.
    virtual ApiResult<std::optional<Job>> leaseNextJob(const std::string& workerId,
                                                       UnixSeconds now,
                                                       std::int64_t leaseSeconds) = 0;
    /// Extends the lease and records progress; false if the lease was lost (fenced).
    virtual ApiResult<bool> heartbeat(const std::string& jobId, const std::string& workerId,
                                      UnixSeconds now, std::int64_t leaseSeconds,
                                      double progress, const std::string& stage) = 0;
    /// Completes a leased job (done, failed or re-queued); false if the lease was lost.
    virtual ApiResult<bool> finishLeasedJob(const Job& job, const std::string& workerId) = 0;
    /// Jobs still processing whose lease expired (worker died or hung); read only.
    virtual ApiResult<std::vector<Job>> expiredLeases(UnixSeconds now) = 0;
    /// Writes `updated` only if the job is still processing under expiredWorkerId with
    /// lease_expires_at <= now (the fence); false if that worker heartbeated or finished.
    virtual ApiResult<bool> requeueExpiredLease(const Job& updated,
                                                const std::string& expiredWorkerId,
                                                UnixSeconds now) = 0;

    // retention
    /// Done, downloadExpiresAt <= now, not yet deleted.
    virtual ApiResult<std::vector<Job>> mastersToExpire(UnixSeconds now) = 0;
    /// Consumed uploads whose job finished (done / failed for good / deleted) and whose bytes
    /// are not yet deleted.
    virtual ApiResult<std::vector<Upload>> consumedUploadsToDelete() = 0;
    virtual ApiStatus recordRetentionEvent(const RetentionEvent& event) = 0;
    virtual ApiResult<std::vector<RetentionEvent>> retentionEvents(const std::string& subjectId) = 0;
    /// Of the given blob keys, those that a live row still needs: a pending upload's key, a
    /// consumed upload whose job is queued or processing, a done job's master within its
    /// download window, a processing job's attempt-specific master. The sweeper deletes every
    /// listed object not in this set (and older than a grace period).
    virtual ApiResult<std::vector<std::string>> liveBlobKeys(const std::vector<std::string>& keys) = 0;

    // privacy (policy section 9)
    /// In one transaction: deletes the user's sessions, upload rows and user row, and
    /// anonymises their jobs (userId := anonymousId, original filename and report cleared).
    virtual ApiStatus deleteUserAndAnonymise(const std::string& userId,
                                             const std::string& anonymousId) = 0;
};

/// Wakes server-sent event streams when a job changes, instead of polling (PostgreSQL:
/// LISTEN/NOTIFY on channel "quack_jobs" with the job id as payload, sent in the same
/// transaction as the change, so workers on other machines wake the API servers). The
/// embedded default has none: the server then polls.
class JobChangeFeed {
  public:
    virtual ~JobChangeFeed() = default;
    /// Calls onChange(jobId) from a feed thread for every job change until the returned
    /// handle is destroyed. The callback must not block.
    virtual std::shared_ptr<void> subscribe(std::function<void(const std::string& jobId)> onChange) = 0;
};

// ------------------------------------------------------------------------------ identity, mail, payments

/// Password hashing (Argon2id via libsodium in the default adapter), behind a port so the cost,
/// the concurrency cap and the thread pool that runs it live in one adapter.
class PasswordHasher {
  public:
    virtual ~PasswordHasher() = default;
    /// Unavailable when the hashing pool is saturated or memory is short (retry later).
    virtual ApiResult<std::string> hash(const std::string& password) = 0;
    /// false for a wrong password; Unavailable when saturated.
    virtual ApiResult<bool> verify(const std::string& hash, const std::string& password) = 0;
    /// True when a stored hash used weaker parameters than today's (rehash on sign-in).
    virtual bool needsRehash(const std::string& hash) = 0;
};

/// What an identity provider asserts about the person who signed in (OpenID Connect ID token,
/// verified: signature by JWKS, iss, aud, exp, nonce). Only what the privacy policy names.
struct ExternalIdentity {
    std::string provider;       ///< "google", "apple", or a configured name
    std::string subject;        ///< the provider's stable subject id ("sub")
    std::string email;
    bool emailVerified = false; ///< accounts link by email only when true
    std::string name;           ///< may be empty (Apple sends it only on the first sign-in)
};

/// One OpenID Connect provider (authorization code + PKCE S256, state, nonce).
class IdentityProvider {
  public:
    virtual ~IdentityProvider() = default;
    virtual std::string name() const = 0; ///< "google", "apple", ...
    struct Authorization {
        std::string url;          ///< where the browser goes
        std::string state;        ///< to keep (hashed) server-side with the verifier and nonce
        std::string codeVerifier;
        std::string nonce;
    };
    virtual ApiResult<Authorization> beginSignIn(const std::string& redirectUri) = 0;
    /// Exchanges the code at the token endpoint and verifies the ID token.
    virtual ApiResult<ExternalIdentity> completeSignIn(const std::string& code,
                                                       const std::string& codeVerifier,
                                                       const std::string& nonce,
                                                       const std::string& redirectUri) = 0;
};

struct MailMessage {
    std::string to;
    std::string subject;
    std::string textBody;
    std::string htmlBody; ///< may be empty
};

/// Outgoing email (SMTP in the adapter; QUACK_SMTP_URL).
class Mailer {
  public:
    virtual ~Mailer() = default;
    virtual ApiStatus send(const MailMessage& message) = 0;
};

/// A payment processor (Toss Payments). The card never reaches us: only what the processor
/// returns, masked.
struct PaymentConfirmation {
    std::string paymentKey;
    std::string orderId;
    std::int64_t amountKrw = 0;
    std::string status; ///< the processor's status, e.g. "DONE", "WAITING_FOR_DEPOSIT"
    std::string method; ///< e.g. "CARD", "VIRTUAL_ACCOUNT"
    std::string rawJson; ///< the processor's answer, for the record (no full card numbers)
};

struct RefundAccount {
    std::string bank;          ///< the processor's bank code
    std::string accountNumber;
    std::string holderName;
};

class PaymentProvider {
  public:
    virtual ~PaymentProvider() = default;
    /// Confirms a payment after the browser's success redirect; the amount is checked by the
    /// processor against what it authorised. idempotencyKey is reused on retries.
    virtual ApiResult<PaymentConfirmation> confirm(const std::string& paymentKey,
                                                   const std::string& orderId,
                                                   std::int64_t amountKrw,
                                                   const std::string& idempotencyKey) = 0;
    /// The processor's current view of a payment (webhooks are re-fetched before they count).
    virtual ApiResult<PaymentConfirmation> lookup(const std::string& paymentKey) = 0;
    /// Cancels fully (amountKrw empty) or partially; refundAccount for virtual accounts.
    virtual ApiResult<PaymentConfirmation> cancel(const std::string& paymentKey,
                                                  const std::string& reason,
                                                  std::optional<std::int64_t> amountKrw,
                                                  const std::optional<RefundAccount>& refundAccount,
                                                  const std::string& idempotencyKey) = 0;
};

} // namespace quack::service
