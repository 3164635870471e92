/// TruePeakDetector kernels against a straightforward direct evaluation of the same polyphase
/// filters in double precision: pins that the mirror-symmetric (S +- D) kernels, AVX-512,
/// AVX2+FMA or portable (each forced in turn where the CPU runs it), compute the documented
/// filters, phase by phase, to float rounding.
#include "engine/analysis/true_peak.h"
#include "tests/limiter/reference_peak.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
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

/// One interpolator as documented in engine/analysis/true_peak.cpp: y_p(t) = sum_s K(t - s) x[s]
/// at t = tau + p/P for p = firstPhase..lastPhase, each phase optionally divided by its sum of
/// taps (unit DC gain). Written from the formulas, sharing no code with the engine.
struct DirectFilter {
    int phases;
    int lastPhase;
    double halfWidth; ///< K(u) = 0 for |u| >= halfWidth
    std::function<double(double)> kernel;
    bool normalise;
};

double kaiser(double u, double halfWidth, double beta) {
    const double r = u / halfWidth;
    return test::besselI0Ref(beta * std::sqrt(1.0 - r * r)) / test::besselI0Ref(beta);
}

const DirectFilter kAccurate8x{8, 7, 18.0, [](double u) { return test::sincRef(u) * kaiser(u, 18.0, 5.5); }, true};
const DirectFilter kWideband8x{
    8, 8, 20.0, [](double u) { return test::sincRef(2.0 * 0.54 * u) * kaiser(u, 20.0, 6.0); }, true};
const DirectFilter kEbur4x{
    4, 3, 6.0, [](double u) { return test::sincRef(u) * 0.5 * (1.0 + std::cos(std::numbers::pi * u / 6.0)); },
    false};

std::vector<const DirectFilter*> filtersOf(TruePeakDesign design) {
    switch (design) {
    case TruePeakDesign::Accurate8x:
        return {&kAccurate8x};
    case TruePeakDesign::Ebur128Style4x:
        return {&kEbur4x};
    case TruePeakDesign::Wideband8x:
        return {&kWideband8x};
    case TruePeakDesign::Strict:
        return {&kAccurate8x, &kEbur4x, &kWideband8x};
    }
    return {};
}

/// Per frame i: max(|x[i]|, max over filters and phases |y_p(i - 1 + p/P)|), x zero outside.
std::vector<double> directPeaks(const std::vector<float>& x, TruePeakDesign design) {
    const auto n = static_cast<long>(x.size());
    std::vector<double> out(x.size());
    for (long i = 0; i < n; ++i)
        out[static_cast<size_t>(i)] = std::abs(static_cast<double>(x[static_cast<size_t>(i)]));
    for (const DirectFilter* f : filtersOf(design)) {
        const auto h = static_cast<long>(f->halfWidth);
        for (int p = 1; p <= f->lastPhase; ++p) {
            const double frac = static_cast<double>(p) / f->phases;
            // Taps for t = tau + frac: s = tau + 1 - h .. tau + h, u = t - s = frac + h - 1 - j.
            std::vector<double> taps(static_cast<size_t>(2 * h));
            double sum = 0.0;
            for (long j = 0; j < 2 * h; ++j) {
                const double u = frac + static_cast<double>(h - 1 - j);
                taps[static_cast<size_t>(j)] = std::abs(u) < f->halfWidth ? f->kernel(u) : 0.0;
                sum += taps[static_cast<size_t>(j)];
            }
            if (f->normalise)
                for (double& t : taps)
                    t /= sum;
            for (long i = 0; i < n; ++i) {
                const long tau = i - 1;
                double y = 0.0;
                for (long j = 0; j < 2 * h; ++j) {
                    const long s = tau + 1 - h + j;
                    if (s >= 0 && s < n)
                        y += taps[static_cast<size_t>(j)] * static_cast<double>(x[static_cast<size_t>(s)]);
                }
                out[static_cast<size_t>(i)] = std::max(out[static_cast<size_t>(i)], std::abs(y));
            }
        }
    }
    return out;
}

std::vector<float> detect(const std::vector<float>& x, TruePeakDesign design, FrameCount block) {
    TruePeakDetector d;
    d.prepare(48000.0, design);
    const FrameCount lat = d.latencyFrames();
    std::vector<float> in(x);
    in.resize(x.size() + static_cast<size_t>(lat), 0.0f);
    std::vector<float> out(in.size(), 0.0f);
    for (FrameCount i = 0; i < static_cast<FrameCount>(in.size()); i += block) {
        const FrameCount n = std::min(block, static_cast<FrameCount>(in.size()) - i);
        d.process(in.data() + i, out.data() + i, n, 0.0f);
    }
    return {out.begin() + lat, out.end()};
}

TEST(TruePeakDirect, KernelsMatchDirectDoubleEvaluation) {
    // Float taps (each within 2^-24 relative of the double design) and float accumulation of
    // at most 22 terms per sum (the mirror form: H products, then |S| + |D|) bound the error
    // by ~22 x 2 x 6e-8 = 2.6e-6 of sum |c||x| (the window's scale, L1 <= 1.7). On these dense
    // signals a frame's peak (>= |x[i]|) is on that scale, so 1e-5 of the frame's own value
    // holds with margin; a wrong tap, phase or window alignment errs by >= 1e-3.
    std::vector<std::pair<const char*, std::vector<float>>> signals;
    signals.emplace_back("white noise", test::toFloat(test::whiteNoise(4000, 0.7, 17)));
    signals.emplace_back("noise < 0.45 fs", test::lowpass(test::whiteNoise(4000, 0.5, 23), 0.45, 64));
    signals.emplace_back("sine 0.1 fs", test::sine(3000, 0.1, 0.9, 0.4));
    signals.emplace_back("sine 0.49 fs", test::sine(3000, 0.49, 0.9, 1.3));
    // Auto (the kernels this machine runs in production), then each kernel set forced.
    using true_peak_detail::KernelSet;
    for (auto design : {TruePeakDesign::Accurate8x, TruePeakDesign::Ebur128Style4x, TruePeakDesign::Wideband8x,
                        TruePeakDesign::Strict}) {
        std::vector<std::vector<double>> refs;
        for (const auto& signal : signals)
            refs.push_back(directPeaks(signal.second, design));
        for (KernelSet set : {KernelSet::Auto, KernelSet::Avx512, KernelSet::Avx2, KernelSet::Portable}) {
            if (!true_peak_detail::kernelSetAvailable(set))
                continue;
            true_peak_detail::kernelOverride() = set;
            double worst = 0.0;
            for (size_t sig = 0; sig < signals.size(); ++sig) {
                const auto& [name, x] = signals[sig];
                const auto& ref = refs[sig];
                for (FrameCount block : {FrameCount{7}, FrameCount{4096}}) {
                    const auto p = detect(x, design, block);
                    for (size_t i = 0; i < x.size(); ++i) {
                        const double rel = std::abs(static_cast<double>(p[i]) - ref[i]) / ref[i];
                        worst = std::max(worst, rel);
                        if (!(rel <= 1e-5))
                            true_peak_detail::kernelOverride() = KernelSet::Auto;
                        ASSERT_LE(rel, 1e-5) << name << " design " << static_cast<int>(design) << " set "
                                             << static_cast<int>(set) << " frame " << i << " block " << block
                                             << ": " << p[i] << " vs " << ref[i];
                    }
                }
            }
            true_peak_detail::kernelOverride() = KernelSet::Auto;
            std::printf("design %d, kernel set %d: max relative error vs direct double evaluation %.2e\n",
                        static_cast<int>(design), static_cast<int>(set), worst);
        }
    }
}

} // namespace
} // namespace quack
