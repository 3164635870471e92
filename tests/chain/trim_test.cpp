// Trims of digital silence and fades: exact frame positions, the master still meets loudness
// and ceiling (libebur128), bad values refused.
#include "engine/chain/trim.h"

#include "engine/chain/master.h"
#include "tests/chain/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

using test::TempDir;

/// 1.0 s of zeros, `seconds` of music, 0.5 s of zeros.
AudioBuffer paddedMusic(int rate, double seconds) {
    const AudioBuffer music = test::musicLike(rate, seconds, 4);
    AudioBuffer b(2, rate + music.numFrames() + rate / 2);
    for (ChannelCount c = 0; c < 2; ++c)
        std::copy_n(music.channel(c), music.numFrames(), b.channel(c) + rate);
    return b;
}

/// RMS over both channels of frames [from, from + n).
double rmsOf(const AudioBuffer& b, FrameCount from, FrameCount n) {
    double sum = 0.0;
    for (ChannelCount c = 0; c < b.numChannels(); ++c)
        for (FrameCount i = from; i < from + n; ++i)
            sum += static_cast<double>(b.channel(c)[i]) * static_cast<double>(b.channel(c)[i]);
    return std::sqrt(sum / static_cast<double>(n * b.numChannels()));
}

MasterRequest request(const TempDir& dir) {
    MasterRequest req;
    req.inputPath = dir.file("in.wav");
    req.outputPath = dir.file("out.wav");
    req.intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium").value();
    return req;
}

TEST(FadeShape, EndpointsAndMiddle) {
    FadeShape f{1000, 100, 200};
    EXPECT_DOUBLE_EQ(f.gainAt(0), 0.0);
    EXPECT_DOUBLE_EQ(f.gainAt(999), 0.0);
    EXPECT_DOUBLE_EQ(f.gainAt(500), 1.0);
    EXPECT_NEAR(f.gainAt(50), 0.5, 1e-12); // half way up a raised cosine
    EXPECT_NEAR(f.gainAt(999 - 100), 0.5, 1e-12);
    // Block-size invariant: applying in blocks of 7 equals applying at once.
    AudioBuffer a = test::musicLike(44100, 1000.0 / 44100.0, 2), b = a;
    f.apply(a.view(), 0);
    for (FrameCount p = 0; p < 1000; p += 7)
        f.apply(b.view().subView(p, std::min<FrameCount>(7, 1000 - p)), p);
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < 1000; ++i)
            ASSERT_EQ(a.channel(c)[i], b.channel(c)[i]);
}

TEST(Trim, FindsTheSoundExactly) {
    TempDir dir;
    const int rate = 44100;
    const AudioBuffer b = paddedMusic(rate, 5.0);
    test::writeWav(dir.file("in.wav"), b, rate);
    auto src = openAudioFile(dir.file("in.wav"));
    ASSERT_TRUE(src.ok());
    auto range = findSoundRange(**src);
    ASSERT_TRUE(range.ok());
    // musicLike starts and ends inside the noise, so the first and last frames of the music
    // carry sound; allow a couple of frames where a sample happens to be tiny.
    EXPECT_NEAR(static_cast<double>(range->start), rate, 2.0);
    EXPECT_NEAR(static_cast<double>(range->frames), 5.0 * rate, 4.0);
}

TEST(Trim, MasterWithoutTheSilenceAndWithFades) {
    TempDir dir;
    const int rate = 44100;
    test::writeWav(dir.file("in.wav"), paddedMusic(rate, 12.0), rate);
    MasterRequest req = request(dir);
    req.trimSilence = true;
    req.fadeInMs = 500.0;
    req.fadeOutMs = 2000.0;
    auto out = masterFile(req);
    ASSERT_TRUE(out.ok()) << out.error().message;
    const auto d = test::readAudio(req.outputPath);
    EXPECT_NEAR(static_cast<double>(d.audio.numFrames()), 12.0 * rate, 4.0);
    // Faded edges: silent at the very ends, full level in the middle.
    auto rmsAt = [&](FrameCount from, FrameCount n) { return rmsOf(d.audio, from, n); };
    EXPECT_LT(std::abs(d.audio.channel(0)[0]), 1e-4f);
    EXPECT_LT(std::abs(d.audio.channel(0)[d.audio.numFrames() - 1]), 1e-4f);
    EXPECT_LT(rmsAt(0, rate / 100), 0.05 * rmsAt(6 * rate, rate));
    EXPECT_LT(rmsAt(d.audio.numFrames() - rate / 100, rate / 100), 0.05 * rmsAt(6 * rate, rate));
    // The loops still close on the faded file: loudness within the engine's 0.1 LU, ceiling
    // held (0.1 dB: libebur128's 4x interpolation vs our 8x meter).
    const auto m = test::measureIndependent(d.audio, rate);
    EXPECT_NEAR(m.integratedLufs, -14.0, 0.1);
    EXPECT_LE(m.truePeakDbtp, -1.0 + 0.1);
    ASSERT_TRUE(out->report.contains("edits"));
    EXPECT_NEAR(out->report["edits"]["trimmed_leading_seconds"].get<double>(), 1.0, 0.001);
    EXPECT_NEAR(out->report["edits"]["trimmed_trailing_seconds"].get<double>(), 0.5, 0.001);
}

TEST(Trim, RefusesBadFades) {
    TempDir dir;
    test::writeWav(dir.file("in.wav"), test::musicLike(44100, 3.0), 44100);
    MasterRequest req = request(dir);
    req.fadeInMs = -1.0;
    auto out = masterFile(req);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::InvalidArgument);
    req.fadeInMs = 0.0;
    req.fadeOutMs = 1e9;
    EXPECT_EQ(masterFile(req).error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(std::filesystem::exists(req.outputPath));
}

} // namespace
} // namespace quack
