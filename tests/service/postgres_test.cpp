// What only the PostgreSQL adapter has: connecting (bad URL, wrong password, no server),
// migrations, the connection pool under threads and after lost connections, the error
// mapping, and the LISTEN/NOTIFY change feed. The behaviour it shares with SQLite is in
// database_contract_test.cpp.
#include "database_backends.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace quack::service {
namespace {

using test::codeOf;
using test::messageOf;

constexpr UnixSeconds kNow = 1'800'000'000;

/// host and port of the test cluster, from its URL.
std::pair<std::string, std::string> clusterHostPort() {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(test::pgAdminUrl().c_str(), &err);
    PQfreemem(err);
    std::string host, port;
    for (auto* o = opts; o && o->keyword; ++o) {
        if (std::string(o->keyword) == "host" && o->val)
            host = o->val;
        if (std::string(o->keyword) == "port" && o->val)
            port = o->val;
    }
    PQconninfoFree(opts);
    return {host, port};
}

class PostgresAdapter : public ::testing::Test {
  protected:
    void SetUp() override {
        QUACK_REQUIRE_PG();
        under_ = test::postgresBackend().make();
        ASSERT_TRUE(under_ && under_->db);
        pg = std::dynamic_pointer_cast<PostgresDatabase>(under_->db);
        ASSERT_TRUE(pg);
    }
    void TearDown() override {
        pg.reset();
        under_.reset();
    }

    /// Runs SQL on this test's database (as the admin), e.g. to tamper with it.
    std::string execHere(const std::string& sql) {
        PGconn* c = PQconnectdb(under_->spec.c_str());
        std::string err;
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            err = PQresultErrorMessage(r);
        PQclear(r);
        PQfinish(c);
        return err;
    }

    void seedJob(Database& db, const std::string& n) {
        Upload u;
        u.id = "upl_" + n;
        u.userId = "usr_1";
        u.filename = "a.wav";
        u.contentType = "audio/wav";
        u.blobKey = "uploads/" + u.id;
        ASSERT_TRUE(db.insertUpload(u).ok());
        Job j;
        j.id = "job_" + n;
        j.userId = "usr_1";
        j.uploadId = u.id;
        j.createdAt = kNow;
        j.scheduledAt = kNow;
        ASSERT_TRUE(db.consumeUploadAndInsertJob(u.id, j).ok());
    }

    std::shared_ptr<PostgresDatabase> pg;
    std::unique_ptr<test::DatabaseUnderTest> under_;
};

TEST(PostgresOpen, MalformedUrlIsValidationFailedWithoutThePassword) {
    // libpq rejects an unknown URI parameter while parsing; its message would quote the URL.
    auto r = PostgresDatabase::open("postgresql://quack:s3cret-pass@127.0.0.1:5432/db?no_such_option=1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ApiErrorCode::ValidationFailed);
    EXPECT_EQ(r.error().message.find("s3cret-pass"), std::string::npos) << r.error().message;
}

TEST(PostgresOpen, NoServerIsUnavailableNamingHostAndPort) {
    // Port 1 on loopback: nothing listens there (tcpmux is never run), so the connect is refused.
    auto r = PostgresDatabase::open("postgresql://quack:s3cret-pass@127.0.0.1:1/db");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ApiErrorCode::Unavailable);
    EXPECT_NE(r.error().message.find("127.0.0.1:1"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("s3cret-pass"), std::string::npos) << r.error().message;
}

TEST(PostgresOpen, WrongPasswordIsUnavailableWithoutThePassword) {
    QUACK_REQUIRE_PG();
    const auto [host, port] = clusterHostPort();
    const std::string wrong = "not-the-password-42";
    auto r = PostgresDatabase::open("postgresql://quack:" + wrong + "@" + host + ":" + port + "/postgres");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ApiErrorCode::Unavailable);
    EXPECT_NE(r.error().message.find(host + ":" + port), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("password authentication failed"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(r.error().message.find(wrong), std::string::npos) << r.error().message;
}

TEST(PostgresOpen, MissingDatabaseIsUnavailable) {
    QUACK_REQUIRE_PG();
    auto r = PostgresDatabase::open(test::pgConninfoFor("quack_no_such_database"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ApiErrorCode::Unavailable);
    EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
}

TEST_F(PostgresAdapter, MigratesOnceAndRefusesANewerSchema) {
    EXPECT_EQ(pg->schemaVersion().value(), 1);
    auto again = PostgresDatabase::open(under_->spec); // an already migrated database opens as is
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ((*again)->schemaVersion().value(), 1);
    ASSERT_EQ(execHere("UPDATE schema_version SET version = 99"), "");
    auto newer = PostgresDatabase::open(under_->spec);
    ASSERT_FALSE(newer.ok());
    EXPECT_EQ(newer.error().code, ApiErrorCode::Internal);
    EXPECT_NE(newer.error().message.find("newer"), std::string::npos) << newer.error().message;
}

TEST_F(PostgresAdapter, ProcessesStartingTogetherMigrateOnce) {
    // A fresh database opened by 4 threads at once: the advisory lock lets one migrate, the
    // others wait and find the schema there (without it, CREATE TABLE races and fails).
    ASSERT_EQ(execHere("DROP TABLE users, sessions, uploads, jobs, retention_events, schema_version; "
                       "DROP FUNCTION quack_jobs_notify"),
              "");
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            if (PostgresDatabase::open(under_->spec).ok())
                ++ok;
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(ok.load(), 4);
}

TEST_F(PostgresAdapter, DuplicateIdIsInternalNotEmailTaken) {
    ASSERT_TRUE(pg->insertUser(User{"usr_1", "a@example.com", "A", "h", kNow}).ok());
    auto dup = pg->insertUser(User{"usr_1", "b@example.com", "B", "h", kNow});
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(codeOf(dup), ApiErrorCode::Internal); // a random id collision is a bug, not the user's email
    EXPECT_NE(messageOf(dup).find("23505"), std::string::npos) << messageOf(dup);
    EXPECT_EQ(messageOf(dup).find("b@example.com"), std::string::npos) << messageOf(dup);
}

TEST_F(PostgresAdapter, TextWithNulIsRefusedNotTruncated) {
    // libpq's text parameters end at a NUL: storing "Ada\0x" would keep "Ada" silently.
    auto r = pg->insertUser(User{"usr_1", "a@example.com", std::string("Ada\0x", 5), "h", kNow});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(codeOf(r), ApiErrorCode::ValidationFailed);
    EXPECT_FALSE(pg->userById("usr_1").value().has_value());
}

TEST_F(PostgresAdapter, LostConnectionsAreUnavailableThenReplaced) {
    ASSERT_TRUE(pg->insertUser(User{"usr_1", "a@example.com", "A", "h", kNow}).ok());
    // The server ends every session of this database (as a failover or restart would).
    PGconn* probe = PQconnectdb(under_->spec.c_str());
    const std::string dbname = PQdb(probe);
    PQfinish(probe);
    ASSERT_EQ(test::pgAdminExec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = '" + dbname + "' AND pid <> pg_backend_pid()"),
              "");
    // The pooled connection is dead: the first use fails as Unavailable (retryable), never as
    // "not found"; the pool drops it and the next call connects afresh.
    auto first = pg->userById("usr_1");
    if (!first.ok()) {
        EXPECT_EQ(first.error().code, ApiErrorCode::Unavailable) << first.error().message;
    }
    auto second = pg->userById("usr_1");
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_TRUE(second->has_value());
}

TEST_F(PostgresAdapter, PoolServesManyThreads) {
    // 8 threads over a pool of 2 connections: every call succeeds (waiting for a connection),
    // and the pool never opens more than its size.
    PostgresOptions small;
    small.poolSize = 2;
    auto opened = PostgresDatabase::open(under_->spec, small);
    ASSERT_TRUE(opened.ok());
    auto db = *opened;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                const std::string id = "usr_" + std::to_string(t) + "_" + std::to_string(i);
                if (!db->insertUser(User{id, id + "@example.com", "n", "h", kNow}).ok())
                    ++failures;
                auto u = db->userById(id);
                if (!u.ok() || !u->has_value())
                    ++failures;
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    PGconn* c = PQconnectdb(under_->spec.c_str());
    PGresult* r = PQexec(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name = 'quacktracks'");
    const int open = std::atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    // 2 from `db`, up to the default pool's connections of `pg` (1 used so far)
    EXPECT_LE(open, 3);
}

/// Collects job ids from the feed; waits for one with a timeout.
struct Collector {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> seen;
    void add(const std::string& id) {
        std::lock_guard lock(m);
        seen.push_back(id);
        cv.notify_all();
    }
    /// True once `id` has been seen `times` times, within 5 s (NOTIFY arrives in milliseconds
    /// on loopback; 5 s only bounds a failing test).
    bool waitFor(const std::string& id, std::size_t times = 1) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, std::chrono::seconds(5), [&] {
            return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), id)) >= times;
        });
    }
    std::size_t count() {
        std::lock_guard lock(m);
        return seen.size();
    }
};

TEST_F(PostgresAdapter, ChangeFeedWakesOnEveryJobChangeFromAnyProcess) {
    Collector got;
    auto handle = pg->subscribe([&](const std::string& id) { got.add(id); });
    ASSERT_TRUE(handle);

    seedJob(*pg, "a"); // insert
    EXPECT_TRUE(got.waitFor("job_a", 1));
    // A change made through another adapter instance (another server or worker machine).
    auto other = PostgresDatabase::open(under_->spec);
    ASSERT_TRUE(other.ok());
    auto leased = (*other)->leaseNextJob("w1", kNow, 60).value();
    ASSERT_TRUE(leased.has_value());
    EXPECT_TRUE(got.waitFor("job_a", 2));
    ASSERT_TRUE((*other)->heartbeat("job_a", "w1", kNow + 1, 60, 0.5, "eq").value());
    EXPECT_TRUE(got.waitFor("job_a", 3));
    // A fenced-off write changes nothing and sends nothing; a rolled-back one neither.
    EXPECT_FALSE((*other)->heartbeat("job_a", "w2", kNow + 1, 60, 0.9, "x").value());
    EXPECT_NE(codeOf(pg->consumeUploadAndInsertJob("upl_a", Job{})), ApiErrorCode::Unavailable);
    Job done = *leased;
    done.status = JobStatus::Done;
    ASSERT_TRUE((*other)->finishLeasedJob(done, "w1").value());
    EXPECT_TRUE(got.waitFor("job_a", 4));
    EXPECT_EQ(got.count(), 4u) << "one notification per committed change";

    // Two subscribers each get it; after a handle is dropped, its callback is not called.
    Collector second;
    auto handle2 = pg->subscribe([&](const std::string& id) { second.add(id); });
    handle.reset();
    seedJob(*pg, "b");
    EXPECT_TRUE(second.waitFor("job_b"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(got.count(), 4u);
}

TEST_F(PostgresAdapter, ChangeFeedReconnectsAfterTheServerDropsIt) {
    Collector got;
    auto handle = pg->subscribe([&](const std::string& id) { got.add(id); });
    PGconn* probe = PQconnectdb(under_->spec.c_str());
    const std::string dbname = PQdb(probe);
    PQfinish(probe);
    ASSERT_EQ(test::pgAdminExec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = '" + dbname + "' AND pid <> pg_backend_pid()"),
              "");
    // The listener reconnects within its backoff (100 ms first); changes after that arrive.
    bool seen = false;
    for (int i = 0; i < 50 && !seen; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        (void)pg->userById("x"); // lets the pool replace its own dead connection too
        auto j = pg->jobById("job_r");
        if (j.ok() && !j->has_value())
            seedJob(*pg, "r");
        else if (j.ok())
            (void)pg->updateJob(**j);
        std::unique_lock lock(got.m);
        seen = std::count(got.seen.begin(), got.seen.end(), "job_r") > 0;
    }
    EXPECT_TRUE(seen);
}

} // namespace
} // namespace quack::service
