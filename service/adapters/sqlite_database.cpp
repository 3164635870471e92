#include "service/adapters/sqlite_database.h"

#include "service/adapters/sql_rows.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cassert>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace quack::service {
namespace {

// Schema migrations, applied in order inside one transaction each; the version table records
// how many ran. Append only: never edit a migration that has shipped.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    declared_size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'consumed', 'deleted')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    delete_after INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX uploads_user ON uploads(user_id);
CREATE INDEX uploads_pending ON uploads(state, delete_after);
-- jobs.user_id has no foreign key: deleting an account keeps the job's metadata, anonymised.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    original_filename TEXT NOT NULL,
    preset TEXT,
    target_lufs REAL,
    ceiling_dbtp REAL,
    style TEXT NOT NULL,
    intensity TEXT NOT NULL,
    format TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    download_expires_at INTEGER,
    deleted_at INTEGER,
    output_blob_key TEXT NOT NULL DEFAULT '',
    report_json TEXT,
    error_code TEXT,
    error_message TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    leased_by TEXT,
    lease_expires_at INTEGER,
    usage_audio_seconds REAL NOT NULL DEFAULT 0,
    usage_input_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_runnable ON jobs(status, scheduled_at);
CREATE INDEX jobs_user ON jobs(user_id, created_at);
CREATE INDEX jobs_upload ON jobs(upload_id);
CREATE TABLE retention_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX retention_subject ON retention_events(subject_id);
)sql",
};

using sql::kJobColumns;
using sql::kUploadColumns;
using sql::kUserColumns;

/// A prepared statement borrowed from the cache: bound, stepped, reset on destruction.
class Stmt {
  public:
    explicit Stmt(sqlite3_stmt* s) : s_(s) {}
    ~Stmt() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, const char* v) { return bind(i, std::string(v)); }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
    Stmt& bind(int i, double v) {
        sqlite3_bind_double(s_, i, v);
        return *this;
    }
    template <typename T> Stmt& bind(int i, const std::optional<T>& v) {
        if (v)
            return bind(i, *v);
        sqlite3_bind_null(s_, i);
        return *this;
    }
    /// SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return sqlite3_step(s_); }
    bool exec() { return step() == SQLITE_DONE; }

    std::string text(int c) const {
        const auto* p = sqlite3_column_text(s_, c);
        return p ? std::string(reinterpret_cast<const char*>(p),
                               static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
                 : std::string();
    }
    std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
    double real(int c) const { return sqlite3_column_double(s_, c); }
    bool isNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
    std::optional<std::int64_t> optI64(int c) const {
        return isNull(c) ? std::nullopt : std::optional<std::int64_t>(i64(c));
    }
    std::optional<double> optReal(int c) const {
        return isNull(c) ? std::nullopt : std::optional<double>(real(c));
    }
    std::optional<std::string> optText(int c) const {
        return isNull(c) ? std::nullopt : std::optional<std::string>(text(c));
    }

  private:
    sqlite3_stmt* s_;
};

/// Binds every job column in kJobColumns order, starting at index `first`.
void bindJob(Stmt& s, const Job& j, int first) {
    int i = first;
    sql::forEachJobValue(j, [&](const auto& v) { s.bind(i++, v); });
}

Job readJob(const Stmt& s) { return sql::readJob(s); }
Upload readUpload(const Stmt& s) { return sql::readUpload(s); }
User readUser(const Stmt& s) { return sql::readUser(s); }

const std::string kUpdateJobSet =
    "user_id=?2, upload_id=?3, original_filename=?4, preset=?5, target_lufs=?6, ceiling_dbtp=?7, "
    "style=?8, intensity=?9, format=?10, status=?11, progress=?12, stage=?13, created_at=?14, "
    "started_at=?15, finished_at=?16, download_expires_at=?17, deleted_at=?18, "
    "output_blob_key=?19, report_json=?20, error_code=?21, error_message=?22, attempt=?23, "
    "max_attempts=?24, scheduled_at=?25, leased_by=?26, lease_expires_at=?27, "
    "usage_audio_seconds=?28, usage_input_bytes=?29";

/// A failed SQLite call as a port error: lock contention that outlasted busy_timeout is
/// Unavailable (retryable), anything else Internal. `what` says what failed, never the data.
ApiError dbError(int rc, std::string_view what) {
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return apiError(ApiErrorCode::Unavailable, "the database is busy (" + std::string(what) + ")");
    if (rc == SQLITE_FULL)
        return apiError(ApiErrorCode::Unavailable, "the database disk is full (" + std::string(what) + ")");
    return apiError(ApiErrorCode::Internal, "database error (" + std::string(what) + ")");
}

/// Sentinel rc for "the transaction's own condition failed" (conflict, fence lost).
constexpr int kAbort = -1;

} // namespace

struct SqliteDatabase::Impl {
    sqlite3* db = nullptr;
    std::mutex mutex; // one connection, used by one thread at a time
    std::unordered_map<std::string, sqlite3_stmt*> cache;

    ~Impl() {
        for (auto& [sql, s] : cache)
            sqlite3_finalize(s);
        sqlite3_close(db);
    }

    Stmt prepare(const std::string& sql) {
        auto it = cache.find(sql);
        if (it == cache.end()) {
            sqlite3_stmt* s = nullptr;
            const int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()),
                                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
            // Our SQL is fixed text: a prepare failure is a bug, not an expected error.
            assert(rc == SQLITE_OK && "SQL prepares");
            (void)rc;
            it = cache.emplace(sql, s).first;
        }
        return Stmt(it->second);
    }

    int execRaw(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

    /// Runs fn inside BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so concurrent
    /// writers (threads or processes) wait on busy_timeout instead of failing a lock upgrade.
    /// fn returns SQLITE_OK to commit, anything else (an SQLite code or kAbort) to roll back;
    /// the result is SQLITE_OK or the code that stopped it.
    int immediate(const std::function<int()>& fn) {
        if (const int rc = execRaw("BEGIN IMMEDIATE"); rc != SQLITE_OK)
            return rc;
        if (const int rc = fn(); rc != SQLITE_OK) {
            execRaw("ROLLBACK");
            return rc;
        }
        if (const int rc = execRaw("COMMIT"); rc != SQLITE_OK) {
            execRaw("ROLLBACK");
            return rc;
        }
        return SQLITE_OK;
    }

    /// One write statement: SQLITE_OK or its error code.
    static int write(Stmt& s) {
        const int rc = s.step();
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    }

    /// Reads every row with `read`; an error code that interrupted the rows is an error.
    template <typename Row, typename Read>
    ApiResult<std::vector<Row>> rows(const std::string& sql, const std::function<void(Stmt&)>& bind,
                                     Read read, std::string_view what) {
        auto s = prepare(sql);
        bind(s);
        std::vector<Row> out;
        int rc = 0;
        while ((rc = s.step()) == SQLITE_ROW)
            out.push_back(read(s));
        if (rc != SQLITE_DONE)
            return dbError(rc, what);
        return out;
    }
    ApiResult<std::vector<Job>> jobs(const std::string& sql, const std::function<void(Stmt&)>& bind,
                                     std::string_view what = "reading jobs") {
        return rows<Job>(sql, bind, readJob, what);
    }
    ApiResult<std::vector<Upload>> uploads(const std::string& sql, const std::function<void(Stmt&)>& bind,
                                           std::string_view what = "reading uploads") {
        return rows<Upload>(sql, bind, readUpload, what);
    }
    /// One fenced UPDATE in a write transaction: true if exactly one row matched.
    ApiResult<bool> fencedUpdate(const std::function<void(Stmt&)>& bind,
                                                 const std::string& sql, std::string_view what) {
        bool held = false;
        const int rc = immediate([&] {
            auto s = prepare(sql);
            bind(s);
            if (const int r = Impl::write(s); r != SQLITE_OK)
                return r;
            held = sqlite3_changes(db) == 1;
            return SQLITE_OK;
        });
        if (rc != SQLITE_OK)
            return dbError(rc, what);
        return held;
    }

    template <typename Row>
    static ApiResult<std::optional<Row>> first(ApiResult<std::vector<Row>> all) {
        if (!all)
            return all.error();
        if (all->empty())
            return std::optional<Row>();
        return std::optional<Row>(std::move(all->front()));
    }
};

namespace {

ApiStatus statusOf(int rc, std::string_view what) {
    if (rc == SQLITE_OK || rc == SQLITE_DONE)
        return {};
    return dbError(rc, what);
}

} // namespace

SqliteDatabase::SqliteDatabase(sqlite3* db) : impl_(std::make_unique<Impl>()) { impl_->db = db; }
SqliteDatabase::~SqliteDatabase() = default;

ApiResult<std::shared_ptr<SqliteDatabase>> SqliteDatabase::open(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    std::shared_ptr<SqliteDatabase> db(new SqliteDatabase(raw));
    if (rc != SQLITE_OK)
        return apiError(ApiErrorCode::Internal, "cannot open the database");
    auto& impl = *db->impl_;
    // 0600: SQLite gives the -wal and -shm files the database file's permissions.
    if (path != ":memory:" && ::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0)
        return apiError(ApiErrorCode::Internal, "cannot restrict the database file's permissions");
    // busy_timeout before anything that may wait on another process's lock.
    sqlite3_busy_timeout(raw, 10000);
    // WAL: readers never block the writer; synchronous=FULL adds a sync per commit, so not
    // even an OS crash loses a committed job.
    if (impl.execRaw("PRAGMA journal_mode=WAL") != SQLITE_OK ||
        impl.execRaw("PRAGMA synchronous=FULL") != SQLITE_OK ||
        impl.execRaw("PRAGMA foreign_keys=ON") != SQLITE_OK)
        return apiError(ApiErrorCode::Internal, "cannot configure the database");
    const int migrated = impl.immediate([&] {
        if (const int r = impl.execRaw("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
            r != SQLITE_OK)
            return r;
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(raw, "SELECT version FROM schema_version", -1, &s, nullptr);
        int version = -1;
        if (sqlite3_step(s) == SQLITE_ROW)
            version = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        if (version < 0) {
            if (const int r = impl.execRaw("INSERT INTO schema_version VALUES (0)"); r != SQLITE_OK)
                return r;
            version = 0;
        }
        constexpr int kKnown = static_cast<int>(std::size(kMigrations));
        if (version > kKnown)
            return kAbort; // a newer build migrated this file: refuse rather than corrupt it
        for (int v = version; v < kKnown; ++v)
            if (const int r = impl.execRaw(std::string(kMigrations[v]).c_str()); r != SQLITE_OK)
                return r;
        const std::string set = "UPDATE schema_version SET version = " + std::to_string(kKnown);
        return impl.execRaw(set.c_str());
    });
    if (migrated != SQLITE_OK)
        return apiError(ApiErrorCode::Internal,
                        "cannot migrate the database schema (newer schema or I/O error)");
    return db;
}

int SqliteDatabase::schemaVersion() {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("SELECT version FROM schema_version");
    return s.step() == SQLITE_ROW ? static_cast<int>(s.i64(0)) : 0;
}

// ---- users and sessions ----

ApiStatus SqliteDatabase::insertUser(const User& user) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, user.id).bind(2, user.email).bind(3, user.name).bind(4, user.passwordHash).bind(5, user.createdAt);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return {};
    if (rc == SQLITE_CONSTRAINT)
        return apiError(ApiErrorCode::EmailTaken, "an account with this email already exists");
    return dbError(rc, "storing the account");
}

ApiResult<std::optional<User>> SqliteDatabase::userByEmail(const std::string& email) {
    std::lock_guard lock(impl_->mutex);
    return Impl::first(impl_->rows<User>(std::string("SELECT ") + kUserColumns + " FROM users WHERE email = ?1",
                                         [&](Stmt& s) { s.bind(1, email); }, readUser, "reading an account"));
}

ApiResult<std::optional<User>> SqliteDatabase::userById(const std::string& id) {
    std::lock_guard lock(impl_->mutex);
    return Impl::first(impl_->rows<User>(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?1",
                                         [&](Stmt& s) { s.bind(1, id); }, readUser, "reading an account"));
}

ApiStatus SqliteDatabase::updatePasswordHash(const std::string& userId, const std::string& hash) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1");
    s.bind(1, userId).bind(2, hash);
    return statusOf(Impl::write(s), "updating the password");
}

ApiStatus SqliteDatabase::updateUserName(const std::string& userId, const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("UPDATE users SET name = ?2 WHERE id = ?1");
    s.bind(1, userId).bind(2, name);
    return statusOf(Impl::write(s), "updating the name");
}

ApiStatus SqliteDatabase::insertSession(const Session& session) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, "
                            "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, session.tokenHash).bind(2, session.userId).bind(3, session.createdAt)
        .bind(4, session.lastSeenAt).bind(5, session.expiresAt);
    return statusOf(Impl::write(s), "storing the session");
}

ApiResult<std::optional<Session>> SqliteDatabase::sessionByTokenHash(const std::string& tokenHash) {
    std::lock_guard lock(impl_->mutex);
    return Impl::first(impl_->rows<Session>(
        "SELECT token_hash, user_id, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = ?1",
        [&](Stmt& s) { s.bind(1, tokenHash); },
        [](const Stmt& s) { return Session{s.text(0), s.text(1), s.i64(2), s.i64(3), s.i64(4)}; },
        "reading the session"));
}

ApiStatus SqliteDatabase::touchSession(const std::string& tokenHash, UnixSeconds at) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1");
    s.bind(1, tokenHash).bind(2, at);
    return statusOf(Impl::write(s), "touching the session");
}

ApiStatus SqliteDatabase::deleteSession(const std::string& tokenHash) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("DELETE FROM sessions WHERE token_hash = ?1");
    s.bind(1, tokenHash);
    return statusOf(Impl::write(s), "deleting the session");
}

ApiStatus SqliteDatabase::deleteExpiredSessions(UnixSeconds now) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("DELETE FROM sessions WHERE expires_at <= ?1");
    s.bind(1, now);
    return statusOf(Impl::write(s), "deleting expired sessions");
}

// ---- uploads ----

ApiStatus SqliteDatabase::insertUpload(const Upload& u) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare(std::string("INSERT INTO uploads (") + kUploadColumns +
                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    s.bind(1, u.id).bind(2, u.userId).bind(3, u.filename).bind(4, u.declaredSize).bind(5, u.contentType)
        .bind(6, u.blobKey).bind(7, toString(u.state)).bind(8, u.createdAt).bind(9, u.expiresAt)
        .bind(10, u.deleteAfter).bind(11, u.deletedAt);
    return statusOf(Impl::write(s), "storing the upload");
}

ApiResult<std::optional<Upload>> SqliteDatabase::uploadById(const std::string& id) {
    std::lock_guard lock(impl_->mutex);
    return Impl::first(impl_->uploads(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE id = ?1",
                                      [&](Stmt& s) { s.bind(1, id); }));
}

ApiStatus SqliteDatabase::consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) {
    std::lock_guard lock(impl_->mutex);
    const int rc = impl_->immediate([&] {
        auto u = impl_->prepare("UPDATE uploads SET state = 'consumed' WHERE id = ?1 AND state = 'pending'");
        u.bind(1, uploadId);
        if (const int r = Impl::write(u); r != SQLITE_OK)
            return r;
        if (sqlite3_changes(impl_->db) != 1)
            return kAbort;
        auto s = impl_->prepare(std::string("INSERT INTO jobs (") + kJobColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                                "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)");
        bindJob(s, job, 1);
        return Impl::write(s);
    });
    if (rc == kAbort)
        return apiError(ApiErrorCode::Conflict, "this upload was already used or deleted");
    return statusOf(rc, "storing the job");
}

ApiResult<std::vector<Upload>> SqliteDatabase::uploadsToDelete(UnixSeconds now) {
    std::lock_guard lock(impl_->mutex);
    return impl_->uploads(std::string("SELECT ") + kUploadColumns +
                              " FROM uploads WHERE state = 'pending' AND delete_after <= ?1",
                          [&](Stmt& s) { s.bind(1, now); });
}

ApiStatus SqliteDatabase::markUploadDeleted(const std::string& uploadId, UnixSeconds at) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("UPDATE uploads SET state = 'deleted', deleted_at = COALESCE(deleted_at, ?2) "
                            "WHERE id = ?1");
    s.bind(1, uploadId).bind(2, at);
    return statusOf(Impl::write(s), "marking the upload deleted");
}

ApiResult<std::vector<Upload>> SqliteDatabase::uploadsForUser(const std::string& userId) {
    std::lock_guard lock(impl_->mutex);
    return impl_->uploads(std::string("SELECT ") + kUploadColumns +
                              " FROM uploads WHERE user_id = ?1 ORDER BY created_at DESC, id",
                          [&](Stmt& s) { s.bind(1, userId); });
}

// ---- jobs ----

ApiResult<std::optional<Job>> SqliteDatabase::jobById(const std::string& id) {
    std::lock_guard lock(impl_->mutex);
    return Impl::first(impl_->jobs(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1",
                                   [&](Stmt& s) { s.bind(1, id); }));
}

ApiResult<std::vector<Job>> SqliteDatabase::jobsForUser(const std::string& userId, int limit) {
    std::lock_guard lock(impl_->mutex);
    return impl_->jobs(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE user_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2",
                       [&](Stmt& s) { s.bind(1, userId).bind(2, limit); });
}

ApiStatus SqliteDatabase::updateJob(const Job& job) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare("UPDATE jobs SET " + kUpdateJobSet + " WHERE id = ?1");
    bindJob(s, job, 1);
    return statusOf(Impl::write(s), "updating the job");
}

// ---- queue ----

ApiResult<std::optional<Job>> SqliteDatabase::leaseNextJob(const std::string& workerId, UnixSeconds now,
                                                           std::int64_t leaseSeconds) {
    std::lock_guard lock(impl_->mutex);
    std::optional<Job> leased;
    std::optional<ApiError> readError;
    const int rc = impl_->immediate([&] {
        // Oldest runnable first (FIFO by schedule, then creation); the write lock taken by
        // BEGIN IMMEDIATE makes the select-and-update atomic across processes.
        auto r = Impl::first(impl_->jobs(
            std::string("UPDATE jobs SET status = 'processing', attempt = attempt + 1, leased_by = ?1, "
                        "lease_expires_at = ?2 + ?3, started_at = COALESCE(started_at, ?2), "
                        "progress = 0, stage = 'queued' WHERE id = (SELECT id FROM jobs WHERE "
                        "status = 'queued' AND scheduled_at <= ?2 ORDER BY scheduled_at, created_at, "
                        "rowid LIMIT 1) RETURNING ") + kJobColumns,
            [&](Stmt& s) { s.bind(1, workerId).bind(2, now).bind(3, leaseSeconds); }, "leasing a job"));
        if (!r) {
            readError = r.error();
            return kAbort;
        }
        leased = std::move(*r);
        return SQLITE_OK;
    });
    if (readError)
        return *readError;
    if (rc != SQLITE_OK)
        return dbError(rc, "leasing a job");
    return leased;
}

ApiResult<bool> SqliteDatabase::heartbeat(const std::string& jobId, const std::string& workerId,
                                          UnixSeconds now, std::int64_t leaseSeconds, double progress,
                                          const std::string& stage) {
    std::lock_guard lock(impl_->mutex);
    return impl_->fencedUpdate(
        [&](Stmt& s) {
            s.bind(1, jobId).bind(2, workerId).bind(3, now).bind(4, leaseSeconds).bind(5, progress).bind(6, stage);
        },
        "UPDATE jobs SET lease_expires_at = ?3 + ?4, progress = ?5, stage = ?6 "
        "WHERE id = ?1 AND leased_by = ?2 AND status = 'processing'",
        "extending a lease");
}

ApiResult<bool> SqliteDatabase::finishLeasedJob(const Job& job, const std::string& workerId) {
    std::lock_guard lock(impl_->mutex);
    return impl_->fencedUpdate(
        [&](Stmt& s) {
            bindJob(s, job, 1);
            s.bind(30, workerId);
        },
        "UPDATE jobs SET " + kUpdateJobSet + " WHERE id = ?1 AND leased_by = ?30 AND status = 'processing'",
        "finishing a job");
}

ApiResult<std::vector<Job>> SqliteDatabase::expiredLeases(UnixSeconds now) {
    std::lock_guard lock(impl_->mutex);
    return impl_->jobs(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE status = 'processing' AND lease_expires_at <= ?1",
                       [&](Stmt& s) { s.bind(1, now); });
}

ApiResult<bool> SqliteDatabase::requeueExpiredLease(const Job& updated, const std::string& expiredWorkerId,
                                                    UnixSeconds now) {
    std::lock_guard lock(impl_->mutex);
    return impl_->fencedUpdate(
        [&](Stmt& s) {
            bindJob(s, updated, 1);
            s.bind(30, expiredWorkerId).bind(31, now);
        },
        "UPDATE jobs SET " + kUpdateJobSet +
            " WHERE id = ?1 AND leased_by = ?30 AND status = 'processing' AND lease_expires_at <= ?31",
        "re-queueing an expired lease");
}

// ---- retention ----

ApiResult<std::vector<Job>> SqliteDatabase::mastersToExpire(UnixSeconds now) {
    std::lock_guard lock(impl_->mutex);
    return impl_->jobs(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE status = 'done' AND download_expires_at <= ?1 AND deleted_at IS NULL",
                       [&](Stmt& s) { s.bind(1, now); });
}

ApiResult<std::vector<Upload>> SqliteDatabase::consumedUploadsToDelete() {
    std::lock_guard lock(impl_->mutex);
    std::string cols;
    for (std::string_view c : {"id", "user_id", "filename", "declared_size", "content_type", "blob_key",
                               "state", "created_at", "expires_at", "delete_after", "deleted_at"})
        cols += (cols.empty() ? "u." : ", u.") + std::string(c);
    return impl_->uploads("SELECT " + cols + " FROM uploads u JOIN jobs j ON j.upload_id = u.id "
                                             "WHERE u.state = 'consumed' AND j.status IN "
                                             "('done', 'failed', 'expired', 'deleted')",
                          [](Stmt&) {});
}

ApiStatus SqliteDatabase::recordRetentionEvent(const RetentionEvent& e) {
    std::lock_guard lock(impl_->mutex);
    auto s = impl_->prepare(
        "INSERT INTO retention_events (at, subject_kind, subject_id, reason) VALUES (?1, ?2, ?3, ?4)");
    s.bind(1, e.at).bind(2, e.subjectKind).bind(3, e.subjectId).bind(4, e.reason);
    return statusOf(Impl::write(s), "recording a retention event");
}

ApiResult<std::vector<RetentionEvent>> SqliteDatabase::retentionEvents(const std::string& subjectId) {
    std::lock_guard lock(impl_->mutex);
    return impl_->rows<RetentionEvent>(
        "SELECT at, subject_kind, subject_id, reason FROM retention_events WHERE subject_id = ?1 ORDER BY seq",
        [&](Stmt& s) { s.bind(1, subjectId); },
        [](const Stmt& s) { return RetentionEvent{s.i64(0), s.text(1), s.text(2), s.text(3)}; },
        "reading retention events");
}

ApiResult<std::vector<std::string>> SqliteDatabase::liveBlobKeys(const std::vector<std::string>& keys) {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> live;
    // One indexed probe per key: the sweeper lists a bounded page of objects at a time.
    for (const auto& key : keys) {
        auto r = impl_->rows<std::int64_t>(
            "SELECT 1 FROM uploads u WHERE u.blob_key = ?1 AND (u.state = 'pending' OR (u.state = "
            "'consumed' AND EXISTS (SELECT 1 FROM jobs j WHERE j.upload_id = u.id AND j.status IN "
            "('queued', 'processing')))) "
            "UNION ALL SELECT 1 FROM jobs WHERE output_blob_key = ?1 AND status = 'done' AND deleted_at IS NULL "
            "UNION ALL SELECT 1 FROM jobs WHERE status = 'processing' AND ?1 LIKE 'masters/' || id || '-%' "
            "LIMIT 1",
            [&](Stmt& s) { s.bind(1, key); }, [](const Stmt& s) { return s.i64(0); }, "checking live objects");
        if (!r)
            return r.error();
        if (!r->empty())
            live.push_back(key);
    }
    return live;
}

// ---- privacy ----

ApiStatus SqliteDatabase::deleteUserAndAnonymise(const std::string& userId, const std::string& anonymousId) {
    std::lock_guard lock(impl_->mutex);
    const int rc = impl_->immediate([&] {
        auto j = impl_->prepare("UPDATE jobs SET user_id = ?2, original_filename = '', report_json = NULL, "
                                "error_message = NULL WHERE user_id = ?1");
        j.bind(1, userId).bind(2, anonymousId);
        if (const int r = Impl::write(j); r != SQLITE_OK)
            return r;
        auto u = impl_->prepare("DELETE FROM uploads WHERE user_id = ?1");
        u.bind(1, userId);
        if (const int r = Impl::write(u); r != SQLITE_OK)
            return r;
        auto s = impl_->prepare("DELETE FROM sessions WHERE user_id = ?1");
        s.bind(1, userId);
        if (const int r = Impl::write(s); r != SQLITE_OK)
            return r;
        auto d = impl_->prepare("DELETE FROM users WHERE id = ?1");
        d.bind(1, userId);
        return Impl::write(d);
    });
    return statusOf(rc, "deleting the account");
}

} // namespace quack::service
