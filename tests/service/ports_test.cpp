// The reshaped ports: completion through the BlobStore port, reconciliation of the store
// against the database, partial writes swept, and port failures that keep their meaning.
#include "service_test_util.h"

#include "service/domain/audio_sniff.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace quack::service {
namespace {

using test::Env;

/// Writes bytes as the object `key` straight into the store (as a browser PUT to S3 would,
/// without the local PUT handler's early sniff).
void putObject(Env& env, const std::string& key, const std::string& bytes) {
    const auto path = env.dir.file("direct.bin");
    std::ofstream(path, std::ios::binary) << bytes;
    ASSERT_TRUE(env.s.blobs->putFromFile(key, path, "audio/wav").ok());
}

TEST(ServicePorts, CompleteUploadChecksTheObjectThroughThePort) {
    Env env;
    const auto alice = env.user("alice@example.com");
    auto up = env.svc().createUpload(alice, {"mix.wav", 64, "audio/wav"});
    ASSERT_TRUE(up.ok());
    const std::string key = "uploads/" + up->uploadId;
    // Nothing stored yet: a conflict the client can fix by uploading.
    EXPECT_EQ(env.svc().completeUpload(alice, up->uploadId).error().id(), "conflict");
    // Not audio: refused and deleted, so the slot can be filled again.
    putObject(env, key, "this is plain text, not audio at all");
    EXPECT_EQ(env.svc().completeUpload(alice, up->uploadId).error().id(), "unsupported_media_type");
    EXPECT_FALSE(env.blobExists(key));
    // Larger than declared: refused and deleted.
    putObject(env, key, "RIFF\0\0\0\0WAVE" + std::string(100, 'x'));
    EXPECT_EQ(env.svc().completeUpload(alice, up->uploadId).error().id(), "payload_too_large");
    EXPECT_FALSE(env.blobExists(key));
    // A WAV head within the declared size passes; another user's id is not found.
    putObject(env, key, std::string("RIFF\0\0\0\0WAVEfmt ", 16));
    auto done = env.svc().completeUpload(alice, up->uploadId);
    ASSERT_TRUE(done.ok()) << done.error().message;
    EXPECT_EQ(done->size, 16);
    const auto bob = env.user("bob@example.com");
    EXPECT_EQ(env.svc().completeUpload(bob, up->uploadId).error().id(), "not_found");
}

TEST(ServicePorts, AcceptsEveryContainerTheEngineDecodes) {
    Env env;
    const auto alice = env.user("alice@example.com");
    for (const char* type : {"audio/mp4", "audio/x-m4a", "audio/aac", "audio/wav", "audio/flac", "audio/mpeg"})
        EXPECT_TRUE(env.svc().createUpload(alice, {"a", 10, type}).ok()) << type;
    EXPECT_EQ(env.svc().createUpload(alice, {"a", 10, "text/plain"}).error().id(), "unsupported_media_type");
    // An M4A head ("ftyp" box) and an ADTS AAC frame pass the sniffer.
    const unsigned char m4a[] = {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'M', '4', 'A', ' '};
    EXPECT_TRUE(looksLikeAudio(m4a));
    const unsigned char adts[] = {0xFF, 0xF1, 0x50, 0x80, 0x2E, 0x7F, 0xFC};
    EXPECT_TRUE(looksLikeAudio(adts));
}

TEST(ServicePorts, SweepDeletesObjectsWithoutALiveRowAndRecordsIt) {
    Env env;
    const auto alice = env.user("alice@example.com");
    auto up = env.svc().createUpload(alice, {"mix.wav", 64, "audio/wav"});
    ASSERT_TRUE(up.ok());
    putObject(env, "uploads/" + up->uploadId, std::string("RIFF\0\0\0\0WAVE", 12)); // pending: live
    putObject(env, "uploads/upl_nobodyhasthisrow", "RIFF");                      // no row: orphan
    putObject(env, "masters/job_gone-1.wav", "RIFF");                            // no job: orphan
    // The operator's dry run lists exactly what the sweep then deletes, and deletes nothing.
    auto listed = orphanedObjects(*env.s.db, *env.s.blobs);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(std::set<std::string>(listed->begin(), listed->end()),
              (std::set<std::string>{"uploads/upl_nobodyhasthisrow", "masters/job_gone-1.wav"}));
    EXPECT_TRUE(env.blobExists("masters/job_gone-1.wav"));
    const auto report = sweepOnce(*env.s.db, *env.s.blobs, *env.clock, env.config);
    EXPECT_EQ(report.orphansDeleted, 2);
    EXPECT_EQ(report.errors, 0);
    EXPECT_TRUE(env.blobExists("uploads/" + up->uploadId));
    EXPECT_FALSE(env.blobExists("uploads/upl_nobodyhasthisrow"));
    EXPECT_FALSE(env.blobExists("masters/job_gone-1.wav"));
    const auto events = env.s.db->retentionEvents("upl_nobodyhasthisrow");
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->front().reason, "orphaned_object");
}

TEST(ServicePorts, SweepRemovesPartialWritesOfKilledProcesses) {
    Env env;
    const auto dir = env.dir.path / "blobs" / "uploads";
    std::filesystem::create_directories(dir);
    const auto stale = dir / ".upl_x.123-0-abcd.tmp";
    std::ofstream(stale) << "half a file";
    // Written long before the sweep's horizon (the upload URL's lifetime plus an hour).
    const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(48);
    std::filesystem::last_write_time(stale, old);
    const auto fresh = dir / ".upl_y.123-1-abcd.tmp"; // a write that may still be in progress
    std::ofstream(fresh) << "in progress";
    auto listed = env.s.blobs->list("uploads/");
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->empty()); // partial writes are not objects
    ManualClock now(static_cast<UnixSeconds>(std::time(nullptr)));
    const auto report = sweepOnce(*env.s.db, *env.s.blobs, now, env.config);
    EXPECT_EQ(report.incompleteDeleted, 1);
    EXPECT_FALSE(std::filesystem::exists(stale));
    EXPECT_TRUE(std::filesystem::exists(fresh));
}

/// A database whose reads fail as a busy or unreachable server's would.
class UnavailableDatabase final : public Database {
  public:
    static ApiError down() { return apiError(ApiErrorCode::Unavailable, "the database is busy"); }
    ApiStatus insertUser(const User&) override { return down(); }
    ApiResult<std::optional<User>> userByEmail(const std::string&) override { return down(); }
    ApiResult<std::optional<User>> userById(const std::string&) override { return down(); }
    ApiStatus updatePasswordHash(const std::string&, const std::string&) override { return down(); }
    ApiStatus updateUserName(const std::string&, const std::string&) override { return down(); }
    ApiStatus insertSession(const Session&) override { return down(); }
    ApiResult<std::optional<Session>> sessionByTokenHash(const std::string&) override { return down(); }
    ApiStatus touchSession(const std::string&, UnixSeconds) override { return down(); }
    ApiStatus deleteSession(const std::string&) override { return down(); }
    ApiStatus deleteExpiredSessions(UnixSeconds) override { return down(); }
    ApiStatus insertUpload(const Upload&) override { return down(); }
    ApiResult<std::optional<Upload>> uploadById(const std::string&) override { return down(); }
    ApiStatus consumeUploadAndInsertJob(const std::string&, const Job&) override { return down(); }
    ApiResult<std::vector<Upload>> uploadsToDelete(UnixSeconds) override { return down(); }
    ApiStatus markUploadDeleted(const std::string&, UnixSeconds) override { return down(); }
    ApiResult<std::vector<Upload>> uploadsForUser(const std::string&) override { return down(); }
    ApiResult<std::optional<Job>> jobById(const std::string&) override { return down(); }
    ApiResult<std::vector<Job>> jobsForUser(const std::string&, int) override { return down(); }
    ApiStatus updateJob(const Job&) override { return down(); }
    ApiResult<std::optional<Job>> leaseNextJob(const std::string&, UnixSeconds, std::int64_t) override {
        return down();
    }
    ApiResult<bool> heartbeat(const std::string&, const std::string&, UnixSeconds, std::int64_t, double,
                              const std::string&) override {
        return down();
    }
    ApiResult<bool> finishLeasedJob(const Job&, const std::string&) override { return down(); }
    ApiResult<std::vector<Job>> expiredLeases(UnixSeconds) override { return down(); }
    ApiResult<bool> requeueExpiredLease(const Job&, const std::string&, UnixSeconds) override { return down(); }
    ApiResult<std::vector<Job>> mastersToExpire(UnixSeconds) override { return down(); }
    ApiResult<std::vector<Upload>> consumedUploadsToDelete() override { return down(); }
    ApiStatus recordRetentionEvent(const RetentionEvent&) override { return down(); }
    ApiResult<std::vector<RetentionEvent>> retentionEvents(const std::string&) override { return down(); }
    ApiResult<std::vector<std::string>> liveBlobKeys(const std::vector<std::string>&) override { return down(); }
    ApiStatus deleteUserAndAnonymise(const std::string&, const std::string&) override { return down(); }
};

TEST(ServicePorts, ABusyDatabaseIsNeverMistakenForAMissingRowOrAWrongPassword) {
    Env env;
    auto db = std::make_shared<UnavailableDatabase>();
    auto hasher = std::make_shared<Argon2Hasher>(Argon2Params{env.config.passwordHashOpsLimit,
                                                              env.config.passwordHashMemoryBytes, 1, 4});
    MasteringService svc(env.config, ServicePorts{db, env.s.blobs, env.clock, hasher, {}, {}, {}});
    // Sign-in: 503 unavailable, not 401 invalid_credentials; registration: not "email free".
    EXPECT_EQ(svc.login({"a@example.com", "correct horse battery", "127.0.0.1"}).error().id(), "unavailable");
    EXPECT_EQ(svc.registerUser({"a@example.com", "correct horse battery", "A", ""}).error().id(), "unavailable");
    // A session lookup that fails is not "signed out".
    EXPECT_EQ(svc.authenticate(std::string(43, 'a')).error().id(), "unavailable");
    EXPECT_EQ(svc.getJob(Caller{"usr_x", "h"}, "job_x").error().id(), "unavailable");
    // Retryable and documented for the command line: 503, exit 69 (EX_UNAVAILABLE).
    const ApiError e = UnavailableDatabase::down();
    EXPECT_TRUE(e.retryable());
    EXPECT_EQ(e.httpStatus(), 503);
    EXPECT_EQ(e.exitCode(), 69);
    // The sweeper counts the failures and keeps going; nothing is deleted blindly.
    const auto report = sweepOnce(*db, *env.s.blobs, *env.clock, env.config);
    EXPECT_GT(report.errors, 0);
    EXPECT_EQ(report.orphansDeleted, 0);
}

TEST(ServicePorts, AFailedSessionInsertHandsOutNoToken) {
    Env env;
    const auto alice = env.user("alice@example.com");
    (void)alice;
    // A database that works for reads but refuses the session row.
    class NoSessions final : public test::ForwardingDatabase {
      public:
        using ForwardingDatabase::ForwardingDatabase;
        ApiStatus insertSession(const Session&) override {
            return apiError(ApiErrorCode::Unavailable, "the database is busy");
        }
    };
    auto db = std::make_shared<NoSessions>(env.s.db);
    auto hasher = std::make_shared<Argon2Hasher>(Argon2Params{env.config.passwordHashOpsLimit,
                                                              env.config.passwordHashMemoryBytes, 1, 4});
    MasteringService svc(env.config, ServicePorts{db, env.s.blobs, env.clock, hasher, {}, {}, {}});
    auto s = svc.login({"alice@example.com", "correct horse battery", "127.0.0.1"});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().id(), "unavailable");
}

TEST(ServicePorts, HasherQueueIsBoundedAndAnswersBusyAtOnce) {
    // One slot and no waiting room: while one hash runs, another is refused at once. A 32 MiB,
    // t = 2 hash takes tens of milliseconds here; three threads keep the slot taken almost all
    // the time, so our quick retries overlap one even on a starved machine (one thread alone
    // once missed for 10 s while a build ran beside the suite).
    Argon2Hasher hasher(Argon2Params{2, 32LL << 20, 1, 0});
    std::atomic<bool> stop{false};
    std::vector<std::thread> hashing;
    for (int i = 0; i < 3; ++i)
        hashing.emplace_back([&] {
            while (!stop)
                (void)hasher.hash("a long enough password");
        });
    int busy = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (busy == 0 && std::chrono::steady_clock::now() < deadline) {
        auto r = hasher.hash("another long password");
        if (!r) {
            EXPECT_EQ(r.error().id(), "unavailable");
            ++busy;
        }
    }
    stop = true;
    for (auto& t : hashing)
        t.join();
    EXPECT_EQ(busy, 1);
    auto h = hasher.hash("a long enough password");
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(hasher.verify(h.value(), "a long enough password").value());
    EXPECT_FALSE(hasher.verify(h.value(), "a wrong password!!").value());
}

} // namespace
} // namespace quack::service

namespace quack::service {
namespace {

mode_t modeOf(const std::filesystem::path& p) {
    struct ::stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
}

TEST(ServicePorts, DataIsOwnerOnlyWhateverTheUmask) {
    const mode_t old = ::umask(022); // the common default that made everything world-readable
    {
        Env env;
        const auto alice = env.user("alice@example.com");
        const auto id = env.upload(alice, test::musicWav(0.2));
        const auto src = env.dir.file("m.wav");
        std::ofstream(src) << "RIFF";
        ASSERT_TRUE(env.s.blobs->putFromFile("masters/job_x-1.wav", src, "audio/wav").ok());
        const auto data = env.dir.path;
        for (const auto& d : {data, data / "blobs", data / "scratch", data / "blobs" / "uploads", data / "blobs" / "masters"})
            EXPECT_EQ(modeOf(d), 0700u) << d;
        for (const auto& f : {data / "quacktracks.db", data / "quacktracks.db-wal", data / "secret.key",
                              data / "blobs" / "uploads" / id, data / "blobs" / "masters" / "job_x-1.wav"})
            EXPECT_EQ(modeOf(f), 0600u) << f;
    }
    ::umask(old);
}

} // namespace
} // namespace quack::service

// Sign-in limits (issue 9, findings 4 and 6) and the client address behind proxies.
#include "service/http/client_address.h"

namespace quack::service {
namespace {

TEST(ServiceLimits, AGuesserElsewhereDoesNotLockTheOwnerOut) {
    Env env;
    env.user("victim@example.com");
    for (int i = 0; i < 12; ++i)
        (void)env.svc().login({"victim@example.com", "wrong password " + std::to_string(i), "203.0.113.9"});
    // The guesser is slowed (backoff), the owner at home signs in at once.
    EXPECT_EQ(env.svc().login({"victim@example.com", "yet another guess!", "203.0.113.9"}).error().id(),
              "rate_limited");
    EXPECT_TRUE(env.svc().login({"victim@example.com", "correct horse battery", "198.51.100.7"}).ok());
    // The guesser's backoff ends: after the window the pair may try again.
    env.clock->advance(env.config.loginWindowSeconds + 1);
    EXPECT_EQ(env.svc().login({"victim@example.com", "one more guess!!", "203.0.113.9"}).error().id(),
              "invalid_credentials");
}

TEST(ServiceLimits, ParallelWrongSignInsCannotPassTheLimit) {
    Env env;
    env.user("alice@example.com");
    std::atomic<int> wrong{0}, limited{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i)
        threads.emplace_back([&] {
            auto r = env.svc().login({"alice@example.com", "not the password", "192.0.2.1"});
            if (!r && r.error().id() == "invalid_credentials")
                ++wrong;
            else if (!r && r.error().id() == "rate_limited")
                ++limited;
        });
    for (auto& t : threads)
        t.join();
    // Exactly the limit gets through to the password check (reserved under one lock).
    EXPECT_EQ(wrong.load(), env.config.loginAttemptsPerWindow);
    EXPECT_EQ(limited.load(), 20 - env.config.loginAttemptsPerWindow);
}

TEST(ServiceLimits, RegistrationIsLimitedPerAddress) {
    Env env;
    env.config.registrationsPerHour = 3;
    env.reopen();
    for (const char* email : {"u0@example.com", "u1@example.com", "u2@example.com"})
        EXPECT_TRUE(env.svc().registerUser({email, "correct horse battery", "U", "192.0.2.50"}).ok());
    EXPECT_EQ(env.svc().registerUser({"u9@example.com", "correct horse battery", "U", "192.0.2.50"}).error().id(),
              "rate_limited");
    EXPECT_TRUE(env.svc().registerUser({"u9@example.com", "correct horse battery", "U", "192.0.2.51"}).ok());
}

TEST(ClientAddress, ForwardedForOnlyFromTrustedProxies) {
    using http::resolveClientAddress;
    const std::vector<std::string> trusted = {"10.0.0.0/8", "fd00::/8", "127.0.0.1"};
    // From a proxy of ours: the right-most hop that is not ours.
    EXPECT_EQ(resolveClientAddress("10.1.2.3", "198.51.100.7", trusted), "198.51.100.7");
    EXPECT_EQ(resolveClientAddress("10.1.2.3", "1.2.3.4, 198.51.100.7, 10.9.9.9", trusted), "198.51.100.7");
    EXPECT_EQ(resolveClientAddress("fd00::1", "2001:db8::5", trusted), "2001:db8::5");
    EXPECT_EQ(resolveClientAddress("::ffff:127.0.0.1", "203.0.113.1", trusted), "203.0.113.1");
    // From anyone else the header is ignored (a client cannot pick its own address).
    EXPECT_EQ(resolveClientAddress("203.0.113.9", "10.0.0.1", trusted), "203.0.113.9");
    EXPECT_EQ(resolveClientAddress("10.1.2.3", "198.51.100.7", {}), "10.1.2.3");
    // Garbage in the chain: the socket address.
    EXPECT_EQ(resolveClientAddress("10.1.2.3", "not-an-ip", trusted), "10.1.2.3");
    EXPECT_FALSE(http::inAnyNetwork("11.0.0.1", {"10.0.0.0/8"}));
    EXPECT_FALSE(http::inAnyNetwork("10.0.0.1", {"10.0.0.0/99"}));
}

} // namespace
} // namespace quack::service
