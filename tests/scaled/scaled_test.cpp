// The scaled-out service end to end: the API server on PostgreSQL and an S3-protocol server
// (s3rver), no in-process workers, and `quacktracks worker` processes that share nothing but
// the database and the bucket. Uploads go straight to the bucket through presigned URLs, as a
// browser's would. Workers are killed with SIGKILL in the middle of jobs and restarted.
//
// What "never finished twice" means is checked by the database itself: the test adds a trigger
// that logs every status change of a job, so a second `done` (or a `done` that changed again)
// would be on record, whatever the workers believed.
#include "tests/http/fixture.h"
#include "tests/http/processes.h"
#include "tests/service/database_backends.h"
#include "tests/service/s3_test_env.h"

#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <map>
#include <random>
#include <set>
#include <thread>


namespace quack::test {
namespace {

namespace st = quack::service::test;
namespace s3t = quack::service::s3test;

/// Rows of one query on a fresh connection (the test's own view of the database).
std::vector<std::vector<std::string>> query(const std::string& conninfo, const std::string& sql) {
    std::vector<std::vector<std::string>> rows;
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
        ADD_FAILURE() << PQerrorMessage(c);
        PQfinish(c);
        return rows;
    }
    PGresult* r = PQexec(c, sql.c_str());
    const auto status = PQresultStatus(r);
    if (status == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(r); ++i) {
            std::vector<std::string> row;
            for (int j = 0; j < PQnfields(r); ++j)
                row.emplace_back(PQgetvalue(r, i, j));
            rows.push_back(std::move(row));
        }
    } else if (status != PGRES_COMMAND_OK) {
        ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    }
    PQclear(r);
    PQfinish(c);
    return rows;
}

/// Runs the CLI to its end; returns {exit code, what it printed}.
std::pair<int, std::string> runCli(const std::vector<std::string>& args, const std::vector<std::string>& extraEnv,
                                   const std::string& logPath) {
    std::remove(logPath.c_str());
    const pid_t pid = spawnCli(args, extraEnv, logPath, true);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), readFile(logPath)};
}

/// The value of one key of a libpq conninfo string.
std::string conninfoValue(const std::string& conninfo, const std::string& key) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    PQfreemem(err);
    std::string value;
    for (auto* o = opts; o && o->keyword; ++o)
        if (o->val && key == o->keyword)
            value = o->val;
    PQconninfoFree(opts);
    return value;
}

/// The cluster's admin URL (postgresql://user:pw@host:port/postgres) for another database: the
/// service takes URLs, as an operator would write them.
std::string urlForDatabase(const std::string& dbname) {
    const std::string admin = st::pgAdminUrl();
    return admin.substr(0, admin.rfind('/') + 1) + dbname;
}

class ScaledOut : public ::testing::Test {
  protected:
    void SetUp() override {
        QUACK_REQUIRE_PG();
        if (s3t::S3Server::disabled())
            GTEST_SKIP() << "QUACK_TEST_S3=off";
        ASSERT_TRUE(s3t::S3Server::instance().error().empty()) << s3t::S3Server::instance().error();
        dir_ = makeTempDir("scaled");
        database_ = st::postgresBackend().make();
        ASSERT_TRUE(database_ && database_->db) << "no test database";

        config_.dataDir = (dir_ / "api").string();
        config_.port = 0;
        config_.workers = 0; // only the worker processes master
        config_.leaseSeconds = 4; // the minimum loadConfig accepts: a killed worker's job waits 4 s
        config_.maxAttempts = 20; // the test kills on purpose; the job must survive every kill
        config_.passwordHashMemoryBytes = 8192; // libsodium's minimums: hashing is not under test
        config_.passwordHashOpsLimit = 1;
        config_.webRoot = (dir_ / "web").string();
        std::filesystem::create_directories(dir_ / "web");
        std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>QuackTracks</title>";
        config_.databaseUrl = urlForDatabase(conninfoValue(database_->spec, "dbname"));
        config_.s3Endpoint = s3t::S3Server::instance().endpoint();
        config_.s3Bucket = "quack-test";
        config_.s3Region = "auto";
        config_.s3AccessKeyId = "S3RVER";
        config_.s3SecretAccessKey = "S3RVER";
        config_.s3PathStyle = true;

        service::http::HostOptions options;
        options.runSweeper = false; // the test sweeps when it wants to look
        auto host = service::http::ServiceHost::start(config_, service::systemClock(), options);
        ASSERT_TRUE(host.ok()) << host.error().message;
        host_ = std::move(host).value();

        // After the server migrated the schema: the database's own log of job status changes.
        query(database_->spec, "CREATE TABLE test_transitions (seq BIGSERIAL PRIMARY KEY, job_id TEXT, "
                               "old_status TEXT, new_status TEXT, leased_by TEXT, attempt INT)");
        query(database_->spec, "CREATE FUNCTION test_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                               "INSERT INTO test_transitions (job_id, old_status, new_status, leased_by, attempt) "
                               "VALUES (NEW.id, OLD.status, NEW.status, OLD.leased_by, NEW.attempt); "
                               "RETURN NULL; END $$");
        query(database_->spec, "CREATE TRIGGER test_log AFTER UPDATE ON jobs FOR EACH ROW "
                               "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION test_log()");
    }
    void TearDown() override {
        for (auto& [slot, pid] : workers_) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
        host_.reset();
        database_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    /// The environment a worker process on another machine would have: no shared disk.
    std::vector<std::string> workerEnv(int slot) const {
        return {"QUACK_DATA_DIR=" + (dir_ / ("worker-" + std::to_string(slot))).string(),
                "QUACK_DATABASE_URL=" + config_.databaseUrl,
                "QUACK_S3_ENDPOINT=" + config_.s3Endpoint,
                "QUACK_S3_BUCKET=" + config_.s3Bucket,
                "QUACK_S3_REGION=" + config_.s3Region,
                "QUACK_S3_ACCESS_KEY_ID=" + config_.s3AccessKeyId,
                "QUACK_S3_SECRET_ACCESS_KEY=" + config_.s3SecretAccessKey,
                "QUACK_S3_PATH_STYLE=true",
                "QUACK_LEASE_SECONDS=" + std::to_string(config_.leaseSeconds)};
    }
    void startWorker(int slot) {
        workers_[slot] = spawnCli({"worker"}, workerEnv(slot), (dir_ / ("worker-" + std::to_string(slot) + ".log")).string(), true);
        ASSERT_GT(workers_[slot], 0);
    }

    HttpClient client() const { return HttpClient(host_->port()); }
    service::BlobStore& blobs() const { return host_->services().blobs(); }

    void signUp(HttpClient& c, const std::string& email) const {
        auto r = c.post("/api/v1/auth/register", {{"email", email}, {"password", "correct horse battery"}, {"name", "T"}});
        ASSERT_EQ(r.status, 201) << r.body;
    }
    /// POST /uploads, PUT the bytes to the bucket through the presigned URL, complete.
    std::string upload(HttpClient& c, const std::string& bytes) const {
        auto r = c.post("/api/v1/uploads", {{"filename", "mix.wav"}, {"size", bytes.size()}, {"content_type", "audio/wav"}});
        EXPECT_EQ(r.status, 201) << r.body;
        const auto j = r.json();
        const auto url = j["url"].get<std::string>();
        EXPECT_EQ(url.rfind(config_.s3Endpoint, 0), 0u) << "the upload must go to the bucket: " << url;
        std::vector<std::pair<std::string, std::string>> headers;
        for (auto& [k, v] : j["headers"].items())
            headers.emplace_back(k, v.get<std::string>());
        auto put = s3t::http("PUT", url, bytes, headers);
        EXPECT_EQ(put.status, 200) << put.body;
        const auto id = j["upload_id"].get<std::string>();
        auto done = c.post("/api/v1/uploads/" + id + "/complete", nlohmann::json::object());
        EXPECT_EQ(done.status, 200) << done.body;
        return id;
    }
    std::string createJob(HttpClient& c, const std::string& uploadId) const {
        auto r = c.post("/api/v1/jobs", {{"upload_id", uploadId}, {"preset", "streaming"}});
        EXPECT_EQ(r.status, 202) << r.body;
        return r.json()["job"]["id"].get<std::string>();
    }
    std::string statusOf(const std::string& jobId) const {
        auto rows = query(database_->spec, "SELECT status FROM jobs WHERE id = '" + jobId + "'");
        return rows.empty() ? "" : rows[0][0];
    }
    /// Every object in the bucket under the service's two prefixes.
    std::vector<std::string> objects() const {
        std::vector<std::string> all;
        for (const char* prefix : {"uploads/", "masters/"}) {
            auto keys = blobs().list(prefix);
            EXPECT_TRUE(keys.ok());
            if (keys.ok())
                all.insert(all.end(), keys->begin(), keys->end());
        }
        return all;
    }

    std::filesystem::path dir_;
    std::unique_ptr<st::DatabaseUnderTest> database_;
    service::ServiceConfig config_;
    std::unique_ptr<service::http::ServiceHost> host_;
    std::map<int, pid_t> workers_;
};

TEST_F(ScaledOut, WorkersKilledMidJobLoseNothingFinishNothingTwiceLeaveNoObject) {
    auto c = client();
    signUp(c, "band@example.com");
    // 20 s of music: long enough that a worker is caught mid-job (tens of ms in release, over
    // a second under the sanitizers), short enough for CI.
    const auto mix = dir_ / "mix.wav";
    writeMusicWav(mix.string(), 20.0);
    const std::string bytes = readFile(mix.string());
    constexpr int kJobs = 8;
    std::vector<std::string> jobs;
    for (int i = 0; i < kJobs; ++i)
        jobs.push_back(createJob(c, upload(c, bytes)));
    ASSERT_FALSE(HasFailure());

    startWorker(0);
    startWorker(1);
    // Kill a worker while it holds a lease on a first attempt, 4 times in all, then let the rest
    // finish (a job's second attempt is not killed: the retry backoff grows as attempt^4 s). Which one
    // and when is random (seeded from the clock: printed, so a failure can be replayed by eye).
    const auto seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::mt19937 rng(seed);
    int kills = 0;
    for (int round = 0; round < 4; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
        int victim = -1;
        waitFor(
            [&] {
                for (const auto& row : query(database_->spec, "SELECT leased_by FROM jobs WHERE "
                                                              "status = 'processing' AND attempt = 1"))
                    for (const auto& [slot, pid] : workers_) {
                        std::string tag = "-"; // worker ids are "<host>-<pid>-<n>"
                        tag += std::to_string(pid);
                        tag += '-';
                        if (row[0].find(tag) != std::string::npos)
                            victim = slot;
                    }
                return victim >= 0;
            },
            std::chrono::seconds(30), std::chrono::milliseconds(5));
        if (victim < 0)
            break; // nothing left to interrupt: every job is done
        kill(workers_[victim], SIGKILL);
        waitpid(workers_[victim], nullptr, 0);
        ++kills;
        startWorker(victim);
    }
    SCOPED_TRACE("seed " + std::to_string(seed) + ", kills " + std::to_string(kills));

    // Lease (4 s) + backoff per kill + mastering, with both workers busy: 180 s is far above
    // what the sanitizer build needs (~40 s), so a hang still fails in bounded time.
    const bool settled = waitFor(
        [&] {
            auto rows = query(database_->spec, "SELECT count(*) FROM jobs WHERE status NOT IN ('done', 'failed')");
            return !rows.empty() && rows[0][0] == "0";
        },
        std::chrono::seconds(180), std::chrono::milliseconds(100));
    ASSERT_TRUE(settled) << "jobs still queued or processing";
    EXPECT_GE(kills, 1) << "no worker was caught mid-job: the test proved nothing";

    // Every job done, exactly once, and its master complete and on target.
    const auto doneCounts = query(database_->spec,
                                  "SELECT j.id, j.status, (SELECT count(*) FROM test_transitions t "
                                  "WHERE t.job_id = j.id AND t.new_status = 'done'), "
                                  "(SELECT count(*) FROM test_transitions t WHERE t.job_id = j.id "
                                  "AND t.old_status = 'done') FROM jobs j");
    ASSERT_EQ(doneCounts.size(), static_cast<std::size_t>(kJobs));
    for (const auto& row : doneCounts) {
        EXPECT_EQ(row[1], "done") << row[0];
        EXPECT_EQ(row[2], "1") << row[0] << " reached done " << row[2] << " times";
        EXPECT_EQ(row[3], "0") << row[0] << " changed after done";
    }
    const auto requeued = query(database_->spec, "SELECT count(*) FROM test_transitions WHERE "
                                                 "old_status = 'processing' AND new_status = 'queued'");
    ASSERT_FALSE(requeued.empty());
    EXPECT_GE(std::stoi(requeued[0][0]), kills) << "every kill mid-job must have cost that attempt";

    const auto view = c.get("/api/v1/jobs/" + jobs.front()).json()["job"];
    const auto url = view["download"]["url"].get<std::string>();
    EXPECT_EQ(url.rfind(config_.s3Endpoint, 0), 0u) << "downloads come from the bucket: " << url;
    auto master = s3t::http("GET", url, "", {});
    ASSERT_EQ(master.status, 200);
    std::ofstream(dir_ / "master.wav", std::ios::binary) << master.body;
    const auto m = measureFile((dir_ / "master.wav").string());
    EXPECT_NEAR(m.seconds, 20.0, 0.01);
    EXPECT_NEAR(m.integratedLufs, -14.0, 0.3); // the streaming preset; tolerance as in e2e_test

    // The bucket: a worker killed between storing its master and recording it leaves an object
    // no row needs; the sweeper's reconciliation deletes it (and records it). After the sweep
    // exactly one master per job remains and no original (each was deleted when its job ended).
    const auto report = service::sweepOnce(host_->services().db(), blobs(), *host_->services().ports.clock, config_);
    EXPECT_EQ(report.errors, 0);
    std::set<std::string> expected;
    for (const auto& row : query(database_->spec, "SELECT output_blob_key FROM jobs"))
        expected.insert(row[0]);
    const auto left = objects();
    EXPECT_EQ(std::set<std::string>(left.begin(), left.end()), expected);
    EXPECT_EQ(left.size(), static_cast<std::size_t>(kJobs));

    // Deleting the jobs deletes their masters from the bucket: nothing left at all.
    for (const auto& id : jobs)
        EXPECT_EQ(c.request("DELETE", "/api/v1/jobs/" + id).status, 200);
    EXPECT_TRUE(objects().empty());
}

TEST_F(ScaledOut, BucketLostTheOriginalJobFailsGoneNotStuck) {
    auto c = client();
    signUp(c, "lost@example.com");
    const auto mix = dir_ / "mix.wav";
    writeMusicWav(mix.string(), 3.0);
    const auto uploadId = upload(c, readFile(mix.string()));
    const auto jobId = createJob(c, uploadId);
    // The object disappears behind the service's back (an operator, a lifecycle rule, a fault).
    const auto key = query(database_->spec, "SELECT blob_key FROM uploads WHERE id = '" + uploadId + "'");
    ASSERT_EQ(key.size(), 1u);
    ASSERT_TRUE(blobs().remove(key[0][0]).ok());

    startWorker(0);
    ASSERT_TRUE(waitFor([&] { return statusOf(jobId) == "failed"; }, std::chrono::seconds(60),
                        std::chrono::milliseconds(50)))
        << "status " << statusOf(jobId);
    const auto job = c.get("/api/v1/jobs/" + jobId).json()["job"];
    EXPECT_EQ(job["error"]["code"], "gone") << job.dump();
    EXPECT_NE(job["error"]["message"].get<std::string>().find("gone"), std::string::npos);
    // One attempt: a missing original is permanent, retrying cannot bring it back.
    EXPECT_EQ(query(database_->spec, "SELECT attempt FROM jobs WHERE id = '" + jobId + "'")[0][0], "1");
}

TEST_F(ScaledOut, WorkerWithABadDatabaseOrBucketStopsAtStartWithAClearError) {
    const auto log = (dir_ / "start.log").string();
    auto env = workerEnv(9);

    // Wrong credentials: the password is never printed.
    auto badPassword = env;
    for (auto& e : badPassword)
        if (e.rfind("QUACK_DATABASE_URL=", 0) == 0)
            e = "QUACK_DATABASE_URL=postgresql://nobody:hunter2-secret@" + conninfoValue(database_->spec, "host") +
                ":" + conninfoValue(database_->spec, "port") + "/" + conninfoValue(database_->spec, "dbname");
    auto [code, out] = runCli({"worker"}, badPassword, log);
    EXPECT_EQ(code, 69) << out; // unavailable (quacktracks errors)
    EXPECT_EQ(out.find("hunter2-secret"), std::string::npos) << out;
    EXPECT_NE(out.find("unavailable"), std::string::npos) << out;

    // A bucket that does not exist: named, at start-up, not on the first job.
    auto noBucket = env;
    for (auto& e : noBucket)
        if (e.rfind("QUACK_S3_BUCKET=", 0) == 0)
            e = "QUACK_S3_BUCKET=no-such-bucket";
    std::tie(code, out) = runCli({"worker"}, noBucket, log);
    EXPECT_NE(code, 0) << out;
    EXPECT_NE(out.find("no-such-bucket"), std::string::npos) << out;

    // An S3 endpoint where nothing answers.
    auto noServer = env;
    for (auto& e : noServer)
        if (e.rfind("QUACK_S3_ENDPOINT=", 0) == 0)
            e = "QUACK_S3_ENDPOINT=http://127.0.0.1:9"; // discard: nothing listens
    std::tie(code, out) = runCli({"worker"}, noServer, log);
    EXPECT_EQ(code, 69) << out;
    EXPECT_NE(out.find("unreachable"), std::string::npos) << out;
}

} // namespace
} // namespace quack::test
