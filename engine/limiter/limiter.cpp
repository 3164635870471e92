/// Lookahead true-peak limiter (design in limiter.h).
///
/// Gain computer, per sidechain frame i (peak p[i], linear, input gain applied):
///   need[i] = min(1, target / p[i])                    target = ceiling * 10^(-kSafetyDb/20)
///   hold[i] = min(need[i - W + 1 .. i])                 sliding minimum, W = lookahead + 1
///   rel[i]  = min(hold[i], 1 - (1 - rel[i-1]) a)        a = exp(-1 / (releaseMs fs / 1000))
///   gain[i] = (1/W) sum(rel[i - W + 1 .. i])            moving average
/// gain[i] is applied to frame j = i - (W - 1): every rel[k] in the average has k - W + 1 <= j
/// <= k, so rel[k] <= hold[k] <= need[j], hence gain[i] <= need[j] and |y[j]| peak <= target.
///
/// Release in closed form (no multiply in the per-frame dependency chain). With the residual
/// u = 1 - rel, u[i] = max(c[i], 1 - hold[i]) where c[i] = u[i-1] a is the carried residual, so
/// over a release block of L frames aligned to the absolute frame index, starting at frame b:
///   c[b + t] = a^t max(u[b-1] a, max_{b <= k < b+t} (1 - hold[k]) a^-(k-b))
/// an exclusive running max (one max per frame) times a table of powers; a^-(L-1) <= 2^40 keeps
/// the scaled terms far from overflow. The carried residual snaps to 0 below kSnapBelow (the
/// reference formula's rule; no subnormals, and the unity fast path can resume).
///
/// Rounding never raises a gain:
///  - rel[i] is formed as min(1 - c[i], hold[i]), which is <= hold[i] exactly whatever the
///    rounding of c (a few ulps of c, ~1e-16);
///  - rel enters the average in fixed point, truncated to 2^-31 steps (floor for rel >= 0), and
///    stored as the deficit floor(rel 2^31) - 2^31 in [-2^31, 0] (int32, so the conversion
///    vectorises); the window's deficits are summed exactly in int64 and sum = W 2^31 + deficit;
///  - the average sum / (2^31 W) is converted to the largest float <= it, exactly: q = sum x
///    (1 / (2^31 W)) is within 2 double ulp of the quotient, so float(q) is either that float or
///    the next one up, which the exact test f (2^31 W) > sum detects (f has 24 significant
///    bits and W < 2^22, so f 2^31 W and sum are exact in double); one is then subtracted from
///    f's bit pattern (the next float toward zero). No libm call per frame.
/// Results depend only on absolute frame indices (release blocks and the hold are aligned to
/// them, the sums are exact), never on how the caller cuts the stream.
/// Fast path: when the last W released values were all 1 (deficit == 0: then the hold is 1 and
/// the carried residual is 0), a run of frames with p <= target outputs exactly 1 and leaves the
/// state as the per-frame path would (it only advances the release block: crossing its end
/// resets the carried max to a * max(0, 1 - 1) = 0), so results never depend on where a run is
/// detected or on the block size.
#include "engine/limiter/limiter.h"

#include "engine/limiter/sliding_min.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace quack {

namespace {

/// The limiter aims this far under the ceiling. The guarantee is exact at the sidechain's
/// resolution (an 8x grid with a filter flat to 0.45 fs, max'd with a libebur128-style 4x);
/// independent meters see the continuous waveform, which the 8x grid can under-read by up to
/// 0.136 dB at 0.45 fs (less below: 0.03 dB at 0.2 fs). Measured in tests/limiter.
constexpr double kSafetyDb = 0.1;
constexpr double kFixedScale = 2147483648.0;  ///< 2^31: fixed-point step of the gain sum
constexpr FrameCount kMaxWindow = FrameCount{1} << 22; ///< keeps the exact conversion exact
constexpr FrameCount kChunkFrames = 512;      ///< internal work chunk (frames)
constexpr FrameCount kBatchFrames = 512;      ///< general-path batch (frames)
constexpr FrameCount kShortBatchFrames = 32;  ///< first batch after the unity fast path
constexpr FrameCount kReleaseBlockMax = 512;  ///< longest release block (frames; see top)
constexpr double kReductionReportDb = 0.1;    ///< stats: "limited" means more than this
/// Release residual (1 - rel) below which the release snaps home to exactly 1 at the next
/// frame, instead of decaying into subnormals (and so that the unity fast path can resume).
constexpr double kSnapBelow = 1e-12;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
/// AVX2 clone for the vectorisable division pass, plus the SSE2 baseline. Divisions are
/// correctly rounded IEEE operations in every clone, so the results are identical.
/// no-trapping-math lets g++ if-convert the comparisons (min, the snap) so the loops vectorise;
/// the program never reads or traps FP exception flags, so the values are the same. g++ does
/// not inline functions compiled with other options into these, so their bodies call builtins
/// (__builtin_floor, __builtin_bit_cast) and ternaries, not std::floor, std::bit_cast, std::min.
#define QUACK_LIMITER_CLONES __attribute__((target_clones("avx2", "default"), optimize("no-trapping-math")))
#else
#define QUACK_LIMITER_CLONES
#endif

/// need[i] = min(1, target / (peaks[i] inputGain)) in double; NaN peaks give 1 (no reduction:
/// NaN input is a caller bug, reported by the pipeline before it gets here). Branch-free so it
/// vectorises: max(target, NaN) is target, and target / target is exactly 1.
QUACK_LIMITER_CLONES
void computeNeed(const float* peaks, double inputGain, double target, double* need, FrameCount n) {
    for (FrameCount i = 0; i < n; ++i) {
        const double p = static_cast<double>(peaks[i]) * inputGain;
        const double d = target < p ? p : target;
        need[i] = target / d;
    }
}

/// Released gains of m frames inside one release block (see top): carried[k] is the exclusive
/// running max for frame k, pow[k] = a^t of its position. Writes the fixed-point deficits;
/// branch-free so it vectorises.
QUACK_LIMITER_CLONES
void releaseToFixed(const double* hold, const double* carried, const double* pow, std::int32_t* deficit,
                    FrameCount m) {
    for (FrameCount k = 0; k < m; ++k) {
        double c = pow[k] * carried[k];
        c = c < kSnapBelow ? 0.0 : c;
        // c <= a (1 + a few ulp) < 1 for any practical release; the clamp at 0 keeps the int32
        // range whatever it is (and 0 <= hold).
        const double h = hold[k], x = 1.0 - c;
        double r = h < x ? h : x;
        r = r > 0.0 ? r : 0.0;
        // floor(r 2^31) - 2^31 is an integer in [-2^31, 0]: exact in double and in int32.
        deficit[k] = static_cast<std::int32_t>(__builtin_floor(r * kFixedScale) - kFixedScale);
    }
}

/// Terms (1 - hold[k]) a^-t of the running max (vectorised before the scan).
QUACK_LIMITER_CLONES
void releaseTerms(const double* hold, const double* invPow, double* term, FrameCount m) {
    for (FrameCount k = 0; k < m; ++k)
        term[k] = (1.0 - hold[k]) * invPow[k];
}

/// out[k] = max(init, term[0..k)) for k < m; returns max(init, term[0..m)). Max of non-NaN
/// values is exact in any order, so this is the sequential scan's result: groups of 8 first
/// (each group's max, then one carry per group), then each group's scan from its carry-in,
/// which are independent chains the core overlaps (one long chain of maxima costs its latency
/// per frame).
inline double exclusiveRunningMax(const double* term, double* out, double init, FrameCount m) {
    constexpr FrameCount kGroup = 8;
    std::array<double, kBatchFrames / kGroup> carry;
    const FrameCount groups = m / kGroup;
    double cm = init;
    for (FrameCount g = 0; g < groups; ++g) {
        const double* t = term + g * kGroup;
        const double a = std::max(std::max(t[0], t[1]), std::max(t[2], t[3]));
        const double b = std::max(std::max(t[4], t[5]), std::max(t[6], t[7]));
        carry[static_cast<size_t>(g)] = cm;
        cm = std::max(cm, std::max(a, b));
    }
    for (FrameCount g = 0; g < groups; ++g) {
        double c = carry[static_cast<size_t>(g)];
        for (FrameCount l = g * kGroup; l < (g + 1) * kGroup; ++l) {
            out[l] = c;
            c = std::max(c, term[l]);
        }
    }
    for (FrameCount l = groups * kGroup; l < m; ++l) {
        out[l] = cm;
        cm = std::max(cm, term[l]);
    }
    return cm;
}

/// out[k] = largest float <= (scale + deficitSum[k]) / scale, for -scale <= deficitSum[k] <= 0
/// (integers) and scale = 2^31 W < 2^53 (see top). Branch-free so it vectorises.
QUACK_LIMITER_CLONES
void floatsTowardZero(const double* deficitSum, float* out, FrameCount m, double scale, double invScale) {
    for (FrameCount k = 0; k < m; ++k) {
        const double sum = scale + deficitSum[k];
        const auto f = static_cast<float>(sum * invScale);
        const auto over = static_cast<std::uint32_t>(static_cast<double>(f) * scale > sum);
        out[k] = __builtin_bit_cast(float, __builtin_bit_cast(std::uint32_t, f) - over);
    }
}

} // namespace

// ---- LimiterGainComputer ------------------------------------------------------------------

struct LimiterGainComputer::Impl {
    double target = 1.0;         ///< linear peak the output aims at (ceiling minus safety)
    FrameCount window = 1;       ///< W: hold and average length, frames
    double releaseCoeff = 0.0;   ///< a, per frame
    double scale = kFixedScale;  ///< 2^31 W: the sum of W unity gains
    double invScale = 1.0 / kFixedScale;
    detail::SlidingMin hold;
    std::vector<std::int32_t> ring; ///< deficits floor(rel 2^31) - 2^31 of the last W frames
    size_t ringPos = 0;
    std::int64_t deficit = 0;    ///< sum of ring (<= 0; 0: every gain in the window is 1)
    FrameCount releaseBlock = 1; ///< L: release block length, frames
    FrameCount releasePos = 0;   ///< t: position of the next frame inside its release block
    double carriedMax = 0.0;     ///< max(u[b-1] a, terms of the block so far) (see top)
    std::vector<double> decay;   ///< a^t, t < L
    std::vector<double> growth;  ///< a^-t, t < L
    std::array<double, kChunkFrames> need{};
    std::array<double, kBatchFrames> holdBuf{};
    std::array<double, kBatchFrames> termBuf{};
    std::array<double, kBatchFrames> carriedBuf{};
    std::array<std::int32_t, kBatchFrames> deficitBuf{};
    std::array<double, kBatchFrames> sumBuf{}; ///< deficit sums (exact integers <= 0)

    void prepare(double sampleRate, const LimiterParams& p) {
        target = std::pow(10.0, (p.ceilingDbtp - kSafetyDb) / 20.0);
        // Capped (at ~11 s at 384 kHz) so the exact float conversion of the average stays exact.
        const auto lookahead = std::min<FrameCount>(
            kMaxWindow - 1, static_cast<FrameCount>(std::llround(std::max(0.0, p.lookaheadMs) * sampleRate / 1000.0)));
        window = lookahead + 1;
        const double releaseFrames = std::max(1.0, p.releaseMs * sampleRate / 1000.0);
        releaseCoeff = std::exp(-1.0 / releaseFrames);
        // a^-(L-1) = exp((L-1) / releaseFrames) <= 2^40 (see top).
        releaseBlock = std::clamp<FrameCount>(
            1 + static_cast<FrameCount>(std::floor(40.0 * std::numbers::ln2 * releaseFrames)), 1,
            kReleaseBlockMax);
        decay.resize(static_cast<size_t>(releaseBlock));
        growth.resize(static_cast<size_t>(releaseBlock));
        for (FrameCount t = 0; t < releaseBlock; ++t) {
            decay[static_cast<size_t>(t)] = std::exp(-static_cast<double>(t) / releaseFrames);
            growth[static_cast<size_t>(t)] = std::exp(static_cast<double>(t) / releaseFrames);
        }
        scale = kFixedScale * static_cast<double>(window);
        invScale = 1.0 / scale;
        hold.prepare(window);
        ring.assign(static_cast<size_t>(window), 0);
        reset();
    }

    void reset() {
        hold.reset();
        // The stream is preceded by silence: W frames that needed no reduction.
        std::fill(ring.begin(), ring.end(), 0);
        deficit = 0;
        ringPos = 0;
        releasePos = 0;
        carriedMax = 0.0;
    }

    /// General path over m <= kBatchFrames frames that stay inside one release block.
    void batch(const double* needed, float* out, FrameCount m) {
        assert(m > 0 && m <= kBatchFrames && releasePos + m <= releaseBlock);
        double* h = holdBuf.data();
        hold.pushBatch(needed, h, m);
        const auto t0 = static_cast<size_t>(releasePos);
        releaseTerms(h, growth.data() + t0, termBuf.data(), m);
        carriedMax = exclusiveRunningMax(termBuf.data(), carriedBuf.data(), carriedMax, m);
        releaseToFixed(h, carriedBuf.data(), decay.data() + t0, deficitBuf.data(), m);
        releasePos += m;
        if (releasePos == releaseBlock) {
            // Next block starts from u[b-1] a, u = max(c, 1 - hold) of the block's last frame
            // (c snapped as in releaseToFixed).
            const auto last = static_cast<size_t>(m - 1);
            double c = decay[static_cast<size_t>(releaseBlock - 1)] * carriedBuf[last];
            c = c < kSnapBelow ? 0.0 : c;
            carriedMax = releaseCoeff * std::max(c, 1.0 - h[last]);
            releasePos = 0;
        }
        // Moving sum of the deficits (exact in int64; W 2^31 + deficit < 2^53 is exact in
        // double too), over the ring's contiguous spans, then the float conversion.
        std::int64_t acc = deficit;
        const size_t w = ring.size();
        for (FrameCount k = 0; k < m;) {
            const auto span = std::min(static_cast<size_t>(m - k), w - ringPos);
            std::int32_t* r = ring.data() + ringPos;
            const std::int32_t* d = deficitBuf.data() + k;
            double* sums = sumBuf.data() + k;
            for (size_t j = 0; j < span; ++j) {
                acc += static_cast<std::int64_t>(d[j]) - static_cast<std::int64_t>(r[j]);
                sums[j] = static_cast<double>(acc);
            }
            std::copy(d, d + span, r);
            ringPos = ringPos + span == w ? 0 : ringPos + span;
            k += static_cast<FrameCount>(span);
        }
        deficit = acc;
        floatsTowardZero(sumBuf.data(), out, m, scale, invScale);
    }

    void process(const float* peaks, double inputGain, float* gainOut, FrameCount numFrames) {
        for (FrameCount done = 0; done < numFrames;) {
            const FrameCount n = std::min(kChunkFrames, numFrames - done);
            computeNeed(peaks + done, inputGain, target, need.data(), n);
            float* out = gainOut + done;
            for (FrameCount i = 0; i < n;) {
                if (deficit == 0) {
                    // At unity: skip the run of frames that need no reduction.
                    FrameCount run = 0;
                    while (i + run < n && need[static_cast<size_t>(i + run)] == 1.0)
                        ++run;
                    if (run > 0) {
                        std::fill(out + i, out + i + run, 1.0f);
                        hold.pushRun(1.0, run);
                        // Crossing a release block's end resets the carried max to 0 (see top).
                        if (releasePos + run >= releaseBlock)
                            carriedMax = 0.0;
                        releasePos = (releasePos + run) % releaseBlock;
                        i += run;
                        continue;
                    }
                }
                // General path, one batch (the fast path is checked again after it); short
                // when leaving unity, where an isolated peak often needs only a few frames.
                const FrameCount m = std::min(
                    {n - i, deficit == 0 ? kShortBatchFrames : kBatchFrames, releaseBlock - releasePos});
                batch(need.data() + i, out + i, m);
                i += m;
            }
            done += n;
        }
    }
};

LimiterGainComputer::LimiterGainComputer() : impl_(std::make_unique<Impl>()) {
    impl_->prepare(48000.0, {});
}
LimiterGainComputer::~LimiterGainComputer() = default;
LimiterGainComputer::LimiterGainComputer(LimiterGainComputer&&) noexcept = default;
LimiterGainComputer& LimiterGainComputer::operator=(LimiterGainComputer&&) noexcept = default;

void LimiterGainComputer::prepare(double sampleRate, const LimiterParams& params) {
    assert(sampleRate > 0.0);
    impl_->prepare(sampleRate, params);
}
void LimiterGainComputer::reset() { impl_->reset(); }

void LimiterGainComputer::process(const float* peaks, float* gainOut, FrameCount numFrames) {
    impl_->process(peaks, 1.0, gainOut, numFrames);
}

void LimiterGainComputer::processScaled(const float* peaks, double inputGain, float* gainOut,
                                        FrameCount numFrames) {
    impl_->process(peaks, inputGain, gainOut, numFrames);
}

FrameCount LimiterGainComputer::latencyFrames() const { return impl_->window - 1; }

double LimiterGainComputer::targetPeak() const { return impl_->target; }

// ---- TruePeakLimiter ----------------------------------------------------------------------

namespace {

/// min(minGain, g[0..n)) and the count of g[i] < below (gains are never NaN). Branch-free
/// so it vectorises; min is exact in any order.
QUACK_LIMITER_CLONES
void minAndCountBelow(const float* g, FrameCount n, float below, float& minGain, FrameCount& count) {
    float m = minGain;
    FrameCount c = 0;
    for (FrameCount i = 0; i < n; ++i) {
        m = g[i] < m ? g[i] : m;
        c += g[i] < below ? 1 : 0;
    }
    minGain = m;
    count += c;
}

/// prod[l] *= max(1e-10, g[i + l]) for each group of 8 frames of the n (a multiple of 8): each
/// lane multiplies in the same order as the scalar loop, so the products are the same.
QUACK_LIMITER_CLONES
void multiplyLanes(double* prod, const float* g, FrameCount n) {
    for (FrameCount i = 0; i < n; i += 8)
        for (int l = 0; l < 8; ++l) {
            const auto v = static_cast<double>(g[i + l]);
            prod[l] *= v > 1e-10 ? v : 1e-10;
        }
}

} // namespace

/// Stats without a log per frame. For each chunk of gains g (clamped to >= 1e-10, which
/// reports 200 dB for a gain of 0):
///  - max reduction = -20 log10(min g): one log per chunk, the same value a per-frame max gives;
///  - frames limited = count of g < kLimitedBelow, the smallest float whose reduction
///    -20 log10(g) is <= 0.1 dB (found once, exactly, with the per-frame formula);
///  - the sum of reductions = -20 log10(2) log2(prod g): the product is kept in 8 lanes of
///    doubles, renormalised every 128 frames by moving the exponent bits into an integer
///    (each lane then stays >= 1e-170, far from underflow), and logged once per chunk.
///    Exact but for double rounding: relative error ~ 1e-13 of the sum, far below 0.001 dB.
class ReductionStats {
  public:
    void reset() {
        stats_ = {};
        sumDb_ = 0.0;
    }
    void add(const float* g, FrameCount n) {
        constexpr int kLanes = 8, kRenormFrames = 128;
        static_assert(kLanes == 8, "multiplyLanes works on groups of 8");
        std::array<double, kLanes> prod;
        prod.fill(1.0);
        std::int64_t exponents = 0;
        float minGain = 1.0f;
        FrameCount limited = 0;
        minAndCountBelow(g, n, limitedBelowThreshold(), minGain, limited);
        for (FrameCount i = 0; i < n;) {
            const FrameCount end = std::min(n, i + kRenormFrames);
            // Whole groups of kLanes frames (vectorised), then the tail one lane per frame.
            const FrameCount whole = (end - i) / kLanes * kLanes;
            multiplyLanes(prod.data(), g + i, whole);
            i += whole;
            for (int l = 0; i < end; ++i, ++l)
                prod[static_cast<size_t>(l)] *= std::max(1e-10, static_cast<double>(g[i]));
            for (double& lane : prod) {
                const auto bits = std::bit_cast<std::uint64_t>(lane);
                exponents += static_cast<std::int64_t>((bits >> 52) & 0x7ff) - 1023;
                lane = std::bit_cast<double>((bits & 0x000f'ffff'ffff'ffffULL) | (1023ULL << 52));
            }
        }
        double log2Sum = static_cast<double>(exponents);
        for (double lane : prod)
            log2Sum += std::log2(lane);
        // 20 log10(2): dB per octave of gain.
        sumDb_ -= 20.0 * std::numbers::ln2 / std::numbers::ln10 * log2Sum;
        stats_.framesLimited += limited;
        stats_.maxGainReductionDb =
            std::max(stats_.maxGainReductionDb, -20.0 * std::log10(std::max(1e-10, static_cast<double>(minGain))));
        stats_.frames += n;
        stats_.meanGainReductionDb = stats_.frames > 0 ? sumDb_ / static_cast<double>(stats_.frames) : 0.0;
    }
    const LimiterStats& stats() const { return stats_; }

  private:
    static double reductionDb(float g) { return -20.0 * std::log10(std::max(1e-10, static_cast<double>(g))); }
    /// Smallest float g with reductionDb(g) <= kReductionReportDb (reductionDb falls with g).
    static float limitedBelowThreshold() {
        static const float threshold = [] {
            auto g = static_cast<float>(std::pow(10.0, -kReductionReportDb / 20.0));
            while (reductionDb(g) > kReductionReportDb)
                g = std::nextafter(g, 2.0f);
            while (reductionDb(std::nextafter(g, 0.0f)) <= kReductionReportDb)
                g = std::nextafter(g, 0.0f);
            return g;
        }();
        return threshold;
    }

    LimiterStats stats_;
    double sumDb_ = 0.0;
};

struct TruePeakLimiter::Impl {
    ChannelCount channels = 0;
    double inputGain = 1.0;
    LimiterGainComputer gain;
    std::array<TruePeakDetector, kMaxChannels> detectors;
    FrameCount detectorLatency = 0;

    /// Per-channel delay lines: the last maxDelay input frames, then room for one chunk.
    /// process() reads detectorLatency + lookahead behind the newest frame,
    /// processWithPeaks() lookahead behind.
    std::array<std::vector<float>, kMaxChannels> delay;
    FrameCount maxDelay = 0;

    std::array<std::vector<float>, kMaxChannels> peakScratch;
    std::vector<float> gains;
    ReductionStats stats;

    void prepare(double sampleRate, ChannelCount ch, const LimiterParams& params) {
        assert(ch >= 1 && ch <= kMaxChannels);
        channels = ch;
        gain.prepare(sampleRate, params);
        for (auto& d : detectors)
            d.prepare(sampleRate, TruePeakDesign::Strict);
        detectorLatency = detectors[0].latencyFrames();
        maxDelay = detectorLatency + gain.latencyFrames();
        for (ChannelCount c = 0; c < kMaxChannels; ++c) {
            const auto cs = static_cast<size_t>(c);
            peakScratch[cs].assign(static_cast<size_t>(kChunkFrames), 0.0f);
            delay[cs].assign(static_cast<size_t>(maxDelay + kChunkFrames), 0.0f);
        }
        gains.assign(static_cast<size_t>(kChunkFrames), 0.0f);
        reset();
    }

    void reset() {
        gain.reset();
        for (auto& d : detectors)
            d.reset();
        stats.reset();
        for (auto& d : delay)
            std::fill(d.begin(), d.end(), 0.0f);
    }

    /// Delays the chunk (<= kChunkFrames) by `delayFrames` and applies inputGain * gains.
    void applyGains(AudioView chunk, FrameCount delayFrames) {
        const FrameCount n = chunk.numFrames;
        assert(n <= kChunkFrames && delayFrames >= 0 && delayFrames <= maxDelay);
        const auto g = static_cast<float>(inputGain);
        for (size_t i = 0; i < static_cast<size_t>(n); ++i)
            gains[i] *= g;
        for (ChannelCount c = 0; c < channels; ++c) {
            float* line = delay[static_cast<size_t>(c)].data();
            float* x = chunk.channel(c);
            std::copy(x, x + n, line + maxDelay);
            const float* src = line + maxDelay - delayFrames;
            for (FrameCount i = 0; i < n; ++i)
                x[i] = src[i] * gains[static_cast<size_t>(i)];
            std::copy(line + n, line + n + maxDelay, line);
        }
    }

    /// Gains from linked peaks (before input gain), written to `gains`; stats updated.
    void computeGains(const float* peaks, FrameCount n) {
        gain.processScaled(peaks, inputGain, gains.data(), n);
        stats.add(gains.data(), n);
    }
};

TruePeakLimiter::TruePeakLimiter() : impl_(std::make_unique<Impl>()) {}
TruePeakLimiter::~TruePeakLimiter() = default;
TruePeakLimiter::TruePeakLimiter(TruePeakLimiter&&) noexcept = default;
TruePeakLimiter& TruePeakLimiter::operator=(TruePeakLimiter&&) noexcept = default;

void TruePeakLimiter::prepare(double sampleRate, ChannelCount channels, FrameCount maxBlockFrames,
                              const LimiterParams& params) {
    // Any block size works (processed in internal chunks); maxBlockFrames is kept for the
    // shared processor contract.
    (void)maxBlockFrames;
    impl_->prepare(sampleRate, channels, params);
}

void TruePeakLimiter::reset() { impl_->reset(); }

void TruePeakLimiter::setInputGain(double gainLinear) {
    assert(gainLinear > 0.0);
    impl_->inputGain = gainLinear;
}

void TruePeakLimiter::process(AudioView block) {
    auto& m = *impl_;
    assert(block.numChannels == m.channels);
    // Frames whose cheap bound is below target / inputGain need no reduction: exact values
    // are only computed above it.
    const auto exactAbove = static_cast<float>(m.gain.targetPeak() / m.inputGain);
    for (FrameCount done = 0; done < block.numFrames;) {
        const FrameCount n = std::min(kChunkFrames, block.numFrames - done);
        AudioView chunk = block.subView(done, n);
        for (ChannelCount c = 0; c < m.channels; ++c)
            m.detectors[static_cast<size_t>(c)].process(chunk.channel(c), m.peakScratch[static_cast<size_t>(c)].data(),
                                                        n, exactAbove);
        float* linked = m.peakScratch[0].data();
        for (ChannelCount c = 1; c < m.channels; ++c)
            for (FrameCount i = 0; i < n; ++i)
                linked[i] = std::max(linked[i], m.peakScratch[static_cast<size_t>(c)][static_cast<size_t>(i)]);
        m.computeGains(linked, n);
        m.applyGains(chunk, m.detectorLatency + m.gain.latencyFrames());
        done += n;
    }
}

void TruePeakLimiter::processWithPeaks(AudioView block, const float* peaks) {
    auto& m = *impl_;
    assert(block.numChannels == m.channels);
    for (FrameCount done = 0; done < block.numFrames;) {
        const FrameCount n = std::min(kChunkFrames, block.numFrames - done);
        m.computeGains(peaks + done, n);
        m.applyGains(block.subView(done, n), m.gain.latencyFrames());
        done += n;
    }
}

FrameCount TruePeakLimiter::latencyFrames() const {
    return impl_->detectorLatency + impl_->gain.latencyFrames();
}
FrameCount TruePeakLimiter::lookaheadLatencyFrames() const { return impl_->gain.latencyFrames(); }
const LimiterStats& TruePeakLimiter::stats() const { return impl_->stats.stats(); }

} // namespace quack
