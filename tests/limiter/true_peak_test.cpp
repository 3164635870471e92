/// TruePeakDetector: EBU Tech 3341 true-peak cases, accuracy against a brute-force reference,
/// fast path, block-size invariance, Strict alignment, libebur128-style 4x model.
#include "engine/analysis/true_peak.h"
#include "tests/limiter/reference_peak.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <cmath>
#include <numbers>
#include <vector>

namespace quack {

namespace true_peak_detail {
/// Test hook defined in engine/analysis/true_peak.cpp (not in the public header): which kernel
/// set TruePeakDetector::prepare() picks.
enum class KernelSet { Auto, Avx512, Avx2, Portable };
KernelSet& kernelOverride();
bool kernelSetAvailable(KernelSet set);
} // namespace true_peak_detail

namespace {

using test::dbOf;

/// Runs the detector over the whole signal (plus latency frames of silence to flush) in blocks
/// of `block` frames; returns per-frame peaks aligned to the input (latency removed).
std::vector<float> detect(const std::vector<float>& x, TruePeakDesign design, FrameCount block = 4096,
                          float exactAbove = 0.0f, double sampleRate = 48000.0) {
    TruePeakDetector d;
    d.prepare(sampleRate, design);
    const FrameCount lat = d.latencyFrames();
    std::vector<float> in(x);
    in.resize(x.size() + static_cast<size_t>(lat), 0.0f);
    std::vector<float> out(in.size(), 0.0f);
    for (FrameCount i = 0; i < static_cast<FrameCount>(in.size()); i += block) {
        const FrameCount n = std::min(block, static_cast<FrameCount>(in.size()) - i);
        d.process(in.data() + i, out.data() + i, n, exactAbove);
    }
    return {out.begin() + lat, out.end()};
}

/// Maximum reading in dB, ignoring `edgeFrames` at both ends.
double detectMaxDb(const std::vector<float>& x, TruePeakDesign design, double sampleRate = 48000.0,
                   long edgeFrames = 0) {
    const auto p = detect(x, design, 4096, 0.0f, sampleRate);
    return dbOf(static_cast<double>(*std::max_element(p.begin() + edgeFrames, p.end() - edgeFrames)));
}

// ---- EBU Tech 3341 (2016) true-peak test signals 15-19: A sin(2 pi n / k + phase) ----------
struct EbuToneCase {
    int number;
    int periodFrames; // k: frequency fs / k
    double amplitude;
    double phaseDeg;
    double expectedDbtp;
};

class EbuTone : public ::testing::TestWithParam<double> {};

TEST_P(EbuTone, Cases15To19WithinTolerance) {
    // The signals are defined in samples (fs/k), so 44.1 kHz gives the same sample values: we
    // run both rates to pin that the detector has no rate-dependent behaviour.
    const double fs = GetParam();
    const EbuToneCase cases[] = {{15, 4, 0.50, 0.0, -6.0},
                                 {16, 4, 0.50, 45.0, -6.0},
                                 {17, 6, 0.50, 60.0, -6.0},
                                 {18, 8, 0.50, 67.5, -6.0},
                                 {19, 4, 1.41, 45.0, 3.0}};
    for (const auto& c : cases) {
        const auto x = test::sine(static_cast<long>(fs), 1.0 / c.periodFrames, c.amplitude,
                                  c.phaseDeg * std::numbers::pi / 180.0);
        // Steady state: the tone starts abruptly at frame 0, and the band-limited waveform of
        // such a start genuinely overshoots (Gibbs, up to +0.7 dB for case 18, which the
        // brute-force reference reads too); the test targets the tone itself.
        const double db = detectMaxDb(x, TruePeakDesign::Accurate8x, fs, 200);
        // Tech 3341 tolerance: +0.2 / -0.4 dB.
        EXPECT_LE(db, c.expectedDbtp + 0.2) << "case " << c.number;
        EXPECT_GE(db, c.expectedDbtp - 0.4) << "case " << c.number;
        // Stricter: an 8x grid with a flat passband reads these within 0.05 dB of the analytic
        // peak (20 log10 A): fs/4 .. fs/8 tones miss the grid by < 0.03 dB.
        EXPECT_NEAR(db, dbOf(c.amplitude), 0.05) << "case " << c.number;
    }
}

TEST_P(EbuTone, Cases20To23WithinTolerance) {
    // fs/6 at 0.5 containing one period of fs/4 at 1.0, built at 4 fs, low-passed and decimated
    // at offsets 0..3 (expected 0.0 dBTP, +0.2/-0.4 dB).
    const double fs = GetParam();
    const long n4 = 4 * static_cast<long>(fs / 4.0);
    std::vector<double> hi(static_cast<size_t>(n4), 0.0);
    // At 4 fs: fs/6 is a period of 24 samples, fs/4 a period of 16. Start the burst at an
    // upward zero crossing of the slow tone, resume it at a zero crossing afterwards.
    const long burstStart = (n4 / 2 / 24) * 24;
    for (long i = 0; i < n4; ++i) {
        double v;
        if (i < burstStart)
            v = 0.5 * std::sin(2.0 * std::numbers::pi * static_cast<double>(i) / 24.0);
        else if (i < burstStart + 16)
            v = 1.0 * std::sin(2.0 * std::numbers::pi * static_cast<double>(i - burstStart) / 16.0);
        else
            v = 0.5 * std::sin(2.0 * std::numbers::pi * static_cast<double>(i - burstStart - 16) / 24.0);
        hi[static_cast<size_t>(i)] = v;
    }
    // Low-pass at 0.45 fs (= 0.1125 at 4 fs) before decimation.
    const auto filtered = test::lowpass(hi, 0.1125, 96);
    const test::ReferenceInterpolator ref(32, 64);
    for (int offset = 0; offset < 4; ++offset) {
        std::vector<float> x;
        for (long i = offset; i < n4; i += 4)
            x.push_back(filtered[static_cast<size_t>(i)]);
        const double db = detectMaxDb(x, TruePeakDesign::Accurate8x, fs);
        EXPECT_LE(db, 0.2) << "case " << 20 + offset;
        EXPECT_GE(db, -0.4) << "case " << 20 + offset;
        // Against the brute-force reference: the 8x grid under-reads by at most 0.136 dB (the
        // content is below 0.45 fs) and the filter error is <= 0.023 dB.
        const double refDb = dbOf(ref.truePeak(x));
        EXPECT_LE(db, refDb + 0.025) << "case " << 20 + offset;
        EXPECT_GE(db, refDb - 0.16) << "case " << 20 + offset;
    }
}

INSTANTIATE_TEST_SUITE_P(Rates, EbuTone, ::testing::Values(48000.0, 44100.0));

// ---- accuracy on sines across frequency ---------------------------------------------------
TEST(TruePeak, SinesAcrossFrequencyWithinGridLimit) {
    // A long sine's true peak is its amplitude A. An 8x grid misses the crest by at most
    // 1/16 sample, so reads >= A cos(pi f / 8) (f in cycles/sample; -0.136 dB at 0.45);
    // the Kaiser design's error adds <= 0.023 dB either way up to 0.45 fs.
    const double amplitude = 0.7;
    double worstUnder = 0.0, worstOver = -1.0;
    for (double f = 0.005; f <= 0.4501; f += 0.0149) {
        const auto x = test::sine(6000, f, amplitude, 0.3);
        const auto p = detect(x, TruePeakDesign::Accurate8x);
        const double peak = static_cast<double>(*std::max_element(p.begin() + 100, p.end() - 100));
        const double gridFloor = amplitude * std::cos(std::numbers::pi * f / 8.0);
        EXPECT_GE(dbOf(peak), dbOf(gridFloor) - 0.025) << "f=" << f;
        EXPECT_LE(dbOf(peak), dbOf(amplitude) + 0.025) << "f=" << f;
        worstUnder = std::min(worstUnder, dbOf(peak / amplitude));
        worstOver = std::max(worstOver, dbOf(peak / amplitude));
    }
    RecordProperty("worstUnderDb", std::to_string(worstUnder));
    RecordProperty("worstOverDb", std::to_string(worstOver));
    std::printf("sines 0.005..0.45 fs: worst under %.4f dB, worst over %.4f dB\n", worstUnder, worstOver);
}

TEST(TruePeak, PerFrameAgainstBruteForceOnBandLimitedNoise) {
    // White noise low-passed to < 0.45 fs (so the reference and the 8x filter both pass it).
    const auto noise = test::lowpass(test::whiteNoise(12000, 0.5, 1234), 0.43, 128);
    const auto p = detect(noise, TruePeakDesign::Accurate8x);
    // (1) Same 8-point grid per interval: the difference is only our filter's error against a
    // long double-precision sinc: designed <= 2.7e-3 relative up to 0.45 fs (0.023 dB), plus
    // float taps and accumulation (~1e-6). That error is a linear filter's, so it scales with
    // the whole signal, not with one frame's peak: we bound it relative to the signal's peak
    // (error RMS <= 2.7e-3 x signal RMS; both have a similar crest factor).
    const auto r8 = test::ReferenceInterpolator(8, 64).intervalPeaks(noise);
    const double signalPeak = static_cast<double>(test::maxAbs(noise));
    double worst = 0.0;
    for (size_t i = 200; i + 200 < noise.size(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(p[i]) - r8[i]) / signalPeak);
    std::printf("band-limited noise, per frame vs 8x reference grid: max error %.2e of peak\n", worst);
    EXPECT_LT(worst, 2.8e-3);
    // (2) Whole-signal true peak against a 64x reference: under by at most the 8x grid limit
    // at 0.45 fs (0.136 dB) plus the filter error (0.023 dB), never over by more than the
    // filter error.
    const auto r64 = test::ReferenceInterpolator(64, 64).intervalPeaks(noise);
    const double maxRef = *std::max_element(r64.begin() + 200, r64.end() - 200);
    const double maxOur = static_cast<double>(*std::max_element(p.begin() + 200, p.end() - 200));
    std::printf("band-limited noise, true peak vs 64x reference: %.4f dB\n", dbOf(maxOur / maxRef));
    EXPECT_LE(dbOf(maxOur / maxRef), 0.025);
    EXPECT_GE(dbOf(maxOur / maxRef), -0.16);
}

// ---- contract, fast path, invariance --------------------------------------------------------
TEST(TruePeak, ReadsAtLeastTheSampleAndLatencyIsExact) {
    // An impulse: the peak of frame i covers (i-1, i], which holds the impulse only at i = 100
    // (latency-compensated); neighbours see the sinc ringing, < the impulse.
    std::vector<float> x(400, 0.0f);
    x[100] = 0.8f;
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Ebur128Style4x}) {
        const auto p = detect(x, design);
        EXPECT_FLOAT_EQ(p[100], 0.8f);
        const auto it = std::max_element(p.begin(), p.end());
        EXPECT_EQ(it - p.begin(), 100);
        // The interval (100, 101] starts at the impulse: its grid points other than t=100 are
        // below 0.8, so frame 101 reads less; frames far away read ~0.
        EXPECT_LT(p[101], 0.8f);
        EXPECT_LT(p[300], 1e-6f);
    }
    // Wideband8x (and so Strict) cuts off above fs/2: its kernel overshoots an impulse (it is
    // a wider sinc, sum-normalised) but still never reads below the sample, and is silent far
    // away; the max sits on the impulse's interval or the next.
    for (auto design : {TruePeakDesign::Wideband8x, TruePeakDesign::Strict}) {
        const auto p = detect(x, design);
        EXPECT_GE(p[100], 0.8f);
        const auto it = std::max_element(p.begin(), p.end());
        EXPECT_LE(std::abs(it - p.begin() - 100), 1);
        EXPECT_LT(p[300], 1e-6f);
    }
}

TEST(TruePeak, FastPathKeepsTheExactMaximum) {
    // Music-like: a loud noise burst inside quieter noise. Feeding exactAbove = running max
    // must give the same maximum as exact mode, and every fast value must be >= the exact one
    // (the fast path reports an upper bound).
    auto noise = test::whiteNoise(48000, 0.1, 77);
    for (size_t i = 20000; i < 20500; ++i)
        noise[i] *= 8.0;
    const auto x = test::lowpass(noise, 0.4, 32);
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Ebur128Style4x, TruePeakDesign::Wideband8x,
                        TruePeakDesign::Strict}) {
        const auto exact = detect(x, design);
        TruePeakDetector d;
        d.prepare(48000.0, design);
        std::vector<float> fast(x.size());
        float running = 0.0f;
        for (size_t i = 0; i < x.size(); i += 512) {
            const auto n = static_cast<FrameCount>(std::min<size_t>(512, x.size() - i));
            d.process(x.data() + i, fast.data() + i, n, running);
            for (FrameCount k = 0; k < n; ++k)
                running = std::max(running, fast[i + static_cast<size_t>(k)]);
        }
        const auto lat = static_cast<size_t>(d.latencyFrames());
        for (size_t i = lat; i < x.size(); ++i)
            ASSERT_GE(fast[i], exact[i - lat]) << i;
        EXPECT_EQ(running, *std::max_element(exact.begin(), exact.end()));
    }
}

TEST(TruePeak, BlockSizeInvariant) {
    auto noise = test::toFloat(test::whiteNoise(9000, 0.9, 5));
    for (size_t i = 3000; i < 3100; ++i)
        noise[i] = 0.0f;
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Ebur128Style4x, TruePeakDesign::Wideband8x,
                        TruePeakDesign::Strict})
        for (float exactAbove : {0.0f, 0.6f}) {
            const auto reference = detect(noise, design, 4096, exactAbove);
            for (FrameCount block : {1, 7, 64, 300})
                EXPECT_EQ(detect(noise, design, block, exactAbove), reference)
                    << "block " << block << " exactAbove " << exactAbove;
        }
}

/// Sets the kernel override for one scope (prepare() reads it), then restores Auto.
struct KernelSetScope {
    explicit KernelSetScope(true_peak_detail::KernelSet set) { true_peak_detail::kernelOverride() = set; }
    ~KernelSetScope() { true_peak_detail::kernelOverride() = true_peak_detail::KernelSet::Auto; }
    KernelSetScope(const KernelSetScope&) = delete;
    KernelSetScope& operator=(const KernelSetScope&) = delete;
};

TEST(TruePeak, KernelSetsAgreeAndAreEachBlockSizeInvariant) {
    // Every kernel set this CPU runs (AVX-512, AVX2+FMA, portable), forced in turn. Each must be
    // bit-exact across block sizes (its per-frame operation sequence is fixed), fast path
    // included. Across sets only the rounding differs (FMA vs multiply-then-add, the end phase's
    // summation order): <= ~22 rounded terms of <= 2 L1 max|x| each, ~2.6e-6 of the window's
    // scale, which on dense noise is the frame's own scale: 1e-5 relative holds with margin,
    // while a wrong tap or alignment errs by >= 1e-3.
    using true_peak_detail::KernelSet;
    auto noise = test::toFloat(test::whiteNoise(6000, 0.9, 11));
    for (size_t i = 2000; i < 2100; ++i)
        noise[i] = 0.0f;
    std::vector<KernelSet> sets;
    for (KernelSet set : {KernelSet::Avx512, KernelSet::Avx2, KernelSet::Portable})
        if (true_peak_detail::kernelSetAvailable(set))
            sets.push_back(set);
    ASSERT_FALSE(sets.empty());
    std::printf("kernel sets available: %zu (AVX-512 %d, AVX2 %d)\n", sets.size(),
                true_peak_detail::kernelSetAvailable(KernelSet::Avx512) ? 1 : 0,
                true_peak_detail::kernelSetAvailable(KernelSet::Avx2) ? 1 : 0);
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Ebur128Style4x, TruePeakDesign::Wideband8x,
                        TruePeakDesign::Strict})
        for (float exactAbove : {0.0f, 0.6f}) {
            std::vector<std::vector<float>> perSet;
            for (KernelSet set : sets) {
                const KernelSetScope scope(set);
                const auto reference = detect(noise, design, 4096, exactAbove);
                for (FrameCount block : {1, 7, 64, 300})
                    EXPECT_EQ(detect(noise, design, block, exactAbove), reference)
                        << "set " << static_cast<int>(set) << " design " << static_cast<int>(design)
                        << " block " << block << " exactAbove " << exactAbove;
                perSet.push_back(reference);
            }
            for (size_t k = 1; k < perSet.size(); ++k)
                for (size_t i = 0; i < noise.size(); ++i) {
                    const double a = static_cast<double>(perSet[0][i]);
                    const double b = static_cast<double>(perSet[k][i]);
                    // Silent stretch: both exactly 0 where the whole window is silent.
                    const double rel = a == b ? 0.0 : std::abs(a - b) / std::max(std::abs(a), std::abs(b));
                    ASSERT_LE(rel, 1e-5) << "set " << static_cast<int>(sets[k]) << " vs "
                                         << static_cast<int>(sets[0]) << " design " << static_cast<int>(design)
                                         << " exactAbove " << exactAbove << " frame " << i << ": " << b
                                         << " vs " << a;
                }
        }
}

TEST(TruePeak, SwitchingExactAboveBetweenBlocksKeepsTheBound) {
    // With exactAbove <= 0 the detector computes no bound, only keeps its group maxima; a later
    // block with exactAbove > 0 must see the same bound as if every block had used it. Blocks
    // of varying size (group-aligned or not) alternate between 0 and the threshold: frames of
    // threshold blocks must equal the all-threshold run, frames of 0 blocks the exact run.
    auto noise = test::toFloat(test::whiteNoise(6000, 0.9, 31));
    for (size_t i = 0; i < noise.size(); ++i)
        if ((i / 150) % 2)
            noise[i] *= 0.05f; // quiet stretches: bounds fall below the threshold there
    const float threshold = 0.3f;
    const FrameCount sizes[] = {1, 7, 64, 5, 300, 8, 13, 256, 3, 700};
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Ebur128Style4x, TruePeakDesign::Wideband8x,
                        TruePeakDesign::Strict}) {
        const auto exact = detect(noise, design, 4096, 0.0f);
        const auto fast = detect(noise, design, 4096, threshold);
        TruePeakDetector d;
        d.prepare(48000.0, design);
        const auto lat = static_cast<size_t>(d.latencyFrames());
        std::vector<float> in(noise);
        in.resize(noise.size() + lat, 0.0f);
        std::vector<float> out(in.size());
        std::vector<unsigned char> usedThreshold(in.size());
        size_t pos = 0;
        for (int b = 0; pos < in.size(); ++b) {
            const auto n = std::min(static_cast<size_t>(sizes[b % 10]), in.size() - pos);
            const float e = b % 2 ? threshold : 0.0f;
            d.process(in.data() + pos, out.data() + pos, static_cast<FrameCount>(n), e);
            std::fill_n(usedThreshold.begin() + static_cast<long>(pos), n, b % 2);
            pos += n;
        }
        int fastFrames = 0;
        for (size_t i = lat; i < in.size(); ++i) {
            const auto& want = usedThreshold[i] ? fast : exact;
            ASSERT_EQ(out[i], want[i - lat]) << "frame " << i << " design " << static_cast<int>(design);
            fastFrames += usedThreshold[i] && fast[i - lat] != exact[i - lat] ? 1 : 0;
        }
        EXPECT_GT(fastFrames, 50); // the bound was really reported on some frames
    }
}

TEST(TruePeak, StrictIsTheAlignedMaxOfAll) {
    const auto x = test::toFloat(test::whiteNoise(5000, 1.0, 9));
    const auto a = detect(x, TruePeakDesign::Accurate8x);
    const auto b = detect(x, TruePeakDesign::Ebur128Style4x);
    const auto w = detect(x, TruePeakDesign::Wideband8x);
    const auto s = detect(x, TruePeakDesign::Strict);
    for (size_t i = 0; i < x.size(); ++i)
        ASSERT_EQ(s[i], std::max({a[i], b[i], w[i]})) << i;
}

TEST(TruePeak, WidebandReadsNearNyquistTones) {
    // Accurate8x rolls off above 0.45 fs (0.49 fs reads several dB low); Wideband8x is flat
    // there (gain 0.9994..1.0007 to 0.49 fs) and reads the leaked image on top: never below
    // the tone's amplitude minus the 8x grid limit at 0.49 fs (cos(pi 0.49 / 8): 0.16 dB).
    for (double f : {0.45, 0.47, 0.49}) {
        const auto x = test::sine(4000, f, 0.5, 0.2);
        const auto p = detect(x, TruePeakDesign::Wideband8x);
        const double db = dbOf(static_cast<double>(*std::max_element(p.begin() + 200, p.end() - 200)));
        EXPECT_GE(db, dbOf(0.5) - 0.17) << f;
        EXPECT_LE(db, dbOf(0.5) + 6.1) << f;
        std::printf("sine %.2f fs: Accurate8x %.2f dB, Wideband8x %.2f dB re amplitude\n", f,
                    detectMaxDb(x, TruePeakDesign::Accurate8x, 48000.0, 200) - dbOf(0.5), db - dbOf(0.5));
    }
}

TEST(TruePeak, WidebandAloneDoesNotCoverAccurate8xSoStrictKeepsIt) {
    // Would Wideband8x alone (flat to 0.49 fs) do for the Strict sidechain, i.e. read
    // >= Accurate8x - 0.03 dB in Accurate8x's passband? On steady sines up to 0.45 fs, yes:
    // the peaks agree within the filters' design errors (measured >= -0.009 dB).
    double worstSineDb = 0.0;
    for (double f = 0.005; f <= 0.4501; f += 0.0049)
        for (double phase : {0.0, 0.3, 1.1}) {
            const auto x = test::sine(6000, f, 0.7, phase);
            const auto a = detect(x, TruePeakDesign::Accurate8x);
            const auto w = detect(x, TruePeakDesign::Wideband8x);
            const double aMax = static_cast<double>(*std::max_element(a.begin() + 200, a.end() - 200));
            const double wMax = static_cast<double>(*std::max_element(w.begin() + 200, w.end() - 200));
            EXPECT_GE(dbOf(wMax / aMax), -0.03) << "f=" << f;
            worstSineDb = std::min(worstSineDb, dbOf(wMax / aMax));
        }
    // On noise band-limited to 0.45 fs, no: near its band edge Wideband8x also passes part of
    // the images (from 0.41 fs), and a sum of the waveform and its leaked image is not an upper
    // bound of the waveform: measured 0.19 dB under Accurate8x's whole-signal peak (0.6 dB on
    // single frames; 0.018 dB / 0.08 dB at 0.43 fs, 0.6 dB / 2.9 dB on white noise). The
    // limiter's 0.1 dB margin does not cover that, so Strict keeps Accurate8x. If this
    // expectation ever fails (a new Wideband8x design that covers Accurate8x), Accurate8x can
    // be dropped from Strict: it is 252 of Strict's 608 multiply-adds per frame.
    const auto noise = test::lowpass(test::whiteNoise(40000, 0.5, 21), 0.45, 128);
    const auto a = detect(noise, TruePeakDesign::Accurate8x);
    const auto w = detect(noise, TruePeakDesign::Wideband8x);
    const auto s = detect(noise, TruePeakDesign::Strict);
    const double aMax = static_cast<double>(*std::max_element(a.begin() + 200, a.end() - 200));
    const double wMax = static_cast<double>(*std::max_element(w.begin() + 200, w.end() - 200));
    std::printf("Wideband8x re Accurate8x peak: sines to 0.45 fs worst %.4f dB, noise to 0.45 fs %.4f dB\n",
                worstSineDb, dbOf(wMax / aMax));
    EXPECT_LT(dbOf(wMax / aMax), -0.03);
    for (size_t i = 0; i < noise.size(); ++i)
        ASSERT_GE(s[i], a[i]) << i;
}

TEST(TruePeak, Ebur128StyleMatchesDirectFormModel) {
    // Our polyphase 4x must equal the direct-form libebur128-style meter (float taps and
    // accumulation vs double: 1e-5 relative). On full-band noise it over-reads the accurate
    // 8x meter (the short Hann filter passes images), which is why Strict exists.
    const auto x = test::toFloat(test::whiteNoise(20000, 0.5, 3));
    const auto p = detect(x, TruePeakDesign::Ebur128Style4x);
    const double ours = static_cast<double>(*std::max_element(p.begin(), p.end()));
    const double model = test::ebur128StyleTruePeak(x);
    EXPECT_NEAR(ours / model, 1.0, 1e-5);
}

TEST(TruePeak, NoNanOnSilenceAndDenormals) {
    std::vector<float> x(2000, 0.0f);
    for (size_t i = 500; i < 1000; ++i)
        x[i] = (i % 2 ? 1.0f : -1.0f) * 1e-40f;
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Strict})
        for (float v : detect(x, design)) {
            ASSERT_TRUE(std::isfinite(v));
            ASSERT_GE(v, 0.0f);
        }
}

} // namespace
} // namespace quack

