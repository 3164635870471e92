#include "engine/io/dither.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

// The 8-lane helpers below take and return 32-byte vectors; they are always inlined into the
// one AVX2 function, so no call ever crosses the ABI difference GCC warns about.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace quack {
namespace {

/// splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer; used only per
/// stream and per 2^32 samples to derive the 32-bit keys below.
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

/// Two 32-bit keys for the samples whose index has high word `hi` (one pair per 2^32 samples).
struct Keys {
    std::uint32_t k1, k2;
};
Keys keysFor(std::uint64_t stream, std::uint32_t hi) {
    const std::uint64_t k = mix(stream + hi);
    return {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)};
}

// Two different 32-bit integer hashes (C. Wellons' "hash prospector" lowbias32 and its
// [16 21f0aaad 15 d35a2d97 15] sibling): bijective xorshift-multiply chains with low avalanche
// bias, written once for scalars and vectors (identical integer results) so the noise of a
// block is generated with vector instructions and equals noiseLsb().
template <class U> [[gnu::always_inline]] inline U hashA(const U& in) {
    U x = in;
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}
template <class U> [[gnu::always_inline]] inline U hashB(const U& in) {
    U x = in;
    x ^= x >> 16;
    x *= 0x21f0aaadU;
    x ^= x >> 15;
    x *= 0xd35a2d97U;
    x ^= x >> 15;
    return x;
}

/// TPDF noise in units of 2^-24 LSB: n = u1 + u2 - (2^24 - 1) with u1, u2 the top 24 bits of
/// the two hashes, an integer in [-(2^24 - 1), 2^24 - 1], symmetric about 0, so the noise in
/// LSB, n 2^-24, lies in (-1, 1).
constexpr double kNoiseUnit = 1.0 / 16777216.0; // 2^-24

/// W-lane vectors (GCC/Clang vector extension: SSE2 / wasm simd128 for W = 4, AVX2 for W = 8).
/// (Explicit specialisations: GCC drops vector_size on a value-dependent alias.)
template <int W> struct Lanes;
template <> struct Lanes<4> {
    using U = std::uint32_t __attribute__((vector_size(16)));
    using I = std::int32_t __attribute__((vector_size(16)));
    using F = float __attribute__((vector_size(16)));
};
template <> struct Lanes<8> {
    using U = std::uint32_t __attribute__((vector_size(32)));
    using I = std::int32_t __attribute__((vector_size(32)));
    using F = float __attribute__((vector_size(32)));
};

/// Quantisation constants for one word length (all exact in float: powers of two and integers
/// below 2^24).
struct Grid {
    float scale, invScale, lo, hi;
};

/// Dithers and quantises W samples whose first has stream index `lo` (low word; keys `k`):
/// y = clamp(floor(x * 2^(bits-1) + d + 0.5), lo, hi) / 2^(bits-1), exact zero -> +0.
///
/// Exact integer arithmetic instead of a rounded floating-point sum (a float sum x s + d would
/// round d to 0.5 LSB for |x| >= 0.5 at 24 bits): with xs = x s (exact: s is a power of two),
/// xs clamped to [lo - 2, hi + 2] (integers < 2^24, exact), k0 = floor(xs) and f = xs - k0 in
/// [0, 1) (both exact in float), and d = n 2^-24 with integer n:
///   floor(xs + d + 0.5) = k0 + floor((f 2^24 + n + 2^23) / 2^24)
///                       = k0 + ((floor(f 2^24) + n + 2^23) >> 24)   (n + 2^23 is an integer)
/// where f 2^24 < 2^24 is exact in float and the int32 sum cannot overflow (|.| < 2^26). So the
/// output is the correctly rounded grid value of the exact x s + d, for every x and bits <= 24,
/// and every lane width gives identical results. NaN inputs (rejected earlier by the reader)
/// become the lowest grid value rather than undefined behaviour.
/// In place on v (references: 32-byte vectors are not passed by value outside AVX code). Always
/// inlined, so the AVX2 caller compiles it with AVX2.
template <int W>
[[gnu::always_inline]] inline void ditherLanes(typename Lanes<W>::F& v, const typename Lanes<W>::U& index, Keys k,
                                               const Grid& g) {
    using U = typename Lanes<W>::U;
    using I = typename Lanes<W>::I;
    using F = typename Lanes<W>::F;
    const U u1 = hashA<U>(index + k.k1) >> 8, u2 = hashB<U>(index + k.k2) >> 8;
    const I n = __builtin_convertvector(u1 + u2, I) - 0xFFFFFF; // u1 + u2 < 2^25: no wrap
    const F zero{}, x = v;
    F xs = x * g.scale;
    const F lo2 = zero + (g.lo - 2.0f), hi2 = zero + (g.hi + 2.0f);
    xs = xs > lo2 ? xs : lo2; // NaN -> lo2
    xs = xs < hi2 ? xs : hi2;
    I k0 = __builtin_convertvector(xs, I); // truncation, in range after the clamp
    k0 += (__builtin_convertvector(k0, F) > xs); // -1 where truncation rounded up: floor
    const F f = xs - __builtin_convertvector(k0, F);
    const I fi = __builtin_convertvector(f * 16777216.0f, I);
    const I q = k0 + ((fi + n + 0x800000) >> 24);
    F y = __builtin_convertvector(q, F);
    const F lo = zero + g.lo, hi = zero + g.hi;
    y = y > lo ? y : lo;
    y = y < hi ? y : hi;
    y *= g.invScale;
    v = x == zero ? zero : y; // auto-mute (also -0.0 -> +0.0)
}

constexpr FrameCount kChunk = 256;

/// Dithers x[0..n) whose first sample has stream index `index`; n <= kChunk and the chunk does
/// not cross a multiple of 2^32 samples (one key pair). The partial last vector goes through a
/// padded copy, so every sample sees the same operations whatever the block size.
template <int W>
[[gnu::always_inline]] inline void ditherChunkT(float* x, FrameCount n, std::uint64_t stream, std::uint64_t index, const Grid& g) {
    using U = typename Lanes<W>::U;
    using F = typename Lanes<W>::F;
    const Keys k = keysFor(stream, static_cast<std::uint32_t>(index >> 32));
    const Grid gl = g;
    std::uint32_t first[W];
    for (int j = 0; j < W; ++j)
        first[j] = static_cast<std::uint32_t>(index) + static_cast<std::uint32_t>(j);
    U idx;
    std::memcpy(&idx, first, sizeof idx);
    FrameCount i = 0;
    for (; i + W <= n; i += W) {
        F v;
        std::memcpy(&v, x + i, sizeof v);
        ditherLanes<W>(v, idx, k, gl);
        std::memcpy(x + i, &v, sizeof v);
        idx += static_cast<std::uint32_t>(W);
    }
    if (i < n) {
        F v{};
        const auto rest = static_cast<size_t>(n - i);
        std::memcpy(&v, x + i, rest * sizeof(float));
        ditherLanes<W>(v, idx, k, gl);
        std::memcpy(x + i, &v, rest * sizeof(float));
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
/// AVX2 build of the same code (8 lanes), chosen at run time; bit-identical to the SSE2 one.
__attribute__((target("avx2"))) void ditherChunkAvx2(float* x, FrameCount n, std::uint64_t stream,
                                                     std::uint64_t index, const Grid& g) {
    ditherChunkT<8>(x, n, stream, index, g);
}
bool hasAvx2() {
    static const bool yes = __builtin_cpu_supports("avx2");
    return yes;
}
#endif

void ditherChunk(float* x, FrameCount n, std::uint64_t stream, std::uint64_t index, const Grid& g) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (hasAvx2()) {
        ditherChunkAvx2(x, n, stream, index, g);
        return;
    }
#endif
    ditherChunkT<4>(x, n, stream, index, g);
}

} // namespace

double Ditherer::noiseLsb(std::uint64_t seed, ChannelCount channel, std::uint64_t index) {
    // The scalar form of ditherLanes' noise: identical integer operations.
    const Keys k = keysFor(streamKey(seed, channel), static_cast<std::uint32_t>(index >> 32));
    const auto lo = static_cast<std::uint32_t>(index);
    const std::uint32_t u1 = hashA(lo + k.k1) >> 8, u2 = hashB(lo + k.k2) >> 8;
    const std::int32_t n = static_cast<std::int32_t>(u1 + u2) - 0xFFFFFF;
    return static_cast<double>(n) * kNoiseUnit;
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
    Grid g{};
    g.scale = std::ldexp(1.0f, bits_ - 1);
    g.invScale = 1.0f / g.scale;
    g.lo = -g.scale;
    g.hi = g.scale - 1.0f;
    for (ChannelCount c = 0; c < channels_; ++c) {
        float* x = block.channel(c);
        std::uint64_t& n = state_[c];
        const std::uint64_t stream = streamKey(seed_, c);
        for (FrameCount done = 0; done < block.numFrames;) {
            // Chunks never straddle a multiple of 2^32 samples (the keys change there).
            const std::uint64_t toWrap = (std::uint64_t{1} << 32) - (n & 0xFFFFFFFFull);
            const auto m = static_cast<FrameCount>(
                std::min<std::uint64_t>({static_cast<std::uint64_t>(block.numFrames - done),
                                         static_cast<std::uint64_t>(kChunk), toWrap}));
            ditherChunk(x + done, m, stream, n, g);
            done += m;
            n += static_cast<std::uint64_t>(m);
        }
    }
}

} // namespace quack
