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
/// Rounding never raises a gain:
///  - the release runs on u = 1 - rel (u[i] = max(u[i-1] a, 1 - hold[i])), a 2-op dependency
///    chain per frame; its rounding cannot break the invariant because rel[i] itself is formed
///    as min(1 - u[i-1] a, hold[i]), which is <= hold[i] exactly;
///  - rel enters the average in fixed point, truncated to 2^-31 steps (truncation = floor for
///    rel >= 0), summed exactly in int64;
///  - the average sum / (2^31 W) is converted to the largest float <= it, exactly: q = sum x
///    (1 / (2^31 W)) is within 2 double ulp of the quotient, so float(q) is either that float or
///    the next one up, which the exact test f (2^31 W) > sum detects (f has 24 significant
///    bits and W < 2^22, so f 2^31 W and sum are exact in double); one is then subtracted from
///    f's bit pattern (the next float toward zero). No libm call per frame.
/// Fast path: when the last W released values were all 1 (sum == W 2^31: then the hold is 1 and
/// u = 0), a run of frames with p <= target outputs exactly 1 and leaves the state as it was,
/// which is what the per-frame path computes for them too, so results never depend on where a
/// run is detected or on the block size.
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
constexpr double kReductionReportDb = 0.1;    ///< stats: "limited" means more than this
/// Release residual (1 - rel) below which the release snaps home to exactly 1 at the next
/// frame, instead of decaying into subnormals (and so that the unity fast path can resume).
constexpr double kSnapBelow = 1e-12;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
/// AVX2 clone for the vectorisable division pass, plus the SSE2 baseline. Divisions are
/// correctly rounded IEEE operations in every clone, so the results are identical.
#define QUACK_LIMITER_CLONES __attribute__((target_clones("avx2", "default")))
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

/// Largest float <= sum / scale, for 0 <= sum <= scale < 2^53 and scale = 2^31 W (see top).
inline float floatTowardZero(double sum, double scale, double invScale) {
    const auto f = static_cast<float>(sum * invScale);
    const auto over = static_cast<std::uint32_t>(static_cast<double>(f) * scale > sum);
    return std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) - over);
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
    std::vector<std::uint32_t> ring; ///< last W released gains, fixed point
    size_t ringPos = 0;
    std::int64_t sum = 0;        ///< sum of ring
    std::int64_t fullSum = 0;    ///< W 2^31: every released gain in the window is 1
    double residual = 0.0;       ///< u = 1 - rel[i - 1] (approximately; see top)
    std::array<double, kChunkFrames> need{};

    void prepare(double sampleRate, const LimiterParams& p) {
        target = std::pow(10.0, (p.ceilingDbtp - kSafetyDb) / 20.0);
        // Capped (at ~11 s at 384 kHz) so the exact float conversion of the average stays exact.
        const auto lookahead = std::min<FrameCount>(
            kMaxWindow - 1, static_cast<FrameCount>(std::llround(std::max(0.0, p.lookaheadMs) * sampleRate / 1000.0)));
        window = lookahead + 1;
        const double releaseFrames = std::max(1.0, p.releaseMs * sampleRate / 1000.0);
        releaseCoeff = std::exp(-1.0 / releaseFrames);
        scale = kFixedScale * static_cast<double>(window);
        invScale = 1.0 / scale;
        hold.prepare(window);
        ring.assign(static_cast<size_t>(window), 0u);
        reset();
    }

    void reset() {
        hold.reset();
        // The stream is preceded by silence: W frames that needed no reduction.
        std::fill(ring.begin(), ring.end(), static_cast<std::uint32_t>(kFixedScale));
        fullSum = static_cast<std::int64_t>(window) * static_cast<std::int64_t>(kFixedScale);
        sum = fullSum;
        ringPos = 0;
        residual = 0.0;
    }

    /// One frame of the general path from its need (see top).
    float step(double needed) {
        const double h = hold.push(needed);
        // Release toward 1 (attack is instantaneous); the snap test reads the previous residual
        // so that it runs beside the multiply instead of after it.
        double ua = residual * releaseCoeff;
        ua = residual < kSnapBelow ? 0.0 : ua;
        residual = std::max(ua, 1.0 - h);
        const double r = std::min(1.0 - ua, h);
        const auto fixed = static_cast<std::uint32_t>(static_cast<std::int64_t>(r * kFixedScale));
        sum += static_cast<std::int64_t>(fixed) - static_cast<std::int64_t>(ring[ringPos]);
        ring[ringPos] = fixed;
        ringPos = ringPos + 1 == ring.size() ? 0 : ringPos + 1;
        return floatTowardZero(static_cast<double>(sum), scale, invScale);
    }

    void process(const float* peaks, double inputGain, float* gainOut, FrameCount numFrames) {
        for (FrameCount done = 0; done < numFrames;) {
            const FrameCount n = std::min(kChunkFrames, numFrames - done);
            computeNeed(peaks + done, inputGain, target, need.data(), n);
            float* out = gainOut + done;
            for (FrameCount i = 0; i < n;) {
                if (sum == fullSum) {
                    // At unity: skip the run of frames that need no reduction.
                    FrameCount run = 0;
                    while (i + run < n && need[static_cast<size_t>(i + run)] == 1.0)
                        ++run;
                    if (run > 0) {
                        std::fill(out + i, out + i + run, 1.0f);
                        hold.pushRun(1.0, run);
                        i += run;
                        continue;
                    }
                }
                // General path until the state is back at unity.
                do {
                    out[i] = step(need[static_cast<size_t>(i)]);
                    ++i;
                } while (i < n && sum != fullSum);
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
        std::array<double, kLanes> prod;
        prod.fill(1.0);
        std::int64_t exponents = 0;
        float minGain = 1.0f;
        FrameCount limited = 0;
        const float limitedBelow = limitedBelowThreshold();
        for (FrameCount i = 0; i < n; ++i) {
            minGain = std::min(minGain, g[i]);
            limited += g[i] < limitedBelow ? 1 : 0;
        }
        for (FrameCount i = 0; i < n;) {
            const FrameCount end = std::min(n, i + kRenormFrames);
            // Whole groups of kLanes frames (vectorisable), then the tail one lane per frame.
            for (; i + kLanes <= end; i += kLanes)
                for (int l = 0; l < kLanes; ++l)
                    prod[static_cast<size_t>(l)] *= std::max(1e-10, static_cast<double>(g[i + l]));
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
