#pragma once
/// TPDF dither and quantisation to a word length (seeded, deterministic, block-size invariant).
#include "engine/core/audio_buffer.h"

#include <cstdint>

namespace quack {

/// Adds triangular (TPDF, +-1 LSB peak) dither and rounds to `bits`-bit grid, clamping to
/// [-1, 1 - 2^-(bits-1)]. Output samples are exactly k / 2^(bits-1) as floats. The noise
/// sequence depends only on the seed and the sample index, not on block sizes.
class Ditherer {
  public:
    void prepare(int bits, ChannelCount channels, std::uint64_t seed);
    void reset();
    void process(AudioView block);
    int bits() const { return bits_; }

  private:
    int bits_ = 24;
    ChannelCount channels_ = 0;
    std::uint64_t seed_ = 0;
    std::uint64_t state_[kMaxChannels]{};
};

} // namespace quack
