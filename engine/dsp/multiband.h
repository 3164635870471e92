#pragma once
/// Gentle multiband dynamics and per-band stereo width: Linkwitz-Riley (LR4) crossovers whose
/// bands sum to an all-pass, a linked-stereo feed-forward compressor per band, and mid/side
/// width per band (the lowest band can be made mono-safe).
#include "engine/core/audio_buffer.h"

#include <memory>
#include <vector>

namespace quack {

/// Per-band settings. Units and meanings, precisely (design and maths in multiband.cpp):
/// - the detector is the mean square over channels (linked stereo) with a time constant of
///   clamp(min(attackMs/4, releaseMs/10), 1, 5) ms, read in dB re a full-scale sine: a steady
///   sine of amplitude a in both channels reads 20 log10(a) (in one channel of two: 3 dB less);
/// - above threshold + knee/2 the static gain reduction is (level - threshold)(1 - 1/ratio);
///   inside the knee it is quadratic (Giannoulis et al. 2012, eq. 4);
/// - attackMs/releaseMs are the time constants of the gain reduction in dB (a step reaches 63 %
///   of its change in about that time, plus ~1-2 ms of detector lag);
/// - width is applied as M/S: L' = M + width S, R' = M - width S; ignored for mono.
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

/// Gain reduction is positive dB and excludes makeup; counted since prepare() or reset().
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

    /// At most kMaxBands bands.
    static constexpr int kMaxBands = 6;

    /// Allocates for blocks of up to maxBlockFrames.
    /// Asserted (programmer errors): channels 1 or 2, bands.size() == crossoverHz.size() + 1 <=
    /// kMaxBands, crossovers ascending, ratio >= 1. Crossovers are clamped into
    /// [10 Hz, 0.42 fs] (e.g. an 8 kHz crossover at fs = 8 kHz), keeping the band count.
    void prepare(double sampleRate, ChannelCount channels, FrameCount maxBlockFrames,
                 const MultibandParams& params);
    /// Clears filter, detector and gain state and the stats (no allocation).
    void reset();
    /// In place, real-time safe, any block size up to maxBlockFrames; zero latency.
    void process(AudioView block);
    FrameCount latencyFrames() const { return 0; }
    /// One entry per band, lowest first. Allocates (call outside the audio thread).
    std::vector<BandStats> stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
