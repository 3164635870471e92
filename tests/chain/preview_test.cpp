// Fair previews: the master's and the original's excerpts at one integrated loudness,
// measured by libebur128 (independent of our meter).
#include "engine/chain/preview.h"

#include "engine/chain/master.h"
#include "tests/chain/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

using test::TempDir;

/// Masters `original` to `preset` and writes previews of `seconds`.
Result<PreviewOutcome> masterAndPreview(const TempDir& dir, const AudioBuffer& original, int rate,
                                        const char* preset, double seconds) {
    test::writeWav(dir.file("mix.wav"), original, rate);
    MasterRequest req;
    req.inputPath = dir.file("mix.wav");
    req.outputPath = dir.file("master.wav");
    auto intent = makeIntent(preset, std::nullopt, std::nullopt, "balanced", "medium");
    EXPECT_TRUE(intent.ok());
    req.intent = *intent;
    auto mastered = masterFile(req);
    EXPECT_TRUE(mastered.ok()) << (mastered.ok() ? "" : mastered.error().message);
    PreviewRequest p;
    p.masterPath = dir.file("master.wav");
    p.originalPath = dir.file("mix.wav");
    p.masterOut = dir.file("master.preview.wav");
    p.originalOut = dir.file("original.preview.wav");
    p.seconds = seconds;
    p.ceilingDbtp = req.intent.ceilingDbtp;
    return writePreviews(p);
}

TEST(Preview, ExcerptsAreLoudnessMatched) {
    TempDir dir;
    const int rate = 44100;
    // A quiet mix (about -26 LUFS) with modest peaks: the original can be raised to the
    // master's level under the ceiling.
    AudioBuffer mix = test::musicLike(rate, 40.0, 3);
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < mix.numFrames(); ++i)
            mix.channel(c)[i] *= 0.3f;
    auto out = masterAndPreview(dir, mix, rate, "streaming", 10.0);
    ASSERT_TRUE(out.ok()) << out.error().message;
    const auto m = test::readAudio(dir.file("master.preview.wav"));
    const auto o = test::readAudio(dir.file("original.preview.wav"));
    ASSERT_EQ(m.audio.numFrames(), o.audio.numFrames());
    EXPECT_EQ(m.audio.numFrames(), 10 * rate);
    const auto mm = test::measureIndependent(m.audio, rate);
    const auto om = test::measureIndependent(o.audio, rate);
    // The figure: loudness-matched within 0.2 LU. The gains come from our meter and
    // libebur128 agrees with it within ~0.01 LU; 24-bit dither adds nothing measurable.
    EXPECT_NEAR(mm.integratedLufs, om.integratedLufs, 0.2);
    // The master's own level is kept (it was the louder one's reference): within 0.2 LU of
    // what the whole master measures, since the section is the most typical one.
    EXPECT_NEAR(out->masterGainDb, 0.0, 1e-9);
    EXPECT_GT(out->originalGainDb, 3.0); // the quiet original really was raised
    // Nothing exceeds the ceiling (libebur128's 4x true peak; 0.1 dB for its interpolation).
    EXPECT_LE(om.truePeakDbtp, -1.0 + 0.1);
    EXPECT_LE(mm.truePeakDbtp, -1.0 + 0.1);
    // Faded edges: the first and last samples are (almost) silent.
    EXPECT_LT(std::abs(m.audio.channel(0)[0]), 1e-3f);
    EXPECT_LT(std::abs(o.audio.channel(0)[o.audio.numFrames() - 1]), 1e-3f);
}

TEST(Preview, PeakyOriginalTurnsTheMasterDown) {
    TempDir dir;
    const int rate = 48000;
    // A mix with full-scale clicks over quiet music: raising it to the loud master's level
    // would break the ceiling, so both meet where the original's peaks reach the ceiling.
    AudioBuffer mix = test::musicLike(rate, 30.0, 5);
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < mix.numFrames(); ++i) {
            mix.channel(c)[i] *= 0.1f;
            if (i % 4800 == 0)
                mix.channel(c)[i] = 0.95f;
        }
    auto out = masterAndPreview(dir, mix, rate, "loud", 8.0);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_LT(out->masterGainDb, -1.0);
    const auto m = test::readAudio(dir.file("master.preview.wav"));
    const auto o = test::readAudio(dir.file("original.preview.wav"));
    const auto mm = test::measureIndependent(m.audio, rate);
    const auto om = test::measureIndependent(o.audio, rate);
    EXPECT_NEAR(mm.integratedLufs, om.integratedLufs, 0.2);
    // The original's true peak sits at the ceiling, not above (0.1 dB: libebur128's 4x
    // interpolation vs our 8x meter).
    EXPECT_LE(om.truePeakDbtp, -1.0 + 0.1);
}

TEST(Preview, RejectsBadLengthsAndMissingFiles) {
    TempDir dir;
    PreviewRequest p;
    p.masterPath = dir.file("nope.wav");
    p.originalPath = dir.file("nope2.wav");
    p.masterOut = dir.file("a.wav");
    p.originalOut = dir.file("b.wav");
    p.seconds = 2.0;
    auto r = writePreviews(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    p.seconds = 10.0;
    r = writePreviews(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::FileNotFound);
    EXPECT_FALSE(std::filesystem::exists(p.masterOut));
    EXPECT_FALSE(std::filesystem::exists(p.originalOut));
}

TEST(Preview, ShortTrackGivesWholeTrack) {
    TempDir dir;
    const int rate = 44100;
    AudioBuffer mix = test::musicLike(rate, 6.0, 9);
    auto out = masterAndPreview(dir, mix, rate, "streaming", 30.0);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_NEAR(out->startSeconds, 0.0, 1e-9);
    EXPECT_NEAR(out->durationSeconds, 6.0, 0.01);
}

} // namespace
} // namespace quack
