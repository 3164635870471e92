#pragma once
/// Database on SQLite: WAL, busy_timeout, foreign keys, versioned schema migrations, prepared
/// statements. One connection guarded by a mutex per instance (SQLite serialises writers
/// anyway); many processes may open the same file: the job lease runs in BEGIN IMMEDIATE, so
/// two workers never lease the same job.
#include "service/app/ports.h"

#include <memory>
#include <mutex>
#include <string>

struct sqlite3;

namespace quack::service {

class SqliteDatabase final : public Database {
  public:
    /// Opens (creating if needed) the database file and migrates its schema.
    /// Errors: Internal (cannot open, or a newer schema than this build knows).
    static ApiResult<std::shared_ptr<SqliteDatabase>> open(const std::string& path);
    ~SqliteDatabase() override;
    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;

    /// Current schema version (for tests and `quacktracks doctor`).
    int schemaVersion();

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
    ApiStatus insertUpload(const Upload& upload) override;
    ApiResult<std::optional<Upload>> uploadById(const std::string& id) override;
    ApiStatus consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) override;
    ApiResult<std::vector<Upload>> uploadsToDelete(UnixSeconds now) override;
    ApiStatus markUploadDeleted(const std::string& uploadId, UnixSeconds at) override;
    ApiResult<std::vector<Upload>> uploadsForUser(const std::string& userId) override;
    ApiResult<std::optional<Job>> jobById(const std::string& id) override;
    ApiResult<std::vector<Job>> jobsForUser(const std::string& userId, int limit) override;
    ApiStatus updateJob(const Job& job) override;
    ApiResult<std::optional<Job>> leaseNextJob(const std::string& workerId, UnixSeconds now, std::int64_t leaseSeconds) override;
    ApiResult<bool> heartbeat(const std::string& jobId, const std::string& workerId, UnixSeconds now, std::int64_t leaseSeconds, double progress, const std::string& stage) override;
    ApiResult<bool> finishLeasedJob(const Job& job, const std::string& workerId) override;
    ApiResult<std::vector<Job>> expiredLeases(UnixSeconds now) override;
    ApiResult<bool> requeueExpiredLease(const Job& updated, const std::string& expiredWorkerId, UnixSeconds now) override;
    ApiResult<std::vector<Job>> mastersToExpire(UnixSeconds now) override;
    ApiResult<std::vector<Upload>> consumedUploadsToDelete() override;
    ApiStatus recordRetentionEvent(const RetentionEvent& event) override;
    ApiResult<std::vector<RetentionEvent>> retentionEvents(const std::string& subjectId) override;
    ApiResult<std::vector<std::string>> liveBlobKeys(const std::vector<std::string>& keys) override;
    ApiStatus deleteUserAndAnonymise(const std::string& userId, const std::string& anonymousId) override;

  private:
    explicit SqliteDatabase(sqlite3* db);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack::service
