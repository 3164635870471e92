#pragma once
/// ITU-R BS.1770-4 loudness (K-weighting, gating) and EBU Tech 3342 loudness range.
#include "engine/core/audio_buffer.h"

#include <limits>
#include <memory>
#include <span>

namespace quack {

/// Reported for loudness of silence or of signals entirely below the absolute gate.
inline constexpr double kSilenceLufs = -std::numeric_limits<double>::infinity();

/// The two K-weighting biquads for one channel at any sample rate (pre-warped bilinear
/// transform of the standard's analogue prototypes). Real-time safe.
class KWeighting {
  public:
    void prepare(double sampleRate);
    void reset();
    double processSample(double x);

  private:
    struct State {
        double b0, b1, b2, a1, a2, s1, s2;
    };
    State shelf_{}, highPass_{};
};

/// Gated integrated loudness (BS.1770-4 s.2.8) from 100 ms hop energies: hopEnergies[k] is the
/// channel-weighted sum of mean-square K-weighted samples over hop k; each 400 ms gating block is
/// the mean of four consecutive hops. Returns kSilenceLufs when every block is gated out.
double gatedIntegratedLoudness(std::span<const double> hopEnergies);

/// Streaming loudness meter: integrated, LRA (short-term sampled every 100 ms, Tech 3342),
/// max momentary and max short-term. Memory grows by one double per 100 ms (~288 KB for 3 h).
class LoudnessMeter {
  public:
    LoudnessMeter(double sampleRate, ChannelCount channels);
    ~LoudnessMeter();
    LoudnessMeter(LoudnessMeter&&) noexcept;
    LoudnessMeter& operator=(LoudnessMeter&&) noexcept;

    void process(ConstAudioView block);
    void reset();

    double integratedLufs() const;
    double loudnessRangeLu() const;
    double maxMomentaryLufs() const;
    double maxShortTermLufs() const;
    /// Hop energies so far (see gatedIntegratedLoudness).
    std::span<const double> hopEnergies() const;
    FrameCount framesProcessed() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
