// Resource limits (chain/limits.h), issue 9 finding 2: a small FLAC that declares or decodes to
// a long 384 kHz stream must fail before it fills the temporary disk, with resource_limit.
#include "engine/chain/limits.h"
#include "engine/chain/master.h"
#include "tests/chain/test_util.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

namespace quack {
namespace {

using test::TempDir;

/// Writes `frames` of quiet stereo noise as FLAC 16-bit at `rate` through libsndfile.
void writeFlac(const std::string& path, int rate, FrameCount frames) {
    AudioBuffer buf(2, frames);
    std::uint32_t x = 12345;
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < frames; ++i) {
            x = x * 1664525u + 1013904223u;
            buf.channel(c)[i] = 0.1f * (static_cast<float>(x >> 8) / 16777216.0f - 0.5f);
        }
    test::writeWav(path, buf, rate, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
}

std::vector<char> readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// Rewrites the 36-bit total_samples of a FLAC's STREAMINFO (RFC 9639 8.2: "fLaC", a 4-byte
/// block header, then min/max block (2+2), min/max frame (3+3), then 20 bits rate, 3 channels-1,
/// 5 bits-1, 36 total samples). The frames themselves are untouched: the header now lies.
void setFlacTotalSamples(const std::string& path, std::uint64_t total) {
    auto b = readAll(path);
    ASSERT_GT(b.size(), 42u);
    ASSERT_EQ(std::string(b.data(), 4), "fLaC");
    const size_t at = 8 + 13; // STREAMINFO data starts at 8; the count starts at its bit 108
    auto* u = reinterpret_cast<unsigned char*>(b.data());
    u[at] = static_cast<unsigned char>((u[at] & 0xF0) | ((total >> 32) & 0x0F));
    u[at + 1] = static_cast<unsigned char>(total >> 24);
    u[at + 2] = static_cast<unsigned char>(total >> 16);
    u[at + 3] = static_cast<unsigned char>(total >> 8);
    u[at + 4] = static_cast<unsigned char>(total);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
}

MasterRequest request(const TempDir& dir, const std::string& in) {
    MasterRequest r;
    r.inputPath = in;
    r.outputPath = dir.file("out.wav");
    auto intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium");
    EXPECT_TRUE(intent.ok());
    r.intent = *intent;
    return r;
}

TEST(ResourceLimits, TableHasStableCodes) {
    EXPECT_EQ(errorInfo(ErrorCode::ResourceLimit).id, "resource_limit");
    EXPECT_EQ(errorInfo(ErrorCode::ResourceLimit).exitCode, 7);
    EXPECT_EQ(errorInfo(ErrorCode::ResourceLimit).httpStatus, 413);
    EXPECT_EQ(errorInfo(ErrorCode::InsufficientStorage).id, "insufficient_storage");
    EXPECT_EQ(errorInfo(ErrorCode::InsufficientStorage).httpStatus, 507);
    EXPECT_EQ(errorInfo(ErrorCode::Cancelled).id, "cancelled");
    EXPECT_EQ(errorInfo(ErrorCode::Cancelled).exitCode, 8);
}

TEST(ResourceLimits, EstimateMatchesTheFindingsFigure) {
    // The finding: 10 min at 384 kHz stereo held 5.6 GB of spool. Our bound must cover that
    // (it is an upper bound: 26 bytes a frame for stereo against ~24.5 measured).
    AudioFileInfo info;
    info.sampleRate = 384000;
    info.channels = 2;
    info.frames = 384000LL * 600;
    const auto e = estimateResources(info, OutputFormat::Wav24);
    EXPECT_EQ(e.workingRate, 384000);
    EXPECT_EQ(e.decodedSamples, 384000LL * 600 * 2);
    EXPECT_GE(e.spoolBytes, 5'600'000'000LL);
    EXPECT_LE(e.spoolBytes, 6'100'000'000LL); // 26 B/frame x 230.4e6 frames = 5.99e9
    EXPECT_EQ(e.outputBytes, 384000LL * 600 * 2 * 3 + (1 << 16));
    // AAC runs at 48 kHz: the chain's working length is 8x shorter.
    const auto aac = estimateResources(info, OutputFormat::Aac);
    EXPECT_EQ(aac.workingRate, 48000);
    EXPECT_EQ(aac.workingFrames, 48000LL * 600);
}

TEST(ResourceLimits, HeaderDeclaringTenMinutesAt384kFailsBeforeDecoding) {
    TempDir dir;
    const std::string in = dir.file("bomb.flac");
    writeFlac(in, 384000, 38400); // 0.1 s of real frames
    setFlacTotalSamples(in, 384000ULL * 600);
    auto r = request(dir, in);
    r.limits.maxDecodedSamples = 48000LL * 2 * 1200; // the service's 20 min of 48 kHz stereo
    const auto t0 = std::chrono::steady_clock::now();
    auto out = masterFile(r);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::ResourceLimit) << out.error().message;
    EXPECT_NE(out.error().message.find("declares"), std::string::npos) << out.error().message;
    // Nothing was decoded: opening a FLAC header takes milliseconds; 2 s is slack for ASan.
    EXPECT_LT(secs, 2.0);
    EXPECT_FALSE(std::filesystem::exists(r.outputPath));
}

TEST(ResourceLimits, TempSpaceLimitIsCheckedFromTheHeader) {
    TempDir dir;
    const std::string in = dir.file("ok.flac");
    writeFlac(in, 48000, 48000); // 1 s: ~26 x 48000 = 1.25 MB of spool + 288 KB of WAV
    auto r = request(dir, in);
    r.limits.maxTempBytes = 1'000'000;
    auto out = masterFile(r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::ResourceLimit);
    EXPECT_NE(out.error().message.find("temporary space"), std::string::npos) << out.error().message;
    // With room it masters.
    r.limits.maxTempBytes = 4'000'000;
    auto ok = masterFile(r);
    EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(ResourceLimits, UnderstatedFlacHeaderDoesNotDecodeMoreThanItDeclares) {
    // The other lie: STREAMINFO says 1 s, the frames hold 2 s. The limit (1.5 s) passes the
    // header check; the guarded source must still bound what is decoded. (libsndfile stops
    // FLAC at the declared count, so the master succeeds with 1 s; either outcome is bounded.)
    TempDir dir;
    const std::string in = dir.file("understated.flac");
    writeFlac(in, 48000, 96000);
    setFlacTotalSamples(in, 48000);
    auto r = request(dir, in);
    r.limits.maxDurationSeconds = 1.5;
    auto out = masterFile(r);
    if (out.ok())
        EXPECT_LE(out->after.durationSeconds, 1.5);
    else
        EXPECT_EQ(out.error().code, ErrorCode::ResourceLimit) << out.error().message;
}

TEST(ResourceLimits, GuardedSourceStopsAtTheLimitWhateverTheHeaderSays) {
    TempDir dir;
    const std::string in = dir.file("two.flac");
    writeFlac(in, 48000, 96000);
    auto src = openAudioFile(in);
    ASSERT_TRUE(src.ok());
    ResourceLimits limits;
    limits.maxDurationSeconds = 1.5;
    ResourceGuard guard(limits);
    auto g = makeGuardedSource(std::move(src).value(), guard);
    AudioBuffer buf(2, 4096);
    FrameCount read = 0;
    std::optional<Error> failed;
    for (;;) {
        auto n = g->read(buf.view());
        if (!n.ok()) {
            failed = n.error();
            break;
        }
        if (*n == 0)
            break;
        read += *n;
    }
    ASSERT_TRUE(failed.has_value());
    EXPECT_EQ(failed->code, ErrorCode::ResourceLimit);
    // It stops within one block of the limit (72000 frames), not at the end (96000).
    EXPECT_GE(read, 72000 - 4096);
    EXPECT_LE(read, 72000);
    // A rewind starts a fresh count (each pass is bounded, not the sum of passes).
    ASSERT_TRUE(g->rewind().ok());
    auto n = g->read(buf.view());
    EXPECT_TRUE(n.ok());
}

TEST(ResourceLimits, CancelAndDeadlineStopAMasterMidway) {
    TempDir dir;
    const std::string in = dir.file("long.flac");
    writeFlac(in, 48000, 48000 * 20);
    {
        auto r = request(dir, in);
        std::atomic<int> polls{0};
        // Cancel after the 50th poll: well inside the analysis pass (20 s is ~235 blocks).
        r.limits.cancelled = [&] { return ++polls > 50; };
        auto out = masterFile(r);
        ASSERT_FALSE(out.ok());
        EXPECT_EQ(out.error().code, ErrorCode::Cancelled);
        EXPECT_EQ(polls.load(), 51);
        EXPECT_FALSE(std::filesystem::exists(r.outputPath));
    }
    {
        auto r = request(dir, in);
        r.limits.maxWallTime = std::chrono::milliseconds(1);
        auto out = masterFile(r);
        ASSERT_FALSE(out.ok());
        EXPECT_EQ(out.error().code, ErrorCode::ResourceLimit);
        EXPECT_NE(out.error().message.find("took longer"), std::string::npos) << out.error().message;
    }
}

TEST(ResourceLimits, FreeSpaceCheckRefusesWhenTheDiskIsTooSmall) {
    TempDir dir;
    AudioFileInfo info;
    info.sampleRate = 384000;
    info.channels = 2;
    info.frames = 384000LL * 3 * 3600; // 3 h at 384 kHz: ~108 GB of spool, more than this disk
    auto e = estimateResources(info, OutputFormat::Wav24);
    ResourceLimits limits;
    limits.checkFreeSpace = true;
    struct statvfs st {};
    ASSERT_EQ(::statvfs(spoolDirectory().c_str(), &st), 0);
    const auto free = static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
    if (free > e.tempBytes())
        GTEST_SKIP() << "the temporary disk has " << free << " bytes free";
    auto s = checkEstimate(e, limits, spoolDirectory(), dir.path.string());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::InsufficientStorage) << s.error().message;
    // A small job passes the same check.
    info.frames = 48000;
    EXPECT_TRUE(checkEstimate(estimateResources(info, OutputFormat::Wav24), limits, spoolDirectory(),
                              dir.path.string())
                    .ok());
}

} // namespace
} // namespace quack
