#pragma once
// Helpers for the service tests: a temp data dir with the embedded adapters (real SQLite file,
// real local blob store), a ManualClock, cheap Argon2 parameters, and test audio.
#include "service/adapters/argon2_hasher.h"
#include "service/adapters/embedded.h"
#include "service/app/mastering_service.h"
#include "service/http/wire.h"

#include "engine/core/audio_buffer.h"
#include "engine/io/audio_source.h"

#include <ebur128.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace quack::service::test {

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "quack-svc-XXXXXX").string();
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

inline constexpr UnixSeconds kStart = 1'800'000'000; // 2027-01-15, an arbitrary fixed "now"

/// Defaults, except Argon2id at libsodium's cheapest settings: the tests check the protocol
/// (hash stored, verified, rehashed), not the cost; the OWASP default is tested separately.
inline ServiceConfig testConfig(const std::string& dataDir) {
    ServiceConfig c;
    c.dataDir = dataDir;
    c.passwordHashMemoryBytes = 64 * 1024;
    c.passwordHashOpsLimit = 1;
    c.leaseSeconds = 8;
    return c;
}

inline std::vector<char> readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// 16-bit PCM WAV bytes of a music-like stereo signal: a bass line and two partials under a
/// slow envelope plus quiet noise, peak about -12 dBFS. Deterministic.
inline std::vector<char> musicWav(double seconds, int rate = 44100) {
    const auto frames = static_cast<std::uint32_t>(seconds * rate);
    std::vector<char> out;
    auto put32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    auto put16 = [&](std::uint16_t v) {
        out.push_back(static_cast<char>(v & 0xFF));
        out.push_back(static_cast<char>(v >> 8));
    };
    const std::uint32_t dataBytes = frames * 4;
    out.insert(out.end(), {'R', 'I', 'F', 'F'});
    put32(36 + dataBytes);
    out.insert(out.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '});
    put32(16);
    put16(1);
    put16(2);
    put32(static_cast<std::uint32_t>(rate));
    put32(static_cast<std::uint32_t>(rate) * 4);
    put16(4);
    put16(16);
    out.insert(out.end(), {'d', 'a', 't', 'a'});
    put32(dataBytes);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> noise(-1.0, 1.0);
    for (std::uint32_t i = 0; i < frames; ++i) {
        const double t = static_cast<double>(i) / rate;
        const double env = 0.6 + 0.4 * std::sin(2 * M_PI * 0.7 * t);
        const double bass = 0.12 * std::sin(2 * M_PI * 55.0 * t);
        const double mid = 0.06 * std::sin(2 * M_PI * 440.0 * t) + 0.03 * std::sin(2 * M_PI * 1320.0 * t);
        const double l = env * (bass + mid) + 0.01 * noise(rng);
        const double r = env * (bass + 0.8 * mid) + 0.01 * noise(rng);
        put16(static_cast<std::uint16_t>(static_cast<std::int16_t>(std::lround(l * 32767.0))));
        put16(static_cast<std::uint16_t>(static_cast<std::int16_t>(std::lround(r * 32767.0))));
    }
    return out;
}

/// Integrated loudness (LUFS) and true peak (dBTP) of a file, decoded by the engine and
/// measured by libebur128 (independent of the engine's meter).
struct Measured {
    double integratedLufs = 0.0;
    double truePeakDbtp = 0.0;
};
inline Measured measureFile(const std::string& path) {
    Measured m;
    auto src = quack::openAudioFile(path);
    if (!src) {
        ADD_FAILURE() << "cannot open " << path << ": " << src.error().message;
        return m;
    }
    const auto& info = (*src)->info();
    const auto ch = static_cast<unsigned>(info.channels);
    ebur128_state* st = ebur128_init(ch, static_cast<unsigned long>(info.sampleRate),
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    quack::AudioBuffer block(info.channels, 4096);
    std::vector<float> inter;
    for (;;) {
        auto n = (*src)->read(block.view());
        if (!n || *n == 0)
            break;
        inter.resize(static_cast<std::size_t>(*n) * ch);
        for (quack::FrameCount i = 0; i < *n; ++i)
            for (unsigned c = 0; c < ch; ++c)
                inter[static_cast<std::size_t>(i) * ch + c] = block.channel(static_cast<quack::ChannelCount>(c))[i];
        ebur128_add_frames_float(st, inter.data(), static_cast<std::size_t>(*n));
    }
    ebur128_loudness_global(st, &m.integratedLufs);
    double tp = 0.0;
    for (unsigned c = 0; c < ch; ++c) {
        double p = 0.0;
        ebur128_true_peak(st, c, &p);
        tp = std::max(tp, p);
    }
    m.truePeakDbtp = 20.0 * std::log10(tp);
    ebur128_destroy(&st);
    return m;
}

/// Forwards every Database call; tests derive from it to inject faults.
class ForwardingDatabase : public Database {
  public:
    explicit ForwardingDatabase(std::shared_ptr<Database> inner) : inner_(std::move(inner)) {}
    ApiStatus insertUser(const User& user) override { return inner_->insertUser(user); }
    ApiResult<std::optional<User>> userByEmail(const std::string& email) override { return inner_->userByEmail(email); }
    ApiResult<std::optional<User>> userById(const std::string& id) override { return inner_->userById(id); }
    ApiStatus updatePasswordHash(const std::string& userId, const std::string& hash) override { return inner_->updatePasswordHash(userId, hash); }
    ApiStatus updateUserName(const std::string& userId, const std::string& name) override { return inner_->updateUserName(userId, name); }
    ApiStatus insertSession(const Session& session) override { return inner_->insertSession(session); }
    ApiResult<std::optional<Session>> sessionByTokenHash(const std::string& tokenHash) override { return inner_->sessionByTokenHash(tokenHash); }
    ApiStatus touchSession(const std::string& tokenHash, UnixSeconds at) override { return inner_->touchSession(tokenHash, at); }
    ApiStatus deleteSession(const std::string& tokenHash) override { return inner_->deleteSession(tokenHash); }
    ApiStatus deleteExpiredSessions(UnixSeconds now) override { return inner_->deleteExpiredSessions(now); }
    ApiStatus insertUpload(const Upload& upload) override { return inner_->insertUpload(upload); }
    ApiResult<std::optional<Upload>> uploadById(const std::string& id) override { return inner_->uploadById(id); }
    ApiStatus consumeUploadAndInsertJob(const std::string& uploadId, const Job& job) override { return inner_->consumeUploadAndInsertJob(uploadId, job); }
    ApiResult<std::vector<Upload>> uploadsToDelete(UnixSeconds now) override { return inner_->uploadsToDelete(now); }
    ApiStatus markUploadDeleted(const std::string& uploadId, UnixSeconds at) override { return inner_->markUploadDeleted(uploadId, at); }
    ApiResult<std::vector<Upload>> uploadsForUser(const std::string& userId) override { return inner_->uploadsForUser(userId); }
    ApiResult<std::optional<Job>> jobById(const std::string& id) override { return inner_->jobById(id); }
    ApiResult<std::vector<Job>> jobsForUser(const std::string& userId, int limit) override { return inner_->jobsForUser(userId, limit); }
    ApiStatus updateJob(const Job& job) override { return inner_->updateJob(job); }
    ApiResult<std::optional<Job>> leaseNextJob(const std::string& workerId, UnixSeconds now, std::int64_t leaseSeconds) override { return inner_->leaseNextJob(workerId, now, leaseSeconds); }
    ApiResult<bool> heartbeat(const std::string& jobId, const std::string& workerId, UnixSeconds now, std::int64_t leaseSeconds, double progress, const std::string& stage) override { return inner_->heartbeat(jobId, workerId, now, leaseSeconds, progress, stage); }
    ApiResult<bool> finishLeasedJob(const Job& job, const std::string& workerId) override { return inner_->finishLeasedJob(job, workerId); }
    ApiResult<std::vector<Job>> expiredLeases(UnixSeconds now) override { return inner_->expiredLeases(now); }
    ApiResult<bool> requeueExpiredLease(const Job& updated, const std::string& expiredWorkerId, UnixSeconds now) override { return inner_->requeueExpiredLease(updated, expiredWorkerId, now); }
    ApiResult<std::vector<Job>> mastersToExpire(UnixSeconds now) override { return inner_->mastersToExpire(now); }
    ApiResult<std::vector<Upload>> consumedUploadsToDelete() override { return inner_->consumedUploadsToDelete(); }
    ApiStatus recordRetentionEvent(const RetentionEvent& event) override { return inner_->recordRetentionEvent(event); }
    ApiResult<std::vector<RetentionEvent>> retentionEvents(const std::string& subjectId) override { return inner_->retentionEvents(subjectId); }
    ApiResult<std::vector<std::string>> liveBlobKeys(const std::vector<std::string>& keys) override { return inner_->liveBlobKeys(keys); }
    ApiStatus deleteUserAndAnonymise(const std::string& userId, const std::string& anonymousId) override { return inner_->deleteUserAndAnonymise(userId, anonymousId); }

  protected:
    std::shared_ptr<Database> inner_;
};

/// Forwards every BlobStore call to another store; tests derive from it to inject faults.
class ForwardingBlobs : public BlobStore {
  public:
    explicit ForwardingBlobs(std::shared_ptr<BlobStore> inner) : inner_(std::move(inner)) {}
    ApiResult<SignedUrl> presignPut(const std::string& k, std::int64_t m, const std::string& c,
                                    UnixSeconds e) override {
        return inner_->presignPut(k, m, c, e);
    }
    ApiResult<SignedUrl> presignGet(const std::string& k, const std::string& d, UnixSeconds e) override {
        return inner_->presignGet(k, d, e);
    }
    ApiResult<std::optional<BlobInfo>> stat(const std::string& k) override { return inner_->stat(k); }
    ApiResult<std::string> readPrefix(const std::string& k, std::size_t n) override { return inner_->readPrefix(k, n); }
    ApiStatus fetchToFile(const std::string& k, const std::string& p) override { return inner_->fetchToFile(k, p); }
    ApiStatus putFromFile(const std::string& k, const std::string& p, const std::string& c) override {
        return inner_->putFromFile(k, p, c);
    }
    ApiStatus remove(const std::string& k) override { return inner_->remove(k); }
    ApiResult<std::vector<std::string>> list(const std::string& prefix) override { return inner_->list(prefix); }
    ApiResult<int> sweepIncomplete(UnixSeconds before) override { return inner_->sweepIncomplete(before); }

  protected:
    std::shared_ptr<BlobStore> inner_;
};

/// The embedded services on a temp dir with a ManualClock.
struct Env {
    TempDir dir;
    std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
    ServiceConfig config = testConfig(dir.path.string());
    /// The concrete embedded adapters (tests reach into the local store) and the service.
    struct Services {
        std::shared_ptr<SqliteDatabase> db;
        std::shared_ptr<LocalBlobStore> blobs;
        std::shared_ptr<MasteringService> service;
    } s;

    Env() { reopen(); }
    void reopen() {
        s = {};
        auto r = openEmbeddedAdapters(config);
        if (!r) {
            ADD_FAILURE() << r.error().message;
            return;
        }
        s.db = r->db;
        s.blobs = r->blobs;
        auto hasher = std::make_shared<Argon2Hasher>(Argon2Params{
            config.passwordHashOpsLimit, config.passwordHashMemoryBytes, config.maxConcurrentHashes,
            config.maxQueuedHashes});
        s.service = std::make_shared<MasteringService>(config, ServicePorts{s.db, s.blobs, clock, hasher, {}, {}, {}});
    }
    MasteringService& svc() { return *s.service; }

    /// Registers and signs in; returns the caller.
    Caller user(const std::string& email, const std::string& password = "correct horse battery") {
        auto session = svc().registerAndLogin({email, password, "Test User", ""});
        EXPECT_TRUE(session.ok()) << (session.ok() ? "" : session.error().message);
        if (!session)
            return {};
        auto caller = svc().authenticate(session->token);
        EXPECT_TRUE(caller.ok());
        return caller.ok() ? caller.value() : Caller{};
    }

    /// PUTs bytes through the signed URL exactly as the HTTP layer does (verify, open, write in
    /// chunks, commit). Returns the first error.
    ApiStatus put(const SignedUrl& url, const std::vector<char>& bytes, std::size_t chunk = 4096) {
        auto grant = s.blobs->verify(SignedUrlEndpoint::Access::Put, url.url, clock->now());
        if (!grant)
            return {grant.error()};
        auto w = s.blobs->openWriter(*grant);
        if (!w)
            return {w.error()};
        for (std::size_t off = 0; off < bytes.size(); off += chunk)
            if (auto st = (*w)->write(bytes.data() + off, std::min(chunk, bytes.size() - off)); !st)
                return st;
        return (*w)->commit();
    }

    /// Creates an upload slot, PUTs the bytes; returns the upload id.
    std::string upload(const Caller& c, const std::vector<char>& bytes, const std::string& name = "mix.wav") {
        auto up = svc().createUpload(c, {name, static_cast<std::int64_t>(bytes.size()), "audio/wav"});
        EXPECT_TRUE(up.ok());
        if (!up)
            return {};
        auto st = put(up->url, bytes);
        EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
        return up->uploadId;
    }

    bool blobExists(const std::string& key) const {
        return std::filesystem::exists(dir.path / "blobs" / key);
    }
};

} // namespace quack::service::test
