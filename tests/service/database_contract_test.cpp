// The Database contract: every behaviour the use cases rely on, run against each adapter
// (INSTANTIATE_TEST_SUITE_P at the bottom). An adapter that passes is interchangeable with the
// others; a behaviour that differs between them is a bug in one of them or a gap here.
#include "database_backends.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace quack::service {
namespace {

using test::codeOf;

constexpr UnixSeconds kNow = 1'800'000'000; // an arbitrary fixed "now" (2027-01-15)

User user(const std::string& id, const std::string& email) {
    return User{id, email, "Name " + id, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA", kNow};
}

Upload upload(const std::string& id, const std::string& userId, UnixSeconds createdAt = kNow) {
    Upload u;
    u.id = id;
    u.userId = userId;
    u.filename = id + ".wav";
    u.declaredSize = 1234567;
    u.contentType = "audio/wav";
    u.blobKey = "uploads/" + id;
    u.createdAt = createdAt;
    u.expiresAt = createdAt + 900;
    u.deleteAfter = createdAt + 86400;
    return u;
}

Job job(const std::string& id, const std::string& userId, const std::string& uploadId,
        UnixSeconds createdAt = kNow) {
    Job j;
    j.id = id;
    j.userId = userId;
    j.uploadId = uploadId;
    j.originalFilename = uploadId + ".wav";
    j.settings.preset = "streaming";
    j.createdAt = createdAt;
    j.scheduledAt = createdAt;
    j.maxAttempts = 3;
    j.usageInputBytes = 1234567;
    return j;
}

std::vector<std::string> ids(const std::vector<Job>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs)
        out.push_back(j.id);
    return out;
}

class DatabaseContract : public ::testing::TestWithParam<test::Backend> {
  protected:
    void SetUp() override {
        if (GetParam().needsPostgres)
            QUACK_REQUIRE_PG();
        under_ = GetParam().make();
        ASSERT_TRUE(under_ && under_->db) << "cannot open the " << GetParam().name << " database";
        db = under_->db.get();
    }
    void TearDown() override { under_.reset(); }

    /// A user with one pending upload consumed by one queued job (ids from `n`).
    Job queuedJob(const std::string& n, UnixSeconds createdAt = kNow) {
        const std::string uid = "usr_" + n, upl = "upl_" + n;
        if (!db->userById(uid).value()) {
            EXPECT_TRUE(db->insertUser(user(uid, n + "@example.com")).ok());
        }
        EXPECT_TRUE(db->insertUpload(upload(upl, uid, createdAt)).ok());
        Job j = job("job_" + n, uid, upl, createdAt);
        EXPECT_TRUE(db->consumeUploadAndInsertJob(upl, j).ok());
        return j;
    }

    Database* db = nullptr;

  private:
    std::unique_ptr<test::DatabaseUnderTest> under_;
};

// ---- users and sessions ----

TEST_P(DatabaseContract, InsertsAndFindsUsers) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    auto byEmail = db->userByEmail("a@example.com");
    ASSERT_TRUE(byEmail.ok());
    ASSERT_TRUE(byEmail->has_value());
    EXPECT_EQ((*byEmail)->id, "usr_a");
    EXPECT_EQ((*byEmail)->name, "Name usr_a");
    EXPECT_EQ((*byEmail)->passwordHash, user("", "").passwordHash);
    EXPECT_EQ((*byEmail)->createdAt, kNow);
    auto byId = db->userById("usr_a");
    ASSERT_TRUE(byId.ok() && byId->has_value());
    EXPECT_EQ((*byId)->email, "a@example.com");
    // "not there" is an empty optional inside a success, not an error
    auto none = db->userByEmail("nobody@example.com");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    auto noId = db->userById("usr_missing");
    ASSERT_TRUE(noId.ok());
    EXPECT_FALSE(noId->has_value());
}

TEST_P(DatabaseContract, DuplicateEmailIsEmailTaken) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    auto again = db->insertUser(user("usr_b", "a@example.com"));
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(codeOf(again), ApiErrorCode::EmailTaken);
    EXPECT_FALSE(db->userById("usr_b").value().has_value());
}

TEST_P(DatabaseContract, UpdatesPasswordHashAndName) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    ASSERT_TRUE(db->updatePasswordHash("usr_a", "$argon2id$new").ok());
    ASSERT_TRUE(db->updateUserName("usr_a", "Ada Lovelace").ok());
    auto u = db->userById("usr_a").value();
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->passwordHash, "$argon2id$new");
    EXPECT_EQ(u->name, "Ada Lovelace");
    EXPECT_EQ(u->email, "a@example.com");
    // updating a missing user is not an error (nothing to update)
    EXPECT_TRUE(db->updateUserName("usr_missing", "x").ok());
}

TEST_P(DatabaseContract, StoresTouchesAndDeletesSessions) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    ASSERT_TRUE(db->insertSession(Session{"hash1", "usr_a", kNow, kNow, kNow + 100}).ok());
    ASSERT_TRUE(db->insertSession(Session{"hash2", "usr_a", kNow, kNow, kNow + 200}).ok());
    auto s = db->sessionByTokenHash("hash1").value();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->userId, "usr_a");
    EXPECT_EQ(s->expiresAt, kNow + 100);
    ASSERT_TRUE(db->touchSession("hash1", kNow + 50).ok());
    EXPECT_EQ(db->sessionByTokenHash("hash1").value()->lastSeenAt, kNow + 50);
    // expiry is inclusive: expires_at <= now is gone
    ASSERT_TRUE(db->deleteExpiredSessions(kNow + 100).ok());
    EXPECT_FALSE(db->sessionByTokenHash("hash1").value().has_value());
    EXPECT_TRUE(db->sessionByTokenHash("hash2").value().has_value());
    ASSERT_TRUE(db->deleteSession("hash2").ok());
    EXPECT_FALSE(db->sessionByTokenHash("hash2").value().has_value());
    EXPECT_TRUE(db->deleteSession("hash2").ok()); // idempotent
}

// ---- uploads ----

TEST_P(DatabaseContract, StoresAndListsUploads) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    Upload old = upload("upl_1", "usr_a", kNow - 10);
    ASSERT_TRUE(db->insertUpload(old).ok());
    ASSERT_TRUE(db->insertUpload(upload("upl_3", "usr_a", kNow)).ok());
    ASSERT_TRUE(db->insertUpload(upload("upl_2", "usr_a", kNow)).ok());
    ASSERT_TRUE(db->insertUpload(upload("upl_x", "usr_other", kNow)).ok());
    auto got = db->uploadById("upl_1").value();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->filename, old.filename);
    EXPECT_EQ(got->declaredSize, old.declaredSize);
    EXPECT_EQ(got->contentType, old.contentType);
    EXPECT_EQ(got->blobKey, old.blobKey);
    EXPECT_EQ(got->state, UploadState::Pending);
    EXPECT_EQ(got->expiresAt, old.expiresAt);
    EXPECT_EQ(got->deleteAfter, old.deleteAfter);
    EXPECT_FALSE(got->deletedAt.has_value());
    EXPECT_FALSE(db->uploadById("upl_missing").value().has_value());
    // newest first, ties by id
    auto mine = db->uploadsForUser("usr_a").value();
    std::vector<std::string> order;
    for (const auto& u : mine)
        order.push_back(u.id);
    EXPECT_EQ(order, (std::vector<std::string>{"upl_2", "upl_3", "upl_1"}));
}

TEST_P(DatabaseContract, UnusedUploadsBecomeDeletable) {
    ASSERT_TRUE(db->insertUpload(upload("upl_old", "usr_a", kNow - 86400)).ok()); // deleteAfter = kNow
    ASSERT_TRUE(db->insertUpload(upload("upl_new", "usr_a", kNow)).ok());
    auto due = db->uploadsToDelete(kNow).value();
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].id, "upl_old");
    ASSERT_TRUE(db->markUploadDeleted("upl_old", kNow + 5).ok());
    ASSERT_TRUE(db->markUploadDeleted("upl_old", kNow + 9).ok()); // the first time is kept
    auto gone = db->uploadById("upl_old").value();
    EXPECT_EQ(gone->state, UploadState::Deleted);
    EXPECT_EQ(gone->deletedAt, kNow + 5);
    EXPECT_TRUE(db->uploadsToDelete(kNow + 86400 * 10).value().size() == 1u); // only upl_new now
}

TEST_P(DatabaseContract, ConsumingAnUploadInsertsTheJobOnce) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    ASSERT_TRUE(db->insertUpload(upload("upl_1", "usr_a")).ok());
    Job j = job("job_1", "usr_a", "upl_1");
    ASSERT_TRUE(db->consumeUploadAndInsertJob("upl_1", j).ok());
    EXPECT_EQ(db->uploadById("upl_1").value()->state, UploadState::Consumed);
    auto stored = db->jobById("job_1").value();
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->status, JobStatus::Queued);
    EXPECT_EQ(stored->uploadId, "upl_1");

    auto second = db->consumeUploadAndInsertJob("upl_1", job("job_2", "usr_a", "upl_1"));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(codeOf(second), ApiErrorCode::Conflict);
    EXPECT_FALSE(db->jobById("job_2").value().has_value()); // rolled back, nothing half-done

    auto missing = db->consumeUploadAndInsertJob("upl_missing", job("job_3", "usr_a", "upl_missing"));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(codeOf(missing), ApiErrorCode::Conflict);
    EXPECT_FALSE(db->jobById("job_3").value().has_value());
}

// ---- jobs ----

TEST_P(DatabaseContract, JobRoundTripsEveryField) {
    Job j = queuedJob("a");
    j.settings.preset.reset();
    j.settings.targetLufs = -13.7;
    j.settings.ceilingDbtp = -1.05;
    j.settings.style = "warm";
    j.settings.intensity = "high";
    j.settings.format = "flac24";
    j.status = JobStatus::Done;
    j.progress = 1.0 / 3.0; // a value with no short decimal form must survive exactly
    j.stage = "limiter";
    j.startedAt = kNow + 1;
    j.finishedAt = kNow + 2;
    j.downloadExpiresAt = kNow + 3;
    j.outputBlobKey = "masters/job_a-1.flac";
    j.reportJson = R"({"schema":"quacktracks.master.v1","lufs":-13.7,"note":"it's \"fine\" é"})";
    j.errorCode = "corrupt_file";
    j.errorMessage = "bad frame";
    j.attempt = 2;
    j.maxAttempts = 5;
    j.scheduledAt = kNow + 4;
    j.leasedBy = "worker-x";
    j.leaseExpiresAt = kNow + 60;
    j.usageAudioSeconds = 183.123456789;
    j.usageInputBytes = 5'000'000'000; // above 32 bits
    ASSERT_TRUE(db->updateJob(j).ok());
    auto got = db->jobById("job_a").value();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->userId, j.userId);
    EXPECT_EQ(got->originalFilename, j.originalFilename);
    EXPECT_FALSE(got->settings.preset.has_value());
    EXPECT_EQ(got->settings.targetLufs, j.settings.targetLufs);
    EXPECT_EQ(got->settings.ceilingDbtp, j.settings.ceilingDbtp);
    EXPECT_EQ(got->settings.style, "warm");
    EXPECT_EQ(got->settings.intensity, "high");
    EXPECT_EQ(got->settings.format, "flac24");
    EXPECT_EQ(got->status, JobStatus::Done);
    EXPECT_EQ(got->progress, j.progress); // exact: doubles are stored losslessly
    EXPECT_EQ(got->stage, "limiter");
    EXPECT_EQ(got->startedAt, j.startedAt);
    EXPECT_EQ(got->finishedAt, j.finishedAt);
    EXPECT_EQ(got->downloadExpiresAt, j.downloadExpiresAt);
    EXPECT_FALSE(got->deletedAt.has_value());
    EXPECT_EQ(got->outputBlobKey, j.outputBlobKey);
    EXPECT_EQ(got->reportJson, j.reportJson);
    EXPECT_EQ(got->errorCode, j.errorCode);
    EXPECT_EQ(got->errorMessage, j.errorMessage);
    EXPECT_EQ(got->attempt, 2);
    EXPECT_EQ(got->maxAttempts, 5);
    EXPECT_EQ(got->scheduledAt, j.scheduledAt);
    EXPECT_EQ(got->leasedBy, j.leasedBy);
    EXPECT_EQ(got->leaseExpiresAt, j.leaseExpiresAt);
    EXPECT_EQ(got->usageAudioSeconds, j.usageAudioSeconds);
    EXPECT_EQ(got->usageInputBytes, j.usageInputBytes);
    EXPECT_FALSE(db->jobById("job_missing").value().has_value());
}

TEST_P(DatabaseContract, ListsAUsersJobsNewestFirst) {
    ASSERT_TRUE(db->insertUser(user("usr_a", "a@example.com")).ok());
    // created_at order c2 > (c1a, c1b tie; c1b inserted later) > c0
    for (const auto& [id, at] : std::vector<std::pair<std::string, UnixSeconds>>{
             {"c1a", kNow + 1}, {"c0", kNow}, {"c2", kNow + 2}, {"c1b", kNow + 1}}) {
        ASSERT_TRUE(db->insertUpload(upload("upl_" + id, "usr_a", at)).ok());
        ASSERT_TRUE(db->consumeUploadAndInsertJob("upl_" + id, job("job_" + id, "usr_a", "upl_" + id, at)).ok());
    }
    queuedJob("other");
    EXPECT_EQ(ids(db->jobsForUser("usr_a", 10).value()),
              (std::vector<std::string>{"job_c2", "job_c1b", "job_c1a", "job_c0"}));
    EXPECT_EQ(ids(db->jobsForUser("usr_a", 2).value()), (std::vector<std::string>{"job_c2", "job_c1b"}));
    EXPECT_TRUE(db->jobsForUser("usr_nobody", 10).value().empty());
}

// ---- queue ----

TEST_P(DatabaseContract, LeasesInScheduleOrderAndOnlyWhenDue) {
    Job late = queuedJob("late", kNow - 5);
    late.scheduledAt = kNow + 30; // backing off
    ASSERT_TRUE(db->updateJob(late).ok());
    queuedJob("second", kNow - 10);
    Job first = queuedJob("first", kNow - 20);
    queuedJob("tie_a", kNow - 1);
    queuedJob("tie_b", kNow - 1); // same schedule and creation: insertion order decides

    std::vector<std::string> order;
    for (int i = 0; i < 4; ++i) {
        auto l = db->leaseNextJob("w1", kNow, 60);
        ASSERT_TRUE(l.ok());
        ASSERT_TRUE(l->has_value()) << "lease " << i;
        order.push_back((*l)->id);
        if (i == 0) {
            const Job& j = **l;
            EXPECT_EQ(j.status, JobStatus::Processing);
            EXPECT_EQ(j.attempt, first.attempt + 1);
            EXPECT_EQ(j.leasedBy, "w1");
            EXPECT_EQ(j.leaseExpiresAt, kNow + 60);
            EXPECT_EQ(j.startedAt, kNow);
            EXPECT_EQ(j.stage, "queued");
            EXPECT_EQ(j.progress, 0.0);
            // what was returned is what was stored
            auto stored = db->jobById(j.id).value();
            EXPECT_EQ(stored->status, JobStatus::Processing);
            EXPECT_EQ(stored->leasedBy, "w1");
            EXPECT_EQ(stored->attempt, 1);
        }
    }
    EXPECT_EQ(order, (std::vector<std::string>{"job_first", "job_second", "job_tie_a", "job_tie_b"}));
    // the backed-off job is not runnable yet ...
    auto none = db->leaseNextJob("w1", kNow, 60);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    // ... and is at its scheduled time (inclusive)
    auto due = db->leaseNextJob("w2", kNow + 30, 60);
    ASSERT_TRUE(due.ok() && due->has_value());
    EXPECT_EQ((*due)->id, "job_late");
    EXPECT_EQ((*due)->leasedBy, "w2");
}

TEST_P(DatabaseContract, RetryKeepsStartedAtAndCountsAttempts) {
    queuedJob("a");
    auto l1 = db->leaseNextJob("w1", kNow, 60).value();
    ASSERT_TRUE(l1.has_value());
    Job retry = *l1;
    retry.status = JobStatus::Queued;
    retry.leasedBy.reset();
    retry.leaseExpiresAt.reset();
    retry.scheduledAt = kNow + 10;
    ASSERT_TRUE(db->finishLeasedJob(retry, "w1").value());
    auto l2 = db->leaseNextJob("w2", kNow + 10, 60).value();
    ASSERT_TRUE(l2.has_value());
    EXPECT_EQ(l2->attempt, 2);
    EXPECT_EQ(l2->startedAt, kNow); // the first start is kept
    EXPECT_EQ(l2->leaseExpiresAt, kNow + 70);
}

TEST_P(DatabaseContract, HeartbeatIsFencedByWorker) {
    queuedJob("a");
    Job leased = db->leaseNextJob("w1", kNow, 60).value().value();
    auto own = db->heartbeat("job_a", "w1", kNow + 20, 60, 0.5, "analysis");
    ASSERT_TRUE(own.ok());
    EXPECT_TRUE(*own);
    auto after = db->jobById("job_a").value().value();
    EXPECT_EQ(after.leaseExpiresAt, kNow + 80);
    EXPECT_EQ(after.progress, 0.5);
    EXPECT_EQ(after.stage, "analysis");

    auto other = db->heartbeat("job_a", "w2", kNow + 21, 60, 0.9, "stolen");
    ASSERT_TRUE(other.ok());
    EXPECT_FALSE(*other);
    EXPECT_EQ(db->jobById("job_a").value()->stage, "analysis");
    EXPECT_FALSE(db->heartbeat("job_missing", "w1", kNow, 60, 0, "").value());

    leased.status = JobStatus::Done;
    leased.leasedBy.reset();
    ASSERT_TRUE(db->finishLeasedJob(leased, "w1").value());
    EXPECT_FALSE(db->heartbeat("job_a", "w1", kNow + 30, 60, 1.0, "done").value()); // no longer processing
}

TEST_P(DatabaseContract, FinishIsFencedByWorkerAndStatus) {
    queuedJob("a");
    Job leased = db->leaseNextJob("w1", kNow, 60).value().value();
    Job done = leased;
    done.status = JobStatus::Done;
    done.finishedAt = kNow + 5;
    done.outputBlobKey = "masters/job_a-1.wav";
    done.leasedBy.reset();
    done.leaseExpiresAt.reset();

    auto stolen = db->finishLeasedJob(done, "w2");
    ASSERT_TRUE(stolen.ok());
    EXPECT_FALSE(*stolen);
    EXPECT_EQ(db->jobById("job_a").value()->status, JobStatus::Processing); // untouched

    auto own = db->finishLeasedJob(done, "w1");
    ASSERT_TRUE(own.ok());
    EXPECT_TRUE(*own);
    auto stored = db->jobById("job_a").value().value();
    EXPECT_EQ(stored.status, JobStatus::Done);
    EXPECT_EQ(stored.outputBlobKey, "masters/job_a-1.wav");
    EXPECT_FALSE(stored.leasedBy.has_value());
    // a second finish (e.g. a retried request) finds no lease: never finished twice
    EXPECT_FALSE(db->finishLeasedJob(done, "w1").value());
}

TEST_P(DatabaseContract, ExpiredLeasesAreListedAndRequeuedBehindAFence) {
    queuedJob("a");
    queuedJob("b");
    Job a = db->leaseNextJob("w1", kNow, 60).value().value();
    Job b = db->leaseNextJob("w2", kNow, 60).value().value();
    ASSERT_TRUE(db->heartbeat(b.id, "w2", kNow + 50, 60, 0.2, "eq").value()); // b stays alive

    EXPECT_TRUE(db->expiredLeases(kNow + 59).value().empty());
    EXPECT_EQ(ids(db->expiredLeases(kNow + 60).value()), (std::vector<std::string>{a.id}));

    Job requeued = a;
    requeued.status = JobStatus::Queued;
    requeued.leasedBy.reset();
    requeued.leaseExpiresAt.reset();
    requeued.scheduledAt = kNow + 75;
    // wrong worker, or not yet expired: the fence holds
    EXPECT_FALSE(db->requeueExpiredLease(requeued, "w2", kNow + 60).value());
    EXPECT_FALSE(db->requeueExpiredLease(requeued, "w1", kNow + 59).value());
    Job bRequeued = b;
    bRequeued.status = JobStatus::Queued;
    EXPECT_FALSE(db->requeueExpiredLease(bRequeued, "w2", kNow + 60).value()); // it heartbeated
    EXPECT_EQ(db->jobById(b.id).value()->status, JobStatus::Processing);

    EXPECT_TRUE(db->requeueExpiredLease(requeued, "w1", kNow + 60).value());
    auto stored = db->jobById(a.id).value().value();
    EXPECT_EQ(stored.status, JobStatus::Queued);
    EXPECT_EQ(stored.scheduledAt, kNow + 75);
    EXPECT_FALSE(stored.leasedBy.has_value());
    EXPECT_TRUE(db->expiredLeases(kNow + 60).value().empty());
    // the dead worker's late finish is refused
    Job late = a;
    late.status = JobStatus::Done;
    EXPECT_FALSE(db->finishLeasedJob(late, "w1").value());
    // and the job runs again with the next attempt
    auto again = db->leaseNextJob("w3", kNow + 75, 60).value();
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->id, a.id);
    EXPECT_EQ(again->attempt, 2);
}

// ---- retention ----

TEST_P(DatabaseContract, FindsMastersToExpireAndFinishedUploads) {
    Job done = queuedJob("done");
    done.status = JobStatus::Done;
    done.downloadExpiresAt = kNow + 100;
    done.outputBlobKey = "masters/job_done-1.wav";
    ASSERT_TRUE(db->updateJob(done).ok());
    Job failed = queuedJob("failed");
    failed.status = JobStatus::Failed;
    ASSERT_TRUE(db->updateJob(failed).ok());
    Job gone = queuedJob("gone");
    gone.status = JobStatus::Done;
    gone.downloadExpiresAt = kNow;
    gone.deletedAt = kNow;
    ASSERT_TRUE(db->updateJob(gone).ok());
    queuedJob("queued");
    Job running = queuedJob("running");
    running.status = JobStatus::Processing;
    ASSERT_TRUE(db->updateJob(running).ok());

    EXPECT_TRUE(db->mastersToExpire(kNow + 99).value().empty());
    EXPECT_EQ(ids(db->mastersToExpire(kNow + 100).value()), (std::vector<std::string>{"job_done"}));

    auto uploads = db->consumedUploadsToDelete().value();
    std::vector<std::string> names;
    for (const auto& u : uploads)
        names.push_back(u.id);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"upl_done", "upl_failed", "upl_gone"}));
    ASSERT_TRUE(db->markUploadDeleted("upl_failed", kNow).ok());
    EXPECT_EQ(db->consumedUploadsToDelete().value().size(), 2u);
}

TEST_P(DatabaseContract, RecordsRetentionEventsInOrder) {
    ASSERT_TRUE(db->recordRetentionEvent(RetentionEvent{kNow + 5, "upload", "upl_1", "job_finished"}).ok());
    ASSERT_TRUE(db->recordRetentionEvent(RetentionEvent{kNow + 1, "master", "job_1", "download_expired"}).ok());
    ASSERT_TRUE(db->recordRetentionEvent(RetentionEvent{kNow + 2, "upload", "upl_1", "user_deleted"}).ok());
    auto events = db->retentionEvents("upl_1").value();
    ASSERT_EQ(events.size(), 2u);
    // recording order, not time order: the log is append-only
    EXPECT_EQ(events[0].reason, "job_finished");
    EXPECT_EQ(events[0].at, kNow + 5);
    EXPECT_EQ(events[0].subjectKind, "upload");
    EXPECT_EQ(events[1].reason, "user_deleted");
    EXPECT_TRUE(db->retentionEvents("nothing").value().empty());
}

TEST_P(DatabaseContract, LiveBlobKeysAreThoseALiveRowNeeds) {
    ASSERT_TRUE(db->insertUpload(upload("upl_pending", "usr_a")).ok());
    Upload deleted = upload("upl_deleted", "usr_a");
    deleted.state = UploadState::Deleted;
    ASSERT_TRUE(db->insertUpload(deleted).ok());
    queuedJob("queued");                // its upload is needed
    Job running = queuedJob("running"); // its upload and its masters are needed
    running.status = JobStatus::Processing;
    running.attempt = 2;
    ASSERT_TRUE(db->updateJob(running).ok());
    Job done = queuedJob("done"); // its master is needed, its upload no longer
    done.status = JobStatus::Done;
    done.outputBlobKey = "masters/job_done-1.wav";
    done.downloadExpiresAt = kNow + 100;
    ASSERT_TRUE(db->updateJob(done).ok());
    Job expired = queuedJob("expired"); // master already deleted
    expired.status = JobStatus::Expired;
    expired.outputBlobKey = "masters/job_expired-1.wav";
    expired.deletedAt = kNow;
    ASSERT_TRUE(db->updateJob(expired).ok());

    const std::vector<std::string> asked = {
        "uploads/upl_pending",        "uploads/upl_deleted",         "uploads/upl_queued",
        "uploads/upl_running",        "masters/job_running-2.wav",   "masters/job_running-1.wav",
        "uploads/upl_done",           "masters/job_done-1.wav",      "masters/job_expired-1.wav",
        "uploads/upl_expired",        "uploads/orphan",              "masters/job_nobody-1.wav",
    };
    auto live = db->liveBlobKeys(asked);
    ASSERT_TRUE(live.ok());
    std::vector<std::string> got = *live;
    std::sort(got.begin(), got.end());
    // A processing job's masters of every attempt count: a fenced-out worker of attempt 1 may
    // still be writing its output (it removes its own when its finish is refused).
    EXPECT_EQ(got, (std::vector<std::string>{"masters/job_done-1.wav", "masters/job_running-1.wav",
                                             "masters/job_running-2.wav", "uploads/upl_pending",
                                             "uploads/upl_queued", "uploads/upl_running"}));
    EXPECT_TRUE(db->liveBlobKeys({}).value().empty());
}

// ---- privacy ----

TEST_P(DatabaseContract, DeletingAUserAnonymisesTheirJobs) {
    Job j = queuedJob("a");
    j.status = JobStatus::Done;
    j.reportJson = R"({"lufs":-14})";
    j.errorMessage = "something personal";
    j.usageAudioSeconds = 180;
    ASSERT_TRUE(db->updateJob(j).ok());
    ASSERT_TRUE(db->insertUpload(upload("upl_a2", "usr_a")).ok());
    ASSERT_TRUE(db->insertSession(Session{"hash_a", "usr_a", kNow, kNow, kNow + 100}).ok());
    queuedJob("b"); // someone else, untouched

    ASSERT_TRUE(db->deleteUserAndAnonymise("usr_a", "anon_1").ok());
    EXPECT_FALSE(db->userById("usr_a").value().has_value());
    EXPECT_FALSE(db->userByEmail("a@example.com").value().has_value());
    EXPECT_FALSE(db->sessionByTokenHash("hash_a").value().has_value());
    EXPECT_TRUE(db->uploadsForUser("usr_a").value().empty());
    EXPECT_FALSE(db->uploadById("upl_a").value().has_value());
    auto anon = db->jobById("job_a").value().value();
    EXPECT_EQ(anon.userId, "anon_1");
    EXPECT_EQ(anon.originalFilename, "");
    EXPECT_FALSE(anon.reportJson.has_value());
    EXPECT_FALSE(anon.errorMessage.has_value());
    // the non-personal metadata remains
    EXPECT_EQ(anon.status, JobStatus::Done);
    EXPECT_EQ(anon.usageAudioSeconds, 180);
    EXPECT_EQ(anon.createdAt, kNow);
    EXPECT_TRUE(db->jobsForUser("usr_a", 10).value().empty());
    // the other user keeps everything
    EXPECT_TRUE(db->userById("usr_b").value().has_value());
    EXPECT_EQ(db->jobById("job_b").value()->userId, "usr_b");
    EXPECT_EQ(db->uploadsForUser("usr_b").value().size(), 1u);
    // the email can be used again
    EXPECT_TRUE(db->insertUser(user("usr_new", "a@example.com")).ok());
}

INSTANTIATE_TEST_SUITE_P(Adapters, DatabaseContract, ::testing::Values(test::sqliteBackend(), test::postgresBackend()),
                         test::backendName);

} // namespace
} // namespace quack::service
