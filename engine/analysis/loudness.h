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

/// Per-frame K-weighted power of a mono or stereo signal: the BS.1770-4 z of one frame before
/// averaging, sum over channels (weights G = 1.0) of the squared K-weighted sample. Double filter
/// state, both channels in the two lanes of one 128-bit vector (SSE2 on x86, simd128 on wasm;
/// lane-wise IEEE operations, no FMA at the baseline target, so a given build gives the same
/// results on every machine). The filters of KWeighting in another structure (DF-I, the
/// high-pass numerator gain g applied to the power as g^2): equal to KWeighting::processSample
/// sums to rounding (tested to 1e-6 relative with the float output). Output is bit-identical for
/// any block split. The LoudnessMeter runs on it.
class KWeightedPower {
  public:
    /// May be called again to change rate or channel count; resets the state. channels: 1 or 2.
    void prepare(double sampleRate, ChannelCount channels);
    /// Clears the filter state (as after prepare).
    void reset();
    /// powerOut[i] (block.numFrames values, linear, full-scale sine -> ~0.5 per channel) =
    /// sum over channels of (K-weighted sample i)^2. Real-time safe; powerOut may not alias block.
    void process(ConstAudioView block, float* powerOut);
    /// As above with double output (no rounding of the per-frame power).
    void process(ConstAudioView block, double* powerOut);
    /// Adds, per channel c, the sum over the block of (K-weighted sample)^2 to sumSquares[c]
    /// (double; each channel's running sum is accumulated in frame order, so the total over a
    /// run is the same for any block split when sumSquares is carried across calls).
    void accumulate(ConstAudioView block, double* sumSquares);
    ChannelCount channels() const { return channels_; }

  private:
    static constexpr int kStateFields = 6;
    KWeighting::Coeffs coeffs_{};
    double powerGain_ = 1.0; ///< g^2 of the high-pass numerator g [1, -2, 1]
    ChannelCount channels_ = 0;
    /// DF-I history per channel: x1, x2 (input), u1, u2 (shelf out), y1, y2 (high-pass out).
    double state_[kStateFields * kMaxChannels]{};
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
