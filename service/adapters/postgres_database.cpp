#include "service/adapters/postgres_database.h"

#include "service/adapters/sql_rows.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace quack::service {
namespace {

// Schema migrations, applied in order inside one transaction (under an advisory lock, so two
// processes starting at once do not both migrate); schema_version records how many ran.
// Append only: never edit a migration that has shipped. Same tables, columns and meanings as
// the SQLite schema; times are Unix seconds in BIGINT. jobs.seq (insertion order) stands in
// for SQLite's rowid where the queue and the job list break ties.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    declared_size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'consumed', 'deleted')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    delete_after BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX uploads_user ON uploads(user_id);
CREATE INDEX uploads_pending ON uploads(state, delete_after);
CREATE INDEX uploads_blob ON uploads(blob_key);
-- jobs.user_id has no foreign key: deleting an account keeps the job's metadata, anonymised.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    original_filename TEXT NOT NULL,
    preset TEXT,
    target_lufs DOUBLE PRECISION,
    ceiling_dbtp DOUBLE PRECISION,
    style TEXT NOT NULL,
    intensity TEXT NOT NULL,
    format TEXT NOT NULL,
    status TEXT NOT NULL,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    download_expires_at BIGINT,
    deleted_at BIGINT,
    output_blob_key TEXT NOT NULL DEFAULT '',
    report_json TEXT,
    error_code TEXT,
    error_message TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    scheduled_at BIGINT NOT NULL,
    leased_by TEXT,
    lease_expires_at BIGINT,
    usage_audio_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    usage_input_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_runnable ON jobs(status, scheduled_at);
CREATE INDEX jobs_user ON jobs(user_id, created_at);
CREATE INDEX jobs_upload ON jobs(upload_id);
CREATE INDEX jobs_output ON jobs(output_blob_key);
CREATE TABLE retention_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX retention_subject ON retention_events(subject_id);
-- Every change to a job wakes the listeners (API servers streaming its events), inside the
-- transaction that made it: NOTIFY is delivered at commit, and not at all on rollback.
CREATE FUNCTION quack_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('quack_jobs', NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION quack_jobs_notify();
)sql",
};

/// pg_advisory_xact_lock key that serialises migrations ("quack" in ASCII).
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(478560413547)";

constexpr const char* kChannel = "quack_jobs";

using sql::kJobColumns;
using sql::kUploadColumns;

const std::string kUpdateJobSet =
    "user_id=$2, upload_id=$3, original_filename=$4, preset=$5, target_lufs=$6, ceiling_dbtp=$7, "
    "style=$8, intensity=$9, format=$10, status=$11, progress=$12, stage=$13, created_at=$14, "
    "started_at=$15, finished_at=$16, download_expires_at=$17, deleted_at=$18, "
    "output_blob_key=$19, report_json=$20, error_code=$21, error_message=$22, attempt=$23, "
    "max_attempts=$24, scheduled_at=$25, leased_by=$26, lease_expires_at=$27, "
    "usage_audio_seconds=$28, usage_input_bytes=$29";

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

/// Statement parameters in libpq's text format (NULL as nullopt). Doubles are written in the
/// shortest form that reads back to the same value, so a stored progress or LUFS target
/// round-trips exactly.
class Params {
  public:
    Params& add(std::string v) {
        // PostgreSQL text cannot hold NUL, and libpq's text parameters end at the first one:
        // refuse rather than store a silently shortened string.
        if (v.find('\0') != std::string::npos)
            hasNul_ = true;
        values_.emplace_back(std::move(v));
        return *this;
    }
    bool hasNul() const { return hasNul_; }
    Params& add(const char* v) { return add(std::string(v)); }
    Params& add(std::int64_t v) { return add(std::to_string(v)); }
    Params& add(int v) { return add(std::to_string(v)); }
    Params& add(double v) {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        (void)ec; // 64 bytes always hold a double's shortest form
        return add(std::string(buf, end));
    }
    template <typename T> Params& add(const std::optional<T>& v) {
        if (v)
            return add(*v);
        values_.emplace_back(std::nullopt);
        return *this;
    }

    int size() const { return static_cast<int>(values_.size()); }
    std::vector<const char*> pointers() const {
        std::vector<const char*> p;
        p.reserve(values_.size());
        for (const auto& v : values_)
            p.push_back(v ? v->c_str() : nullptr);
        return p;
    }

  private:
    std::vector<std::optional<std::string>> values_;
    bool hasNul_ = false;
};

/// Appends every job column (kJobColumns order) as parameters $first.. $first+28.
Params& addJob(Params& p, const Job& j) {
    sql::forEachJobValue(j, [&](const auto& v) { p.add(v); });
    return p;
}

/// One row of a result, read by column index in text format.
class Row {
  public:
    Row(const PGresult* r, int row) : r_(r), row_(row) {}
    bool isNull(int c) const { return PQgetisnull(r_, row_, c) != 0; }
    std::string text(int c) const {
        return std::string(PQgetvalue(r_, row_, c), static_cast<std::size_t>(PQgetlength(r_, row_, c)));
    }
    std::int64_t i64(int c) const {
        const char* p = PQgetvalue(r_, row_, c);
        std::int64_t v = 0;
        std::from_chars(p, p + PQgetlength(r_, row_, c), v);
        return v;
    }
    double real(int c) const {
        const char* p = PQgetvalue(r_, row_, c);
        double v = 0;
        std::from_chars(p, p + PQgetlength(r_, row_, c), v);
        return v;
    }
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
    const PGresult* r_;
    int row_;
};

Job readJob(const Row& s) { return sql::readJob(s); }
Upload readUpload(const Row& s) { return sql::readUpload(s); }
User readUser(const Row& s) { return sql::readUser(s); }

/// A text[] literal ({"a","b"}) for an array parameter; quotes and backslashes escaped.
std::string textArray(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

/// First line of a libpq message, without the trailing newline.
std::string firstLine(const char* msg) {
    std::string s = msg ? msg : "";
    if (auto nl = s.find('\n'); nl != std::string::npos)
        s.erase(nl);
    return s;
}

/// One pooled connection and the statements already prepared on it.
struct Conn {
    PGconn* pg = nullptr;
    std::unordered_map<std::string, std::string> prepared; // SQL text -> statement name
    bool broken = false;
    ~Conn() { PQfinish(pg); }
};

/// What we know about the server for messages: "host:port", and the password to scrub.
struct Endpoint {
    std::string hostPort;
    std::string password;
};

} // namespace

// ------------------------------------------------------------------------------ change feed

namespace {

/// The LISTEN side: one connection on its own thread, started by the first subscription.
struct FeedState {
    std::vector<const char*> keys;
    std::vector<std::string> values;

    std::mutex mutex; // guards subscribers and is held while they are called
    std::map<std::uint64_t, std::function<void(const std::string&)>> subscribers;
    std::uint64_t nextId = 1;

    std::mutex readyMutex;
    std::condition_variable readyCv;
    bool listening = false;

    int wakeFd = -1;
    std::atomic<bool> stopping{false};
    std::thread thread;

    ~FeedState() {
        if (wakeFd >= 0)
            ::close(wakeFd);
    }

    void stop() {
        stopping = true;
        const std::uint64_t one = 1;
        if (wakeFd >= 0)
            (void)!::write(wakeFd, &one, sizeof one);
        if (thread.joinable())
            thread.join();
    }

    void remove(std::uint64_t id) {
        std::lock_guard lock(mutex);
        subscribers.erase(id);
    }

    void dispatch(const std::string& jobId) {
        std::lock_guard lock(mutex);
        for (auto& [id, fn] : subscribers)
            fn(jobId);
    }

    void setListening(bool on) {
        std::lock_guard lock(readyMutex);
        listening = on;
        readyCv.notify_all();
    }

    /// Waits until the wake fd fires or ms pass; true if asked to stop.
    bool sleepUnlessStopped(int ms) {
        pollfd p{wakeFd, POLLIN, 0};
        ::poll(&p, 1, ms);
        return stopping.load();
    }

    void loop() {
        int backoffMs = 100;
        while (!stopping) {
            std::vector<const char*> vals;
            for (const auto& v : values)
                vals.push_back(v.c_str());
            vals.push_back(nullptr);
            PGconn* pg = PQconnectdbParams(keys.data(), vals.data(), 1);
            bool ok = pg && PQstatus(pg) == CONNECTION_OK;
            if (ok) {
                PQsetNoticeProcessor(pg, [](void*, const char*) {}, nullptr); // library code never prints
                PgResult r(PQexec(pg, (std::string("LISTEN ") + kChannel).c_str()));
                ok = r && PQresultStatus(r.get()) == PGRES_COMMAND_OK;
            }
            if (!ok) {
                PQfinish(pg);
                if (sleepUnlessStopped(backoffMs))
                    return;
                backoffMs = std::min(backoffMs * 2, 5000);
                continue;
            }
            backoffMs = 100;
            setListening(true);
            while (!stopping) {
                pollfd fds[2] = {{PQsocket(pg), POLLIN, 0}, {wakeFd, POLLIN, 0}};
                if (::poll(fds, 2, -1) < 0 && errno != EINTR)
                    break;
                if (stopping)
                    break;
                if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) == 0)
                    continue;
                if (!PQconsumeInput(pg))
                    break; // connection lost: reconnect
                while (PGnotify* n = PQnotifies(pg)) {
                    std::string jobId = n->extra ? n->extra : "";
                    PQfreemem(n);
                    dispatch(jobId);
                }
            }
            setListening(false);
            PQfinish(pg);
        }
    }
};

/// What subscribe() hands out: unsubscribes when destroyed.
struct Subscription {
    Subscription(std::shared_ptr<FeedState> f, std::uint64_t i) : feed(std::move(f)), id(i) {}
    ~Subscription() { feed->remove(id); }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    std::shared_ptr<FeedState> feed;
    std::uint64_t id;
};

} // namespace

// ------------------------------------------------------------------------------ Impl

struct PostgresDatabase::Impl {
    std::vector<const char*> keys;   // PQconnectdbParams keywords (null-terminated)
    std::vector<std::string> values; // and their values
    Endpoint endpoint;
    PostgresOptions options;

    std::mutex mutex;
    std::condition_variable freed;
    std::vector<std::unique_ptr<Conn>> idle;
    std::size_t open = 0; // idle + borrowed

    std::shared_ptr<FeedState> feed; // created by the first subscribe()

    ~Impl();

    std::string scrub(std::string msg) const {
        if (endpoint.password.size() >= 3)
            for (auto p = msg.find(endpoint.password); p != std::string::npos;
                 p = msg.find(endpoint.password, p))
                msg.replace(p, endpoint.password.size(), "***");
        return msg;
    }

    ApiError unavailable() const {
        return apiError(ApiErrorCode::Unavailable,
                        "the database (" + endpoint.hostPort + ") is unavailable; try again");
    }

    /// A new connection; Unavailable with libpq's reason if the server refuses it.
    ApiResult<std::unique_ptr<Conn>> connect() const {
        std::vector<const char*> vals;
        for (const auto& v : values)
            vals.push_back(v.c_str());
        vals.push_back(nullptr);
        auto c = std::make_unique<Conn>();
        c->pg = PQconnectdbParams(keys.data(), vals.data(), /*expand_dbname=*/1);
        if (!c->pg)
            return apiError(ApiErrorCode::Unavailable, "cannot connect to PostgreSQL: out of memory");
        if (PQstatus(c->pg) != CONNECTION_OK)
            return apiError(ApiErrorCode::Unavailable,
                            "cannot connect to PostgreSQL at " + endpoint.hostPort + ": " +
                                scrub(firstLine(PQerrorMessage(c->pg))));
        // Library code never prints: libpq's notices (and the server's FATAL on a terminated
        // session) would go to stderr. Failures reach the caller as results instead.
        PQsetNoticeProcessor(c->pg, [](void*, const char*) {}, nullptr);
        return c;
    }

    /// Borrows a connection, opening one if fewer than poolSize are open; waits up to
    /// acquireTimeoutMs for one to be returned, then Unavailable.
    ApiResult<std::unique_ptr<Conn>> acquire() {
        std::unique_lock lock(mutex);
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(options.acquireTimeoutMs);
        while (idle.empty() && open >= options.poolSize)
            if (freed.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
                open >= options.poolSize)
                return apiError(ApiErrorCode::Unavailable,
                                "all database connections are busy; try again");
        if (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            return c;
        }
        ++open;
        lock.unlock();
        auto c = connect(); // outside the lock: connecting takes a round trip or a timeout
        if (!c) {
            std::lock_guard relock(mutex);
            --open;
            freed.notify_one();
        }
        return c;
    }

    /// Returns a connection to the pool, or closes it if it is broken or mid-transaction.
    void release(std::unique_ptr<Conn> c) {
        const bool reusable = !c->broken && PQstatus(c->pg) == CONNECTION_OK &&
                              PQtransactionStatus(c->pg) == PQTRANS_IDLE;
        std::lock_guard lock(mutex);
        if (reusable)
            idle.push_back(std::move(c));
        else {
            --open;
            c.reset();
        }
        freed.notify_one();
    }

    /// Maps a failed statement to the port's error codes. `what` says what we were doing
    /// ("storing the account"); only the SQLSTATE of the failure is added, never values.
    ApiError classify(Conn& c, const PGresult* r, const char* what) const {
        if (!r || PQstatus(c.pg) != CONNECTION_OK) {
            c.broken = true;
            return unavailable();
        }
        const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const std::string_view code = state ? state : "";
        const std::string_view cls = code.substr(0, 2);
        // 08 connection exception, 40001 serialization failure, 40P01 deadlock, 53 insufficient
        // resources (53300 too many connections), 57P01-03 server shutting down or starting.
        if (cls == "08" || code == "40001" || code == "40P01" || cls == "53" || code == "57P01" ||
            code == "57P02" || code == "57P03") {
            if (cls == "08" || cls == "57")
                c.broken = true;
            return unavailable();
        }
        if (code == "23505") {
            const char* constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
            if (constraint && std::string_view(constraint) == "users_email_key")
                return apiError(ApiErrorCode::EmailTaken, "an account with this email already exists");
        }
        return apiError(ApiErrorCode::Internal, std::string("database error while ") + what +
                                                    " (SQLSTATE " + std::string(code) + ")");
    }

    /// Runs one statement (prepared once per connection) on c; the result on success.
    ApiResult<PgResult> exec(Conn& c, const std::string& sql, const Params& params, const char* what) {
        if (params.hasNul())
            return apiError(ApiErrorCode::ValidationFailed, "text with a NUL character cannot be stored");
        auto it = c.prepared.find(sql);
        if (it == c.prepared.end()) {
            // (not "q" + to_string(): GCC 12 at -O3 warns a false -Wrestrict on that, PR 105329)
            std::string name = "q";
            name += std::to_string(c.prepared.size());
            PgResult prep(PQprepare(c.pg, name.c_str(), sql.c_str(), 0, nullptr));
            if (!prep || PQresultStatus(prep.get()) != PGRES_COMMAND_OK)
                return classify(c, prep.get(), what);
            it = c.prepared.emplace(sql, std::move(name)).first;
        }
        const auto ptrs = params.pointers();
        PgResult r(PQexecPrepared(c.pg, it->second.c_str(), params.size(), ptrs.data(), nullptr,
                                  nullptr, 0));
        const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            return classify(c, r.get(), what);
        return r;
    }

    /// A plain command (BEGIN, COMMIT, migrations) through the simple query protocol.
    ApiResult<PgResult> simple(Conn& c, const std::string& sql, const char* what) {
        PgResult r(PQexec(c.pg, sql.c_str()));
        const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            return classify(c, r.get(), what);
        return r;
    }

    /// One statement in its own (implicit) transaction on a borrowed connection.
    ApiResult<PgResult> run(const std::string& sql, const Params& params, const char* what) {
        auto c = acquire();
        if (!c)
            return c.error();
        auto r = exec(**c, sql, params, what);
        release(std::move(*c));
        return r;
    }

    /// BEGIN; fn(conn); COMMIT on a borrowed connection. fn returns an error to roll back.
    ApiStatus transaction(const char* what,
                          const std::function<std::optional<ApiError>(Conn&)>& fn) {
        if (auto e = transact(what, fn))
            return {*e};
        return {};
    }

    /// transaction(), answering the error (if any) as an optional.
    std::optional<ApiError> transact(const char* what,
                                     const std::function<std::optional<ApiError>(Conn&)>& fn) {
        auto borrowed = acquire();
        if (!borrowed)
            return borrowed.error();
        auto c = std::move(*borrowed);
        std::optional<ApiError> failure;
        if (auto b = simple(*c, "BEGIN", what); !b)
            failure = b.error();
        else if (auto e = fn(*c))
            failure = std::move(e);
        else if (auto cm = simple(*c, "COMMIT", what); !cm)
            failure = cm.error();
        if (failure && !c->broken && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            PgResult(PQexec(c->pg, "ROLLBACK"));
        release(std::move(c));
        return failure;
    }

    /// Rows affected by a command result (PQcmdTuples), e.g. to see whether a fence held.
    static long affected(const PgResult& r) { return std::strtol(PQcmdTuples(r.get()), nullptr, 10); }

    ApiStatus command(const std::string& sql, const Params& params, const char* what) {
        auto r = run(sql, params, what);
        if (!r)
            return {r.error()};
        return {};
    }

    ApiResult<bool> fenced(const std::string& sql, const Params& params, const char* what) {
        auto r = run(sql, params, what);
        if (!r)
            return r.error();
        return affected(*r) == 1;
    }

    ApiResult<std::vector<Job>> jobs(const std::string& sql, const Params& params, const char* what) {
        auto r = run(sql, params, what);
        if (!r)
            return r.error();
        std::vector<Job> out;
        for (int i = 0, n = PQntuples(r->get()); i < n; ++i)
            out.push_back(readJob(Row(r->get(), i)));
        return out;
    }

    ApiResult<std::optional<Job>> oneJob(const std::string& sql, const Params& params, const char* what) {
        auto v = jobs(sql, params, what);
        if (!v)
            return v.error();
        if (v->empty())
            return std::optional<Job>{};
        return std::optional<Job>(std::move(v->front()));
    }

    ApiResult<std::vector<Upload>> uploads(const std::string& sql, const Params& params, const char* what) {
        auto r = run(sql, params, what);
        if (!r)
            return r.error();
        std::vector<Upload> out;
        for (int i = 0, n = PQntuples(r->get()); i < n; ++i)
            out.push_back(readUpload(Row(r->get(), i)));
        return out;
    }

    std::optional<ApiError> migrate();
};

PostgresDatabase::Impl::~Impl() {
    if (feed)
        feed->stop();
}

std::shared_ptr<void> PostgresDatabase::subscribe(std::function<void(const std::string&)> onChange) {
    std::shared_ptr<FeedState> feed;
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->feed) {
            auto f = std::make_shared<FeedState>();
            f->keys = impl_->keys;
            f->values = impl_->values;
            f->wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            f->thread = std::thread([raw = f.get()] { raw->loop(); });
            impl_->feed = std::move(f);
        }
        feed = impl_->feed;
    }
    std::uint64_t id = 0;
    {
        std::lock_guard lock(feed->mutex);
        id = feed->nextId++;
        feed->subscribers.emplace(id, std::move(onChange));
    }
    // Changes committed after subscribe() returns are delivered: wait (bounded by the connect
    // timeout) until LISTEN is in effect. If the server is down the feed keeps retrying.
    std::unique_lock ready(feed->readyMutex);
    feed->readyCv.wait_for(ready, std::chrono::seconds(impl_->options.connectTimeoutSeconds),
                           [&] { return feed->listening; });
    return std::make_shared<Subscription>(feed, id);
}

// ------------------------------------------------------------------------------ open, migrate

std::optional<ApiError> PostgresDatabase::Impl::migrate() {
    return transact("migrating the schema", [&](Conn& c) -> std::optional<ApiError> {
        if (auto r = simple(c, kMigrationLock, "migrating the schema"); !r)
            return r.error();
        if (auto r = simple(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                            "migrating the schema");
            !r)
            return r.error();
        auto v = simple(c, "SELECT version FROM schema_version", "migrating the schema");
        if (!v)
            return v.error();
        int version = 0;
        if (PQntuples(v->get()) == 0) {
            if (auto r = simple(c, "INSERT INTO schema_version VALUES (0)", "migrating the schema"); !r)
                return r.error();
        } else {
            version = static_cast<int>(Row(v->get(), 0).i64(0));
        }
        constexpr int kKnown = static_cast<int>(std::size(kMigrations));
        if (version > kKnown) // a newer build migrated this database: refuse rather than corrupt it
            return apiError(ApiErrorCode::Internal,
                            "the database schema (version " + std::to_string(version) +
                                ") is newer than this build knows (" + std::to_string(kKnown) + ")");
        for (int m = version; m < kKnown; ++m)
            if (auto r = simple(c, std::string(kMigrations[m]), "migrating the schema"); !r)
                return r.error();
        if (auto r = simple(c, "UPDATE schema_version SET version = " + std::to_string(kKnown),
                            "migrating the schema");
            !r)
            return r.error();
        return std::nullopt;
    });
}

ApiResult<std::shared_ptr<PostgresDatabase>> PostgresDatabase::open(const std::string& url,
                                                                    const PostgresOptions& options) {
    // Parse with libpq itself (URI or key=value), for the endpoint in messages. Its own parse
    // errors may quote the URL, so they are not passed on.
    char* parseError = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parseError);
    if (!parsed) {
        PQfreemem(parseError);
        return apiError(ApiErrorCode::ValidationFailed,
                        "database_url is not a valid PostgreSQL connection URL "
                        "(postgresql://user:password@host:port/database)");
    }
    Endpoint endpoint;
    std::string host, port, hostaddr;
    for (auto* o = parsed; o->keyword; ++o) {
        const std::string_view k = o->keyword;
        const std::string v = o->val ? o->val : "";
        if (k == "host")
            host = v;
        else if (k == "hostaddr")
            hostaddr = v;
        else if (k == "port")
            port = v;
        else if (k == "password")
            endpoint.password = v;
    }
    PQconninfoFree(parsed);
    if (host.empty())
        host = hostaddr.empty() ? "localhost" : hostaddr;
    endpoint.hostPort = host + ":" + (port.empty() ? "5432" : port);

    auto impl = std::make_unique<Impl>();
    impl->endpoint = std::move(endpoint);
    impl->options = options;
    if (impl->options.poolSize == 0)
        impl->options.poolSize = 1;
    // Our defaults first, the URL last: later keywords win, so the URL may override them.
    impl->values = {std::to_string(options.connectTimeoutSeconds), "quacktracks", url};
    impl->keys = {"connect_timeout", "application_name", "dbname", nullptr};

    // Connect once now so a wrong host, port or password is a start-up error, not a 503 later.
    auto first = impl->connect();
    if (!first)
        return first.error();
    {
        std::lock_guard lock(impl->mutex);
        impl->idle.push_back(std::move(*first));
        impl->open = 1;
    }
    if (auto e = impl->migrate())
        return *e;
    return std::shared_ptr<PostgresDatabase>(new PostgresDatabase(std::move(impl)));
}

ApiResult<std::shared_ptr<PostgresDatabase>> openPostgres(const std::string& url) {
    return PostgresDatabase::open(url);
}

PostgresDatabase::PostgresDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresDatabase::~PostgresDatabase() = default;

const std::string& PostgresDatabase::endpoint() const { return impl_->endpoint.hostPort; }

ApiResult<int> PostgresDatabase::schemaVersion() {
    auto r = impl_->run("SELECT version FROM schema_version", Params{}, "reading the schema version");
    if (!r)
        return r.error();
    return PQntuples(r->get()) ? static_cast<int>(Row(r->get(), 0).i64(0)) : 0;
}

// ------------------------------------------------------------------------------ users and sessions

ApiStatus PostgresDatabase::insertUser(const User& u) {
    return impl_->command(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        Params{}.add(u.id).add(u.email).add(u.name).add(u.passwordHash).add(u.createdAt),
        "storing the account");
}

ApiResult<std::optional<User>> PostgresDatabase::userByEmail(const std::string& email) {
    auto r = impl_->run("SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1",
                        Params{}.add(email), "reading an account");
    if (!r)
        return r.error();
    if (PQntuples(r->get()) == 0)
        return std::optional<User>{};
    return std::optional<User>(readUser(Row(r->get(), 0)));
}

ApiResult<std::optional<User>> PostgresDatabase::userById(const std::string& id) {
    auto r = impl_->run("SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1",
                        Params{}.add(id), "reading an account");
    if (!r)
        return r.error();
    if (PQntuples(r->get()) == 0)
        return std::optional<User>{};
    return std::optional<User>(readUser(Row(r->get(), 0)));
}

ApiStatus PostgresDatabase::updatePasswordHash(const std::string& userId, const std::string& hash) {
    return impl_->command("UPDATE users SET password_hash = $2 WHERE id = $1",
                          Params{}.add(userId).add(hash), "updating the password");
}

ApiStatus PostgresDatabase::updateUserName(const std::string& userId, const std::string& name) {
    return impl_->command("UPDATE users SET name = $2 WHERE id = $1", Params{}.add(userId).add(name),
                          "updating the name");
}

ApiStatus PostgresDatabase::insertSession(const Session& s) {
    return impl_->command("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, "
                          "expires_at) VALUES ($1, $2, $3, $4, $5)",
                          Params{}.add(s.tokenHash).add(s.userId).add(s.createdAt).add(s.lastSeenAt).add(s.expiresAt),
                          "storing the session");
}

ApiResult<std::optional<Session>> PostgresDatabase::sessionByTokenHash(const std::string& tokenHash) {
    auto r = impl_->run("SELECT token_hash, user_id, created_at, last_seen_at, expires_at "
                        "FROM sessions WHERE token_hash = $1",
                        Params{}.add(tokenHash), "reading the session");
    if (!r)
        return r.error();
    if (PQntuples(r->get()) == 0)
        return std::optional<Session>{};
    const Row s(r->get(), 0);
    return std::optional<Session>(Session{s.text(0), s.text(1), s.i64(2), s.i64(3), s.i64(4)});
}

ApiStatus PostgresDatabase::touchSession(const std::string& tokenHash, UnixSeconds at) {
    return impl_->command("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
                          Params{}.add(tokenHash).add(at), "updating the session");
}

ApiStatus PostgresDatabase::deleteSession(const std::string& tokenHash) {
    return impl_->command("DELETE FROM sessions WHERE token_hash = $1", Params{}.add(tokenHash),
                          "deleting the session");
}

ApiStatus PostgresDatabase::deleteExpiredSessions(UnixSeconds now) {
    return impl_->command("DELETE FROM sessions WHERE expires_at <= $1", Params{}.add(now),
                          "deleting expired sessions");
}

// ------------------------------------------------------------------------------ uploads

ApiStatus PostgresDatabase::insertUpload(const Upload& u) {
    return impl_->command(std::string("INSERT INTO uploads (") + kUploadColumns +
                              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                          Params{}.add(u.id).add(u.userId).add(u.filename).add(u.declaredSize)
                              .add(u.contentType).add(u.blobKey).add(toString(u.state))
                              .add(u.createdAt).add(u.expiresAt).add(u.deleteAfter).add(u.deletedAt),
                          "storing the upload");
}

ApiResult<std::optional<Upload>> PostgresDatabase::uploadById(const std::string& id) {
    auto v = impl_->uploads(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE id = $1",
                            Params{}.add(id), "reading the upload");
    if (!v)
        return v.error();
    if (v->empty())
        return std::optional<Upload>{};
    return std::optional<Upload>(std::move(v->front()));
}

ApiStatus PostgresDatabase::consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) {
    const char* what = "storing the job";
    return impl_->transaction(what, [&](Conn& c) -> std::optional<ApiError> {
        auto u = impl_->exec(c, "UPDATE uploads SET state = 'consumed' WHERE id = $1 AND state = 'pending'",
                             Params{}.add(uploadId), what);
        if (!u)
            return u.error();
        if (Impl::affected(*u) != 1)
            return apiError(ApiErrorCode::Conflict, "this upload was already used or deleted");
        Params p;
        auto j = impl_->exec(c, std::string("INSERT INTO jobs (") + kJobColumns +
                                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                                    "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, "
                                    "$27, $28, $29)",
                             addJob(p, job), what);
        if (!j)
            return j.error();
        return std::nullopt;
    });
}

ApiResult<std::vector<Upload>> PostgresDatabase::uploadsToDelete(UnixSeconds now) {
    return impl_->uploads(std::string("SELECT ") + kUploadColumns +
                              " FROM uploads WHERE state = 'pending' AND delete_after <= $1",
                          Params{}.add(now), "listing unused uploads");
}

ApiStatus PostgresDatabase::markUploadDeleted(const std::string& uploadId, UnixSeconds at) {
    return impl_->command("UPDATE uploads SET state = 'deleted', deleted_at = COALESCE(deleted_at, $2) "
                          "WHERE id = $1",
                          Params{}.add(uploadId).add(at), "marking the upload deleted");
}

ApiResult<std::vector<Upload>> PostgresDatabase::uploadsForUser(const std::string& userId) {
    return impl_->uploads(std::string("SELECT ") + kUploadColumns +
                              " FROM uploads WHERE user_id = $1 ORDER BY created_at DESC, id",
                          Params{}.add(userId), "listing uploads");
}

// ------------------------------------------------------------------------------ jobs

ApiResult<std::optional<Job>> PostgresDatabase::jobById(const std::string& id) {
    return impl_->oneJob(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = $1",
                         Params{}.add(id), "reading the job");
}

ApiResult<std::vector<Job>> PostgresDatabase::jobsForUser(const std::string& userId, int limit) {
    return impl_->jobs(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2",
                       Params{}.add(userId).add(limit), "listing jobs");
}

ApiStatus PostgresDatabase::updateJob(const Job& job) {
    Params p;
    return impl_->command("UPDATE jobs SET " + kUpdateJobSet + " WHERE id = $1", addJob(p, job),
                          "updating the job");
}

// ------------------------------------------------------------------------------ queue

ApiResult<std::optional<Job>> PostgresDatabase::leaseNextJob(const std::string& workerId,
                                                             UnixSeconds now,
                                                             std::int64_t leaseSeconds) {
    // Oldest runnable first (by schedule, then creation, then insertion). SKIP LOCKED: a row
    // another worker is leasing right now is passed over instead of waited for, and under READ
    // COMMITTED the locked row is re-checked (still queued?) before it is updated, so no two
    // workers ever lease the same job. One statement: its own transaction.
    return impl_->oneJob(
        std::string("UPDATE jobs SET status = 'processing', attempt = attempt + 1, leased_by = $1, "
                    "lease_expires_at = $2::bigint + $3::bigint, "
                    "started_at = COALESCE(started_at, $2::bigint), progress = 0, stage = 'queued' "
                    "WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND scheduled_at <= $2::bigint "
                    "ORDER BY scheduled_at, created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ") +
            kJobColumns,
        Params{}.add(workerId).add(now).add(leaseSeconds), "leasing a job");
}

ApiResult<bool> PostgresDatabase::heartbeat(const std::string& jobId, const std::string& workerId,
                                            UnixSeconds now, std::int64_t leaseSeconds,
                                            double progress, const std::string& stage) {
    return impl_->fenced("UPDATE jobs SET lease_expires_at = $3::bigint + $4::bigint, progress = $5, "
                         "stage = $6 WHERE id = $1 AND leased_by = $2 AND status = 'processing'",
                         Params{}.add(jobId).add(workerId).add(now).add(leaseSeconds).add(progress).add(stage),
                         "extending the lease");
}

ApiResult<bool> PostgresDatabase::finishLeasedJob(const Job& job, const std::string& workerId) {
    Params p;
    addJob(p, job).add(workerId);
    return impl_->fenced("UPDATE jobs SET " + kUpdateJobSet +
                             " WHERE id = $1 AND leased_by = $30 AND status = 'processing'",
                         p, "finishing the job");
}

ApiResult<std::vector<Job>> PostgresDatabase::expiredLeases(UnixSeconds now) {
    return impl_->jobs(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE status = 'processing' AND lease_expires_at <= $1",
                       Params{}.add(now), "listing expired leases");
}

ApiResult<bool> PostgresDatabase::requeueExpiredLease(const Job& updated,
                                                      const std::string& expiredWorkerId,
                                                      UnixSeconds now) {
    Params p;
    addJob(p, updated).add(expiredWorkerId).add(now);
    return impl_->fenced("UPDATE jobs SET " + kUpdateJobSet +
                             " WHERE id = $1 AND leased_by = $30 AND status = 'processing' "
                             "AND lease_expires_at <= $31",
                         p, "re-queueing an expired lease");
}

// ------------------------------------------------------------------------------ retention

ApiResult<std::vector<Job>> PostgresDatabase::mastersToExpire(UnixSeconds now) {
    return impl_->jobs(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE status = 'done' AND download_expires_at <= $1 "
                           "AND deleted_at IS NULL",
                       Params{}.add(now), "listing expired masters");
}

ApiResult<std::vector<Upload>> PostgresDatabase::consumedUploadsToDelete() {
    std::string cols;
    for (std::string_view c : {"id", "user_id", "filename", "declared_size", "content_type", "blob_key",
                               "state", "created_at", "expires_at", "delete_after", "deleted_at"})
        cols += (cols.empty() ? "u." : ", u.") + std::string(c);
    return impl_->uploads("SELECT " + cols + " FROM uploads u JOIN jobs j ON j.upload_id = u.id "
                                             "WHERE u.state = 'consumed' AND j.status IN "
                                             "('done', 'failed', 'expired', 'deleted')",
                          Params{}, "listing finished uploads");
}

ApiStatus PostgresDatabase::recordRetentionEvent(const RetentionEvent& e) {
    return impl_->command(
        "INSERT INTO retention_events (at, subject_kind, subject_id, reason) VALUES ($1, $2, $3, $4)",
        Params{}.add(e.at).add(e.subjectKind).add(e.subjectId).add(e.reason),
        "recording a retention event");
}

ApiResult<std::vector<RetentionEvent>> PostgresDatabase::retentionEvents(const std::string& subjectId) {
    auto r = impl_->run("SELECT at, subject_kind, subject_id, reason FROM retention_events "
                        "WHERE subject_id = $1 ORDER BY seq",
                        Params{}.add(subjectId), "reading retention events");
    if (!r)
        return r.error();
    std::vector<RetentionEvent> out;
    for (int i = 0, n = PQntuples(r->get()); i < n; ++i) {
        const Row s(r->get(), i);
        out.push_back(RetentionEvent{s.i64(0), s.text(1), s.text(2), s.text(3)});
    }
    return out;
}

ApiResult<std::vector<std::string>> PostgresDatabase::liveBlobKeys(const std::vector<std::string>& keys) {
    if (keys.empty())
        return std::vector<std::string>{};
    // The four kinds of row that still need an object (see the port), checked per key; the
    // answer keeps the order of the question. A processing job keeps the masters of all its
    // attempts (as SQLite does): a fenced-out worker of an earlier attempt may still be writing
    // one, and removes its own.
    auto r = impl_->run(
        "SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS given(k, ord) WHERE "
        "EXISTS (SELECT 1 FROM uploads u WHERE u.blob_key = k AND u.state = 'pending') "
        "OR EXISTS (SELECT 1 FROM uploads u JOIN jobs j ON j.upload_id = u.id WHERE u.blob_key = k "
        "AND u.state = 'consumed' AND j.status IN ('queued', 'processing')) "
        "OR EXISTS (SELECT 1 FROM jobs j WHERE j.output_blob_key = k AND j.status = 'done' "
        "AND j.deleted_at IS NULL) "
        "OR EXISTS (SELECT 1 FROM jobs j WHERE j.status = 'processing' "
        "AND starts_with(k, 'masters/' || j.id || '-')) "
        "ORDER BY ord",
        Params{}.add(textArray(keys)), "checking stored objects");
    if (!r)
        return r.error();
    std::vector<std::string> out;
    for (int i = 0, n = PQntuples(r->get()); i < n; ++i)
        out.push_back(Row(r->get(), i).text(0));
    return out;
}

// ------------------------------------------------------------------------------ privacy

ApiStatus PostgresDatabase::deleteUserAndAnonymise(const std::string& userId,
                                                   const std::string& anonymousId) {
    const char* what = "deleting the account";
    return impl_->transaction(what, [&](Conn& c) -> std::optional<ApiError> {
        for (const auto& [sql, params] : std::initializer_list<std::pair<const char*, Params>>{
                 {"UPDATE jobs SET user_id = $2, original_filename = '', report_json = NULL, "
                  "error_message = NULL WHERE user_id = $1",
                  Params{}.add(userId).add(anonymousId)},
                 {"DELETE FROM uploads WHERE user_id = $1", Params{}.add(userId)},
                 {"DELETE FROM sessions WHERE user_id = $1", Params{}.add(userId)},
                 {"DELETE FROM users WHERE id = $1", Params{}.add(userId)},
             })
            if (auto r = impl_->exec(c, sql, params, what); !r)
                return r.error();
        return std::nullopt;
    });
}

} // namespace quack::service
