// Reference mode through masterFile(): loudness and balance of a synthetic reference are
// matched, partial flags change only what they name, strength blends monotonically, the
// ceiling holds. Measured by libebur128 (loudness, true peak) and our analyser (spectra).
#include "engine/chain/master.h"

#include "tests/chain/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

using test::TempDir;

/// A reference: other music, tilted darker (-1.5 dB/octave about 1 kHz), wider (+4 dB side)
/// and louder than the mix.
void writeReference(const std::string& path, int rate) {
    AudioBuffer ref = test::musicLike(rate, 25.0, 21);
    MatchCurves c;
    for (double f = 20.0; f <= 20000.0; f *= std::pow(2.0, 1.0 / 3.0)) {
        c.centerHz.push_back(f);
        c.midGainDb.push_back(std::clamp(-1.5 * std::log2(f / 1000.0), -6.0, 6.0));
        c.sideGainDb.push_back(c.midGainDb.back() + 4.0);
    }
    {
        MatchEq eq;
        eq.prepare(rate, 2, c);
        eq.process(ref.view());
    }
    for (ChannelCount ch = 0; ch < 2; ++ch)
        for (FrameCount i = 0; i < ref.numFrames(); ++i)
            ref.channel(ch)[i] *= 0.9f;
    test::writeWav(path, ref, rate);
}

Analysis analyse(const std::string& path) {
    auto a = analyzeFile(path);
    EXPECT_TRUE(a.ok());
    return a.ok() ? a->analysis : Analysis{};
}

/// Mean over bands 200 Hz-10 kHz of side level minus mid level, dB (a width figure).
double sideMinusMidDb(const Analysis& a) {
    double sum = 0.0;
    int n = 0;
    for (size_t i = 0; i < a.midSpectrum.centerHz.size() && i < a.sideSpectrum.levelDb.size(); ++i) {
        const double f = a.midSpectrum.centerHz[i];
        if (f < 200.0 || f > 10000.0)
            continue;
        sum += a.sideSpectrum.levelDb[i] - a.midSpectrum.levelDb[i];
        ++n;
    }
    return sum / n;
}

struct MasterRun {
    MasterOutcome outcome;
    test::IndependentMeasure measured;
    Analysis analysis;
};

MasterRun master(const TempDir& dir, const MatchOptions& match) {
    MasterRequest req;
    req.inputPath = dir.file("mix.wav");
    req.outputPath = dir.file("out.wav");
    req.intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium").value();
    req.referencePath = dir.file("ref.wav");
    req.match = match;
    auto out = masterFile(req);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
    MasterRun r{std::move(out).value(), {}, {}};
    const auto d = test::readAudio(req.outputPath);
    r.measured = test::measureIndependent(d.audio, d.rate);
    r.analysis = analyse(req.outputPath);
    return r;
}

class ReferenceMaster : public ::testing::Test {
  protected:
    void SetUp() override {
        AudioBuffer mix = test::musicLike(44100, 25.0, 20);
        for (ChannelCount ch = 0; ch < 2; ++ch)
            for (FrameCount i = 0; i < mix.numFrames(); ++i)
                mix.channel(ch)[i] *= 0.35f;
        test::writeWav(dir.file("mix.wav"), mix, 44100);
        writeReference(dir.file("ref.wav"), 44100);
        mixA = analyse(dir.file("mix.wav"));
        refA = analyse(dir.file("ref.wav"));
        refLufs = test::measureIndependent(test::readAudio(dir.file("ref.wav")).audio, 44100).integratedLufs;
    }
    TempDir dir;
    Analysis mixA, refA;
    double refLufs = 0.0;
};

TEST_F(ReferenceMaster, FullMatchMeetsTheFigures) {
    const MasterRun r = master(dir, MatchOptions{});
    // Loudness within 0.2 LU of the reference (the figure), by libebur128.
    EXPECT_NEAR(r.measured.integratedLufs, refLufs, 0.2);
    // Ceiling: 0.1 dB for libebur128's 4x interpolation against our 8x meter.
    EXPECT_LE(r.measured.truePeakDbtp, -1.0 + 0.1);
    // Balance within 1.0 dB RMS (the figure; all bands are within the bound here).
    EXPECT_LE(spectralDeviationDb(r.analysis.midSpectrum, refA.midSpectrum), 1.0);
    EXPECT_GT(spectralDeviationDb(mixA.midSpectrum, refA.midSpectrum), 2.0); // it had work to do
    // Width: the reference's extra 4 dB of side, within 1 dB.
    EXPECT_NEAR(sideMinusMidDb(r.analysis) - sideMinusMidDb(mixA), sideMinusMidDb(refA) - sideMinusMidDb(mixA), 1.0);
    ASSERT_TRUE(r.outcome.report.contains("reference"));
}

TEST_F(ReferenceMaster, PartialFlagsChangeOnlyWhatTheyName) {
    const MasterRun loud = master(dir, MatchOptions{1.0, false, false, true});
    const MasterRun eq = master(dir, MatchOptions{1.0, true, false, false});
    const MasterRun width = master(dir, MatchOptions{1.0, false, true, false});
    // loudness only: at the reference's loudness; balance and width as the mix's (the
    // limiter and gentle compression move balance < 0.5 dB RMS and width < 0.5 dB here).
    EXPECT_NEAR(loud.measured.integratedLufs, refLufs, 0.2);
    EXPECT_LT(spectralDeviationDb(loud.analysis.midSpectrum, mixA.midSpectrum), 0.5);
    EXPECT_NEAR(sideMinusMidDb(loud.analysis), sideMinusMidDb(mixA), 0.5);
    // eq only: balance matched, width as the mix's, loudness at the preset's -14 LUFS.
    EXPECT_LE(spectralDeviationDb(eq.analysis.midSpectrum, refA.midSpectrum), 1.0);
    EXPECT_NEAR(sideMinusMidDb(eq.analysis), sideMinusMidDb(mixA), 0.5);
    EXPECT_NEAR(eq.measured.integratedLufs, -14.0, 0.2);
    // width only: width matched, balance as the mix's.
    EXPECT_NEAR(sideMinusMidDb(width.analysis) - sideMinusMidDb(mixA), sideMinusMidDb(refA) - sideMinusMidDb(mixA), 1.0);
    EXPECT_LT(spectralDeviationDb(width.analysis.midSpectrum, mixA.midSpectrum), 0.5);
    EXPECT_NEAR(width.measured.integratedLufs, -14.0, 0.2);
}

TEST_F(ReferenceMaster, StrengthBlendsMonotonically) {
    double prevDeviation = 1e9, prevLufs = -1e9;
    for (double s : {0.0, 0.5, 1.0}) {
        const MasterRun r = master(dir, MatchOptions{s, true, true, true});
        const double dev = spectralDeviationDb(r.analysis.midSpectrum, refA.midSpectrum);
        EXPECT_LT(dev, prevDeviation) << s;
        EXPECT_GT(r.measured.integratedLufs, prevLufs) << s; // the reference is the louder
        EXPECT_LE(r.measured.truePeakDbtp, -1.0 + 0.1) << s;
        prevDeviation = dev;
        prevLufs = r.measured.integratedLufs;
    }
}

TEST_F(ReferenceMaster, MissingReferenceIsNamed) {
    MasterRequest req;
    req.inputPath = dir.file("mix.wav");
    req.outputPath = dir.file("out.wav");
    req.intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium").value();
    req.referencePath = dir.file("nope.wav");
    auto out = masterFile(req);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::FileNotFound);
    EXPECT_EQ(out.error().message.rfind("reference: ", 0), 0u) << out.error().message;
    EXPECT_FALSE(std::filesystem::exists(req.outputPath));
}

} // namespace
} // namespace quack
