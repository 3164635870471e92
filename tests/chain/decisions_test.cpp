// The decision function is pure: analysis + intent -> parameters. These tests pin its
// behaviour on constructed analyses.
#include "engine/chain/decisions.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

/// An analysis of a plausible unmastered stereo mix with the given spectrum tilt (dB/octave
/// about 1 kHz) and loudness numbers.
Analysis mix(double lufs, double truePeak, double tiltPerOctave = 0.0, ChannelCount channels = 2) {
    Analysis a;
    a.sampleRate = 44100;
    a.channels = channels;
    a.frames = 44100 * 120;
    a.durationSeconds = 120;
    a.integratedLufs = lufs;
    a.truePeakDbtp = truePeak;
    a.samplePeakDbfs = truePeak - 0.3;
    a.plrDb = truePeak - lufs;
    a.loudnessRangeLu = 8.0;
    a.dcOffset.assign(static_cast<size_t>(channels), 0.0);
    const auto& balance = defaultTargetBalance();
    for (size_t i = 0; i < balance.centerHz.size(); ++i) {
        a.spectrum.centerHz.push_back(balance.centerHz[i]);
        a.spectrum.levelDb.push_back(-30.0 + balance.levelDb[i] +
                                     tiltPerOctave * std::log2(balance.centerHz[i] / 1000.0));
    }
    a.midSpectrum = a.spectrum;
    if (channels == 2) {
        a.correlation = 0.7;
        a.width = 0.2;
        a.bandStereo = {{0, 120, 0.95, 0.05}, {120, 2500, 0.7, 0.2}, {2500, 22050, 0.6, 0.3}};
    }
    return a;
}

Intent intentFor(const char* preset, const char* style = "balanced", const char* intensity = "medium") {
    auto i = makeIntent(preset, std::nullopt, std::nullopt, style, intensity);
    EXPECT_TRUE(i.ok());
    return *i;
}

double curveAt(const TonalCurve& c, double hz) {
    for (size_t i = 0; i < c.centerHz.size(); ++i)
        if (std::abs(c.centerHz[i] - hz) / hz < 0.05)
            return c.gainDb[i];
    ADD_FAILURE() << "no band at " << hz;
    return 0.0;
}

TEST(Decisions, TargetBalanceIsMeasuredData) {
    const auto& b = defaultTargetBalance();
    // A third-octave balance from ~31 Hz to 16 kHz has at least 25 bands.
    EXPECT_GE(b.centerHz.size(), 25u);
    EXPECT_EQ(b.centerHz.size(), b.levelDb.size());
    EXPECT_NE(b.source.find("mastered"), std::string::npos);
}

TEST(Decisions, SilenceIsPassedThrough) {
    Analysis a = mix(-14, -1);
    a.integratedLufs = kSilenceLufs;
    const auto p = decide(a, {}, intentFor("streaming"), defaultTargetBalance());
    EXPECT_TRUE(p.silent);
    ASSERT_FALSE(p.warnings.empty());
    EXPECT_EQ(p.warnings.back().code, "silent_input");
}

TEST(Decisions, FinishedInputGetsGainOnly) {
    const auto p = decide(mix(-14.2, -1.5), {}, intentFor("streaming"), defaultTargetBalance());
    EXPECT_TRUE(p.gainOnly);
    EXPECT_FALSE(p.eqActive);
}

TEST(Decisions, MatchingBalanceNeedsNoEq) {
    // A mix whose spectrum equals the target balance needs no tonal correction.
    const auto p = decide(mix(-20, -6, 0.0), {}, intentFor("streaming"), defaultTargetBalance());
    EXPECT_FALSE(p.gainOnly);
    EXPECT_FALSE(p.eqActive);
}

TEST(Decisions, DarkMixIsBrightenedWithinBounds) {
    // 1.5 dB/octave too dark: the correction rises with frequency, never beyond the medium
    // bound of 3 dB.
    const auto p = decide(mix(-20, -6, -1.5), {}, intentFor("streaming"), defaultTargetBalance());
    ASSERT_TRUE(p.eqActive);
    EXPECT_GT(curveAt(p.eqCurve, 8000), curveAt(p.eqCurve, 1000) + 1.0);
    EXPECT_LT(curveAt(p.eqCurve, 100), curveAt(p.eqCurve, 1000));
    for (double g : p.eqCurve.gainDb)
        EXPECT_LE(std::abs(g), 3.0 + 1e-9);
}

TEST(Decisions, IntensityScalesTheCorrection) {
    const auto low = decide(mix(-20, -6, -1.5), {}, intentFor("streaming", "balanced", "low"), defaultTargetBalance());
    const auto high = decide(mix(-20, -6, -1.5), {}, intentFor("streaming", "balanced", "high"), defaultTargetBalance());
    EXPECT_GT(curveAt(high.eqCurve, 8000), curveAt(low.eqCurve, 8000));
}

TEST(Decisions, WarmIsDarkerThanBright) {
    const auto warm = decide(mix(-20, -6), {}, intentFor("streaming", "warm"), defaultTargetBalance());
    const auto bright = decide(mix(-20, -6), {}, intentFor("streaming", "bright"), defaultTargetBalance());
    const double warmTilt = curveAt(warm.eqCurve, 8000) - curveAt(warm.eqCurve, 125);
    const double brightTilt = curveAt(bright.eqCurve, 8000) - curveAt(bright.eqCurve, 125);
    EXPECT_LT(warmTilt, brightTilt - 2.0);
}

TEST(Decisions, DynamicMixForLoudTargetGetsCompression) {
    // PLR 20 dB into a target allowing 8 dB: the multiband stage takes part of the excess.
    const auto p = decide(mix(-24, -4), {}, intentFor("loud"), defaultTargetBalance());
    ASSERT_TRUE(p.multibandActive);
    for (const auto& b : p.multiband.bands)
        EXPECT_GT(b.ratio, 1.1);
}

TEST(Decisions, QuietTargetNeedsNoCompression) {
    // Broadcast allows a PLR of 22 dB: a mix with PLR 14 dB needs no compression.
    const auto p = decide(mix(-18, -4), {}, intentFor("broadcast"), defaultTargetBalance());
    for (const auto& b : p.multiband.bands)
        EXPECT_DOUBLE_EQ(b.ratio, 1.0);
}

TEST(Decisions, WideLowEndIsMadeMonoSafe) {
    Analysis a = mix(-20, -6);
    a.bandStereo[0].width = 0.4;
    a.bandStereo[0].correlation = 0.3;
    const auto p = decide(a, {}, intentFor("streaming"), defaultTargetBalance());
    EXPECT_LT(p.multiband.bands[0].width, 1.0);
    EXPECT_TRUE(p.multibandActive);
}

TEST(Decisions, MonoHasNoStereoDecisions) {
    const auto p = decide(mix(-20, -6, 0.0, 1), {}, intentFor("streaming"), defaultTargetBalance());
    for (const auto& b : p.multiband.bands)
        EXPECT_DOUBLE_EQ(b.width, 1.0);
}

TEST(Decisions, WarnsAboutClippedLossyAndLimitedInput) {
    Analysis a = mix(-8, -0.1);
    a.clipping.clipRuns = 12;
    a.clipping.longestRunFrames = 5;
    const auto p = decide(a, InputFacts{true}, intentFor("streaming"), defaultTargetBalance());
    auto has = [&](const char* code) {
        for (const auto& w : p.warnings)
            if (w.code == code)
                return true;
        return false;
    };
    EXPECT_TRUE(has("clipped_input"));
    EXPECT_TRUE(has("lossy_input"));
    EXPECT_TRUE(has("already_limited"));
}

TEST(Decisions, EveryDecisionHasAReason) {
    const auto p = decide(mix(-22, -3, 1.0), {}, intentFor("loud", "warm", "high"), defaultTargetBalance());
    ASSERT_GT(p.decisions.size(), 5u);
    for (const auto& d : p.decisions) {
        EXPECT_FALSE(d.name.empty());
        EXPECT_GT(d.reason.size(), 10u) << d.name;
    }
}

TEST(Decisions, LimiterAimsUnderTheCeiling) {
    const auto p = decide(mix(-20, -6), {}, intentFor("streaming"), defaultTargetBalance());
    EXPECT_LT(p.limiter.ceilingDbtp, -1.0);
    EXPECT_GT(p.limiter.ceilingDbtp, -1.5);
}

TEST(Intent, PresetsAndValidation) {
    EXPECT_DOUBLE_EQ(intentFor("loud").targetLufs, -9.0);
    EXPECT_DOUBLE_EQ(intentFor("podcast").targetLufs, -16.0);
    EXPECT_DOUBLE_EQ(intentFor("broadcast").targetLufs, -23.0);
    EXPECT_FALSE(makeIntent("nope", std::nullopt, std::nullopt, "", "").ok());
    EXPECT_FALSE(makeIntent("streaming", -3.0, std::nullopt, "", "").ok());
    EXPECT_FALSE(makeIntent("streaming", -14.0, 1.0, "", "").ok());
    EXPECT_FALSE(makeIntent("streaming", -4.0, -1.0, "", "").ok());
    EXPECT_FALSE(makeIntent("streaming", std::nan(""), std::nullopt, "", "").ok());
    EXPECT_FALSE(makeIntent("streaming", std::nullopt, std::nullopt, "shiny", "").ok());
    EXPECT_FALSE(makeIntent("streaming", std::nullopt, std::nullopt, "", "max").ok());
    auto custom = makeIntent("streaming", -12.0, -2.0, "warm", "low");
    ASSERT_TRUE(custom.ok());
    EXPECT_EQ(custom->presetName, "custom");
    EXPECT_EQ(custom->style, Style::Warm);
}

} // namespace
} // namespace quack
