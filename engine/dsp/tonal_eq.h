#pragma once
/// Smooth, bounded tonal correction: a target gain curve (dB at fractional-octave centres)
/// realised as a cascade of minimum-phase biquads fitted by least squares.
#include "engine/core/audio_buffer.h"
#include "engine/core/biquad.h"
#include "engine/dsp/stereo_biquad.h"

#include <vector>

namespace quack {

/// Desired EQ: gainDb[i] at centerHz[i] (ascending). Between points the curve is interpolated
/// on a log-frequency axis; outside it is held.
struct TonalCurve {
    std::vector<double> centerHz;
    std::vector<double> gainDb;
};

/// Cascade of at most kMaxSections minimum-phase biquads (a low shelf, peaking sections at
/// octave centres, a high shelf) whose gains are fitted to the curve; design notes and maths in
/// tonal_eq.cpp. Zero latency. An all-zero curve gives no sections: bit-exact pass-through.
class TonalEq {
  public:
    /// Upper bound on sections (low shelf + 10 octave peaks + high shelf).
    static constexpr int kMaxSections = 12;

    /// Fits the sections to `curve` (allocates). Frequencies above 0.45 fs are ignored.
    /// `curve` must have equal-length vectors, ascending finite centres > 0 and finite gains
    /// (asserted: the caller builds it). channels is 1 or 2.
    void prepare(double sampleRate, ChannelCount channels, const TonalCurve& curve);
    /// As above, and puts a 4th-order Butterworth high-pass at highPassHz (exactly
    /// SubsonicFilter's two sections, same clamp to 0.4 fs) at the front of the same cascade, so
    /// one pass does what SubsonicFilter then TonalEq do (equal within float rounding: the
    /// intermediate signal is not rounded to float). highPassHz <= 0: no high-pass, identical to
    /// the 3-argument prepare(). sections() and maxFitErrorDb() still describe the EQ only;
    /// responseDb() includes the high-pass.
    void prepare(double sampleRate, ChannelCount channels, const TonalCurve& curve,
                 double highPassHz);
    /// Clears the filter state (no allocation).
    void reset();
    /// In place, real-time safe (no allocation, lock or I/O), any block size; channel count as
    /// prepared.
    void process(AudioView block);
    /// The realised response in dB at `hz` (EQ sections and the high-pass, if any).
    double responseDb(double hz) const;
    /// Worst |realised - target| over the curve's points, dB.
    /// Counts the points in 40 Hz..16 kHz (and below 0.45 fs), the band the fit is weighted
    /// for; above 16 kHz bilinear cramping near Nyquist (at 44.1/48 kHz) can leave 1-2 dB.
    double maxFitErrorDb() const { return maxFitErrorDb_; }
    FrameCount latencyFrames() const { return 0; }
    /// The designed EQ sections, in processing order (empty for a flat curve); the high-pass
    /// sections, if any, run before them and are not listed.
    const std::vector<BiquadCoeffs>& sections() const { return sections_; }

  private:
    double sampleRate_ = 48000.0;
    ChannelCount channels_ = 0;
    /// High-pass (2) + EQ sections; even, as the AVX2 kernel runs sections in pairs.
    static constexpr int kMaxCascade = kMaxSections + 2;

    double eqResponseDb(double hz) const;

    std::vector<BiquadCoeffs> sections_;
    BiquadCoeffs highPass_[2]{};
    bool hasHighPass_ = false;
    dsp_detail::Cascade<kMaxCascade> cascade_; ///< high-pass then EQ; lanes = channels
    double maxFitErrorDb_ = 0.0;
};

/// DC and subsonic removal: 4th-order Butterworth high-pass (two sections) at cutoffHz.
/// H(s) = 1 / ((s^2/w^2 + s/(0.5412 w) + 1)(s^2/w^2 + s/(1.3066 w) + 1)) with s -> w/s, i.e.
/// Q_k = 1 / (2 cos((2k-1) pi / 8)); bilinear transform pre-warped at the cutoff, so the digital
/// filter is exactly -3.01 dB at cutoffHz at every sample rate. Zero latency.
class SubsonicFilter {
  public:
    /// cutoffHz <= 0 disables the filter (bit-exact pass-through); otherwise it is clamped to
    /// at most 0.4 fs. channels is 1 or 2.
    void prepare(double sampleRate, ChannelCount channels, double cutoffHz);
    /// Clears the filter state (no allocation).
    void reset();
    /// In place, real-time safe, any block size; channel count as prepared.
    void process(AudioView block);
    FrameCount latencyFrames() const { return 0; }
    /// The realised response in dB at `hz` (0 dB when disabled).
    double responseDb(double hz) const;

  private:
    double sampleRate_ = 48000.0;
    ChannelCount channels_ = 0;
    bool enabled_ = false;
    BiquadCoeffs coeffs_[2];
    dsp_detail::StereoBiquad sections_[2]; ///< lanes = channels
};

} // namespace quack
