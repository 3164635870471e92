// The queue across processes: 8 worker processes (fork; each opens the database itself, as a
// `quacktracks worker` on another machine would) lease from one queue of 200 jobs at the same
// moment. Every job must be leased exactly once (none twice, none lost), and each lease's
// finish must hold its fence.
#include "database_backends.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace quack::service {
namespace {

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int kWorkers = 8;
constexpr int kJobs = 200;

class QueueConcurrency : public ::testing::TestWithParam<test::Backend> {
  protected:
    void SetUp() override {
        if (GetParam().needsPostgres)
            QUACK_REQUIRE_PG();
        under_ = GetParam().make();
        ASSERT_TRUE(under_ && under_->db);
    }
    void TearDown() override { under_.reset(); }
    std::unique_ptr<test::DatabaseUnderTest> under_;
};

/// The child's whole life: open, wait for the start signal, lease and finish until the queue
/// is empty, write "job_id attempt" lines to outPath. Exits 0, or 2..5 on a failure (no gtest
/// in a forked child).
[[noreturn]] void workerProcess(const test::DatabaseUnderTest& under, int index, int startFd,
                                const std::string& outPath) {
    auto db = under.open(under.spec);
    if (!db)
        ::_exit(2);
    char go = 0;
    if (::read(startFd, &go, 1) != 1)
        ::_exit(3);
    std::ofstream out(outPath);
    const std::string me = "worker-" + std::to_string(index);
    for (;;) {
        auto leased = db->leaseNextJob(me, kNow, 600);
        if (!leased.ok()) {
            // Unavailable (busy) is retryable by contract; anything else is a failure.
            if (leased.error().code == ApiErrorCode::Unavailable)
                continue;
            ::_exit(4);
        }
        if (!leased->has_value())
            break;
        Job j = **leased;
        out << j.id << ' ' << j.attempt << ' ' << (j.leasedBy ? *j.leasedBy : "") << '\n';
        j.status = JobStatus::Done;
        j.finishedAt = kNow + 1;
        j.leasedBy.reset();
        j.leaseExpiresAt.reset();
        auto finished = db->finishLeasedJob(j, me);
        if (!finished.ok() || !*finished)
            ::_exit(5);
    }
    out.close();
    db.reset();
    ::_exit(out ? 0 : 6);
}

TEST_P(QueueConcurrency, EightProcessesLeaseEveryJobExactlyOnce) {
    Database& db = *under_->db;
    for (int i = 0; i < kJobs; ++i) {
        Upload u;
        u.id = "upl_" + std::to_string(i);
        u.userId = "usr_1";
        u.filename = "a.wav";
        u.contentType = "audio/wav";
        u.blobKey = "uploads/" + u.id;
        ASSERT_TRUE(db.insertUpload(u).ok());
        Job j;
        j.id = "job_" + std::to_string(i);
        j.userId = "usr_1";
        j.uploadId = u.id;
        j.createdAt = kNow - kJobs + i;
        j.scheduledAt = j.createdAt;
        ASSERT_TRUE(db.consumeUploadAndInsertJob(u.id, j).ok());
    }

    test::TempDirForOutputs dir;
    int startPipe[2];
    ASSERT_EQ(::pipe(startPipe), 0);
    std::vector<pid_t> children;
    for (int w = 0; w < kWorkers; ++w) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(startPipe[1]);
            workerProcess(*under_, w, startPipe[0], dir.file(w));
        }
        children.push_back(pid);
    }
    ::close(startPipe[0]);
    // All children are connected (or connecting); release them together for contention.
    const std::string go(kWorkers, 'g');
    ASSERT_EQ(::write(startPipe[1], go.data(), go.size()), static_cast<ssize_t>(go.size()));
    ::close(startPipe[1]);
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "worker exited with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
            << " (2 open, 4 lease error, 5 finish fence lost)";
    }

    std::map<std::string, int> leases; // job id -> times leased
    std::set<int> busyWorkers;
    for (int w = 0; w < kWorkers; ++w) {
        std::ifstream in(dir.file(w));
        std::string id, by;
        int attempt = 0;
        while (in >> id >> attempt >> by) {
            ++leases[id];
            EXPECT_EQ(attempt, 1) << id;
            EXPECT_EQ(by, "worker-" + std::to_string(w)) << id;
            busyWorkers.insert(w);
        }
    }
    EXPECT_EQ(leases.size(), static_cast<std::size_t>(kJobs)) << "jobs lost";
    for (const auto& [id, n] : leases)
        EXPECT_EQ(n, 1) << id << " leased " << n << " times";
    // Every job is done in the database too, finished once.
    for (int i = 0; i < kJobs; ++i) {
        auto j = db.jobById("job_" + std::to_string(i));
        ASSERT_TRUE(j.ok() && j->has_value());
        EXPECT_EQ((*j)->status, JobStatus::Done);
        EXPECT_EQ((*j)->attempt, 1);
    }
    EXPECT_FALSE(db.leaseNextJob("late", kNow, 60).value().has_value());
    // Not asserted (scheduling decides), but worth seeing: how many processes got work.
    std::cout << "[          ] " << busyWorkers.size() << " of " << kWorkers
              << " worker processes leased jobs\n";
}

INSTANTIATE_TEST_SUITE_P(Adapters, QueueConcurrency, ::testing::Values(test::sqliteBackend(), test::postgresBackend()),
                         test::backendName);

} // namespace
} // namespace quack::service
