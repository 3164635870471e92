#pragma once
/// ITU-R BS.1770-4 loudness (K-weighting, gating) and EBU Tech 3342 loudness range.
#include "engine/core/audio_buffer.h"
#include "engine/core/biquad.h"

#include <limits>
#include <memory>
#include <span>
#include <vector>

namespace quack {

/// Reported for loudness of silence or of signals entirely below the absolute gate.
inline constexpr double kSilenceLufs = -std::numeric_limits<double>::infinity();

/// The two K-weighting biquads for one channel at any sample rate (pre-warped bilinear
/// transform of the standard's analogue prototypes). Real-time safe.
class KWeighting {
  public:
    /// The two sections of BS.1770-4 Tables 1-2 re-derived for `sampleRate` (Hz): a high shelf
    /// (+4 dB above ~1.7 kHz) then the RLB high-pass (~38 Hz). At 48 kHz these are the standard's
    /// coefficients (high-pass numerator [1, -2, 1]); at other rates the high-pass numerator is
    /// g [1, -2, 1], g keeping the 48 kHz passband gain (+0.043 dB) that the -0.691 offset assumes.
    struct Coeffs {
        BiquadCoeffs shelf, highPass;
    };
    static Coeffs coefficients(double sampleRate);

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

    /// Frames per 100 ms hop: round(0.1 * sampleRate). Where 0.1 * fs is not an integer (e.g.
    /// 11025 Hz -> 1102.5 -> 1103) every hop, and so every 400 ms / 3 s window, is that many
    /// frames: windows differ from nominal by at most 0.5 frame per hop (< 0.05 %), and hop
    /// boundaries (exact multiples of hopFrames()) never drift against the sample clock.
    /// libebur128 rounds the same way ((fs + 5) / 10).
    static FrameCount hopFramesFor(double sampleRate);
    FrameCount hopFrames() const;
    /// Short-term loudness (3 s window, LUFS) at every hop boundary from 3 s on, as used for LRA.
    std::vector<double> shortTermHistoryLufs() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
