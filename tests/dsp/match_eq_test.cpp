#include "engine/dsp/match_eq.h"

#include "tests/dsp/dsp_test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

using test::fitSine;
using test::logFrequencies;
using test::makeNoise;
using test::makeSine;

/// A curve with third-octave detail of the kind two records' spectra differ by: a slow tilt
/// plus a +-3 dB wobble with a period of one octave (too detailed for octave-spaced biquads).
MatchCurves detailedCurves() {
    MatchCurves c;
    c.centerHz = logFrequencies(20.0, 20000.0, 3);
    for (double f : c.centerHz) {
        const double oct = std::log2(f / 1000.0);
        c.midGainDb.push_back(-0.8 * oct + 3.0 * std::sin(2.0 * test::kPi * oct));
        c.sideGainDb.push_back(2.0 - 0.5 * oct);
    }
    return c;
}

double curveAt(const MatchCurves& c, const std::vector<double>& db, double hz) {
    for (size_t i = 0; i < c.centerHz.size(); ++i)
        if (std::abs(c.centerHz[i] - hz) < 1e-9)
            return db[i];
    return NAN;
}

TEST(MatchEq, FilterLengthGivesSixHertzResolution) {
    for (double fs : {8000.0, 44100.0, 48000.0, 96000.0, 384000.0}) {
        MatchEq eq;
        eq.prepare(fs, 2, detailedCurves());
        EXPECT_LE(fs / static_cast<double>(eq.filterLength()), 6.0) << fs;
        EXPECT_EQ(eq.latencyFrames(), eq.filterLength());
    }
}

TEST(MatchEq, RealisesThirdOctaveDetailAtBandCentres) {
    // The measurement the reference-matching figure uses is third-octave bands 40 Hz-16 kHz;
    // at each centre the realised response must be within 0.3 dB of the curve (a tenth of the
    // wobble's amplitude: truncation and the tail fade smear the 3 dB wiggles a little at the
    // lowest bands, where a third of an octave is only ~10 Hz wide).
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        MatchEq eq;
        const MatchCurves c = detailedCurves();
        eq.prepare(fs, 2, c);
        for (double f : c.centerHz) {
            if (f < 40.0 || f > 16000.0)
                continue;
            EXPECT_NEAR(eq.responseDb(0, f), curveAt(c, c.midGainDb, f), 0.3) << fs << " Hz " << f;
            EXPECT_NEAR(eq.responseDb(1, f), curveAt(c, c.sideGainDb, f), 0.3) << fs << " Hz " << f;
        }
    }
}

TEST(MatchEq, FlatCurveIsADelayByTheLatency) {
    MatchCurves flat{{100.0, 1000.0}, {0.0, 0.0}, {0.0, 0.0}};
    MatchEq eq;
    eq.prepare(48000.0, 2, flat);
    const FrameCount lat = eq.latencyFrames();
    const AudioBuffer in = makeNoise(2, 3 * lat, 0.5, 7);
    AudioBuffer out = in;
    eq.process(out.view());
    double worst = 0.0;
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = lat; i < 3 * lat; ++i)
            worst = std::max(worst, std::abs(double(out.channel(c)[i]) - double(in.channel(c)[i - lat])));
    // A 0 dB minimum-phase design is a unit impulse up to float rounding in the cepstral
    // round trip (~1e-6 relative) and the FFT convolution (~1e-6): -100 dB is far above both
    // and far below anything audible.
    EXPECT_LT(worst, 1e-5);
}

TEST(MatchEq, MidAndSideAreFilteredSeparately) {
    // Mid flat, side +6 dB at every frequency: a mono (L = R) sine is untouched, an
    // anti-phase (L = -R) sine comes out 6 dB louder.
    MatchCurves c{{100.0, 10000.0}, {0.0, 0.0}, {6.0, 6.0}};
    const double fs = 48000.0;
    for (int antiPhase = 0; antiPhase < 2; ++antiPhase) {
        MatchEq eq;
        eq.prepare(fs, 2, c);
        AudioBuffer buf = makeSine(2, 4 * eq.latencyFrames(), fs, 1000.0, 0.25);
        if (antiPhase)
            for (FrameCount i = 0; i < buf.numFrames(); ++i)
                buf.channel(1)[i] = -buf.channel(1)[i];
        eq.process(buf.view());
        const double a = fitSine(buf.channel(0), 2 * eq.latencyFrames(), buf.numFrames(), fs, 1000.0);
        // 0.05 dB: the design's ripple at 1 kHz with a constant curve is far smaller.
        EXPECT_NEAR(test::dbFromRatio(a / 0.25), antiPhase ? 6.0 : 0.0, 0.05);
    }
}

TEST(MatchEq, SineGainFollowsTheDesignedResponse) {
    const double fs = 44100.0;
    const MatchCurves c = detailedCurves();
    for (double hz : {63.0, 250.0, 1000.0, 5000.0, 12500.0}) {
        MatchEq eq;
        eq.prepare(fs, 1, c);
        AudioBuffer buf = makeSine(1, 6 * eq.latencyFrames(), fs, hz, 0.1);
        eq.process(buf.view());
        const double a = fitSine(buf.channel(0), 3 * eq.latencyFrames(), buf.numFrames(), fs, hz);
        // The running filter must do what responseDb() says (0.02 dB: float FFT convolution).
        EXPECT_NEAR(test::dbFromRatio(a / 0.1), eq.responseDb(0, hz), 0.02) << hz;
    }
}

TEST(MatchEq, OutputIndependentOfBlockSize) {
    const MatchCurves c = detailedCurves();
    AudioBuffer ref;
    for (FrameCount blockFrames : {FrameCount{4096}, FrameCount{1}, FrameCount{7}, FrameCount{64}}) {
        MatchEq eq;
        eq.prepare(44100.0, 2, c);
        AudioBuffer buf = makeNoise(2, 30000, 0.5, 3);
        test::processInBlocks(eq, buf, blockFrames);
        if (blockFrames == 4096)
            ref = buf;
        else
            EXPECT_TRUE(test::bitEqual(ref, buf)) << blockFrames;
    }
}

TEST(MatchEq, ResetClearsHistory) {
    const MatchCurves c = detailedCurves();
    MatchEq eq;
    eq.prepare(44100.0, 2, c);
    AudioBuffer a = makeNoise(2, 20000, 0.5, 5);
    AudioBuffer b = a;
    eq.process(a.view());
    eq.reset();
    eq.process(b.view());
    EXPECT_TRUE(test::bitEqual(a, b));
}

} // namespace
} // namespace quack
