#pragma once
/// Streaming true-peak detection (ITU-R BS.1770-4 Annex 2): polyphase interpolation of one
/// channel. Used by the meter (max over the file) and by the limiter's sidechain (per frame).
#include "engine/core/types.h"

#include <memory>

namespace quack {

/// Which interpolation the detector runs.
enum class TruePeakDesign {
    /// 8x, steep windowed-sinc: accurate to ~0.14 dB worst case (0.45 fs), the meter we report.
    Accurate8x,
    /// 4x with a short (49-tap) Hann-windowed sinc, like libebur128: over-reads dense full-band
    /// material by a few tenths of a dB. Modelled so the limiter can also satisfy such meters.
    Ebur128Style4x,
    /// max(Accurate8x, Ebur128Style4x, Wideband8x), time-aligned: the limiter sidechain.
    /// Never below either meter it models, nor below the ideal (sinc) reconstruction up to
    /// 0.49 fs to within the 8x grid; reads high for content above ~0.41 fs.
    Strict,
    /// 8x with a cut-off above fs/2 (0.54 fs): flat to 0.49 fs where Accurate8x rolls off, at
    /// the price of reading high (up to +6 dB) for content above ~0.41 fs. Part of Strict.
    Wideband8x,
};

/// One channel. prepare() allocates; process() is real-time safe (no allocation, lock or I/O).
/// On x86-64 CPUs with AVX-512 (F/VL/DQ/BW) and FMA, or else AVX2 and FMA, prepare() selects
/// fused multiply-add kernels: the values are then the same for every block size on that
/// machine, but may differ in the last bits from the other kernels used elsewhere.
class TruePeakDetector {
  public:
    TruePeakDetector();
    ~TruePeakDetector();
    TruePeakDetector(TruePeakDetector&&) noexcept;
    TruePeakDetector& operator=(TruePeakDetector&&) noexcept;

    void prepare(double sampleRate, TruePeakDesign design);
    void reset();

    /// For each input frame i, peakOut[i] >= max |x(t)| of the band-limited waveform over the
    /// interval (i - latency - 1, i - latency] (in input frames) and >= |x[i - latency]|, i.e.
    /// peak values lag the input by latencyFrames(). Frames whose cheap upper bound is
    /// <= exactAbove may report that bound instead of the exact value (still an upper bound);
    /// pass 0 (or less) to get exact values everywhere, which also skips computing the bounds
    /// (the cheapest mode). exactAbove may change from call to call. Linear amplitude, not dB.
    void process(const float* in, float* peakOut, FrameCount numFrames, float exactAbove = 0.0f);

    /// Delay, in input frames, between a sample entering and its peak being reported:
    /// Accurate8x 17, Ebur128Style4x 5, Wideband8x and Strict 19. Independent of the rate.
    FrameCount latencyFrames() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack
