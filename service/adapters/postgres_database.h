#pragma once
/// Database and JobChangeFeed on PostgreSQL (libpq), for running many API servers and workers
/// on many machines against one database. The schema and every method's semantics mirror
/// SqliteDatabase exactly (the same contract suite runs against both).
///
/// - A small thread-safe pool of connections (each method borrows one for one transaction);
///   statements are prepared once per connection.
/// - Versioned migrations (schema_version), serialised across processes by an advisory lock.
/// - The queue is leased with UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
///   RETURNING: workers never wait on each other's row locks and never lease the same job.
/// - Every change to a job row NOTIFYs channel "quack_jobs" with the job id (a trigger, so the
///   notification is sent in the same transaction as the change); subscribe() LISTENs on a
///   dedicated connection.
///
/// Errors: a lost or refused connection, a serialization failure or deadlock, too many
/// connections, or a server shutting down -> Unavailable (retryable); a duplicate email ->
/// EmailTaken; anything else -> Internal. Messages name host:port at most, never the URL's
/// password.
#include "service/app/ports.h"

#include <cstddef>
#include <memory>
#include <string>

namespace quack::service {

struct PostgresOptions {
    std::size_t poolSize = 8;        ///< connections kept open at most
    int acquireTimeoutMs = 5000;     ///< waiting for a free connection longer is Unavailable
    int connectTimeoutSeconds = 5;   ///< libpq connect_timeout unless the URL sets one
};

class PostgresDatabase final : public Database, public JobChangeFeed {
  public:
    /// Connects (one connection, to check the URL and credentials now) and migrates the schema.
    /// url: a libpq connection URI (postgresql://user:pw@host:port/db?...) or key=value string.
    /// Errors: ValidationFailed (malformed URL), Unavailable (cannot connect or authenticate:
    /// the message names host:port and libpq's reason), Internal (migration failed, or the
    /// database has a newer schema than this build knows).
    static ApiResult<std::shared_ptr<PostgresDatabase>> open(const std::string& url,
                                                             const PostgresOptions& options = {});
    ~PostgresDatabase() override;
    PostgresDatabase(const PostgresDatabase&) = delete;
    PostgresDatabase& operator=(const PostgresDatabase&) = delete;

    /// Current schema version (for tests and `quacktracks doctor`).
    ApiResult<int> schemaVersion();
    /// "host:port" of the server, for logs and messages (never the password).
    const std::string& endpoint() const;

    // users and sessions
    ApiStatus insertUser(const User& user) override;
    ApiResult<std::optional<User>> userByEmail(const std::string& email) override;
    ApiResult<std::optional<User>> userById(const std::string& id) override;
    ApiStatus updatePasswordHash(const std::string& userId, const std::string& hash) override;
    ApiStatus updateUserName(const std::string& userId, const std::string& name) override;
    ApiStatus insertSession(const Session& session) override;
    ApiResult<std::optional<Session>> sessionByTokenHash(const std::string& tokenHash) override;
    ApiStatus touchSession(const std::string& tokenHash, UnixSeconds at) override;
    ApiStatus deleteSession(const std::string& tokenHash) override;
    ApiStatus deleteExpiredSessions(UnixSeconds now) override;

    // uploads
    ApiStatus insertUpload(const Upload& upload) override;
    ApiResult<std::optional<Upload>> uploadById(const std::string& id) override;
    ApiStatus consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) override;
    ApiResult<std::vector<Upload>> uploadsToDelete(UnixSeconds now) override;
    ApiStatus markUploadDeleted(const std::string& uploadId, UnixSeconds at) override;
    ApiResult<std::vector<Upload>> uploadsForUser(const std::string& userId) override;

    // jobs
    ApiResult<std::optional<Job>> jobById(const std::string& id) override;
    ApiResult<std::vector<Job>> jobsForUser(const std::string& userId, int limit) override;
    ApiStatus updateJob(const Job& job) override;

    // queue
    ApiResult<std::optional<Job>> leaseNextJob(const std::string& workerId, UnixSeconds now,
                                               std::int64_t leaseSeconds) override;
    ApiResult<bool> heartbeat(const std::string& jobId, const std::string& workerId,
                              UnixSeconds now, std::int64_t leaseSeconds, double progress,
                              const std::string& stage) override;
    ApiResult<bool> finishLeasedJob(const Job& job, const std::string& workerId) override;
    ApiResult<std::vector<Job>> expiredLeases(UnixSeconds now) override;
    ApiResult<bool> requeueExpiredLease(const Job& updated, const std::string& expiredWorkerId,
                                        UnixSeconds now) override;

    // retention
    ApiResult<std::vector<Job>> mastersToExpire(UnixSeconds now) override;
    ApiResult<std::vector<Upload>> consumedUploadsToDelete() override;
    ApiStatus recordRetentionEvent(const RetentionEvent& event) override;
    ApiResult<std::vector<RetentionEvent>> retentionEvents(const std::string& subjectId) override;
    ApiResult<std::vector<std::string>> liveBlobKeys(const std::vector<std::string>& keys) override;

    // privacy
    ApiStatus deleteUserAndAnonymise(const std::string& userId,
                                     const std::string& anonymousId) override;

    // JobChangeFeed: LISTEN quack_jobs on a dedicated connection, started by the first
    // subscription and reconnected (with backoff) if it drops; notifications sent while it
    // was down are lost, so subscribers should still poll now and then.
    std::shared_ptr<void> subscribe(std::function<void(const std::string& jobId)> onChange) override;

    struct Impl;

  private:
    explicit PostgresDatabase(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// PostgresDatabase::open with default options (the host picks the adapter by URL).
ApiResult<std::shared_ptr<PostgresDatabase>> openPostgres(const std::string& url);

} // namespace quack::service
