#pragma once
/// Oversampled lookahead true-peak limiter with a guaranteed ceiling at the sidechain's
/// resolution: required gain -> minimum-hold over the lookahead window -> release (never above
/// the hold) -> moving average over the same window, with the audio delayed to match. Because
/// the average of values each <= the need of the delayed sample is <= that need, no sample the
/// sidechain sees exceeds the ceiling.
#include "engine/analysis/true_peak.h"
#include "engine/core/audio_buffer.h"

#include <memory>

namespace quack {

struct LimiterParams {
    double ceilingDbtp = -1.0; ///< output true-peak ceiling, dBTP
    double lookaheadMs = 2.0;  ///< attack = hold = smoothing window
    double releaseMs = 60.0;   ///< time constant of the recovery toward unity gain
};

struct LimiterStats {
    FrameCount frames = 0;
    FrameCount framesLimited = 0;      ///< frames with gain reduction > 0.1 dB
    double maxGainReductionDb = 0.0;   ///< positive dB
    double meanGainReductionDb = 0.0;  ///< over all frames, positive dB (relative error ~1e-13)
};

/// Gain envelope from a per-frame sidechain peak (linear). Real-time safe after prepare().
class LimiterGainComputer {
  public:
    LimiterGainComputer();
    ~LimiterGainComputer();
    LimiterGainComputer(LimiterGainComputer&&) noexcept;
    LimiterGainComputer& operator=(LimiterGainComputer&&) noexcept;

    void prepare(double sampleRate, const LimiterParams& params);
    void reset();
    /// peaks[i]: sidechain peak of input frame i, linear, input gain already applied.
    /// gainOut[i]: gain (0..1] for input frame i - latencyFrames().
    void process(const float* peaks, float* gainOut, FrameCount numFrames);
    /// As process(), with peaks before input gain: peaks[i] * inputGain is formed in double,
    /// so no float overflow for absurd inputs.
    void processScaled(const float* peaks, double inputGain, float* gainOut, FrameCount numFrames);
    FrameCount latencyFrames() const;
    /// Linear peak the gain aims at: the ceiling minus a small internal safety margin (0.1 dB)
    /// that covers what independent meters see between the sidechain's 8x grid points.
    double targetPeak() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The complete limiter: input gain, Strict true-peak sidechain per channel (linked: the max of
/// the channels), gain computer, delay. process() is real-time safe after prepare().
class TruePeakLimiter {
  public:
    TruePeakLimiter();
    ~TruePeakLimiter();
    TruePeakLimiter(TruePeakLimiter&&) noexcept;
    TruePeakLimiter& operator=(TruePeakLimiter&&) noexcept;

    void prepare(double sampleRate, ChannelCount channels, FrameCount maxBlockFrames,
                 const LimiterParams& params);
    void reset();
    /// Linear gain applied before the sidechain (the loudness "drive").
    void setInputGain(double gainLinear);

    /// In place; output is the input delayed by latencyFrames().
    void process(AudioView block);
    /// In place with a precomputed sidechain: peaks[i] = max over channels of the Strict
    /// detector's peak for audio frame i of `block` (aligned, before input gain). Output is
    /// delayed by lookaheadLatencyFrames() only.
    void processWithPeaks(AudioView block, const float* peaks);

    /// Total delay of process(): detector latency + lookahead.
    FrameCount latencyFrames() const;
    /// Delay of processWithPeaks(): lookahead only.
    FrameCount lookaheadLatencyFrames() const;
    const LimiterStats& stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
