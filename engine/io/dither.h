#pragma once
/// TPDF dither and quantisation to a word length (seeded, deterministic, block-size invariant).
#include "engine/core/audio_buffer.h"

#include <cstdint>

namespace quack {

/// Adds triangular (TPDF, +-1 LSB peak) dither and rounds to `bits`-bit grid, clamping to
/// [-1, 1 - 2^-(bits-1)]. Output samples are exactly k / 2^(bits-1) as floats. The noise
/// sequence depends only on the seed and the sample index, not on block sizes.
///
/// Noise for sample n of channel c is noiseLsb(seed, c, n) = u1 + u2 with u1, u2 independent
/// uniform on 2^24 equally spaced points symmetric about 0 in (-0.5, 0.5) LSB, each the top 24
/// bits of a counter-based 32-bit hash of (key, low 32 bits of n), the keys a splitmix64 hash of
/// (seed, channel, high 32 bits of n): variance 2 * (1/12) = 1/6 LSB^2 (to 1e-14), range (-1, 1)
/// LSB, mean exactly 0. Generated a block at a time with vector integer maths.
///
/// Digital silence stays silence (auto-mute): an input sample that is exactly 0.0 is output as
/// exactly 0.0, undithered (0 is on every grid, so its quantisation error is zero anyway). Every
/// other sample is dithered, so after rounding a quiet non-zero input may become 0 or +-1 LSB.
///
/// bits == 0 means "no quantisation" (float and MP3 outputs): process() leaves samples alone.
/// Real-time safe: no allocation, locks or I/O.
class Ditherer {
  public:
    /// bits: 0, or the word length 2..24 (a float holds k / 2^(bits-1) exactly up to 24).
    void prepare(int bits, ChannelCount channels, std::uint64_t seed);
    /// Back to sample index 0 (the same noise sequence again).
    void reset();
    void process(AudioView block);
    int bits() const { return bits_; }

    /// The TPDF dither value, in LSB, for sample `index` of `channel` (range (-1, 1)).
    static double noiseLsb(std::uint64_t seed, ChannelCount channel, std::uint64_t index);

  private:
    int bits_ = 24;
    ChannelCount channels_ = 0;
    std::uint64_t seed_ = 0;
    std::uint64_t state_[kMaxChannels]{}; ///< per channel: index of the next sample
};

} // namespace quack
