// Workers in other processes sharing the database and blob directory: a worker killed with
// SIGKILL in the middle of a job loses its lease, and a second worker finishes the job.
#include "tests/http/fixture.h"
#include "tests/http/processes.h"

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>


namespace quack::test {
namespace {

/// Starts `quacktracks worker` with extra environment variables; returns its pid.
pid_t spawnWorker(const std::vector<std::string>& extraEnv) { return spawnCli({"worker"}, extraEnv); }

class WorkerProcess : public ServiceFixture {
  protected:
    WorkerProcess() {
        config_.workers = 0;     // only the subprocesses master
        config_.leaseSeconds = 4; // the minimum loadConfig accepts: a dead worker's job waits 4 s
    }
    // The subprocesses use the system clock, so the service does too in this test.
    void SetUp() override {
        service::http::HostOptions options;
        options.runSweeper = false;
        auto host = service::http::ServiceHost::start(config_, service::systemClock(), options);
        ASSERT_TRUE(host.ok()) << host.error().message;
        host_ = std::move(host).value();
    }
};

TEST_F(WorkerProcess, KilledMidJobAnotherWorkerFinishes) {
    auto c = client();
    signUp(c, "w@example.com");
    // 120 s of audio: the engine masters ~160x real time in release (docs/benchmarks.md), so
    // the job runs for most of a second, and far longer under the sanitizers. We poll the
    // database every 2 ms, so we see it leased well before it can finish.
    const auto mix = dir_ / "long.wav";
    writeMusicWav(mix.string(), 120.0);
    const auto uploadId = upload(c, readFile(mix.string()));
    auto created = c.post("/api/v1/jobs", {{"upload_id", uploadId}, {"preset", "streaming"}});
    ASSERT_EQ(created.status, 202) << created.body;
    const auto jobId = created.json()["job"]["id"].get<std::string>();

    const std::vector<std::string> env{"QUACK_DATA_DIR=" + config_.dataDir,
                                       "QUACK_LEASE_SECONDS=" + std::to_string(config_.leaseSeconds)};
    const pid_t first = spawnWorker(env);
    ASSERT_GT(first, 0);
    const bool leased = waitFor(
        [&] {
            auto j = db().jobById(jobId).value();
            return j && j->status == service::JobStatus::Processing;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(2));
    ASSERT_TRUE(leased) << "the first worker never leased the job";
    ASSERT_EQ(kill(first, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(first, &status, 0), first);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    auto killed = db().jobById(jobId).value();
    ASSERT_TRUE(killed.has_value());
    ASSERT_EQ(killed->status, service::JobStatus::Processing)
        << "the job ended before the kill: make the fixture longer";
    EXPECT_EQ(killed->attempt, 1);
    const auto firstWorker = killed->leasedBy.value_or("");

    const pid_t second = spawnWorker(env);
    ASSERT_GT(second, 0);
    // Lease (4 s) + retry backoff (1 s + jitter) + mastering: well under 60 s even under ASan.
    auto [code, events] = c.jobEvents("/api/v1/jobs/" + jobId + "/events");
    EXPECT_EQ(code, 200);
    const bool done = waitFor(
        [&] {
            auto j = db().jobById(jobId).value();
            return j && j->status != service::JobStatus::Processing && j->status != service::JobStatus::Queued;
        },
        std::chrono::seconds(60), std::chrono::milliseconds(50));
    kill(second, SIGTERM);
    ASSERT_EQ(waitpid(second, &status, 0), second);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker did not stop cleanly on SIGTERM";
    ASSERT_TRUE(done);

    auto finished = db().jobById(jobId).value();
    ASSERT_TRUE(finished.has_value());
    ASSERT_EQ(finished->status, service::JobStatus::Done) << finished->errorCode.value_or("");
    EXPECT_EQ(finished->attempt, 2);
    if (finished->leasedBy) {
        EXPECT_NE(*finished->leasedBy, firstWorker);
    }
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back()["status"], "done");

    // The master the second worker wrote is complete and on target (tolerance: see e2e_test).
    const auto url = c.get("/api/v1/jobs/" + jobId).json()["job"]["download"]["url"].get<std::string>();
    auto master = c.get(url);
    ASSERT_EQ(master.status, 200);
    const auto path = dir_ / "master.wav";
    std::ofstream(path, std::ios::binary) << master.body;
    const auto m = measureFile(path.string());
    EXPECT_NEAR(m.seconds, 120.0, 0.01);
    EXPECT_NEAR(m.integratedLufs, -14.0, 0.2);
    EXPECT_FALSE(blobs().stat("uploads/" + uploadId).value().has_value());
}

/// Runs the CLI with stdout on a pipe; returns {pid, read end}.
std::pair<pid_t, int> spawnCli(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0)
        return {-1, -1};
    std::string exe = QUACK_CLI_PATH;
    std::vector<char*> argv{exe.data()};
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        const int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        close(fds[0]);
        execv(exe.c_str(), argv.data());
        _exit(127);
    }
    close(fds[1]);
    return {pid, fds[0]};
}

/// Reads one line (up to '\n') from fd.
std::string readLine(int fd) {
    std::string line;
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n')
        line.push_back(c);
    return line;
}

TEST(CliVerbs, ServeOnAnEphemeralPortThenStopOnSigterm) {
    const auto dir = makeTempDir("serve");
    auto [pid, out] = spawnCli({"serve", "--port", "0", "--data-dir", (dir / "data").string(), "--workers", "1",
                                "--web-root", (dir / "web").string()});
    ASSERT_GT(pid, 0);
    const auto line = readLine(out);
    // "QuackTracks serving on http://127.0.0.1:<port>/ ..."
    const auto at = line.find("http://127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << line;
    const int port = std::stoi(line.substr(at + 17));
    EXPECT_GT(port, 0);
    HttpClient c(port);
    EXPECT_EQ(c.get("/api/v1/health").status, 200);
    kill(pid, SIGTERM);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(out);
    std::filesystem::remove_all(dir);
}

TEST(CliVerbs, AdminSweepReportsWhatItDid) {
    const auto dir = makeTempDir("sweep");
    auto [pid, out] = spawnCli({"admin", "sweep", "--data-dir", (dir / "data").string()});
    ASSERT_GT(pid, 0);
    const auto line = readLine(out);
    EXPECT_EQ(line, "sweep: 0 uploads deleted, 0 masters expired, 0 leases recovered, 0 orphaned objects deleted, "
                    "0 partial writes removed, 0 errors");
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(out);
    EXPECT_TRUE(std::filesystem::exists(dir / "data" / "quacktracks.db"));
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace quack::test
