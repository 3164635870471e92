// TPDF dither: statistics of the noise, grid and clamping of the output, determinism, block-size
// invariance, and the auto-mute that keeps digital silence silent.
#include "engine/io/dither.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace quack {
namespace {

constexpr std::uint64_t kSeed = 0x5EED;

/// Runs `input` (planar, equal lengths) through a fresh Ditherer in blocks of `block` frames.
std::vector<std::vector<float>> ditherInBlocks(std::vector<std::vector<float>> x, int bits,
                                               FrameCount block, std::uint64_t seed = kSeed) {
    Ditherer d;
    const auto channels = static_cast<ChannelCount>(x.size());
    d.prepare(bits, channels, seed);
    const auto frames = static_cast<FrameCount>(x[0].size());
    for (FrameCount start = 0; start < frames; start += block) {
        AudioView v;
        v.numChannels = channels;
        v.numFrames = std::min(block, frames - start);
        for (ChannelCount c = 0; c < channels; ++c)
            v.data[static_cast<size_t>(c)] = x[static_cast<size_t>(c)].data() + start;
        d.process(v);
    }
    return x;
}

std::vector<std::vector<float>> randomStereo(FrameCount frames, float amplitude) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-amplitude, amplitude);
    std::vector<std::vector<float>> x(2, std::vector<float>(static_cast<size_t>(frames)));
    for (auto& ch : x)
        for (auto& s : ch)
            s = dist(rng);
    return x;
}

TEST(Dither, NoiseHasTheTpdfMomentsAndRange) {
    // Sum of two independent U[-0.5, 0.5): mean 0, variance 2/12 = 1/6 LSB^2, support (-1, 1),
    // P(|d| < 0.5) = 3/4. With N = 1e6 the standard error of the variance estimate is
    // sqrt((mu4 - sigma^4) / N) = sqrt((1/15 - 1/36) / 1e6) = 2.0e-4, so +-1e-3 is 5 sigma;
    // the mean's standard error is sqrt(1/6 / 1e6) = 4.1e-4 (+-2e-3 = 5 sigma); the
    // probability's is sqrt(0.75 * 0.25 / 1e6) = 4.3e-4 (+-2.5e-3 ~ 6 sigma).
    constexpr int kN = 1'000'000;
    double sum = 0.0, sumSq = 0.0, minV = 1.0, maxV = -1.0;
    int inner = 0;
    for (int i = 0; i < kN; ++i) {
        const double d = Ditherer::noiseLsb(kSeed, 0, static_cast<std::uint64_t>(i));
        sum += d;
        sumSq += d * d;
        minV = std::min(minV, d);
        maxV = std::max(maxV, d);
        inner += std::abs(d) < 0.5;
    }
    const double mean = sum / kN, variance = sumSq / kN - mean * mean;
    EXPECT_NEAR(mean, 0.0, 2e-3);
    EXPECT_NEAR(variance, 1.0 / 6.0, 1e-3);
    EXPECT_GT(minV, -1.0);
    EXPECT_LT(maxV, 1.0);
    EXPECT_NEAR(static_cast<double>(inner) / kN, 0.75, 2.5e-3);
}

TEST(Dither, ChannelsGetIndependentNoise) {
    // Correlation of two independent sequences: standard error 1/sqrt(N) = 1e-3 at N = 1e6.
    constexpr int kN = 1'000'000;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int i = 0; i < kN; ++i) {
        const double a = Ditherer::noiseLsb(kSeed, 0, static_cast<std::uint64_t>(i));
        const double b = Ditherer::noiseLsb(kSeed, 1, static_cast<std::uint64_t>(i));
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    EXPECT_LT(std::abs(sxy / std::sqrt(sxx * syy)), 5e-3);
}

TEST(Dither, OutputIsOnTheGridAndClamped) {
    for (int bits : {8, 16, 24}) {
        auto x = randomStereo(20000, 1.2f); // includes overs beyond +-1
        x[0][0] = 1.0f;
        x[0][1] = -1.0f;
        x[1][0] = 5.0f;
        x[1][1] = -5.0f;
        const auto y = ditherInBlocks(x, bits, 64);
        const double scale = std::ldexp(1.0, bits - 1);
        const double maxOut = 1.0 - 1.0 / scale;
        for (const auto& ch : y)
            for (float s : ch) {
                const double k = static_cast<double>(s) * scale;
                ASSERT_EQ(k, std::round(k)) << bits << " bits";
                ASSERT_GE(static_cast<double>(s), -1.0);
                ASSERT_LE(static_cast<double>(s), maxOut);
            }
        EXPECT_EQ(static_cast<double>(y[1][0]), maxOut);
        EXPECT_EQ(y[1][1], -1.0f);
    }
}

TEST(Dither, OutputIsTheCorrectlyRoundedGridValue) {
    // y = clamp(floor(x 2^(bits-1) + d + 0.5), lo, hi) / 2^(bits-1) with the exact sum. For these
    // inputs (|x| >= 2^-20 or 0, so x's last bit is >= 2^-43) x s + d is exact in double (at
    // most 48 significant bits), so the double reference below is exact and must match bit for
    // bit, including at 24 bits where a float sum would not be. Inputs include values a
    // hair off half-LSB boundaries and exact grid values.
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> dist(-1.1f, 1.1f);
    for (int bits : {2, 8, 16, 20, 24}) {
        const double scale = std::ldexp(1.0, bits - 1);
        std::vector<std::vector<float>> x(2, std::vector<float>(30011));
        for (auto& ch : x)
            for (size_t i = 0; i < ch.size(); ++i) {
                float v = dist(rng);
                if (i % 5 == 1) // near a half-LSB boundary
                    v = static_cast<float>((std::round(static_cast<double>(v) * scale) + 0.5) / scale);
                if (i % 5 == 2) // on the grid
                    v = static_cast<float>(std::round(static_cast<double>(v) * scale) / scale);
                if (i % 97 == 3)
                    v = std::ldexp(v, -19); // small values
                ch[i] = v;
            }
        const auto y = ditherInBlocks(x, bits, 333);
        for (ChannelCount c = 0; c < 2; ++c)
            for (size_t i = 0; i < x[0].size(); ++i) {
                const auto xi = static_cast<double>(x[static_cast<size_t>(c)][i]);
                const double d = Ditherer::noiseLsb(kSeed, c, i);
                const double k = std::clamp(std::floor(xi * scale + d + 0.5), -scale, scale - 1.0);
                const auto expected = xi == 0.0 ? 0.0f : static_cast<float>(k / scale);
                ASSERT_EQ(y[static_cast<size_t>(c)][i], expected) << bits << " bits, ch " << c << ", i " << i;
            }
    }
}

TEST(Dither, NoiseIsOnTheTwoToTheMinus24Grid) {
    // Each uniform has 24 bits: the noise is n 2^-24 with |n| <= 2^24 - 1, symmetric (mean 0).
    for (std::uint64_t i = 0; i < 100000; ++i) {
        const double units = Ditherer::noiseLsb(kSeed, 1, i * 7919 + (i << 33)) * 16777216.0;
        ASSERT_EQ(units, std::round(units));
        ASSERT_LE(std::abs(units), 16777215.0);
    }
}

TEST(Dither, IsBlockSizeInvariant) {
    const auto x = randomStereo(10007, 0.9f);
    const auto reference = ditherInBlocks(x, 16, 4096);
    for (FrameCount block : {FrameCount{1}, FrameCount{7}, FrameCount{64}}) {
        const auto y = ditherInBlocks(x, 16, block);
        EXPECT_EQ(y, reference) << "block " << block;
    }
}

TEST(Dither, IsDeterministicAndSeeded) {
    const auto x = randomStereo(5000, 0.5f);
    EXPECT_EQ(ditherInBlocks(x, 16, 64), ditherInBlocks(x, 16, 64));
    EXPECT_NE(ditherInBlocks(x, 16, 64, 1), ditherInBlocks(x, 16, 64, 2));
    // reset() restarts the sequence.
    Ditherer d;
    d.prepare(16, 2, kSeed);
    auto a = x, b = x;
    AudioView va{{a[0].data(), a[1].data()}, 2, 5000};
    AudioView vb{{b[0].data(), b[1].data()}, 2, 5000};
    d.process(va);
    d.reset();
    d.process(vb);
    EXPECT_EQ(a, b);
}

TEST(Dither, ErrorIsSignalIndependent) {
    // TPDF makes the first two moments of the total error independent of the input: for a DC
    // input at any fraction of an LSB the mean output equals the input (no dead zone) and the
    // error variance is 1/12 (rounding) + 1/6 (dither) = 1/4 LSB^2. N = 2e5: standard error of
    // the mean sqrt(0.25 / 2e5) = 1.1e-3 LSB (tolerance 6e-3); of the variance ~1e-3 (5e-3).
    constexpr FrameCount kN = 200'000;
    const double lsb = 1.0 / 32768.0;
    for (double dcLsb : {0.3, -0.45, 0.5, 0.01}) {
        std::vector<std::vector<float>> x(1, std::vector<float>(kN, static_cast<float>(dcLsb * lsb)));
        const double actualDc = static_cast<double>(x[0][0]) / lsb; // after float rounding
        const auto y = ditherInBlocks(x, 16, 4096);
        double sum = 0.0, sumSq = 0.0;
        for (float s : y[0]) {
            const double e = static_cast<double>(s) / lsb - actualDc;
            sum += e;
            sumSq += e * e;
        }
        EXPECT_NEAR(sum / kN, 0.0, 6e-3) << dcLsb;
        EXPECT_NEAR(sumSq / kN, 0.25, 5e-3) << dcLsb;
    }
}

TEST(Dither, DigitalSilenceStaysSilent) {
    // Auto-mute: exact 0.0 input is output as exact 0.0 (also -0.0, as +0.0).
    std::vector<std::vector<float>> x(2, std::vector<float>(50000, 0.0f));
    x[1][123] = -0.0f;
    for (int bits : {16, 24}) {
        const auto y = ditherInBlocks(x, bits, 7);
        for (const auto& ch : y)
            for (float s : ch)
                ASSERT_TRUE(s == 0.0f && !std::signbit(s));
    }
    // Silence inside music stays silent too, and the samples around it are still dithered.
    std::vector<std::vector<float>> m(1, std::vector<float>(3000, 0.25f));
    std::fill(m[0].begin() + 1000, m[0].begin() + 2000, 0.0f);
    const auto y = ditherInBlocks(m, 16, 64);
    for (size_t i = 1000; i < 2000; ++i)
        ASSERT_EQ(y[0][i], 0.0f);
}

TEST(Dither, NearSilenceBecomesAtMostOneLsb) {
    // A non-zero input far below 1 LSB is dithered: with |d| < 1 and round-to-nearest the
    // output is 0 or +-1 LSB, never more, and not always 0 (no dead zone).
    const double lsb = 1.0 / 32768.0;
    std::vector<std::vector<float>> x(1, std::vector<float>(100000, 1e-9f));
    const auto y = ditherInBlocks(x, 16, 4096);
    int nonZero = 0;
    for (float s : y[0]) {
        const double k = static_cast<double>(s) / lsb;
        ASSERT_TRUE(k == -1.0 || k == 0.0 || k == 1.0) << k;
        nonZero += k != 0.0;
    }
    // P(|d + tiny| >= 0.5) = 1/4 for TPDF: ~25000 of 100000.
    EXPECT_NEAR(nonZero, 25000, 1000);
}

TEST(Dither, ZeroBitsIsPassThrough) {
    const auto x = randomStereo(1000, 1.5f);
    EXPECT_EQ(ditherInBlocks(x, 0, 64), x);
}

} // namespace
} // namespace quack
