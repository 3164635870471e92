#pragma once
/// Gentle multiband dynamics and per-band stereo width: Linkwitz-Riley (LR4) crossovers whose
/// bands sum to an all-pass, a linked-stereo feed-forward compressor per band, and mid/side
/// width per band (the lowest band can be made mono-safe).
#include "engine/core/audio_buffer.h"

#include <memory>
#include <vector>

namespace quack {

struct BandDynamics {
    double thresholdDb = 0.0; ///< dBFS of the band's detector (RMS-ish) where compression starts
    double ratio = 1.0;       ///< >= 1; 1 = no compression
    double kneeDb = 6.0;      ///< soft-knee width
    double attackMs = 20.0;
    double releaseMs = 200.0;
    double makeupDb = 0.0;
    double width = 1.0;       ///< side gain for this band (0 = mono, 1 = unchanged, >1 wider)
};

struct MultibandParams {
    std::vector<double> crossoverHz;  ///< ascending, N-1 entries for N bands
    std::vector<BandDynamics> bands;  ///< N entries
};

struct BandStats {
    double maxGainReductionDb = 0.0;
    double meanGainReductionDb = 0.0; ///< over all frames
};

class MultibandProcessor {
  public:
    MultibandProcessor();
    ~MultibandProcessor();
    MultibandProcessor(MultibandProcessor&&) noexcept;
    MultibandProcessor& operator=(MultibandProcessor&&) noexcept;

    /// Allocates for blocks of up to maxBlockFrames.
    void prepare(double sampleRate, ChannelCount channels, FrameCount maxBlockFrames,
                 const MultibandParams& params);
    void reset();
    /// In place, real-time safe, any block size up to maxBlockFrames; zero latency.
    void process(AudioView block);
    FrameCount latencyFrames() const { return 0; }
    std::vector<BandStats> stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
