/// LimiterGainComputer against the direct formulas of its design (limiter.cpp), the
/// branch-free SlidingMin against a brute-force minimum, block-size invariance of the unity
/// fast path, and the limiter's log-free stats against per-frame logs.
#include "engine/limiter/limiter.h"
#include "engine/limiter/sliding_min.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace quack {
namespace {

/// Peaks with quiet stretches (no reduction: exercises the unity fast path), loud noisy bursts
/// and a few absurd values (infinite input gain, gain 0), relative to a -1.1 dBFS target.
std::vector<float> mixedPeaks(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> quiet(0.0f, 0.8f), loud(0.5f, 4.0f);
    std::vector<float> p(n);
    for (size_t i = 0; i < n; ++i) {
        const bool burst = (i / 1500) % 3 == 1;
        p[i] = burst ? loud(rng) : quiet(rng);
    }
    p[n / 2] = 1e30f;
    p[n / 2 + 1] = std::numeric_limits<float>::infinity();
    return p;
}

TEST(SlidingMin, MatchesBruteForceWithRuns) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    std::uniform_int_distribution<int> runLen(0, 300);
    for (FrameCount window : {1, 2, 5, 89, 256}) {
        detail::SlidingMin m;
        m.prepare(window);
        std::vector<double> all;
        for (int round = 0; round < 60; ++round) {
            // Alternate single pushes (checked) with runs of one value (pushRun, unchecked).
            for (int k = 0; k < 97; ++k) {
                const double v = dist(rng);
                all.push_back(v);
                const auto first = all.size() > static_cast<size_t>(window) ? all.size() - static_cast<size_t>(window) : 0;
                const double expected = *std::min_element(all.begin() + static_cast<long>(first), all.end());
                ASSERT_EQ(m.push(v), expected) << "window " << window << " at " << all.size();
            }
            const int run = runLen(rng);
            const double v = round % 2 ? 1.0 : dist(rng);
            m.pushRun(v, run);
            all.insert(all.end(), static_cast<size_t>(run), v);
        }
    }
}

TEST(GainComputer, MatchesTheDirectFormulas) {
    // Reference: the design's formulas evaluated directly (brute-force hold, release on rel,
    // average in long double). The computer differs only by rounding that never raises the
    // gain: fixed point (2^-31), float toward zero (< 1 ulp: 6e-8 near 1) and the release's
    // double rounding (~1e-16): |difference| <= 2^-23 and never above the reference by more
    // than the release rounding (1e-12).
    const double fs = 44100.0;
    const LimiterParams params;
    LimiterGainComputer gc;
    gc.prepare(fs, params);
    const auto peaks = mixedPeaks(30000, 1);
    std::vector<float> gains(peaks.size());
    gc.process(peaks.data(), gains.data(), static_cast<FrameCount>(peaks.size()));

    const double target = gc.targetPeak();
    const auto w = static_cast<size_t>(gc.latencyFrames() + 1);
    const double a = std::exp(-1.0 / (params.releaseMs * fs / 1000.0));
    std::vector<double> need(peaks.size()), rel(peaks.size());
    double released = 1.0;
    for (size_t i = 0; i < peaks.size(); ++i) {
        const double p = static_cast<double>(peaks[i]);
        need[i] = p > target ? target / p : 1.0;
        double hold = 1.0;
        for (size_t k = i + 1 >= w ? i + 1 - w : 0; k <= i; ++k)
            hold = std::min(hold, need[k]);
        double r = 1.0 - (1.0 - released) * a;
        if (1.0 - r < 1e-12)
            r = 1.0;
        released = rel[i] = std::min(r, hold);
        long double sum = 0.0L;
        for (size_t k = 0; k < w; ++k)
            sum += i >= k ? static_cast<long double>(rel[i - k]) : 1.0L;
        const auto ref = static_cast<double>(sum / static_cast<long double>(w));
        const auto g = static_cast<double>(gains[i]);
        ASSERT_LE(std::abs(g - ref), 0x1p-23) << i;
        ASSERT_LE(g, ref + 1e-12) << i;
    }
}

TEST(GainComputer, BlockSizeInvariantAcrossTheFastPath) {
    const auto peaks = mixedPeaks(20000, 2);
    const auto run = [&](FrameCount block, double inputGain) {
        LimiterGainComputer gc;
        gc.prepare(48000.0, {});
        std::vector<float> g(peaks.size());
        for (FrameCount i = 0; i < static_cast<FrameCount>(peaks.size()); i += block) {
            const FrameCount n = std::min(block, static_cast<FrameCount>(peaks.size()) - i);
            gc.processScaled(peaks.data() + i, inputGain, g.data() + i, n);
        }
        return g;
    };
    for (double inputGain : {1.0, 0.5, 3.0}) {
        const auto reference = run(4096, inputGain);
        for (FrameCount block : {1, 7, 64})
            EXPECT_EQ(run(block, inputGain), reference) << "block " << block << " gain " << inputGain;
    }
}

TEST(LimiterStats, MatchPerFrameLogs) {
    // The stats avoid a log per frame (limiter.cpp): frames limited and the maximum must be
    // exactly what the per-frame formula -20 log10(max(1e-10, g)) gives; the mean to within
    // 1e-9 dB (double rounding of a product of logs; the documented accuracy is ~1e-13
    // relative, the brief asks for 0.001 dB).
    const double fs = 44100.0;
    const auto peaks = mixedPeaks(25000, 3);
    const double inputGain = 1.3;
    LimiterGainComputer gc;
    gc.prepare(fs, {});
    std::vector<float> gains(peaks.size());
    gc.processScaled(peaks.data(), inputGain, gains.data(), static_cast<FrameCount>(peaks.size()));
    FrameCount limited = 0;
    double maxDb = 0.0, sumDb = 0.0;
    for (float g : gains) {
        const double gr = -20.0 * std::log10(std::max(1e-10, static_cast<double>(g)));
        limited += gr > 0.1 ? 1 : 0;
        maxDb = std::max(maxDb, gr);
        sumDb += gr;
    }

    TruePeakLimiter lim;
    lim.prepare(fs, 1, 4096, {});
    lim.setInputGain(inputGain);
    AudioBuffer buf(1, static_cast<FrameCount>(peaks.size()));
    for (FrameCount i = 0; i < buf.numFrames(); i += 1000)
        lim.processWithPeaks(buf.view().subView(i, std::min<FrameCount>(1000, buf.numFrames() - i)),
                             peaks.data() + i);
    const LimiterStats& st = lim.stats();
    EXPECT_EQ(st.frames, static_cast<FrameCount>(peaks.size()));
    EXPECT_EQ(st.framesLimited, limited);
    EXPECT_EQ(st.maxGainReductionDb, maxDb);
    EXPECT_GT(maxDb, 199.0); // the infinite peak: gain 0 reports 200 dB
    EXPECT_NEAR(st.meanGainReductionDb, sumDb / static_cast<double>(peaks.size()), 1e-9);
}

} // namespace
} // namespace quack
