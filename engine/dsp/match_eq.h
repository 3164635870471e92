#pragma once
/// Reference-matching EQ: fine-resolution magnitude curves, one for the mid (L+R)/2 and one for
/// the side (L-R)/2, realised as minimum-phase FIR filters and run by FFT overlap-save.
///
/// Why not TonalEq: its dozen octave-spaced biquads fit smooth curves, but matching another
/// record's long-term spectrum to within 1 dB RMS on third-octave bands needs third-octave
/// detail, and mid and side need different curves (width is the side level relative to the
/// mid, band by band).
#include "engine/core/audio_buffer.h"

#include <memory>
#include <vector>

namespace quack {

/// Gains in dB at ascending centre frequencies; between points the curve is interpolated on a
/// log-frequency axis, outside it is held.
struct MatchCurves {
    std::vector<double> centerHz;
    std::vector<double> midGainDb;
    std::vector<double> sideGainDb; ///< ignored for mono
};

class MatchEq {
  public:
    MatchEq();
    ~MatchEq();
    MatchEq(MatchEq&&) noexcept;
    MatchEq& operator=(MatchEq&&) noexcept;

    /// Designs the filters and allocates (FFTW plans are made under the engine's planner
    /// lock, so this is safe to call from several threads). Curves must have equal lengths,
    /// ascending finite centres > 0 and finite gains (asserted). channels is 1 or 2; for mono
    /// only the mid curve applies.
    void prepare(double sampleRate, ChannelCount channels, const MatchCurves& curves);
    /// Clears the delay lines (no allocation).
    void reset();
    /// In place, real-time safe (no allocation, lock or I/O), any block size. The output is
    /// delayed by latencyFrames(): callers that need alignment drop that many frames at the
    /// start and flush as many zeros at the end. Output does not depend on how the stream is
    /// cut into blocks.
    void process(AudioView block);
    /// The overlap-save partition length, frames (filterLength()).
    FrameCount latencyFrames() const;
    /// FIR length, frames: the next power of two >= sampleRate / 6, so the frequency
    /// resolution (fs / length) is finer than 6 Hz, under a third of the 31.5 Hz band's width.
    FrameCount filterLength() const;
    /// The realised magnitude response of lane 0 (mid) or 1 (side) at hz, dB (a direct DFT of
    /// the designed impulse response; for tests and the report, not real-time).
    double responseDb(int lane, double hz) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
