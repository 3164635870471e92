// Jobs end to end without HTTP: a real Worker running the real engine on a real SQLite queue
// and the local blob store; leases, retries, retention, deletion and the privacy rights.
#include "service_test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

namespace quack::service {
namespace {

using test::Env;
using http::parseJobSettings;
using http::toJson;

/// A blob store whose fetches fail (as a flaky disk or network would) a set number of times.
class FlakyBlobs final : public test::ForwardingBlobs {
  public:
    FlakyBlobs(std::shared_ptr<BlobStore> inner, int failures) : ForwardingBlobs(std::move(inner)), failures_(failures) {}
    ApiStatus fetchToFile(const std::string& k, const std::string& p) override {
        if (failures_-- > 0)
            return {apiError(ApiErrorCode::Internal, "simulated I/O error")};
        return inner_->fetchToFile(k, p);
    }

  private:
    int failures_;
};

/// Runs a hook right after the worker stored its master (before it completes the job).
class HookedBlobs final : public test::ForwardingBlobs {
  public:
    HookedBlobs(std::shared_ptr<BlobStore> inner, std::function<void()> afterPut)
        : ForwardingBlobs(std::move(inner)), afterPut_(std::move(afterPut)) {}
    ApiStatus putFromFile(const std::string& k, const std::string& p, const std::string& c) override {
        auto s = inner_->putFromFile(k, p, c);
        afterPut_();
        return s;
    }

  private:
    std::function<void()> afterPut_;
};

struct JobEnv : Env {
    Caller alice = user("alice@example.com");
    Worker worker(const std::string& id = "w1", std::shared_ptr<BlobStore> blobs = nullptr) {
        return Worker(config, s.db, blobs ? blobs : s.blobs, clock, id);
    }
    std::string job(const std::vector<char>& audio, nlohmann::json settings = {{"preset", "streaming"}}) {
        const auto uploadId = upload(alice, audio);
        auto parsed = parseJobSettings(settings);
        EXPECT_TRUE(parsed.ok());
        auto j = svc().createJob(alice, {uploadId, parsed.value()});
        EXPECT_TRUE(j.ok()) << (j.ok() ? "" : j.error().message);
        return j.ok() ? j->job.id : "";
    }
    Job get(const std::string& id) { return s.db->jobById(id).value().value(); }
    bool hasEvent(const std::string& subject, const std::string& reason) {
        const auto events = s.db->retentionEvents(subject);
        for (const auto& e : events.value())
            if (e.reason == reason)
                return true;
        return false;
    }
    std::size_t scratchFiles() {
        std::size_t n = 0;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir.path / "scratch", ec), end; !ec && it != end; it.increment(ec))
            ++n;
        return n;
    }
};

TEST(ServiceJobs, WorkerMastersToThePresetAndDeletesTheOriginal) {
    JobEnv env;
    const auto wav = test::musicWav(3.0);
    const auto id = env.job(wav, {{"preset", "streaming"}, {"format", "wav24"}});
    const auto uploadKey = "uploads/" + env.get(id).uploadId;
    EXPECT_EQ(env.get(id).status, JobStatus::Queued);
    EXPECT_TRUE(env.blobExists(uploadKey));

    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    const Job job = env.get(id);
    ASSERT_EQ(job.status, JobStatus::Done) << job.errorCode.value_or("") << " " << job.errorMessage.value_or("");
    EXPECT_EQ(job.attempt, 1);
    EXPECT_DOUBLE_EQ(job.progress, 1.0);
    EXPECT_EQ(job.finishedAt, test::kStart);
    EXPECT_EQ(job.downloadExpiresAt, test::kStart + env.config.retention.masterSeconds);
    EXPECT_EQ(job.usageInputBytes, static_cast<std::int64_t>(wav.size()));
    // Usage: the input's duration, to the millisecond the report rounds to.
    EXPECT_NEAR(job.usageAudioSeconds, 3.0, 1e-3);
    ASSERT_TRUE(job.reportJson.has_value());

    // The master's loudness by an independent meter (libebur128). Tolerance 0.3 LU: the engine
    // closes the loop to 0.1 LU on its own meter; a 3 s signal has only ~27 gating blocks, and
    // 24-bit TPDF dither adds noise far below that, so 0.3 covers meter differences on short
    // material without hiding a wrong target (the presets are >= 2 LU apart).
    auto path = env.s.blobs->pathOf(job.outputBlobKey);
    ASSERT_TRUE(path.has_value());
    const auto m = test::measureFile(*path);
    RecordProperty("master_integrated_lufs", std::to_string(m.integratedLufs));
    RecordProperty("master_true_peak_dbtp", std::to_string(m.truePeakDbtp));
    EXPECT_NEAR(m.integratedLufs, -14.0, 0.3);
    // Ceiling -1 dBTP; libebur128's 4x oversampling may read up to ~0.1 dB off a finer meter.
    EXPECT_LE(m.truePeakDbtp, -1.0 + 0.1);

    // The original is gone as soon as the job finished, and that was recorded.
    EXPECT_FALSE(env.blobExists(uploadKey));
    EXPECT_EQ(env.s.db->uploadById(job.uploadId).value()->state, UploadState::Deleted);
    EXPECT_TRUE(env.hasEvent(job.uploadId, "job_finished"));
    EXPECT_EQ(env.scratchFiles(), 0u);

    auto view = env.svc().getJob(env.alice, id);
    ASSERT_TRUE(view.ok());
    ASSERT_TRUE(view->download.has_value());
    auto grant = env.s.blobs->verify(LocalBlobStore::Access::Get, view->download->url, env.clock->now());
    ASSERT_TRUE(grant.ok());
    EXPECT_EQ(grant->downloadName, "mix-master.wav");
    EXPECT_EQ(toJson(*view)["report"]["schema"], "quacktracks.master.v1");
    EXPECT_FALSE(w.runOnce()); // queue empty
}

TEST(ServiceJobs, EngineInputErrorFailsForGoodWithTheEngineId) {
    JobEnv env;
    // RIFF/WAVE magic passes the upload sniffer; the engine finds the fmt chunk zeroed.
    const auto bytes = test::readBytes(std::string(QUACK_SOURCE_DIR) + "/tests/fixtures/bad_corrupt_header.wav");
    const auto id = env.job(bytes);
    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    const Job job = env.get(id);
    EXPECT_EQ(job.status, JobStatus::Failed);
    EXPECT_EQ(job.attempt, 1); // no retry: the file will not get better
    EXPECT_EQ(job.errorCode, "corrupt_file");
    auto json = toJson(*env.svc().getJob(env.alice, id));
    EXPECT_EQ(json["error"]["code"], "corrupt_file");
    // The message names the user's own file, never a scratch name (which reveals worker ids).
    const auto message = json["error"]["message"].get<std::string>();
    EXPECT_NE(message.find(job.originalFilename), std::string::npos) << message;
    EXPECT_EQ(message.find(".in"), std::string::npos) << message;
    EXPECT_FALSE(env.blobExists("uploads/" + job.uploadId)); // failed for good: original deleted
    EXPECT_TRUE(env.hasEvent(job.uploadId, "job_finished"));
}

TEST(ServiceJobs, TransientErrorsRetryWithBackoffThenSucceed) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    auto flaky = std::make_shared<FlakyBlobs>(env.s.blobs, 2);
    auto w = env.worker("w1", flaky);
    ASSERT_TRUE(w.runOnce());
    Job j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Queued);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.errorCode, "internal_error");
    // attempt^4 s + up to 10 % jitter: 1 s after attempt 1, 16..17 s after attempt 2.
    EXPECT_EQ(j.scheduledAt, env.clock->now() + 1);
    EXPECT_FALSE(w.runOnce()); // not before its time
    env.clock->advance(1);
    ASSERT_TRUE(w.runOnce());
    j = env.get(id);
    EXPECT_EQ(j.attempt, 2);
    EXPECT_GE(j.scheduledAt, env.clock->now() + 16);
    EXPECT_LE(j.scheduledAt, env.clock->now() + 17);
    EXPECT_TRUE(env.blobExists("uploads/" + j.uploadId)); // kept for the retry
    env.clock->advance(17);
    ASSERT_TRUE(w.runOnce());
    j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Done);
    EXPECT_EQ(j.attempt, 3);
    EXPECT_FALSE(j.errorCode.has_value());
}

TEST(ServiceJobs, RetriesExhaustedLeaveADeadJobWithItsError) {
    JobEnv env;
    const auto id = env.job(test::musicWav(0.5));
    auto w = env.worker("w1", std::make_shared<FlakyBlobs>(env.s.blobs, 1000));
    for (int i = 0; i < env.config.maxAttempts; ++i) {
        ASSERT_TRUE(w.runOnce()) << i;
        env.clock->advance(1000);
    }
    const Job j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Failed);
    EXPECT_EQ(j.attempt, env.config.maxAttempts);
    EXPECT_EQ(j.errorCode, "internal_error");
    EXPECT_EQ(j.errorMessage, "simulated I/O error");
    EXPECT_FALSE(w.runOnce());
    EXPECT_FALSE(env.blobExists("uploads/" + j.uploadId));
}

/// A store that takes no more objects (a full disk, a bucket over its quota).
class FullBlobs final : public test::ForwardingBlobs {
  public:
    using ForwardingBlobs::ForwardingBlobs;
    ApiStatus putFromFile(const std::string&, const std::string&, const std::string&) override {
        return {apiError(ApiErrorCode::Unavailable, "object storage refused the write: the bucket is full")};
    }
};

TEST(ServiceJobs, AFullStoreFailsTheJobWithItsReasonNotStuckAndStoresNothing) {
    JobEnv env;
    const auto id = env.job(test::musicWav(0.5));
    auto w = env.worker("w1", std::make_shared<FullBlobs>(env.s.blobs));
    for (int i = 0; i < env.config.maxAttempts; ++i) {
        ASSERT_TRUE(w.runOnce()) << i;
        EXPECT_NE(env.get(id).status, JobStatus::Processing) << "a failed write must not leave it leased";
        env.clock->advance(1000);
    }
    const Job j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Failed);
    EXPECT_EQ(j.errorCode, "unavailable");
    EXPECT_NE(j.errorMessage.value_or("").find("full"), std::string::npos);
    EXPECT_TRUE(j.outputBlobKey.empty());
    EXPECT_FALSE(env.blobExists("uploads/" + j.uploadId)); // the original still goes
}

TEST(ServiceJobs, ExpiredLeaseIsFencedAndAnotherWorkerFinishes) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    // Worker "a" leases the job, then hangs (no heartbeats).
    auto leased = env.s.db->leaseNextJob("a", env.clock->now(), env.config.leaseSeconds).value();
    ASSERT_TRUE(leased.has_value());
    EXPECT_FALSE(env.s.db->leaseNextJob("b", env.clock->now(), env.config.leaseSeconds).value().has_value());
    EXPECT_TRUE(env.s.db->heartbeat(id, "a", env.clock->now(), env.config.leaseSeconds, 0.3, "process").value());
    EXPECT_FALSE(env.s.db->heartbeat(id, "b", env.clock->now(), env.config.leaseSeconds, 0.3, "process").value());
    env.clock->advance(env.config.leaseSeconds + 1);

    auto b = env.worker("b");
    EXPECT_FALSE(b.runOnce()); // recovered (re-queued with 1 s backoff), not yet runnable
    Job j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Queued);
    EXPECT_EQ(j.errorCode, "lease_expired");
    // The old holder is fenced off: its heartbeat and its completion are refused.
    EXPECT_FALSE(env.s.db->heartbeat(id, "a", env.clock->now(), env.config.leaseSeconds, 0.9, "render").value());
    Job stale = *leased;
    stale.status = JobStatus::Done;
    EXPECT_FALSE(env.s.db->finishLeasedJob(stale, "a").value());
    env.clock->advance(1);
    ASSERT_TRUE(b.runOnce());
    j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Done);
    EXPECT_EQ(j.attempt, 2);
}

TEST(ServiceJobs, WorkerKilledMidJobLeavesAJobAnotherWorkerFinishes) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    const auto scratch = env.dir.path / "scratch";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // A separate process with its own connection: lease, start a scratch copy, then die
        // the way kill -9 does (no destructors, no cleanup).
        auto db = SqliteDatabase::open(env.dir.file("quacktracks.db"));
        if (!db || !(*db)->leaseNextJob("doomed", test::kStart, env.config.leaseSeconds))
            _exit(1);
        std::ofstream(scratch / (id + ".doomed.1.in")) << "partial copy";
        ::raise(SIGKILL);
        _exit(2);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_EQ(env.get(id).status, JobStatus::Processing);
    EXPECT_EQ(env.get(id).leasedBy, "doomed");

    // A restart: new connections and adapters over the same files.
    env.reopen();
    env.clock->advance(env.config.leaseSeconds + 1);
    auto report = sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config);
    EXPECT_EQ(report.leasesRecovered, 1);
    EXPECT_EQ(env.scratchFiles(), 0u); // the dead worker's scratch copy is removed
    env.clock->advance(2);
    auto w = env.worker("survivor");
    ASSERT_TRUE(w.runOnce());
    EXPECT_EQ(env.get(id).status, JobStatus::Done);
}

TEST(ServiceJobs, CompetingConnectionsNeverLeaseTheSameJobTwice) {
    JobEnv env;
    // Queue rows directly (the engine is not under test here): 60 jobs.
    constexpr int kJobs = 60;
    for (int i = 0; i < kJobs; ++i) {
        Upload u{std::string("upl_c") + std::to_string(i), env.alice.userId, "x.wav", 1, "audio/wav",
                 std::string("uploads/upl_c") + std::to_string(i), UploadState::Pending, test::kStart, test::kStart,
                 test::kStart + 10, std::nullopt};
        ASSERT_TRUE(env.s.db->insertUpload(u).ok());
        Job j;
        j.id = std::string("job_c") + std::to_string(i);
        j.userId = env.alice.userId;
        j.uploadId = u.id;
        j.createdAt = test::kStart;
        j.scheduledAt = test::kStart;
        ASSERT_TRUE(env.s.db->consumeUploadAndInsertJob(u.id, j).ok());
    }
    // 2 processes x 3 threads, each thread with its own connection.
    const auto dbPath = env.dir.file("quacktracks.db");
    auto runWorkers = [&](const std::string& tag, const std::string& outPath) {
        std::mutex m;
        std::vector<std::string> got;
        std::vector<std::thread> threads;
        for (int t = 0; t < 3; ++t)
            threads.emplace_back([&, t] {
                auto db = SqliteDatabase::open(dbPath);
                if (!db)
                    return;
                const std::string wid = tag + std::to_string(t);
                while (true) {
                    auto leasedJob = (*db)->leaseNextJob(wid, test::kStart, 60);
                    if (!leasedJob || !*leasedJob)
                        break;
                    const auto& j = *leasedJob;
                    Job done = *j;
                    done.status = JobStatus::Done;
                    done.leasedBy.reset();
                    if (auto fin = (*db)->finishLeasedJob(done, wid); fin && fin.value()) {
                        std::lock_guard lock(m);
                        got.push_back(j->id);
                    }
                }
            });
        for (auto& th : threads)
            th.join();
        std::ofstream out(outPath);
        for (const auto& g : got)
            out << g << "\n";
    };
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        runWorkers("child", env.dir.file("child.txt"));
        _exit(0);
    }
    runWorkers("parent", env.dir.file("parent.txt"));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::multiset<std::string> all;
    for (const char* f : {"child.txt", "parent.txt"}) {
        std::ifstream in(env.dir.file(f));
        for (std::string line; std::getline(in, line);)
            all.insert(line);
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs));
    for (const auto& id : all)
        EXPECT_EQ(all.count(id), 1u) << id;
}

TEST(ServiceJobs, RestartLosesNoJobAndNoFile) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    const auto uploadKey = "uploads/" + env.get(id).uploadId;
    env.reopen();
    EXPECT_TRUE(env.blobExists(uploadKey));
    EXPECT_EQ(env.get(id).status, JobStatus::Queued);
    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    EXPECT_EQ(env.get(id).status, JobStatus::Done);
    env.reopen();
    EXPECT_TRUE(env.s.blobs->pathOf(env.get(id).outputBlobKey).has_value());
}

TEST(ServiceRetention, UnusedUploadDeletedAfter24Hours) {
    JobEnv env;
    const auto id = env.upload(env.alice, test::musicWav(0.2));
    const auto path = env.dir.path / "blobs" / "uploads" / id;
    ASSERT_TRUE(std::filesystem::exists(path));
    env.clock->advance(env.config.retention.unusedUploadSeconds - 1);
    EXPECT_EQ(sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config).uploadsDeleted, 0);
    EXPECT_TRUE(std::filesystem::exists(path));
    env.clock->advance(1);
    EXPECT_EQ(sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config).uploadsDeleted, 1);
    EXPECT_FALSE(std::filesystem::exists(path)); // the bytes, not just a flag
    EXPECT_TRUE(env.hasEvent(id, "unused_24h"));
    EXPECT_EQ(env.s.db->uploadById(id).value()->state, UploadState::Deleted);
    EXPECT_EQ(env.svc().createJob(env.alice, {id, {}}).error().id(), "conflict");
    EXPECT_EQ(sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config).uploadsDeleted, 0);
}

TEST(ServiceRetention, MasterExpiresAfter7DaysAndMetadataStays) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    const Job done = env.get(id);
    ASSERT_EQ(done.status, JobStatus::Done);
    const auto masterPath = *env.s.blobs->pathOf(done.outputBlobKey);

    env.clock->advance(env.config.retention.masterSeconds - 1);
    EXPECT_EQ(sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config).mastersExpired, 0);
    auto view = env.svc().getJob(env.alice, id);
    ASSERT_TRUE(view->download.has_value());
    // A download URL never outlives the download window.
    EXPECT_EQ(view->download->expiresAt, *done.downloadExpiresAt);

    env.clock->advance(1);
    EXPECT_EQ(sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config).mastersExpired, 1);
    EXPECT_FALSE(std::filesystem::exists(masterPath));
    const Job expired = env.get(id);
    EXPECT_EQ(expired.status, JobStatus::Expired);
    EXPECT_EQ(expired.deletedAt, env.clock->now());
    EXPECT_TRUE(env.hasEvent(id, "download_expired"));
    auto json = toJson(*env.svc().getJob(env.alice, id));
    EXPECT_EQ(json["status"], "expired");
    EXPECT_TRUE(json["download"].is_null());
    // Metadata kept: timestamps, settings, usage.
    EXPECT_EQ(json["settings"]["preset"], "streaming");
    EXPECT_EQ(json["finished_at"], done.finishedAt ? nlohmann::json(toJson(JobView{done, {}})["finished_at"]) : nullptr);
    EXPECT_GT(json["usage"]["input_bytes"].get<std::int64_t>(), 0);
}

TEST(ServiceRetention, DeleteJobRemovesBytesNow) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    const auto masterPath = *env.s.blobs->pathOf(env.get(id).outputBlobKey);
    auto deleted = env.svc().deleteJob(env.alice, id);
    ASSERT_TRUE(deleted.ok());
    EXPECT_EQ(deleted->job.status, JobStatus::Deleted);
    EXPECT_FALSE(deleted->download.has_value());
    EXPECT_FALSE(std::filesystem::exists(masterPath));
    EXPECT_TRUE(env.hasEvent(id, "user_deleted"));
    EXPECT_TRUE(env.svc().deleteJob(env.alice, id).ok()); // idempotent

    // Deleting a queued job removes the original at once and the worker never runs it.
    const auto queued = env.job(test::musicWav(0.5));
    const auto uploadId = env.get(queued).uploadId;
    ASSERT_TRUE(env.svc().deleteJob(env.alice, queued).ok());
    EXPECT_FALSE(env.blobExists("uploads/" + uploadId));
    EXPECT_TRUE(env.hasEvent(uploadId, "user_deleted"));
    EXPECT_FALSE(w.runOnce());
}

TEST(ServiceRetention, DeletedWhileProcessingTheWorkerAbandonsAndLeavesNoBytes) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    const auto uploadId = env.get(id).uploadId;
    // The user deletes the job while the worker is between storing its master and finishing.
    auto hooked = std::make_shared<HookedBlobs>(env.s.blobs, [&] { ASSERT_TRUE(env.svc().deleteJob(env.alice, id).ok()); });
    auto w = env.worker("w1", hooked);
    ASSERT_TRUE(w.runOnce());
    const Job j = env.get(id);
    EXPECT_EQ(j.status, JobStatus::Deleted); // the fenced finish did not overwrite it
    EXPECT_TRUE(j.outputBlobKey.empty());
    std::size_t masters = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(env.dir.path / "blobs" / "masters", ec), end; !ec && it != end;
         it.increment(ec))
        ++masters;
    EXPECT_EQ(masters, 0u); // the worker removed what it had stored
    EXPECT_FALSE(env.blobExists("uploads/" + uploadId));
    EXPECT_EQ(env.scratchFiles(), 0u);
}

TEST(ServicePrivacy, ExportHasEverythingButSecrets) {
    JobEnv env;
    const auto id = env.job(test::musicWav(1.0));
    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    auto exported = env.svc().exportData(env.alice);
    ASSERT_TRUE(exported.ok());
    const auto e = toJson(exported.value());
    EXPECT_EQ(e["schema"], "quacktracks.export.v1");
    EXPECT_EQ(e["user"]["email"], "alice@example.com");
    ASSERT_EQ(e["jobs"].size(), 1u);
    EXPECT_EQ(e["jobs"][0]["id"], id);
    EXPECT_EQ(e["uploads"].size(), 1u);
    EXPECT_GE(e["retention_events"].size(), 1u);
    const auto text = e.dump();
    const auto user = env.s.db->userById(env.alice.userId).value();
    EXPECT_EQ(text.find(user->passwordHash), std::string::npos);
    EXPECT_EQ(text.find(env.alice.sessionTokenHash), std::string::npos);
    EXPECT_EQ(text.find("argon2"), std::string::npos);
}

TEST(ServicePrivacy, DeleteAccountRemovesFilesAndPersonalDataKeepsAnonymousMetadata) {
    JobEnv env;
    const auto doneId = env.job(test::musicWav(1.0));
    auto w = env.worker();
    ASSERT_TRUE(w.runOnce());
    const auto queuedId = env.job(test::musicWav(0.5));
    const auto unusedUpload = env.upload(env.alice, test::musicWav(0.2));
    const auto master = *env.s.blobs->pathOf(env.get(doneId).outputBlobKey);
    const auto queuedUpload = env.get(queuedId).uploadId;

    EXPECT_EQ(env.svc().deleteAccount(env.alice, "wrong password!").error().id(), "invalid_credentials");
    ASSERT_TRUE(env.svc().deleteAccount(env.alice, "correct horse battery").ok());

    EXPECT_FALSE(std::filesystem::exists(master));
    EXPECT_FALSE(env.blobExists("uploads/" + queuedUpload));
    EXPECT_FALSE(env.blobExists("uploads/" + unusedUpload));
    EXPECT_FALSE(env.s.db->userById(env.alice.userId).value().has_value());
    EXPECT_FALSE(env.s.db->userByEmail("alice@example.com").value().has_value());
    EXPECT_FALSE(env.s.db->sessionByTokenHash(env.alice.sessionTokenHash).value().has_value());
    EXPECT_FALSE(env.s.db->uploadById(unusedUpload).value().has_value());
    EXPECT_TRUE(env.s.db->jobsForUser(env.alice.userId, 100).value().empty());
    // Job metadata stays, anonymised: no user id, no filename, no report.
    const Job kept = env.get(doneId);
    EXPECT_EQ(kept.userId.rfind("anon_", 0), 0u);
    EXPECT_TRUE(kept.originalFilename.empty());
    EXPECT_FALSE(kept.reportJson.has_value());
    EXPECT_EQ(kept.status, JobStatus::Deleted);
    EXPECT_GT(kept.usageInputBytes, 0);
    EXPECT_EQ(env.get(queuedId).status, JobStatus::Deleted);
    EXPECT_TRUE(env.hasEvent(unusedUpload, "user_deleted"));
    EXPECT_FALSE(w.runOnce());
    // The email can be registered again.
    EXPECT_TRUE(env.svc().registerUser({"alice@example.com", "correct horse battery", "A", ""}).ok());
}

} // namespace
} // namespace quack::service
