/// Analyzer: analytic signals with known answers (DC, correlation, sine spectrum, clip runs,
/// silence), true-peak test tones, block-size invariance, JSON.
#include "engine/analysis/analyzer.h"

#include "tests/analysis/test_signals.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace quack {
namespace {

Analysis analyze(const AudioBuffer& buf, double fs, FrameCount blockFrames = 4096, AnalysisOptions opt = {}) {
    Analyzer a(fs, buf.numChannels(), opt);
    test::feedInBlocks(buf, blockFrames, [&](ConstAudioView v) { a.process(v); });
    return a.finish();
}

AudioBuffer sine(double fs, double seconds, double hz, double amp, ChannelCount ch = 1, double phase = 0.0) {
    AudioBuffer b(ch, static_cast<FrameCount>(std::llround(seconds * fs)));
    for (FrameCount i = 0; i < b.numFrames(); ++i) {
        const auto v = static_cast<float>(amp * std::sin(2.0 * std::numbers::pi * hz * static_cast<double>(i) / fs + phase));
        for (ChannelCount c = 0; c < ch; ++c)
            b.channel(c)[i] = v;
    }
    return b;
}

/// Raised-cosine fade-in and fade-out of `frames` frames.
void applyFades(AudioBuffer& b, FrameCount frames) {
    for (FrameCount i = 0; i < frames; ++i) {
        const auto g = static_cast<float>(0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(i) / static_cast<double>(frames)));
        for (ChannelCount c = 0; c < b.numChannels(); ++c) {
            b.channel(c)[i] *= g;
            b.channel(c)[b.numFrames() - 1 - i] *= g;
        }
    }
}

size_t bandIndex(const Spectrum& s, double centreHz) {
    const auto it = std::find(s.centerHz.begin(), s.centerHz.end(), centreHz);
    return static_cast<size_t>(it - s.centerHz.begin());
}

// ---------------------------------------------------------------------------------------------

TEST(Analyzer, DcOffsetPerChannel) {
    // 997 Hz sine for 1 s (exactly 997 whole periods) plus DC. The sine sums to ~0 over whole
    // periods, so the mean is the DC; 1e-6 covers float rounding of 48000 samples (each off by
    // <= 6e-8) and the sine's residual sum.
    const double fs = 48000.0;
    AudioBuffer b = sine(fs, 1.0, 997.0, 0.5, 2);
    for (FrameCount i = 0; i < b.numFrames(); ++i) {
        b.channel(0)[i] += 0.01f;
        b.channel(1)[i] -= 0.025f;
    }
    const Analysis a = analyze(b, fs);
    ASSERT_EQ(a.dcOffset.size(), 2u);
    EXPECT_NEAR(a.dcOffset[0], 0.01, 1e-6);
    EXPECT_NEAR(a.dcOffset[1], -0.025, 1e-6);
}

TEST(Analyzer, CorrelationAndWidth) {
    const double fs = 44100.0;
    const FrameCount n = 441000; // 10 s
    test::Noise noise(1), other(2);
    AudioBuffer same(2, n), opposite(2, n), independent(2, n);
    for (FrameCount i = 0; i < n; ++i) {
        const auto v = static_cast<float>(0.3 * noise.next());
        same.channel(0)[i] = same.channel(1)[i] = v;
        opposite.channel(0)[i] = v;
        opposite.channel(1)[i] = -v;
        independent.channel(0)[i] = v;
        independent.channel(1)[i] = static_cast<float>(0.3 * other.next());
    }
    // Exact cases are exact up to double rounding of the sums: 1e-12.
    const Analysis s = analyze(same, fs);
    EXPECT_NEAR(s.correlation, 1.0, 1e-12);
    EXPECT_NEAR(s.width, 0.0, 1e-12);
    ASSERT_EQ(s.bandStereo.size(), 5u);
    for (const auto& b : s.bandStereo) {
        EXPECT_NEAR(b.correlation, 1.0, 1e-9) << b.lowHz; // float FFT of equal inputs: S = 0 exactly
        EXPECT_NEAR(b.width, 0.0, 1e-9);
    }
    const Analysis o = analyze(opposite, fs);
    EXPECT_NEAR(o.correlation, -1.0, 1e-12);
    EXPECT_TRUE(std::isinf(o.width)); // no mid at all: side/mid is unbounded
    for (const auto& b : o.bandStereo)
        EXPECT_NEAR(b.correlation, -1.0, 1e-9) << b.lowHz;
    // Independent white noise: the estimate's standard deviation is 1/sqrt(N) = 0.0015 for
    // N = 441000, so |r| < 0.01 is a 6-sigma bound; width = 1 within the same relative error.
    const Analysis i = analyze(independent, fs);
    EXPECT_NEAR(i.correlation, 0.0, 0.01);
    EXPECT_NEAR(i.width, 1.0, 0.02);
    // Per band: fewer effective samples in the narrow low band (<120 Hz holds ~1 % of white
    // noise bandwidth, ~1000 Welch frames x ~11 bins), so 0.05 there is still > 3 sigma.
    for (const auto& b : i.bandStereo)
        EXPECT_NEAR(b.correlation, 0.0, 0.05) << b.lowHz;
    const Analysis mono = analyze(sine(fs, 1.0, 440.0, 0.5, 1), fs);
    EXPECT_EQ(mono.correlation, 1.0);
    EXPECT_EQ(mono.width, 0.0);
    EXPECT_TRUE(mono.bandStereo.empty());
    EXPECT_TRUE(mono.sideSpectrum.levelDb.empty());
}

TEST(Analyzer, SineSpectrumPeaksInItsBand) {
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        for (double hz : {50.0, 100.0, 250.0, 1000.0, 4000.0, 10000.0}) {
            const Analysis a = analyze(sine(fs, 5.0, hz, 0.5), fs);
            const Spectrum& s = a.spectrum;
            ASSERT_FALSE(s.levelDb.empty());
            const size_t want = bandIndex(s, hz);
            ASSERT_LT(want, s.centerHz.size()) << hz;
            const auto peak = static_cast<size_t>(std::max_element(s.levelDb.begin(), s.levelDb.end()) - s.levelDb.begin());
            EXPECT_EQ(peak, want) << fs << " " << hz;
            // Power is conserved across bands (each bin's power is split by overlap): the band
            // powers sum to the sine's mean square, -6.02 dB re a full-scale sine. The Welch
            // estimate of a steady sine is unbiased; 0.02 dB covers the few whole periods that
            // do not fit the frames.
            double total = 0.0;
            for (double l : s.levelDb)
                total += std::pow(10.0, l / 10.0);
            EXPECT_NEAR(10.0 * std::log10(total), -6.0206, 0.02) << fs << " " << hz;
            // From 250 Hz up a band is >= 5 bins (~10 Hz each) wide and holds the Hann main lobe
            // (+-2 bins): the band alone reads the sine level. 0.1 dB allows the lobe's tail when
            // the tone sits near a band edge. Below, bands are narrower than the main lobe and
            // share the tone with their neighbours (an FFT of ~fs/10 cannot resolve them).
            if (hz >= 250.0) {
                EXPECT_NEAR(s.levelDb[want], -6.0206, 0.1) << fs << " " << hz;
                // Two bands away lies only sidelobe leakage, which for Hann is below -50 dB there.
                if (want >= 2) {
                    EXPECT_LT(s.levelDb[want - 2], s.levelDb[want] - 50.0) << fs << " " << hz;
                }
                if (want + 2 < s.levelDb.size()) {
                    EXPECT_LT(s.levelDb[want + 2], s.levelDb[want] - 50.0) << fs << " " << hz;
                }
            }
        }
    }
    // A track shorter than one FFT frame still gets a level (zero-padded frame, normalised by
    // the real samples' window energy): 0.1 s of 1 kHz. 0.3 dB: one frame, no averaging.
    const Analysis shortTone = analyze(sine(44100.0, 0.1, 1000.0, 0.5), 44100.0);
    EXPECT_NEAR(shortTone.spectrum.levelDb[bandIndex(shortTone.spectrum, 1000.0)], -6.0206, 0.3);
}

TEST(Analyzer, SpectrumBandsAndStereoDecomposition) {
    const double fs = 44100.0;
    // ISO centres up to 0.45 fs = 19845 Hz: 20 Hz .. 16 kHz (30 bands) at 44.1 kHz.
    AudioBuffer b = sine(fs, 4.0, 1000.0, 0.5, 2);
    std::fill_n(b.channel(1), b.numFrames(), 0.0f); // left only
    const Analysis a = analyze(b, fs);
    ASSERT_EQ(a.spectrum.centerHz.size(), 30u);
    EXPECT_EQ(a.spectrum.centerHz.front(), 20.0);
    EXPECT_EQ(a.spectrum.centerHz.back(), 16000.0);
    const size_t k = bandIndex(a.spectrum, 1000.0);
    // Left only at -6.02: channel mean power is half (-3.01 dB), mid = side = L/2 (-6.02 dB).
    // Tolerance as in SineSpectrumPeaksInItsBand.
    EXPECT_NEAR(a.spectrum.levelDb[k], -6.0206 - 3.0103, 0.05);
    EXPECT_NEAR(a.midSpectrum.levelDb[k], -6.0206 - 6.0206, 0.05);
    EXPECT_NEAR(a.sideSpectrum.levelDb[k], -6.0206 - 6.0206, 0.05);
    EXPECT_NEAR(a.bandStereo[2].correlation, 0.0, 1e-6); // R silent: no relation
    EXPECT_EQ(analyze(b, 48000.0).spectrum.centerHz.back(), 20000.0); // 20 kHz < 21.6 kHz
}

TEST(Analyzer, ClippingRunsCountedExactly) {
    const double fs = 44100.0;
    AudioBuffer b(2, 50000);
    for (FrameCount i = 0; i < b.numFrames(); ++i)
        b.channel(0)[i] = b.channel(1)[i] = 0.5f * static_cast<float>(std::sin(0.01 * static_cast<double>(i)));
    auto put = [&](ChannelCount c, FrameCount at, FrameCount len, float v) {
        for (FrameCount i = 0; i < len; ++i)
            b.channel(c)[at + i] = (i % 2 == 0) ? v : -v; // sign alternates: |x| is what counts
    };
    const float atThreshold = static_cast<float>(std::pow(10.0, -0.1 / 20.0)); // exactly -0.1 dBFS
    put(0, 100, 2, 1.0f);                  // too short: not a clip
    put(0, 200, 3, 1.0f);                  // 3
    put(0, 300, 5, atThreshold);           // 5, at the threshold counts
    put(0, 400, 4, 0.98f);                 // -0.18 dBFS: below
    put(1, 2040, 17, 1.0f);                // 17, across the 2048-frame internal chunk boundary
    put(1, 10000, 3, 1.0f);                // 3
    put(1, 10003, 1, 0.5f);                // ...then a break
    put(1, 10004, 2, 1.0f);                // 2: not a clip
    put(0, 49990, 10, 1.0f);               // 10, open at the end of the track
    const ClippingStats expected{3 + 5 + 17 + 3 + 10, 5, 17};
    for (FrameCount block : {1, 7, 64, 4096}) {
        const Analysis a = analyze(b, fs, block);
        EXPECT_EQ(a.clipping.clippedSamples, expected.clippedSamples) << block;
        EXPECT_EQ(a.clipping.clipRuns, expected.clipRuns) << block;
        EXPECT_EQ(a.clipping.longestRunFrames, expected.longestRunFrames) << block;
    }
}

TEST(Analyzer, SilenceDurationsExact) {
    const double fs = 48000.0;
    AudioBuffer b(2, 12345 + 30000 + 6789);
    for (FrameCount i = 0; i < 30000; ++i)
        b.channel(1)[12345 + i] = 0.25f * static_cast<float>(std::sin(0.05 * static_cast<double>(i) + 1.0));
    b.channel(0)[12340] = 0.001f; // exactly -60 dBFS is not "above" -60 dBFS
    b.channel(0)[12345 + 30000 + 10] = -0.0009f;
    // The first and last frames of the tone must be loud for the expectation to be exact.
    ASSERT_GT(std::fabs(b.channel(1)[12345]), 0.001f);
    ASSERT_GT(std::fabs(b.channel(1)[12345 + 29999]), 0.001f);
    const Analysis a = analyze(b, fs, 1000);
    // Exact: frame counts divided by fs, no tolerance beyond double division.
    EXPECT_DOUBLE_EQ(a.leadingSilenceSeconds, 12345.0 / fs);
    EXPECT_DOUBLE_EQ(a.trailingSilenceSeconds, 6789.0 / fs);
    EXPECT_DOUBLE_EQ(a.durationSeconds, static_cast<double>(b.numFrames()) / fs);
    const Analysis silent = analyze(AudioBuffer(1, 5000), fs);
    EXPECT_DOUBLE_EQ(silent.leadingSilenceSeconds, 5000.0 / fs);
    EXPECT_DOUBLE_EQ(silent.trailingSilenceSeconds, 5000.0 / fs);
}

TEST(Analyzer, TruePeakTech3341Cases15To19) {
    // EBU Tech 3341 s.2.9 cases 15-19 at 48 kHz: tone A sin(2 pi n / k + phase); tolerance
    // +0.2 / -0.4 dB (Tech 3341 Table 1).
    struct Case {
        int number;
        double periodFrames, amp, phaseDeg, expectedDbtp;
    };
    const Case cases[] = {{15, 4, 0.50, 0.0, -6.0},
                          {16, 4, 0.50, 45.0, -6.0},
                          {17, 6, 0.50, 60.0, -6.0},
                          {18, 8, 0.50, 67.5, -6.0},
                          {19, 4, 1.41, 45.0, 3.0}};
    // The tones get 20 ms raised-cosine fades: started or stopped abruptly, a tone's band-limited
    // waveform overshoots its amplitude (Gibbs); libebur128 reads #18 as -5.37 dBTP that way. The
    // overshoot is real (a DAC would produce it) and the Analyzer reports it (next test), but the
    // test cases are about the steady tone.
    const double fs = 48000.0;
    for (const auto& c : cases) {
        AudioBuffer b = sine(fs, 1.0, fs / c.periodFrames, c.amp, 2, c.phaseDeg * std::numbers::pi / 180.0);
        applyFades(b, static_cast<FrameCount>(0.02 * fs));
        const Analysis a = analyze(b, fs);
        EXPECT_LE(a.truePeakDbtp, c.expectedDbtp + 0.2) << c.number;
        EXPECT_GE(a.truePeakDbtp, c.expectedDbtp - 0.4) << c.number;
        EXPECT_GE(a.truePeakDbtp, a.samplePeakDbfs) << c.number;
        std::printf("[ measured ] 3341-%d: true peak %.3f dBTP (expected %.1f +0.2/-0.4), sample peak %.3f\n",
                    c.number, a.truePeakDbtp, c.expectedDbtp, a.samplePeakDbfs);
    }
}

TEST(Analyzer, TruePeakIncludesOnsetOvershootAndTail) {
    // Tech 3341 #18 tone (fs/8, 0.5, 67.5 deg) started and stopped abruptly: its interpolated
    // waveform overshoots at both ends. Cut so that the last sample is the largest: the overshoot
    // after the end is reported by finish() from the detector's latency tail. Both ends must read
    // above the steady -6.02 dBTP by > 0.3 dB (libebur128: -5.37 at the onset).
    const double fs = 48000.0;
    const AudioBuffer b = sine(fs, 0.5, fs / 8.0, 0.5, 1, 67.5 * std::numbers::pi / 180.0);
    AudioBuffer reversed(1, b.numFrames()); // onset overshoot moved to the end
    std::reverse_copy(b.channel(0), b.channel(0) + b.numFrames(), reversed.channel(0));
    EXPECT_GT(analyze(b, fs).truePeakDbtp, -6.02 + 0.3);
    EXPECT_GT(analyze(reversed, fs).truePeakDbtp, -6.02 + 0.3);
    EXPECT_NEAR(analyze(reversed, fs).truePeakDbtp, analyze(b, fs).truePeakDbtp, 0.01);
}

TEST(Analyzer, LevelsOfAKnownSine) {
    // A steady -6.02 dBFS 1 kHz stereo sine: RMS = peak - 3.01 dB, crest factor 3.01 dB, and a
    // stereo 1 kHz tone at X dBFS reads X LUFS (Tech 3341 case 1). 0.01 dB: float rounding of
    // the samples leaves ~1e-6 dB and the K-weighting gain at 1 kHz matches the -0.691 constant
    // to < 1e-3 dB (KWeighting test).
    const double fs = 48000.0;
    const Analysis a = analyze(sine(fs, 10.0, 1000.0, 0.5, 2, 0.3), fs);
    EXPECT_NEAR(a.samplePeakDbfs, -6.0206, 0.01);
    EXPECT_NEAR(a.rmsDbfs, -6.0206 - 3.0103, 0.01);
    EXPECT_NEAR(a.crestFactorDb, 3.0103, 0.01);
    EXPECT_NEAR(a.integratedLufs, -6.0206, 0.01);
    EXPECT_NEAR(a.plrDb, a.truePeakDbtp - a.integratedLufs, 1e-12);
    EXPECT_NEAR(a.loudnessRangeLu, 0.0, 0.01);
    EXPECT_EQ(a.clipping.clipRuns, 0);
}

TEST(Analyzer, AllSupportedRates) {
    // A -20 dBFS stereo 1 kHz tone at rates from 8 kHz to 384 kHz (FFT sizes 1024..32768).
    // Integrated: -20 LUFS; 0.25 LU covers the K-weighting shelf's bilinear warping at 8 kHz
    // (0.20 dB at 1 kHz, KWeighting test), 0.02 LU elsewhere would do. True peak: a steady
    // tone's peak is its amplitude; 0.15 dB bounds the 8x interpolator's worst case (0.136 dB).
    for (double fs : {8000.0, 11025.0, 22050.0, 32000.0, 96000.0, 192000.0, 384000.0}) {
        AudioBuffer b = sine(fs, 2.0, 1000.0, 0.1, 2);
        applyFades(b, static_cast<FrameCount>(0.02 * fs));
        const Analysis a = analyze(b, fs);
        EXPECT_NEAR(a.integratedLufs, -20.0, 0.25) << fs;
        EXPECT_NEAR(a.truePeakDbtp, -20.0, 0.15) << fs;
        ASSERT_FALSE(a.spectrum.levelDb.empty()) << fs;
        EXPECT_LE(a.spectrum.centerHz.back(), 0.45 * fs) << fs;
        const auto peak = std::max_element(a.spectrum.levelDb.begin(), a.spectrum.levelDb.end());
        EXPECT_EQ(a.spectrum.centerHz[static_cast<size_t>(peak - a.spectrum.levelDb.begin())], 1000.0) << fs;
        // Stereo bands: the > 8 kHz band exists only where 8 kHz < Nyquist.
        EXPECT_EQ(a.bandStereo.size(), fs > 16000.0 ? 5u : 4u) << fs;
        EXPECT_LE(a.bandStereo.back().highHz, fs / 2.0) << fs;
        EXPECT_NEAR(a.correlation, 1.0, 1e-12) << fs;
    }
}

void expectIdentical(const Analysis& a, const Analysis& b, FrameCount block) {
    EXPECT_EQ(a.frames, b.frames) << block;
    EXPECT_EQ(a.integratedLufs, b.integratedLufs) << block;
    EXPECT_EQ(a.loudnessRangeLu, b.loudnessRangeLu) << block;
    EXPECT_EQ(a.maxMomentaryLufs, b.maxMomentaryLufs) << block;
    EXPECT_EQ(a.maxShortTermLufs, b.maxShortTermLufs) << block;
    EXPECT_EQ(a.samplePeakDbfs, b.samplePeakDbfs) << block;
    EXPECT_EQ(a.truePeakDbtp, b.truePeakDbtp) << block;
    EXPECT_EQ(a.rmsDbfs, b.rmsDbfs) << block;
    EXPECT_EQ(a.crestFactorDb, b.crestFactorDb) << block;
    EXPECT_EQ(a.plrDb, b.plrDb) << block;
    EXPECT_EQ(a.dcOffset, b.dcOffset) << block;
    EXPECT_EQ(a.correlation, b.correlation) << block;
    EXPECT_EQ(a.width, b.width) << block;
    ASSERT_EQ(a.bandStereo.size(), b.bandStereo.size()) << block;
    for (size_t i = 0; i < a.bandStereo.size(); ++i) {
        EXPECT_EQ(a.bandStereo[i].correlation, b.bandStereo[i].correlation) << block;
        EXPECT_EQ(a.bandStereo[i].width, b.bandStereo[i].width) << block;
    }
    EXPECT_EQ(a.spectrum.levelDb, b.spectrum.levelDb) << block;
    EXPECT_EQ(a.midSpectrum.levelDb, b.midSpectrum.levelDb) << block;
    EXPECT_EQ(a.sideSpectrum.levelDb, b.sideSpectrum.levelDb) << block;
    EXPECT_EQ(a.clipping.clippedSamples, b.clipping.clippedSamples) << block;
    EXPECT_EQ(a.clipping.clipRuns, b.clipping.clipRuns) << block;
    EXPECT_EQ(a.leadingSilenceSeconds, b.leadingSilenceSeconds) << block;
    EXPECT_EQ(a.trailingSilenceSeconds, b.trailingSilenceSeconds) << block;
}

TEST(Analyzer, BlockSizeInvariance) {
    // Every statistic is accumulated in internal chunks at absolute positions and the streaming
    // parts carry their state, so any block size gives bit-identical results: exact equality.
    const double fs = 44100.0;
    AudioBuffer b = test::musicLikeNoise(fs, 6.3, 21);
    for (FrameCount i = 0; i < 3000; ++i) // leading silence, and a hard clip mid-track
        b.channel(0)[i] = b.channel(1)[i] = 0.0f;
    for (FrameCount i = 100000; i < 100040; ++i)
        b.channel(1)[i] = 1.0f;
    const Analysis ref = analyze(b, fs, 4096);
    for (FrameCount block : {1, 7, 64, 4096, 1 << 20})
        expectIdentical(analyze(b, fs, block), ref, block);
    // Mono as well.
    AudioBuffer mono(1, b.numFrames());
    std::copy_n(b.channel(0), b.numFrames(), mono.channel(0));
    const Analysis monoRef = analyze(mono, fs, 4096);
    for (FrameCount block : {1, 7, 64})
        expectIdentical(analyze(mono, fs, block), monoRef, block);
}

TEST(Analyzer, FinishIsRepeatableAndStreamingContinues) {
    // finish() is const: calling it mid-stream must not disturb later results.
    const double fs = 48000.0;
    const AudioBuffer b = test::musicLikeNoise(fs, 5.0, 8);
    Analyzer interrupted(fs, 2);
    const ConstAudioView all = b.view();
    interrupted.process(all.subView(0, 77777));
    const Analysis early = interrupted.finish();
    EXPECT_EQ(early.frames, 77777);
    interrupted.process(all.subView(77777, all.numFrames - 77777));
    expectIdentical(interrupted.finish(), analyze(b, fs), 0);
}

TEST(Analyzer, AgreesWithLoudnessMeterAndLibEbur128) {
    // The Analyzer's loudness is the LoudnessMeter's; libebur128 agreement bound as in
    // loudness_test.cpp (same algorithm, float-vs-double input only).
    const double fs = 44100.0;
    const AudioBuffer b = test::chordProgression(fs, 20.0);
    const Analysis a = analyze(b, fs);
    EXPECT_NEAR(a.integratedLufs, test::ebur128Integrated(b, fs), 0.05);
}

TEST(Analyzer, WithoutSpectrum) {
    const double fs = 44100.0;
    const AudioBuffer b = test::musicLikeNoise(fs, 3.0, 4);
    const Analysis full = analyze(b, fs);
    const Analysis fast = analyze(b, fs, 4096, AnalysisOptions{.spectrum = false});
    EXPECT_TRUE(fast.spectrum.levelDb.empty());
    EXPECT_TRUE(fast.bandStereo.empty());
    EXPECT_EQ(fast.integratedLufs, full.integratedLufs);
    EXPECT_EQ(fast.truePeakDbtp, full.truePeakDbtp);
    EXPECT_EQ(fast.correlation, full.correlation);
}

TEST(Analyzer, JsonHasUnitsAndNullsForNonFinite) {
    const double fs = 44100.0;
    const nlohmann::json silent = toJson(analyze(AudioBuffer(2, 44100), fs));
    EXPECT_TRUE(silent.at("integrated_lufs").is_null());
    EXPECT_TRUE(silent.at("true_peak_dbtp").is_null());
    EXPECT_TRUE(silent.at("sample_peak_dbfs").is_null());
    EXPECT_EQ(silent.at("channels"), 2);
    const nlohmann::json j = toJson(analyze(test::chordProgression(fs, 4.0), fs));
    for (const char* key : {"integrated_lufs", "loudness_range_lu", "max_momentary_lufs", "max_short_term_lufs",
                            "sample_peak_dbfs", "true_peak_dbtp", "rms_dbfs", "crest_factor_db", "plr_db",
                            "duration_s", "correlation", "width_side_to_mid", "leading_silence_s",
                            "trailing_silence_s"})
        EXPECT_TRUE(j.at(key).is_number()) << key;
    EXPECT_EQ(j.at("spectrum").at("center_hz").size(), j.at("spectrum").at("level_dbfs").size());
    EXPECT_EQ(j.at("band_stereo").size(), 5u);
    EXPECT_TRUE(j.at("clipping").at("clip_runs").is_number_integer());
    // Round trip through text: no NaN/Inf can reach the serialiser.
    nlohmann::json parsed;
    EXPECT_NO_THROW(parsed = nlohmann::json::parse(j.dump()));
    EXPECT_EQ(parsed, j);
}

} // namespace
} // namespace quack
