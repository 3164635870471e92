/// Streaming true-peak detection by polyphase FIR interpolation (ITU-R BS.1770-4 Annex 2).
///
/// Both designs evaluate, for every input frame, the band-limited waveform at the fractional
/// instants of one input interval (tau, tau + 1], tau = i - latency - 1:
///   y_p = sum_s c_p[s] x[s],  c_p[s] = K(tau + p/P - s),  p = 1..P-1,
/// plus the sample x[tau + 1] itself (phase 0 of a Nyquist kernel is the identity).
///
///   Accurate8x     P = 8, K(u) = sinc(u) kaiser(u / 18; beta 5.5), |u| < 18: 36 taps per phase.
///                  Cut-off at 0.5 fs, so phase 0 is exactly the input sample; each phase is
///                  normalised to unit DC gain.
///   Ebur128Style4x P = 4, K(u) = sinc(u) * 0.5 (1 + cos(pi u / 6)), |u| <= 6: the 49-tap
///                  Hann-windowed sinc of libebur128 1.2.6 (taps j = 0..48 at 4 fs, centre 24),
///                  12 non-zero taps per fractional phase, not normalised (as libebur128).
///   Wideband8x     P = 8, all 8 phases, K(u) = sinc(2 fc u) kaiser(u / 20; beta 6), fc = 0.54:
///                  flat to 0.49 fs, reads high above 0.41 fs (leaked images): a safe upper
///                  bound of the ideal reconstruction near Nyquist, for the limiter.
///   Strict         all three on the same interval: the max.
///
/// Fast path: |y_p| <= (sum_s |c_p[s]|) max_s |x[s]| <= lOneMax * windowMax, where windowMax
/// covers every input any phase of the interval uses. windowMax is taken over whole groups of 8
/// frames aligned to the absolute frame index (plus the current partial group), so the bound of
/// a frame never depends on how the stream was cut into blocks.
#include "engine/analysis/true_peak.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

namespace quack {

namespace {

constexpr int kPhases8 = 8;
constexpr int kTaps8 = 36;   ///< taps per fractional phase of Accurate8x (support 36 frames)
constexpr int kHalf8 = kTaps8 / 2;
/// Kaiser beta of Accurate8x. Designed (complex error of each phase against the ideal delay,
/// |H_p(f) - e^{-j 2 pi f p/8}| over f): <= 1.7e-3 (0.015 dB) up to 0.42 fs, <= 2.7e-3
/// (0.023 dB) up to 0.45 fs; images >= 0.55 fs attenuated >= 58 dB, >= 0.58 fs >= 63 dB.
/// (32 taps would give 0.11 dB at 0.45 fs for the same rejection; 40 taps buy 0.01 dB.)
constexpr double kKaiserBeta8 = 5.5;

/// Wideband8x: cut-off 0.54 fs (above Nyquist), Kaiser beta 6, 40 taps per phase. Designed:
/// passband gain 0.9994..1.0007 from DC to 0.49 fs; images beyond 0.59 fs below -60 dB, so
/// content above 0.41 fs reads high (its image leaks in: up to +6 dB just below fs/2).
/// A short filter cannot both pass 0.49 fs and reject its image at 0.51 fs: for a limiter
/// sidechain reading high is the safe side.
constexpr int kTapsBand = 40;
constexpr int kHalfBand = kTapsBand / 2;
constexpr double kCutoffBand = 0.54;
constexpr double kKaiserBetaBand = 6.0;

constexpr int kPhases4 = 4;
constexpr int kTaps4 = 12;   ///< non-zero taps per fractional phase of the 49-tap Hann sinc
constexpr int kHalf4 = kTaps4 / 2;

constexpr int kGroupFrames = 8;                ///< granularity of the fast-path window maximum
constexpr FrameCount kChunkFrames = 256;       ///< internal work chunk (frames)
/// Frames per exact-kernel step: the kernels are vectorised across frames; these widths were
/// the fastest measured with SSE2 (bench/bench_limiter.cpp): 8 for the 7 x 36-tap phases of
/// Accurate8x, 16 for the 3 x 12-tap phases of the 4x model.
constexpr int kKernel8 = 8;
constexpr int kKernel4 = 16;
constexpr int kKernelFrames = 16; ///< step of the exact pass (a multiple of both)
/// Relative slack added to the bound so that float rounding in the exact sums (at most
/// ~33 ulp of sum |c||x|) can never make an exact value exceed its reported bound.
constexpr double kBoundSlack = 1.0 + 1.0e-5;

double besselI0(double x) {
    // I0(x) = sum_k ((x/2)^k / k!)^2; converges fast for the beta values used here.
    double sum = 1.0, term = 1.0;
    const double half = x / 2.0;
    for (int k = 1; k < 64; ++k) {
        term *= half / k;
        const double t2 = term * term;
        sum += t2;
        if (t2 < sum * 1e-17)
            break;
    }
    return sum;
}

double sinc(double u) {
    if (std::abs(u) < 1e-12)
        return 1.0;
    const double a = std::numbers::pi * u;
    return std::sin(a) / a;
}

/// Accurate8x kernel: sinc times a Kaiser window spanning |u| < kHalf8.
double kernel8(double u) {
    const double r = u / kHalf8;
    if (std::abs(r) >= 1.0)
        return 0.0;
    return sinc(u) * besselI0(kKaiserBeta8 * std::sqrt(1.0 - r * r)) / besselI0(kKaiserBeta8);
}

/// Wideband8x kernel: lowpass at kCutoffBand cycles/sample, Kaiser window over |u| < kHalfBand
/// (the 2 fc scale cancels in the per-phase normalisation).
double kernelBand(double u) {
    const double r = u / kHalfBand;
    if (std::abs(r) >= 1.0)
        return 0.0;
    return sinc(2.0 * kCutoffBand * u) * besselI0(kKaiserBetaBand * std::sqrt(1.0 - r * r)) /
           besselI0(kKaiserBetaBand);
}

/// libebur128-style kernel: sinc times the Hann window of the 49-tap filter at 4 fs.
double kernel4(double u) {
    if (std::abs(u) >= kHalf4)
        return 0.0;
    return sinc(u) * 0.5 * (1.0 + std::cos(std::numbers::pi * u / kHalf4));
}

/// Exact evaluation of kNumPhases fractional phases with kTaps taps each for kFrames
/// consecutive frames. x points at the first input of the first frame's window; tap (p, k)
/// multiplies x[f + k] for frame f and is stored kFrames times in a row (pre-broadcast,
/// so the multiply takes its operand straight from memory). Written so g++ -O3 vectorises across the frames (no float
/// reassociation needed): the result of each lane is the same sequence of operations
/// whatever the block size, which keeps the output block-size invariant.
template <int kTaps, int kNumPhases, int kFrames>
inline void exactKernel(const float* x, const float* taps, float* peakOut) {
    float acc[kNumPhases][kFrames] = {};
    for (int k = 0; k < kTaps; ++k) {
        float xv[kFrames];
        for (int l = 0; l < kFrames; ++l)
            xv[l] = x[k + l];
        for (int p = 0; p < kNumPhases; ++p) {
            const float* c = taps + (p * kTaps + k) * kFrames;
            for (int l = 0; l < kFrames; ++l)
                acc[p][l] += c[l] * xv[l];
        }
    }
    for (int l = 0; l < kFrames; ++l) {
        float m = peakOut[l];
        for (int p = 0; p < kNumPhases; ++p)
            m = std::max(m, std::abs(acc[p][l]));
        peakOut[l] = m;
    }
}

} // namespace

struct TruePeakDetector::Impl {
    /// One interpolator: its phases' taps (phase-major, each tap repeated `kernelFrames` times
    /// for the vectorised kernel) and where its support sits inside the detector's window.
    struct Component {
        bool used = false;
        int offset = 0;            ///< first input of its support inside the window
        std::vector<float> taps;   ///< phases x taps, plain (kept for the L1 norm)
        std::vector<float> bcast;  ///< the same, each tap repeated kernelFrames times
    };
    Component acc8, ebu4, band8;

    TruePeakDesign design = TruePeakDesign::Accurate8x;
    int windowFrames = kTaps8;     ///< inputs the phases of one interval span (the widest support)
    FrameCount latency = kHalf8 - 1;
    int samplePos = kHalf8;        ///< window position of x[tau + 1]
    int groupsBack = 5;            ///< whole previous groups the window may reach into
    float lOneMax = 1.0f;          ///< max over used phases of sum |c| (>= 1: the sample itself)

    /// hist[0 .. windowFrames-1) holds the previous inputs, then the current chunk, then
    /// kKernelFrames of padding so the exact kernels may run past the chunk's end.
    std::vector<float> hist;
    std::array<float, kChunkFrames> bound{};
    std::array<float, kChunkFrames + kKernelFrames> exact{};

    FrameCount framesSeen = 0;     ///< absolute index of the next input frame
    float groupMax = 0.0f;         ///< max |x| of the current (partial) group
    std::array<float, 8> prevGroups{}; ///< ring of the last whole groups' max |x|
    float prevMax = 0.0f;          ///< max of the last groupsBack whole groups

    /// Fills c with `phases` x `taps` coefficients c_p[k] = kernel(half - 1 - k + p / P) for
    /// p in [firstPhase, firstPhase + phases), optionally normalised to unit DC gain per phase.
    /// Returns the largest L1 norm of a phase.
    template <typename Kernel>
    static double makeComponent(Component& c, int phases, int firstPhase, int numPhasesTotal, int taps,
                         Kernel kernel, bool normalise, int kernelFrames) {
        const int half = taps / 2;
        c.taps.assign(static_cast<size_t>(phases * taps), 0.0f);
        double l1Max = 0.0;
        std::vector<double> v(static_cast<size_t>(taps));
        for (int q = 0; q < phases; ++q) {
            const int p = firstPhase + q;
            double sum = 0.0;
            for (int k = 0; k < taps; ++k) {
                v[static_cast<size_t>(k)] = kernel(static_cast<double>(half - 1 - k) +
                                                   static_cast<double>(p) / numPhasesTotal);
                sum += v[static_cast<size_t>(k)];
            }
            double l1 = 0.0;
            for (int k = 0; k < taps; ++k) {
                const auto f = static_cast<float>(normalise ? v[static_cast<size_t>(k)] / sum
                                                            : v[static_cast<size_t>(k)]);
                c.taps[static_cast<size_t>(q * taps + k)] = f;
                l1 += std::abs(static_cast<double>(f));
            }
            l1Max = std::max(l1Max, l1);
        }
        c.bcast.resize(c.taps.size() * static_cast<size_t>(kernelFrames));
        for (size_t i = 0; i < c.bcast.size(); ++i)
            c.bcast[i] = c.taps[i / static_cast<size_t>(kernelFrames)];
        return l1Max;
    }

    void prepare(TruePeakDesign d) {
        design = d;
        const bool strict = d == TruePeakDesign::Strict;
        acc8.used = strict || d == TruePeakDesign::Accurate8x;
        ebu4.used = strict || d == TruePeakDesign::Ebur128Style4x;
        band8.used = strict || d == TruePeakDesign::Wideband8x;
        const int half = band8.used ? kHalfBand : acc8.used ? kHalf8 : kHalf4;
        windowFrames = 2 * half;
        latency = half - 1;
        samplePos = half;
        acc8.offset = half - kHalf8;
        ebu4.offset = half - kHalf4;
        band8.offset = half - kHalfBand;
        groupsBack = (windowFrames - 1 + kGroupFrames - 1) / kGroupFrames;
        assert(groupsBack <= static_cast<int>(prevGroups.size()));

        double lOne = 1.0;
        // Accurate8x and the 4x model: fractional phases 1..P-1 (phase 0 is the sample).
        const double l8 = makeComponent(acc8, kPhases8 - 1, 1, kPhases8, kTaps8, kernel8, true, kKernel8);
        const double l4 = makeComponent(ebu4, kPhases4 - 1, 1, kPhases4, kTaps4, kernel4, false, kKernel4);
        // Wideband8x: cut-off above fs/2, so phase 8 (t = tau + 1) is not the sample: all 8.
        const double lb = makeComponent(band8, kPhases8, 1, kPhases8, kTapsBand, kernelBand, true, kKernel8);
        if (acc8.used)
            lOne = std::max(lOne, l8);
        if (ebu4.used)
            lOne = std::max(lOne, l4);
        if (band8.used)
            lOne = std::max(lOne, lb);
        lOneMax = static_cast<float>(lOne * kBoundSlack);
        hist.assign(static_cast<size_t>(windowFrames - 1 + kChunkFrames + kKernelFrames), 0.0f);
        reset();
    }

    void reset() {
        std::fill(hist.begin(), hist.end(), 0.0f);
        framesSeen = 0;
        groupMax = 0.0f;
        prevGroups.fill(0.0f);
        prevMax = 0.0f;
    }

    void processChunk(const float* in, float* peakOut, FrameCount n, float exactAbove) {
        const int w = windowFrames;
        float* h = hist.data();
        std::memcpy(h + (w - 1), in, static_cast<size_t>(n) * sizeof(float));

        // Cheap bound per frame; flags where the exact value is needed.
        bool anyExact = false;
        for (FrameCount f = 0; f < n; ++f) {
            const FrameCount pos = framesSeen + f;
            if (pos % kGroupFrames == 0) {
                // A new group starts: retire the finished one into the ring.
                if (pos > 0) {
                    const auto slot = static_cast<size_t>((pos / kGroupFrames - 1) % 8);
                    prevGroups[slot] = groupMax;
                }
                groupMax = 0.0f;
                float m = 0.0f;
                for (int g = 1; g <= groupsBack; ++g) {
                    const FrameCount idx = pos / kGroupFrames - g;
                    if (idx >= 0)
                        m = std::max(m, prevGroups[static_cast<size_t>(idx % 8)]);
                }
                prevMax = m;
            }
            groupMax = std::max(groupMax, std::abs(in[f]));
            const float b = std::max(groupMax, prevMax) * lOneMax;
            bound[static_cast<size_t>(f)] = b;
            anyExact |= !(b <= exactAbove);
        }

        if (anyExact) {
            for (FrameCount f = 0; f < n; f += kKernelFrames) {
                bool need = false;
                for (FrameCount l = f; l < std::min(n, f + kKernelFrames); ++l)
                    need |= !(bound[static_cast<size_t>(l)] <= exactAbove);
                if (!need)
                    continue;
                float* e = exact.data() + f;
                for (int l = 0; l < kKernelFrames; ++l)
                    e[l] = std::abs(h[f + samplePos + l]);
                if (acc8.used)
                    for (int l = 0; l < kKernelFrames; l += kKernel8)
                        exactKernel<kTaps8, kPhases8 - 1, kKernel8>(h + f + acc8.offset + l,
                                                                    acc8.bcast.data(), e + l);
                if (ebu4.used)
                    for (int l = 0; l < kKernelFrames; l += kKernel4)
                        exactKernel<kTaps4, kPhases4 - 1, kKernel4>(h + f + ebu4.offset + l,
                                                                    ebu4.bcast.data(), e + l);
                if (band8.used)
                    for (int l = 0; l < kKernelFrames; l += kKernel8)
                        exactKernel<kTapsBand, kPhases8, kKernel8>(h + f + band8.offset + l,
                                                                   band8.bcast.data(), e + l);
            }
        }
        for (FrameCount f = 0; f < n; ++f) {
            const float b = bound[static_cast<size_t>(f)];
            peakOut[f] = b <= exactAbove ? b : exact[static_cast<size_t>(f)];
        }

        std::memmove(h, h + n, static_cast<size_t>(w - 1) * sizeof(float));
        framesSeen += n;
    }
};

TruePeakDetector::TruePeakDetector() : impl_(std::make_unique<Impl>()) {
    impl_->prepare(TruePeakDesign::Accurate8x);
}
TruePeakDetector::~TruePeakDetector() = default;
TruePeakDetector::TruePeakDetector(TruePeakDetector&&) noexcept = default;
TruePeakDetector& TruePeakDetector::operator=(TruePeakDetector&&) noexcept = default;

void TruePeakDetector::prepare(double sampleRate, TruePeakDesign design) {
    // The kernels are defined in input-sample units, so one design serves every rate.
    assert(sampleRate >= kMinSampleRate && sampleRate <= kMaxSampleRate);
    (void)sampleRate;
    impl_->prepare(design);
}

void TruePeakDetector::reset() { impl_->reset(); }

void TruePeakDetector::process(const float* in, float* peakOut, FrameCount numFrames,
                               float exactAbove) {
    assert(numFrames >= 0);
    for (FrameCount done = 0; done < numFrames;) {
        const FrameCount n = std::min(kChunkFrames, numFrames - done);
        impl_->processChunk(in + done, peakOut + done, n, exactAbove);
        done += n;
    }
}

FrameCount TruePeakDetector::latencyFrames() const { return impl_->latency; }

} // namespace quack
