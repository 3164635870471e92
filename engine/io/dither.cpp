#include "engine/io/dither.h"

#include <algorithm>
#include <cmath>

namespace quack {
namespace {

/// splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer whose outputs for
/// consecutive inputs pass BigCrush, which makes it a good counter-based generator.
std::uint64_t mix(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// The per-channel stream key: depends only on the seed and the channel.
std::uint64_t streamKey(std::uint64_t seed, ChannelCount channel) {
    return mix(seed ^ mix(static_cast<std::uint64_t>(channel) + 1));
}

/// TPDF noise in LSB for counter `index` of a stream.
double noiseFromStream(std::uint64_t stream, std::uint64_t index) {
    const std::uint64_t h = mix(stream + index);
    // Two independent 32-bit uniforms on [0, 1), each shifted to [-0.5, 0.5).
    constexpr double kScale = 1.0 / 4294967296.0;
    const double u1 = static_cast<double>(h >> 32) * kScale - 0.5;
    const double u2 = static_cast<double>(h & 0xFFFFFFFFull) * kScale - 0.5;
    return u1 + u2;
}

} // namespace

double Ditherer::noiseLsb(std::uint64_t seed, ChannelCount channel, std::uint64_t index) {
    return noiseFromStream(streamKey(seed, channel), index);
}

void Ditherer::prepare(int bits, ChannelCount channels, std::uint64_t seed) {
    assert(bits == 0 || (bits >= 2 && bits <= 24));
    assert(channels >= 0 && channels <= kMaxChannels);
    bits_ = bits;
    channels_ = channels;
    seed_ = seed;
    reset();
}

void Ditherer::reset() {
    for (auto& s : state_)
        s = 0;
}

void Ditherer::process(AudioView block) {
    assert(block.numChannels == channels_);
    if (bits_ == 0)
        return;
    // y = round(x * 2^(bits-1) + d), clamped to [-2^(bits-1), 2^(bits-1) - 1], divided back.
    const double scale = std::ldexp(1.0, bits_ - 1);
    const double invScale = 1.0 / scale;
    const double lo = -scale, hi = scale - 1.0;
    for (ChannelCount c = 0; c < channels_; ++c) {
        float* x = block.channel(c);
        std::uint64_t& n = state_[c];
        const std::uint64_t stream = streamKey(seed_, c);
        for (FrameCount i = 0; i < block.numFrames; ++i, ++n) {
            if (x[i] == 0.0f) {
                x[i] = 0.0f; // auto-mute; also turns -0.0 into +0.0
                continue;
            }
            const double v = static_cast<double>(x[i]) * scale + noiseFromStream(stream, n);
            const double k = std::clamp(std::floor(v + 0.5), lo, hi);
            x[i] = static_cast<float>(k * invScale);
        }
    }
}

} // namespace quack
