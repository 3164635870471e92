/// MultibandProcessor design
/// =========================
/// Crossovers. Each crossover c at f_c is a Linkwitz-Riley 4th-order pair: LP_c = B_lp^2 and
/// HP_c = B_hp^2, with B the 2nd-order Butterworth sections (Q 1/sqrt2, RBJ, bilinear pre-warped
/// at f_c). With D(s) = s^2 + sqrt2 w s + w^2:  B_lp^2 + B_hp^2 = (w^4 + s^4) / D(s)^2
/// = D(-s) / D(s), a 2nd-order all-pass AP_c. The bilinear transform is a substitution, so the
/// digital sum is exactly the digital all-pass with the Butterworth denominator
/// 1 + a1 z^-1 + a2 z^-2 and the mirrored numerator a2 + a1 z^-1 + z^-2.
/// Tree for N bands (crossovers ascending, c = 0 .. N-2):
///   band k = (prod_{c<k} HP_c) * LP_k * (prod_{c>k} AP_c)   for k < N-1,
///   band N-1 = prod_c HP_c.
/// The all-passes on band k are the compensation: summing from the top, band N-2 + band N-1 =
/// (prod_{c<N-2} HP_c) AP_{N-2}, and so on down, so sum_k band k = prod_c AP_c: an all-pass. With
/// neutral dynamics the output magnitude equals the input's at every frequency.
///
/// Dynamics, per band, linked over channels, feed-forward:
///   detector   d[n] = (1/C) sum_ch x_ch[n]^2   (mean square over the C channels)
///              m[n] = m[n-1] + beta (d[n] - m[n-1]),  beta = 1 - exp(-1 / (tau_d fs)),
///              tau_d = clamp(min(attack / 4, release / 10), 1 ms, 5 ms) (5 ms at the defaults:
///              the 2f ripple of a sine's square is then < 2 % at 1 kHz, 30 % at 50 Hz)
///              level = 10 log10(2 m) dB: a steady full-scale sine reads 0 dB (RMS relative to a
///              full-scale sine, the unit the analysis spectrum uses too).
///   gain computer (Giannoulis, Massberg & Reiss, JAES 2012, eq. 4), x = level - threshold,
///              slope s = 1 - 1/ratio, knee width W:
///              GR = 0 for 2x < -W;  s (x + W/2)^2 / (2W) for |2x| <= W;  s x for 2x > W.
///   ballistics on GR in dB (the "smooth, decoupled" form of the same paper):
///              g[j] = GR + a (g[j-1] - GR),  a = exp(-T / tau), tau = attack if GR > g[j-1] else
///              release, evaluated once per control period of T = K frames (~0.75 ms).
///   gain       10^((makeup - g[j]) / 20), ramped linearly over the next K frames.
/// The detector runs per sample (an exact recursion, evaluated at control points as a weighted
/// sum so the per-sample work is a multiply-add into a buffer); log, exp and the ballistics run
/// once per control period; the per-sample gain is a plain vectorisable ramp. Control periods
/// are aligned to the absolute frame count, not to process() calls, so the output is identical
/// for any block partition.
///
/// Width, per band: M = (L+R)/2, S = (L-R)/2, L' = M + w S, R' = M - w S, i.e.
///   L' = a L + b R,  R' = b L + a R,  a = (1+w)/2, b = (1-w)/2.
/// w = 1 gives a = 1, b = 0 exactly (transparent); mono input ignores w.
///
/// Filters run both channels at once (two lanes of a double vector), sample by sample through
/// the whole tree so the sections' recursions overlap in the pipeline. On CPUs with AVX2+FMA
/// (checked in prepare()) splitMixAvx2 does it with one 256-bit register per LR4 stage (the LP
/// and HP sections of a crossover see the same input: lanes {LP L, LP R, HP L, HP R}), keeps all
/// filter states in registers, accumulates the detector's weighted sum as it goes and mixes the
/// frame at once: one pass over the block instead of split, mix and a detector pass. Its output
/// differs from the portable path by FMA rounding only and is likewise independent of the block
/// partition (the ramp and detector weights depend only on the position in the period).
#include "engine/dsp/multiband.h"

#include "engine/core/biquad.h"
#include "engine/core/flush_to_zero.h"
#include "engine/dsp/stereo_biquad.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <numbers>

namespace quack {

using dsp_detail::StereoBiquad;
using dsp_detail::Vec2d;

namespace {

constexpr double kButterworthQ = std::numbers::sqrt2 / 2.0;
constexpr double kMaxDetectorMs = 5.0; ///< tau_d of the mean-square detector (at most)
constexpr double kMinDetectorMs = 1.0;
constexpr double kControlMs = 0.75; ///< gain-computer period (rounded to frames)
constexpr FrameCount kMinControlFrames = 8;
constexpr FrameCount kMaxControlFrames = 128;
constexpr double kMinCrossoverHz = 10.0;
constexpr double kMaxCrossoverFs = 0.42; ///< crossovers are clamped below 0.42 fs
constexpr double kMinTimeMs = 0.01;      ///< attack/release floor (avoids division by zero)
constexpr double kGrFloorDb = 1e-6;      ///< released GR below this snaps to exactly 0
constexpr double kDbToNeper = std::numbers::ln10 / 20.0;

struct Crossover {
    StereoBiquad lp[2], hp[2];
};

struct Band {
    // settings
    double thresholdDb = 0.0, kneeDb = 0.0, slope = 0.0, makeupDb = 0.0;
    double attackCoef = 0.0, releaseCoef = 0.0;
    double kneeStartMs = 0.0;    ///< detector mean square below which GR is 0 (skips the log)
    double detectorDecayK = 0.0; ///< (1 - beta)^K
    std::vector<double> detectorWeights; ///< [K] beta (1 - beta)^(K-1-j)
    Vec2d mixSame{}, mixCross{};         ///< width matrix: out = mixSame * v + mixCross * swap(v)
    bool hasCross = false;
    // state
    double meanSquare = 0.0; ///< m[n] at the last control point
    /// AVX2 path: sum_j beta (1-beta)^(K-1-j) d_j over the frames of the current period so far,
    /// accumulated in frame order as they are split (replaces the detBuf pass).
    double detAcc = 0.0;
    double grDb = 0.0;       ///< smoothed gain reduction at the last control point
    double gainStart = 1.0, gainStep = 0.0, gainEnd = 1.0; ///< current linear ramp
    // stats
    double maxGrDb = 0.0, sumGrDbFrames = 0.0;

    double staticGrDb(double levelDb) const {
        const double x = levelDb - thresholdDb;
        if (2.0 * x < -kneeDb)
            return 0.0;
        if (2.0 * x <= kneeDb) {
            const double t = x + kneeDb / 2.0;
            return slope * t * t / (2.0 * kneeDb);
        }
        return slope * x;
    }
};

BiquadCoeffs allPassFrom(const BiquadCoeffs& c) {
    return {c.a2, c.a1, 1.0, c.a1, c.a2};
}

} // namespace

struct MultibandProcessor::Impl {
    double sampleRate = 48000.0;
    ChannelCount channels = 0;
    FrameCount maxBlockFrames = 0;
    int numBands = 1;
    FrameCount controlFrames = kMinControlFrames; ///< K
    FrameCount phase = 0;                         ///< frames into the current control period
    FrameCount completedFrames = 0;               ///< frames in completed control periods
    double channelScale = 1.0;                    ///< 2 / C: mean square -> sine-referred power

    std::array<Crossover, kMaxBands - 1> crossovers{};
    /// allPass[k][c]: AP_c on band k, used for c > k.
    std::array<std::array<StereoBiquad, kMaxBands - 1>, kMaxBands> allPass{};
    std::array<Band, kMaxBands> bands{};

    std::vector<Vec2d> bandBuf; ///< [band][K] band signals of the current period
    std::vector<double> detBuf; ///< [band][K] d[n] * C (sum of squares)
    std::vector<Vec2d> mixBuf;  ///< [K] output accumulator

    /// AVX2+FMA path (chosen in prepare() when the CPU has it): the LP and HP sections of a
    /// crossover share their input, so each LR4 stage is one 256-bit biquad {LP, HP}; the split
    /// and the mix are fused per frame (no band buffer). Same maths, FMA rounding.
    bool useAvx2 = false;
#if QUACK_DSP_HAVE_AVX2
    std::array<dsp_detail::CascadeSoa<4>, kMaxBands - 1> xoSoa{}; ///< pairs {lp0,hp0},{lp1,hp1}
    std::array<dsp_detail::CascadeSoa<kMaxBands>, kMaxBands> apSoa{}; ///< [band] AP_c at c
    template <int N>
    QUACK_AVX2_FN void splitMixAvx2(float* left, float* right, FrameCount len);
    void splitMixAvx2Dispatch(float* left, float* right, FrameCount len);
#endif

    template <int N> void split(const float* left, const float* right, FrameCount len);
    void splitDispatch(const float* left, const float* right, FrameCount len);
    void mix(float* left, float* right, FrameCount len);
    void endControlPeriod();
    void resetState();
};

template <int N>
void MultibandProcessor::Impl::split(const float* left, const float* right, FrameCount len) {
    const FrameCount k = controlFrames;
    Vec2d* buf = bandBuf.data() + phase;
    double* det = detBuf.data() + phase;
    for (FrameCount i = 0; i < len; ++i) {
        Vec2d x{static_cast<double>(left[i]),
                right != nullptr ? static_cast<double>(right[i]) : 0.0};
        for (int c = 0; c < N - 1; ++c) {
            Crossover& xo = crossovers[static_cast<size_t>(c)];
            Vec2d lo = xo.lp[1].process(xo.lp[0].process(x));
            for (int a = c + 1; a < N - 1; ++a)
                lo = allPass[static_cast<size_t>(c)][static_cast<size_t>(a)].process(lo);
            buf[c * k + i] = lo;
            det[c * k + i] = lo[0] * lo[0] + lo[1] * lo[1];
            x = xo.hp[1].process(xo.hp[0].process(x));
        }
        buf[(N - 1) * k + i] = x;
        det[(N - 1) * k + i] = x[0] * x[0] + x[1] * x[1];
    }
}

void MultibandProcessor::Impl::splitDispatch(const float* left, const float* right,
                                             FrameCount len) {
    switch (numBands) {
    case 1:
        split<1>(left, right, len);
        break;
    case 2:
        split<2>(left, right, len);
        break;
    case 3:
        split<3>(left, right, len);
        break;
    case 4:
        split<4>(left, right, len);
        break;
    case 5:
        split<5>(left, right, len);
        break;
    default:
        split<6>(left, right, len);
        break;
    }
}

#if QUACK_DSP_HAVE_AVX2
template <int N>
QUACK_AVX2_FN void MultibandProcessor::Impl::splitMixAvx2(float* left, float* right,
                                                          FrameCount len) {
    constexpr int kXo = N - 1;
    // Filter states live in registers for the whole run (loaded here, stored at the end).
    __m256d xs1[kXo > 0 ? kXo : 1][2], xs2[kXo > 0 ? kXo : 1][2];
    __m128d as1[kXo > 0 ? kXo : 1][kXo > 0 ? kXo : 1], as2[kXo > 0 ? kXo : 1][kXo > 0 ? kXo : 1];
    for (int c = 0; c < kXo; ++c) {
        for (int p = 0; p < 2; ++p) {
            xs1[c][p] = _mm256_load_pd(xoSoa[static_cast<size_t>(c)].s1 + 4 * p);
            xs2[c][p] = _mm256_load_pd(xoSoa[static_cast<size_t>(c)].s2 + 4 * p);
        }
        for (int a = c + 1; a < kXo; ++a) {
            as1[c][a] = _mm_load_pd(apSoa[static_cast<size_t>(c)].s1 + 2 * a);
            as2[c][a] = _mm_load_pd(apSoa[static_cast<size_t>(c)].s2 + 2 * a);
        }
    }
    // Per band: the gain ramp and the width matrix (as in mix()).
    double g0[N], step[N], acc[N];
    const double* weights[N];
    __m128d same[N], cross[N];
    bool hasCross[N];
    for (int b = 0; b < N; ++b) {
        const Band& band = bands[static_cast<size_t>(b)];
        acc[b] = band.detAcc;
        weights[b] = band.detectorWeights.data() + phase;
        g0[b] = band.gainStart;
        step[b] = band.gainStep;
        same[b] = _mm_set1_pd(band.mixSame[0]);
        cross[b] = _mm_set1_pd(band.mixCross[0]);
        hasCross[b] = band.hasCross;
    }
    const FrameCount first = phase + 1;
    for (FrameCount i = 0; i < len; ++i) {
        __m128d x = _mm_set_pd(right != nullptr ? static_cast<double>(right[i]) : 0.0,
                               static_cast<double>(left[i]));
        __m128d out = _mm_setzero_pd();
        const double pos = static_cast<double>(first + i);
        for (int b = 0; b < N; ++b) {
            __m128d v;
            if (b < kXo) {
                const auto& soa = xoSoa[static_cast<size_t>(b)];
                __m256d y = _mm256_set_m128d(x, x);
                for (int p = 0; p < 2; ++p) {
                    const int j = 4 * p;
                    y = dsp_detail::fmaStep(soa.b0 + j, soa.b1 + j, soa.b2 + j, soa.a1 + j,
                                            soa.a2 + j, y, xs1[b][p], xs2[b][p]);
                }
                v = _mm256_castpd256_pd128(y);
                const auto& ap = apSoa[static_cast<size_t>(b)];
                for (int a = b + 1; a < kXo; ++a) {
                    const int j = 2 * a;
                    v = dsp_detail::fmaStep(ap.b0 + j, ap.b1 + j, ap.b2 + j, ap.a1 + j, ap.a2 + j,
                                            v, as1[b][a], as2[b][a]);
                }
                x = _mm256_extractf128_pd(y, 1);
            } else {
                v = x;
            }
            const __m128d sq = _mm_mul_pd(v, v);
            const double d = _mm_cvtsd_f64(_mm_add_sd(sq, _mm_unpackhi_pd(sq, sq)));
            acc[b] += weights[b][i] * d;
            const __m128d g = _mm_set1_pd(g0[b] + pos * step[b]);
            // Width 1 (the default, and always for mono) is the identity: same = 1, cross = 0.
            const __m128d w = hasCross[b] ? _mm_add_pd(_mm_mul_pd(same[b], v),
                                                       _mm_mul_pd(cross[b], _mm_shuffle_pd(v, v, 1)))
                                          : v;
            out = _mm_add_pd(out, _mm_mul_pd(g, w));
        }
        left[i] = static_cast<float>(_mm_cvtsd_f64(out));
        if (right != nullptr)
            right[i] = static_cast<float>(_mm_cvtsd_f64(_mm_unpackhi_pd(out, out)));
    }
    for (int b = 0; b < N; ++b)
        bands[static_cast<size_t>(b)].detAcc = acc[b];
    for (int c = 0; c < kXo; ++c) {
        for (int p = 0; p < 2; ++p) {
            _mm256_store_pd(xoSoa[static_cast<size_t>(c)].s1 + 4 * p, xs1[c][p]);
            _mm256_store_pd(xoSoa[static_cast<size_t>(c)].s2 + 4 * p, xs2[c][p]);
        }
        for (int a = c + 1; a < kXo; ++a) {
            _mm_store_pd(apSoa[static_cast<size_t>(c)].s1 + 2 * a, as1[c][a]);
            _mm_store_pd(apSoa[static_cast<size_t>(c)].s2 + 2 * a, as2[c][a]);
        }
    }
}

void MultibandProcessor::Impl::splitMixAvx2Dispatch(float* left, float* right, FrameCount len) {
    switch (numBands) {
    case 1:
        splitMixAvx2<1>(left, right, len);
        break;
    case 2:
        splitMixAvx2<2>(left, right, len);
        break;
    case 3:
        splitMixAvx2<3>(left, right, len);
        break;
    case 4:
        splitMixAvx2<4>(left, right, len);
        break;
    case 5:
        splitMixAvx2<5>(left, right, len);
        break;
    default:
        splitMixAvx2<6>(left, right, len);
        break;
    }
}
#endif

void MultibandProcessor::Impl::mix(float* left, float* right, FrameCount len) {
    const FrameCount k = controlFrames;
    Vec2d* out = mixBuf.data();
    for (int b = 0; b < numBands; ++b) {
        const Band& band = bands[static_cast<size_t>(b)];
        const Vec2d* v = bandBuf.data() + b * k + phase;
        // Gain of frame phase+i of this period: start + (phase + i + 1) step, so the last frame
        // of the period reaches gainEnd. Depends only on the position in the period.
        const double g0 = band.gainStart;
        const double step = band.gainStep;
        const FrameCount first = phase + 1;
        const Vec2d same = band.mixSame, cross = band.mixCross;
        if (band.hasCross) {
            for (FrameCount i = 0; i < len; ++i) {
                const double g = g0 + static_cast<double>(first + i) * step;
                const Vec2d y = g * (same * v[i] + cross * dsp_detail::swapLanes(v[i]));
                out[i] = b == 0 ? y : out[i] + y;
            }
        } else {
            for (FrameCount i = 0; i < len; ++i) {
                const double g = g0 + static_cast<double>(first + i) * step;
                const Vec2d y = g * (same * v[i]);
                out[i] = b == 0 ? y : out[i] + y;
            }
        }
    }
    if (right != nullptr) {
        for (FrameCount i = 0; i < len; ++i) {
            left[i] = static_cast<float>(out[i][0]);
            right[i] = static_cast<float>(out[i][1]);
        }
    } else {
        for (FrameCount i = 0; i < len; ++i)
            left[i] = static_cast<float>(out[i][0]);
    }
}

void MultibandProcessor::Impl::endControlPeriod() {
    const FrameCount k = controlFrames;
    for (int b = 0; b < numBands; ++b) {
        Band& band = bands[static_cast<size_t>(b)];
        // m at the end of the period: (1-beta)^K m_0 + sum_j beta (1-beta)^(K-1-j) d_j, the
        // per-sample recursion unrolled over the period (fixed summation order).
        double acc = 0.0;
        if (useAvx2) {
            acc = band.detAcc; // accumulated in splitMixAvx2, same weights and order
            band.detAcc = 0.0;
        } else {
            const double* det = detBuf.data() + b * k;
            for (FrameCount j = 0; j < k; ++j)
                acc += band.detectorWeights[static_cast<size_t>(j)] * det[j];
        }
        band.meanSquare = band.detectorDecayK * band.meanSquare + acc;

        band.sumGrDbFrames += static_cast<double>(k) * band.grDb;
        double targetDb = 0.0;
        if (band.slope > 0.0 && band.meanSquare > band.kneeStartMs)
            targetDb = band.staticGrDb(10.0 * std::log10(band.meanSquare * channelScale));
        const double coef = targetDb > band.grDb ? band.attackCoef : band.releaseCoef;
        const double previousGrDb = band.grDb;
        band.grDb = targetDb + coef * (band.grDb - targetDb);
        if (band.grDb < kGrFloorDb)
            band.grDb = 0.0;
        band.maxGrDb = std::max(band.maxGrDb, band.grDb);

        band.gainStart = band.gainEnd;
        if (band.grDb != previousGrDb)
            band.gainEnd = std::exp(kDbToNeper * (band.makeupDb - band.grDb));
        band.gainStep = (band.gainEnd - band.gainStart) / static_cast<double>(k);
    }
    completedFrames += k;
}

void MultibandProcessor::Impl::resetState() {
    for (auto& xo : crossovers)
        for (int i = 0; i < 2; ++i) {
            xo.lp[i].reset();
            xo.hp[i].reset();
        }
    for (auto& row : allPass)
        for (auto& ap : row)
            ap.reset();
#if QUACK_DSP_HAVE_AVX2
    for (auto& soa : xoSoa) {
        std::fill(std::begin(soa.s1), std::end(soa.s1), 0.0);
        std::fill(std::begin(soa.s2), std::end(soa.s2), 0.0);
    }
    for (auto& soa : apSoa) {
        std::fill(std::begin(soa.s1), std::end(soa.s1), 0.0);
        std::fill(std::begin(soa.s2), std::end(soa.s2), 0.0);
    }
#endif
    for (auto& band : bands) {
        band.meanSquare = 0.0;
        band.detAcc = 0.0;
        band.grDb = 0.0;
        band.gainEnd = band.gainStart = std::exp(kDbToNeper * band.makeupDb);
        band.gainStep = 0.0;
        band.maxGrDb = band.sumGrDbFrames = 0.0;
    }
    std::fill(detBuf.begin(), detBuf.end(), 0.0);
    phase = 0;
    completedFrames = 0;
}

MultibandProcessor::MultibandProcessor() : impl_(std::make_unique<Impl>()) {}
MultibandProcessor::~MultibandProcessor() = default;
MultibandProcessor::MultibandProcessor(MultibandProcessor&&) noexcept = default;
MultibandProcessor& MultibandProcessor::operator=(MultibandProcessor&&) noexcept = default;

void MultibandProcessor::prepare(double sampleRate, ChannelCount channels,
                                 FrameCount maxBlockFrames, const MultibandParams& params) {
    assert(sampleRate > 0.0 && channels >= 1 && channels <= kMaxChannels && maxBlockFrames >= 0);
    assert(params.bands.size() == params.crossoverHz.size() + 1);
    assert(params.bands.size() <= static_cast<size_t>(kMaxBands));
    assert(std::is_sorted(params.crossoverHz.begin(), params.crossoverHz.end()));
    if (!impl_)
        impl_ = std::make_unique<Impl>();
    Impl& s = *impl_;
    s.sampleRate = sampleRate;
    s.channels = channels;
    s.maxBlockFrames = maxBlockFrames;
    // Release builds survive a malformed params (asserted above): the band count follows the
    // crossovers, missing band settings are neutral.
    s.numBands = static_cast<int>(
        std::clamp(params.crossoverHz.size() + 1, size_t{1}, static_cast<size_t>(kMaxBands)));
    s.controlFrames =
        std::clamp(static_cast<FrameCount>(std::lround(sampleRate * kControlMs / 1000.0)),
                   kMinControlFrames, kMaxControlFrames);
    s.channelScale = 2.0 / static_cast<double>(channels);
    const FrameCount k = s.controlFrames;

    // Crossovers, clamped into [10 Hz, 0.42 fs] and kept ascending.
    double previousHz = kMinCrossoverHz;
    for (int c = 0; c + 1 < s.numBands; ++c) {
        const double hz = std::clamp(params.crossoverHz[static_cast<size_t>(c)], previousHz,
                                     kMaxCrossoverFs * sampleRate);
        previousHz = hz;
        const BiquadCoeffs lp = BiquadCoeffs::lowPass(hz, kButterworthQ, sampleRate);
        const BiquadCoeffs hp = BiquadCoeffs::highPass(hz, kButterworthQ, sampleRate);
        Crossover& xo = s.crossovers[static_cast<size_t>(c)];
        for (int i = 0; i < 2; ++i) {
            xo.lp[i].setCoeffs(lp);
            xo.hp[i].setCoeffs(hp);
        }
        for (int band = 0; band < c; ++band)
            s.allPass[static_cast<size_t>(band)][static_cast<size_t>(c)].setCoeffs(allPassFrom(lp));
#if QUACK_DSP_HAVE_AVX2
        auto& xs = s.xoSoa[static_cast<size_t>(c)];
        for (int stage = 0; stage < 2; ++stage) {
            xs.setSection(2 * stage, lp); // pair `stage`: lanes 0-1 LP, lanes 2-3 HP
            xs.setSection(2 * stage + 1, hp);
        }
        for (int band = 0; band < c; ++band)
            s.apSoa[static_cast<size_t>(band)].setSection(c, allPassFrom(lp));
#endif
    }
#if QUACK_DSP_HAVE_AVX2
    s.useAvx2 = dsp_detail::cascadeKernelOverride() == dsp_detail::CascadeKernel::Auto &&
                dsp_detail::cpuHasAvx2Fma();
#endif

    const double periodSeconds = static_cast<double>(k) / sampleRate;
    for (int b = 0; b < s.numBands; ++b) {
        const BandDynamics p = static_cast<size_t>(b) < params.bands.size()
                                   ? params.bands[static_cast<size_t>(b)]
                                   : BandDynamics{};
        assert(std::isfinite(p.thresholdDb) && std::isfinite(p.makeupDb) && p.ratio >= 1.0);
        Band& band = s.bands[static_cast<size_t>(b)];
        band = Band{};
        band.thresholdDb = p.thresholdDb;
        band.kneeDb = std::max(0.0, p.kneeDb);
        band.slope = 1.0 - 1.0 / std::max(1.0, p.ratio);
        band.makeupDb = p.makeupDb;
        band.attackCoef = std::exp(-periodSeconds / (std::max(kMinTimeMs, p.attackMs) / 1000.0));
        band.releaseCoef = std::exp(-periodSeconds / (std::max(kMinTimeMs, p.releaseMs) / 1000.0));
        band.kneeStartMs =
            std::pow(10.0, (band.thresholdDb - band.kneeDb / 2.0) / 10.0) / s.channelScale;
        // The detector's own rise/fall adds to the ballistics; keeping tau_d <= attack/4 and
        // <= release/10 keeps that lag within ~10 % of the set times.
        const double detectorMs = std::clamp(std::min(p.attackMs / 4.0, p.releaseMs / 10.0),
                                             kMinDetectorMs, kMaxDetectorMs);
        const double beta = 1.0 - std::exp(-1.0 / (detectorMs / 1000.0 * sampleRate));
        band.detectorWeights.resize(static_cast<size_t>(k));
        for (FrameCount j = 0; j < k; ++j)
            band.detectorWeights[static_cast<size_t>(j)] =
                beta * std::pow(1.0 - beta, static_cast<double>(k - 1 - j));
        band.detectorDecayK = std::pow(1.0 - beta, static_cast<double>(k));
        const double w = channels == 2 ? p.width : 1.0;
        band.mixSame = dsp_detail::splat((1.0 + w) / 2.0);
        band.mixCross = dsp_detail::splat((1.0 - w) / 2.0);
        band.hasCross = (1.0 - w) != 0.0;
    }

    s.bandBuf.assign(static_cast<size_t>(s.numBands * k), Vec2d{});
    s.detBuf.assign(static_cast<size_t>(s.numBands * k), 0.0);
    s.mixBuf.assign(static_cast<size_t>(k), Vec2d{});
    s.resetState();
}

void MultibandProcessor::reset() {
    impl_->resetState();
}

void MultibandProcessor::process(AudioView block) {
    Impl& s = *impl_;
    assert(block.numChannels == s.channels && block.numFrames <= s.maxBlockFrames);
    const detail::ScopedFlushToZero ftz;
    float* left = block.channel(0);
    float* right = block.numChannels > 1 ? block.channel(1) : nullptr;
    FrameCount pos = 0;
    while (pos < block.numFrames) {
        const FrameCount len = std::min(block.numFrames - pos, s.controlFrames - s.phase);
#if QUACK_DSP_HAVE_AVX2
        if (s.useAvx2)
            s.splitMixAvx2Dispatch(left + pos, right != nullptr ? right + pos : nullptr, len);
        else
#endif
        {
            s.splitDispatch(left + pos, right != nullptr ? right + pos : nullptr, len);
            s.mix(left + pos, right != nullptr ? right + pos : nullptr, len);
        }
        s.phase += len;
        pos += len;
        if (s.phase == s.controlFrames) {
            s.endControlPeriod();
            s.phase = 0;
        }
    }
}

std::vector<BandStats> MultibandProcessor::stats() const {
    const Impl& s = *impl_;
    std::vector<BandStats> out(static_cast<size_t>(s.numBands));
    const FrameCount frames = s.completedFrames + s.phase;
    for (int b = 0; b < s.numBands; ++b) {
        const Band& band = s.bands[static_cast<size_t>(b)];
        BandStats& st = out[static_cast<size_t>(b)];
        st.maxGainReductionDb = band.maxGrDb;
        if (frames > 0)
            st.meanGainReductionDb =
                (band.sumGrDbFrames + static_cast<double>(s.phase) * band.grDb) /
                static_cast<double>(frames);
    }
    return out;
}

} // namespace quack
