#pragma once
// Helpers for the service tests: a temp data dir with the embedded adapters (real SQLite file,
// real local blob store), a ManualClock, cheap Argon2 parameters, and test audio.
#include "service/adapters/embedded.h"

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

/// The embedded services on a temp dir with a ManualClock.
struct Env {
    TempDir dir;
    std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
    ServiceConfig config = testConfig(dir.path.string());
    EmbeddedServices s;

    Env() { reopen(); }
    void reopen() {
        s = {};
        auto r = openEmbedded(config, clock);
        if (!r)
            ADD_FAILURE() << r.error().message;
        else
            s = std::move(r).value();
    }
    MasteringService& svc() { return *s.service; }

    /// Registers and signs in; returns the caller.
    Caller user(const std::string& email, const std::string& password = "correct horse battery") {
        auto session = svc().registerAndLogin({email, password, "Test User"});
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
        auto grant = s.blobs->verify(LocalBlobStore::Access::Put, url.url, clock->now());
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
