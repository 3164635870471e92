/// Lookahead true-peak limiter (design in limiter.h).
///
/// Gain computer, per sidechain frame i (peak p[i], linear, input gain applied):
///   need[i] = min(1, target / p[i])                    target = ceiling * 10^(-kSafetyDb/20)
///   hold[i] = min(need[i - W + 1 .. i])                 sliding minimum, W = lookahead + 1
///   rel[i]  = min(hold[i], 1 - (1 - rel[i-1]) a)        a = exp(-1 / (releaseMs fs / 1000))
///   gain[i] = (1/W) sum(rel[i - W + 1 .. i])            moving average
/// gain[i] is applied to frame j = i - (W - 1): every rel[k] in the average has k - W + 1 <= j
/// <= k, so rel[k] <= hold[k] <= need[j], hence gain[i] <= need[j] and |y[j]| peak <= target.
/// The average is summed in fixed point (rel floored to 2^-31 steps, exact int64 sum) and the
/// final float is rounded toward zero, so rounding can only lower the gain.
#include "engine/limiter/limiter.h"

#include "engine/limiter/sliding_min.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <vector>

namespace quack {

namespace {

/// The limiter aims this far under the ceiling. The guarantee is exact at the sidechain's
/// resolution (an 8x grid with a filter flat to 0.45 fs, max'd with a libebur128-style 4x);
/// independent meters see the continuous waveform, which the 8x grid can under-read by up to
/// 0.136 dB at 0.45 fs (less below: 0.03 dB at 0.2 fs). Measured in tests/limiter.
constexpr double kSafetyDb = 0.1;
constexpr double kFixedScale = 2147483648.0;  ///< 2^31: fixed-point step of the gain sum
constexpr FrameCount kChunkFrames = 512;      ///< internal work chunk (frames)
constexpr double kReductionReportDb = 0.1;    ///< stats: "limited" means more than this

float towardZero(double v) {
    float f = static_cast<float>(v);
    if (static_cast<double>(f) > v)
        f = std::nextafter(f, 0.0f);
    return f;
}

} // namespace

// ---- LimiterGainComputer ------------------------------------------------------------------

struct LimiterGainComputer::Impl {
    double target = 1.0;         ///< linear peak the output aims at (ceiling minus safety)
    FrameCount window = 1;       ///< W: hold and average length, frames
    double releaseCoeff = 0.0;   ///< a, per frame
    detail::SlidingMin hold;
    std::vector<std::uint32_t> ring; ///< last W released gains, fixed point
    size_t ringPos = 0;
    std::int64_t sum = 0;        ///< sum of ring
    double released = 1.0;       ///< rel[i - 1]

    void prepare(double sampleRate, const LimiterParams& p) {
        target = std::pow(10.0, (p.ceilingDbtp - kSafetyDb) / 20.0);
        const auto lookahead = static_cast<FrameCount>(std::llround(std::max(0.0, p.lookaheadMs) * sampleRate / 1000.0));
        window = lookahead + 1;
        const double releaseFrames = std::max(1.0, p.releaseMs * sampleRate / 1000.0);
        releaseCoeff = std::exp(-1.0 / releaseFrames);
        hold.prepare(window);
        ring.assign(static_cast<size_t>(window), 0u);
        reset();
    }

    void reset() {
        hold.reset();
        // The stream is preceded by silence: W frames that needed no reduction.
        std::fill(ring.begin(), ring.end(), static_cast<std::uint32_t>(kFixedScale));
        sum = static_cast<std::int64_t>(window) * static_cast<std::int64_t>(kFixedScale);
        ringPos = 0;
        released = 1.0;
    }

    /// One frame: peak (linear) times inputGain, multiplied in double so that no input can
    /// overflow to infinity.
    float step(float peak, double inputGain = 1.0) {
        const double p = static_cast<double>(peak) * inputGain;
        // p > target also rejects NaN (then no reduction: NaN input is a caller bug, reported
        // by the pipeline before it gets here).
        const double need = p > target ? target / p : 1.0;
        const double h = hold.push(need);
        // One-pole recovery toward 1, never above the hold (attack is instantaneous).
        double r = 1.0 - (1.0 - released) * releaseCoeff;
        if (1.0 - r < 1e-12)
            r = 1.0; // snaps home instead of decaying into subnormals
        r = std::min(r, h);
        released = r;
        const auto fixed = static_cast<std::uint32_t>(std::floor(r * kFixedScale));
        sum += static_cast<std::int64_t>(fixed) - static_cast<std::int64_t>(ring[ringPos]);
        ring[ringPos] = fixed;
        ringPos = ringPos + 1 == ring.size() ? 0 : ringPos + 1;
        return towardZero(static_cast<double>(sum) / (kFixedScale * static_cast<double>(window)));
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
    for (FrameCount i = 0; i < numFrames; ++i)
        gainOut[i] = impl_->step(peaks[i]);
}

void LimiterGainComputer::processScaled(const float* peaks, double inputGain, float* gainOut,
                                        FrameCount numFrames) {
    for (FrameCount i = 0; i < numFrames; ++i)
        gainOut[i] = impl_->step(peaks[i], inputGain);
}

FrameCount LimiterGainComputer::latencyFrames() const { return impl_->window - 1; }

double LimiterGainComputer::targetPeak() const { return impl_->target; }

// ---- TruePeakLimiter ----------------------------------------------------------------------

struct TruePeakLimiter::Impl {
    ChannelCount channels = 0;
    double inputGain = 1.0;
    LimiterGainComputer gain;
    std::array<TruePeakDetector, kMaxChannels> detectors;
    FrameCount detectorLatency = 0;

    /// Per-channel ring buffers holding detectorLatency + lookahead + 1 frames: process()
    /// reads detectorLatency + lookahead behind the write position, processWithPeaks()
    /// lookahead behind.
    std::array<std::vector<float>, kMaxChannels> delay;
    size_t delayPos = 0;

    std::array<std::vector<float>, kMaxChannels> peakScratch;
    std::vector<float> gains;
    LimiterStats stats;
    double reductionSumDb = 0.0;

    void prepare(double sampleRate, ChannelCount ch, const LimiterParams& params) {
        assert(ch >= 1 && ch <= kMaxChannels);
        channels = ch;
        gain.prepare(sampleRate, params);
        for (auto& d : detectors)
            d.prepare(sampleRate, TruePeakDesign::Strict);
        detectorLatency = detectors[0].latencyFrames();
        const auto ringFrames = static_cast<size_t>(detectorLatency + gain.latencyFrames() + 1);
        for (ChannelCount c = 0; c < kMaxChannels; ++c) {
            const auto cs = static_cast<size_t>(c);
            peakScratch[cs].assign(static_cast<size_t>(kChunkFrames), 0.0f);
            delay[cs].assign(ringFrames, 0.0f);
        }
        gains.assign(static_cast<size_t>(kChunkFrames), 0.0f);
        reset();
    }

    void reset() {
        gain.reset();
        for (auto& d : detectors)
            d.reset();
        stats = {};
        reductionSumDb = 0.0;
        delayPos = 0;
        for (auto& d : delay)
            std::fill(d.begin(), d.end(), 0.0f);
    }

    /// Delays the chunk by `delayFrames` and applies inputGain * gains.
    void applyGains(AudioView chunk, FrameCount delayFrames) {
        const FrameCount n = chunk.numFrames;
        const size_t len = delay[0].size();
        assert(delayFrames >= 0 && static_cast<size_t>(delayFrames) < len);
        const size_t back = len - static_cast<size_t>(delayFrames);
        size_t pos = delayPos;
        for (FrameCount i = 0; i < n; ++i) {
            const float g = static_cast<float>(inputGain) * gains[static_cast<size_t>(i)];
            const size_t readPos = pos + back >= len ? pos + back - len : pos + back;
            for (ChannelCount c = 0; c < channels; ++c) {
                auto& line = delay[static_cast<size_t>(c)];
                float* x = chunk.channel(c) + i;
                line[pos] = *x;
                *x = line[readPos] * g;
            }
            pos = pos + 1 == len ? 0 : pos + 1;
            // Gain 0 (only for absurd inputs, > +180 dB over the ceiling) reports 200 dB.
            const double gr =
                -20.0 * std::log10(std::max(1e-10, static_cast<double>(gains[static_cast<size_t>(i)])));
            if (gr > kReductionReportDb)
                ++stats.framesLimited;
            stats.maxGainReductionDb = std::max(stats.maxGainReductionDb, gr);
            reductionSumDb += gr;
        }
        delayPos = pos;
        stats.frames += n;
        stats.meanGainReductionDb = stats.frames > 0 ? reductionSumDb / static_cast<double>(stats.frames) : 0.0;
    }

    /// Gains from linked peaks (before input gain), written to `gains`.
    void computeGains(const float* peaks, FrameCount n) {
        gain.processScaled(peaks, inputGain, gains.data(), n);
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
const LimiterStats& TruePeakLimiter::stats() const { return impl_->stats; }

} // namespace quack
