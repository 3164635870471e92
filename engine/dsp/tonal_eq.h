#pragma once
/// Smooth, bounded tonal correction: a target gain curve (dB at fractional-octave centres)
/// realised as a cascade of minimum-phase biquads fitted by least squares.
#include "engine/core/audio_buffer.h"
#include "engine/core/biquad.h"

#include <vector>

namespace quack {

/// Desired EQ: gainDb[i] at centerHz[i] (ascending). Between points the curve is interpolated
/// on a log-frequency axis; outside it is held.
struct TonalCurve {
    std::vector<double> centerHz;
    std::vector<double> gainDb;
};

class TonalEq {
  public:
    /// Fits the sections to `curve` (allocates). Frequencies above 0.45 fs are ignored.
    void prepare(double sampleRate, ChannelCount channels, const TonalCurve& curve);
    void reset();
    void process(AudioView block);
    /// The realised response in dB at `hz`.
    double responseDb(double hz) const;
    /// Worst |realised - target| over the curve's points, dB.
    double maxFitErrorDb() const { return maxFitErrorDb_; }
    FrameCount latencyFrames() const { return 0; }

  private:
    double sampleRate_ = 48000.0;
    ChannelCount channels_ = 0;
    std::vector<BiquadCoeffs> sections_;
    std::vector<Biquad> state_; ///< sections_.size() per channel
    double maxFitErrorDb_ = 0.0;
};

/// DC and subsonic removal: 4th-order Butterworth high-pass (two sections) at cutoffHz.
class SubsonicFilter {
  public:
    void prepare(double sampleRate, ChannelCount channels, double cutoffHz);
    void reset();
    void process(AudioView block);
    FrameCount latencyFrames() const { return 0; }

  private:
    ChannelCount channels_ = 0;
    Biquad sections_[kMaxChannels][2];
};

} // namespace quack
