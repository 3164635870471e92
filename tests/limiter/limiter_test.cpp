/// TruePeakLimiter and LimiterGainComputer: the ceiling holds under independent meters on
/// adversarial input, block-size invariance, latency, transparency, THD+N, no NaN/Inf.
#include "engine/limiter/limiter.h"
#include "tests/limiter/reference_peak.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace quack {
namespace {

using test::dbOf;
using test::linOf;
using Stereo = std::vector<std::vector<float>>;

/// Runs the limiter over `in` (plus latency frames of silence) in blocks of `block`; returns the
/// output with the latency removed, so out[c][i] lines up with in[c][i].
Stereo runLimiter(const Stereo& in, double fs, double inputGain, const LimiterParams& params,
                  FrameCount block = 4096, LimiterStats* statsOut = nullptr) {
    TruePeakLimiter lim;
    const auto channels = static_cast<ChannelCount>(in.size());
    lim.prepare(fs, channels, block, params);
    lim.setInputGain(inputGain);
    const FrameCount lat = lim.latencyFrames();
    const auto frames = static_cast<FrameCount>(in[0].size());
    AudioBuffer buf(channels, frames + lat);
    for (ChannelCount c = 0; c < channels; ++c)
        std::copy(in[static_cast<size_t>(c)].begin(), in[static_cast<size_t>(c)].end(), buf.channel(c));
    for (FrameCount i = 0; i < frames + lat; i += block)
        lim.process(buf.view().subView(i, std::min(block, frames + lat - i)));
    Stereo out(in.size());
    for (ChannelCount c = 0; c < channels; ++c)
        out[static_cast<size_t>(c)].assign(buf.channel(c) + lat, buf.channel(c) + lat + frames);
    if (statsOut != nullptr)
        *statsOut = lim.stats();
    return out;
}

struct NamedSignal {
    std::string name;
    Stereo x;
};

/// Adversarial material at sample rate fs, `seconds` long, full scale before the input gain.
std::vector<NamedSignal> adversarialSignals(double fs, double seconds) {
    const auto n = static_cast<long>(fs * seconds);
    std::vector<NamedSignal> s;
    // Full-scale square wave (not band-limited: its reconstruction rings ~+1.6 dB over 1.0).
    for (double hz : {100.0, 5512.5}) {
        std::vector<float> sq(static_cast<size_t>(n));
        const double period = fs / hz;
        for (long i = 0; i < n; ++i)
            sq[static_cast<size_t>(i)] = std::fmod(static_cast<double>(i), period) < period / 2 ? 1.0f : -1.0f;
        std::vector<float> inv(sq.size());
        for (size_t i = 0; i < sq.size(); ++i)
            inv[i] = -sq[i];
        s.push_back({"square" + std::to_string(static_cast<int>(hz)), {sq, inv}});
    }
    // Sines near Nyquist, abrupt start after silence.
    for (double f : {0.45, 0.47, 0.49}) {
        auto x = test::sine(n, f, 1.0, 0.7);
        std::fill(x.begin(), x.begin() + n / 4, 0.0f);
        s.push_back({"sine" + std::to_string(f), {x, test::sine(n, f * 0.9, 0.5, 0.0)}});
    }
    // Impulses: single, alternating-sign train, dense train.
    {
        std::vector<float> imp(static_cast<size_t>(n), 0.0f), train(static_cast<size_t>(n), 0.0f),
            dense(static_cast<size_t>(n), 0.0f);
        imp[static_cast<size_t>(n / 2)] = 1.0f;
        for (long i = n / 8; i < n; i += 37)
            train[static_cast<size_t>(i)] = (i / 37) % 2 ? 1.0f : -1.0f;
        for (long i = n / 8; i < n; i += 3)
            dense[static_cast<size_t>(i)] = 1.0f;
        s.push_back({"impulse", {imp, train}});
        s.push_back({"denseTrain", {dense, imp}});
    }
    // White noise (the caller applies +20 dB) and noise bursts after silence.
    {
        const auto noise = test::toFloat(test::whiteNoise(n, 1.0, 11));
        const auto noise2 = test::toFloat(test::whiteNoise(n, 1.0, 12));
        auto bursts = noise;
        for (long i = 0; i < n; ++i)
            if ((i / static_cast<long>(fs * 0.05)) % 2 == 0)
                bursts[static_cast<size_t>(i)] = 0.0f;
        s.push_back({"noise", {noise, noise2}});
        s.push_back({"bursts", {bursts, std::vector<float>(static_cast<size_t>(n), 0.0f)}});
    }
    return s;
}

class CeilingHolds : public ::testing::TestWithParam<double> {};

TEST_P(CeilingHolds, AdversarialInputUnderIndependentMeters) {
    const double fs = GetParam();
    const LimiterParams params; // -1 dBTP, 2 ms, 60 ms
    const double ceiling = linOf(params.ceilingDbtp);
    // Brute-force reference: 32 points per sample (grid error <= 0.009 dB at 0.49 fs) of a
    // 128-tap Kaiser-windowed sinc with cut-off fs/2, i.e. an (almost) ideal DAC.
    const test::ReferenceInterpolator ideal(32, 64);
    const auto sidechainMeter = [](const std::vector<float>& y) {
        TruePeakDetector d;
        d.prepare(48000.0, TruePeakDesign::Accurate8x);
        std::vector<float> in(y), p(y.size() + 32);
        in.resize(p.size(), 0.0f);
        d.process(in.data(), p.data(), static_cast<FrameCount>(p.size()), 0.0f);
        return static_cast<double>(test::maxAbs(p));
    };
    double worstIdealDb = -100.0, worstDenseDb = -100.0, worst8xDb = -100.0, worst4xDb = -100.0;
    for (const auto& sig : adversarialSignals(fs, fs > 50000.0 ? 0.12 : 0.2)) {
        // Dense full-band material: full power right up to fs/2.
        const bool fullBandNoise = sig.name == "noise" || sig.name == "bursts" || sig.name == "square5512";
        const bool nearNyquist = sig.name.rfind("sine", 0) == 0;
        for (double gainDb : {0.0, 20.0}) {
            const auto out = runLimiter(sig.x, fs, linOf(gainDb), params);
            for (size_t c = 0; c < out.size(); ++c) {
                const double idealDb = dbOf(ideal.truePeak(out[c]));
                const double tp8Db = dbOf(sidechainMeter(out[c]));
                const double tp4Db = dbOf(test::ebur128StyleTruePeak(out[c]));
                (fullBandNoise ? worstDenseDb : worstIdealDb) = std::max(fullBandNoise ? worstDenseDb : worstIdealDb, idealDb);
                worst8xDb = std::max(worst8xDb, tp8Db);
                worst4xDb = std::max(worst4xDb, tp4Db);
                const std::string what = sig.name + " ch" + std::to_string(c) + " +" + std::to_string(gainDb);
                // Our meter and the libebur128-style 4x are both inside the Strict sidechain,
                // which the limiter holds at ceiling - 0.1 dB. Measured on the output they can
                // read a little higher, because the gain varies within the interpolators'
                // support (g x reconstructs differently from g times x's reconstruction):
                // measured <= +0.03 dB. The 0.1 dB aim covers that: no tolerance on the ceiling.
                EXPECT_LE(tp8Db, params.ceilingDbtp) << what;
                EXPECT_LE(tp4Db, params.ceilingDbtp) << what;
                if (!fullBandNoise) {
                    // Tones up to 0.49 fs, impulses, low square waves: no tolerance.
                    EXPECT_LE(idealDb, params.ceilingDbtp) << what;
                } else {
                    // Known limit: dense material with full power up to fs/2. The ideal
                    // reconstruction of content within ~0.01 fs of Nyquist is not bounded by
                    // any short interpolator (a tone there and its image at fs - f look alike
                    // to it). Measured up to +0.8 dB over the ceiling at 44.1 and 48 kHz on
                    // white noise and the fs/8 square; ffmpeg's ebur128 (192 kHz resampler)
                    // reads the same 44.1 kHz outputs at -1.1 dBTP and the square at -1.0.
                    // Guard against regressions at +1 dB.
                    EXPECT_LE(idealDb, params.ceilingDbtp + 1.0) << what;
                }
                // Limited, not silenced: within 3 dB of the ceiling whenever the input was
                // driven over it; near-Nyquist tones within 7 dB (Wideband8x reads their
                // leaked image: up to +6 dB at 0.49 fs).
                if (gainDb > 0.0 && c == 0) {
                    EXPECT_GT(ideal.truePeak(out[c]), ceiling * linOf(nearNyquist ? -7.0 : -3.0)) << what;
                }
            }
        }
    }
    std::printf("fs %.0f: worst ideal %.3f dBTP (dense full-band %.3f), Accurate8x %.3f, 4x %.3f (ceiling %.1f)\n",
                fs, worstIdealDb, worstDenseDb, worst8xDb, worst4xDb, params.ceilingDbtp);
}

INSTANTIATE_TEST_SUITE_P(Rates, CeilingHolds, ::testing::Values(44100.0, 48000.0, 96000.0));

TEST(Limiter, GainNeverAboveTheNeedOfItsFrame) {
    // The design's invariant, directly: gain for frame j <= min(1, target / peak[j]).
    LimiterGainComputer gc;
    gc.prepare(44100.0, {});
    std::mt19937 rng(3);
    std::exponential_distribution<float> dist(2.0f);
    std::vector<float> peaks(20000), gains(20000);
    for (auto& p : peaks)
        p = dist(rng);
    gc.process(peaks.data(), gains.data(), static_cast<FrameCount>(peaks.size()));
    const auto lat = static_cast<size_t>(gc.latencyFrames());
    const double target = gc.targetPeak();
    EXPECT_NEAR(dbOf(target), -1.1, 1e-9); // ceiling -1 dBTP, 0.1 dB safety
    for (size_t i = lat; i < peaks.size(); ++i) {
        const double need = std::min(1.0, target / static_cast<double>(peaks[i - lat]));
        ASSERT_LE(static_cast<double>(gains[i]), need) << i;
        ASSERT_GT(gains[i], 0.0f);
    }
}

TEST(Limiter, BlockSizeInvariant) {
    const double fs = 48000.0;
    auto sig = adversarialSignals(fs, 0.15);
    Stereo x = {sig[7].x[0], sig[3].x[0]}; // noise / near-Nyquist sine
    for (size_t i = 0; i < x[0].size(); ++i)
        x[0][i] *= 0.5f * static_cast<float>(1.0 + std::sin(static_cast<double>(i) * 0.001));
    const auto reference = runLimiter(x, fs, linOf(12.0), {}, 4096);
    for (FrameCount block : {1, 7, 64})
        EXPECT_EQ(runLimiter(x, fs, linOf(12.0), {}, block), reference) << "block " << block;
}

TEST(Limiter, LatencyIsTheImpulseDelay) {
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        TruePeakLimiter lim;
        lim.prepare(fs, 1, 1024, {});
        const FrameCount lat = lim.latencyFrames();
        // 2 ms lookahead + 19 frames of Strict detector latency.
        EXPECT_EQ(lim.lookaheadLatencyFrames(), std::llround(0.002 * fs));
        AudioBuffer buf(1, 2048);
        buf.channel(0)[100] = 0.25f; // far below -1 dBTP: no limiting
        lim.process(buf.view());
        const float* y = buf.channel(0);
        const auto it = std::max_element(y, y + 2048, [](float a, float b) { return std::abs(a) < std::abs(b); });
        EXPECT_EQ(it - y, 100 + lat) << fs;
        EXPECT_EQ(*it, 0.25f);
    }
}

TEST(Limiter, BelowCeilingIsBitExactDelay) {
    // -3 dBFS band-limited noise, true peak well under -1 dBTP: every gain is exactly 1 (the
    // fixed-point average of 2^31 steps is exactly 1.0), so the output is the delayed input.
    const double fs = 44100.0;
    const auto x = test::lowpass(test::whiteNoise(20000, 0.7, 8), 0.4, 32);
    const float peak = test::maxAbs(x);
    std::vector<float> scaled(x);
    for (auto& v : scaled)
        v *= 0.5f / peak;
    LimiterStats stats;
    const auto out = runLimiter({scaled, scaled}, fs, 1.0, {}, 512, &stats);
    EXPECT_EQ(out[0], scaled);
    EXPECT_EQ(out[1], scaled);
    EXPECT_EQ(stats.framesLimited, 0);
    EXPECT_EQ(stats.maxGainReductionDb, 0.0);
}

/// THD+N of `y` against a sine of frequency f (cycles/sample): least-squares fit of
/// a sin + b cos + dc, residual RMS / fitted sine RMS.
double thdPlusN(const std::vector<float>& y, double f) {
    double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        const double w = 2.0 * std::numbers::pi * f * static_cast<double>(i);
        const double s = std::sin(w), c = std::cos(w), v = static_cast<double>(y[i]);
        ss += s * s;
        sc += s * c;
        cc += c * c;
        ys += v * s;
        yc += v * c;
    }
    const double det = ss * cc - sc * sc;
    const double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    double res = 0.0, sig = 0.0;
    for (size_t i = 0; i < y.size(); ++i) {
        const double w = 2.0 * std::numbers::pi * f * static_cast<double>(i);
        const double fit = a * std::sin(w) + b * std::cos(w);
        res += (static_cast<double>(y[i]) - fit) * (static_cast<double>(y[i]) - fit);
        sig += fit * fit;
    }
    return std::sqrt(res / sig);
}

TEST(Limiter, SineLimitedBy3DbHasLowThdN) {
    // 1 kHz at 44.1 kHz, -11 dBFS peak (~ -14 LUFS), driven so its peak is 3 dB over the
    // -1 dBTP ceiling. The 2 ms hold spans four half-periods, so after the attack the hold is
    // constant and the gain flat: THD+N must be < 0.1 % (the brief's limit) once settled.
    const double fs = 44100.0, f = 1000.0 / fs;
    const auto x = test::sine(static_cast<long>(fs * 2.0), f, linOf(-11.0), 0.0);
    LimiterParams params;
    const double gain = linOf(params.ceilingDbtp + 3.0 + 11.0);
    LimiterStats stats;
    const auto out = runLimiter({x}, fs, gain, params, 4096, &stats);
    const std::vector<float> settled(out[0].begin() + static_cast<long>(fs), out[0].end());
    const double thd = thdPlusN(settled, f);
    std::printf("1 kHz sine limited by %.2f dB: THD+N %.2e (%.5f %%)\n", stats.maxGainReductionDb, thd, thd * 100);
    EXPECT_LT(thd, 1e-3);
    // Gain reduction is 3 dB plus the 0.1 dB safety margin (8x grid reads 1 kHz exactly).
    EXPECT_NEAR(stats.maxGainReductionDb, 3.1, 0.02);
    EXPECT_NEAR(dbOf(static_cast<double>(test::maxAbs(settled))), params.ceilingDbtp - 0.1, 0.01);
}

TEST(Limiter, ProcessWithPeaksMatchesProcess) {
    // The pipeline's path: precomputed Strict peaks (max over channels, aligned to the audio)
    // must give the same output as process(), one detector latency earlier. Equal within
    // float rounding of the fast path's bound vs exact values at the threshold (1e-6).
    const double fs = 48000.0;
    const auto sig = adversarialSignals(fs, 0.1);
    const Stereo x = {sig[7].x[0], sig[8].x[0]};
    const double gain = linOf(6.0);
    const auto viaProcess = runLimiter(x, fs, gain, {});

    TruePeakDetector det[2];
    const auto n = x[0].size();
    std::vector<float> peaks(n, 0.0f);
    for (size_t c = 0; c < 2; ++c) {
        det[c].prepare(fs, TruePeakDesign::Strict);
        const auto lat = static_cast<size_t>(det[c].latencyFrames());
        std::vector<float> in(x[c]), p(n + lat);
        in.resize(n + lat, 0.0f);
        det[c].process(in.data(), p.data(), static_cast<FrameCount>(in.size()), 0.0f);
        for (size_t i = 0; i < n; ++i)
            peaks[i] = std::max(peaks[i], p[i + lat]);
    }
    TruePeakLimiter lim;
    lim.prepare(fs, 2, 4096, {});
    lim.setInputGain(gain);
    const FrameCount lat = lim.lookaheadLatencyFrames();
    AudioBuffer buf(2, static_cast<FrameCount>(n) + lat);
    for (size_t c = 0; c < 2; ++c)
        std::copy(x[c].begin(), x[c].end(), buf.channel(static_cast<ChannelCount>(c)));
    peaks.resize(n + static_cast<size_t>(lat), 0.0f);
    lim.processWithPeaks(buf.view(), peaks.data());
    for (size_t c = 0; c < 2; ++c)
        for (size_t i = 0; i < n; ++i)
            ASSERT_NEAR(buf.channel(static_cast<ChannelCount>(c))[i + static_cast<size_t>(lat)], viaProcess[c][i], 1e-6)
                << c << " " << i;
}

TEST(Limiter, NoNanOrInfOnSilenceDenormalsAndHugeInput) {
    const double fs = 44100.0;
    std::vector<float> x(30000, 0.0f);
    for (size_t i = 5000; i < 10000; ++i)
        x[i] = (i % 2 ? 1.0f : -1.0f) * 1e-40f; // subnormal
    for (size_t i = 15000; i < 15100; ++i)
        x[i] = 1e30f; // absurdly loud DC block
    LimiterStats stats;
    for (double gain : {1.0, 1e6}) {
        const auto out = runLimiter({x, x}, fs, gain, {}, 333, &stats);
        for (const auto& ch : out)
            for (float v : ch) {
                ASSERT_TRUE(std::isfinite(v));
                ASSERT_LE(std::abs(v), static_cast<float>(linOf(-1.0)));
            }
        EXPECT_TRUE(std::isfinite(stats.meanGainReductionDb));
        EXPECT_GT(stats.framesLimited, 0);
    }
}

TEST(Limiter, ReleaseRecoversAndStatsAreFilled) {
    // A loud burst then quiet tone: the gain must come back to unity (one-pole, 60 ms: after
    // 1 s the residual reduction is e^(-1/0.06) ~ 6e-8 of the reduction, i.e. < 1e-6 dB).
    const double fs = 48000.0;
    auto x = test::sine(static_cast<long>(fs * 1.5), 440.0 / fs, 0.1, 0.0);
    for (size_t i = 1000; i < 3000; ++i)
        x[i] *= 20.0f;
    LimiterStats stats;
    const auto out = runLimiter({x}, fs, 1.0, {}, 4096, &stats);
    for (size_t i = static_cast<size_t>(fs * 1.2); i < x.size(); ++i)
        ASSERT_NEAR(out[0][i], x[i], 1e-6) << i;
    EXPECT_EQ(stats.frames, static_cast<FrameCount>(x.size()) + 19 + 96);
    EXPECT_GT(stats.framesLimited, 2000);
    EXPECT_NEAR(stats.maxGainReductionDb, dbOf(2.0) + 1.1, 0.1); // 2.0 peak into -1.1 dB
    EXPECT_GT(stats.meanGainReductionDb, 0.0);
    EXPECT_LT(stats.meanGainReductionDb, stats.maxGainReductionDb);
}

} // namespace
} // namespace quack
