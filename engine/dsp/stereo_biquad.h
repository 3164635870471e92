#pragma once
/// Private to engine/dsp: a biquad that filters both channels of a frame at once (the two
/// channels are the two lanes of one 128-bit double vector, so one SSE2 instruction serves L and
/// R), and a scoped flush-to-zero guard. This is the only place in dsp/ that knows about SIMD.
#include "engine/core/audio_buffer.h"
#include "engine/core/biquad.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <span>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif
// The AVX2+FMA kernel is compiled only where GCC/Clang can target it per function (x86-64); it
// is chosen at run time (Cascade::setSections) so the binary still runs on any x86-64, and other
// targets (WebAssembly, ARM) get the portable vector-extension path. -DQUACK_DSP_NO_AVX2 leaves it
// out on x86-64 too (to build what WebAssembly builds).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(QUACK_DSP_NO_AVX2)
#define QUACK_DSP_HAVE_AVX2 1
#include <immintrin.h>
#else
#define QUACK_DSP_HAVE_AVX2 0
#endif

namespace quack::dsp_detail {

/// Two doubles in one vector register: lane 0 = left (or mono), lane 1 = right (0 for mono).
/// GCC/Clang vector extension: element-wise + - * and scalar broadcast are native.
using Vec2d = double __attribute__((vector_size(16)));

inline Vec2d splat(double v) {
    return Vec2d{v, v};
}
/// {a[1], a[0]}: swaps left and right.
inline Vec2d swapLanes(Vec2d a) {
    return Vec2d{a[1], a[0]};
}

/// One biquad section for a stereo (or mono, lane 1 idle) signal, transposed direct form II with
/// double state: y = b0 x + s1; s1' = b1 x - a1 y + s2; s2' = b2 x - a2 y.
/// Coefficients are stored splatted so the per-sample loop does no shuffles.
struct StereoBiquad {
    Vec2d b0 = splat(1.0), b1{}, b2{}, a1{}, a2{};
    Vec2d s1{}, s2{};

    void setCoeffs(const BiquadCoeffs& c) {
        b0 = splat(c.b0);
        b1 = splat(c.b1);
        b2 = splat(c.b2);
        a1 = splat(c.a1);
        a2 = splat(c.a2);
    }
    void reset() { s1 = s2 = Vec2d{}; }
    Vec2d process(Vec2d x) {
        const Vec2d y = b0 * x + s1;
        s1 = b1 * x - a1 * y + s2;
        s2 = b2 * x - a2 * y;
        return y;
    }
};

/// Runs kFrames consecutive frames x[0..kFrames) through every section in turn. Each section's
/// coefficients and state are loaded once per group instead of once per frame (the cascade is
/// bound by those loads and stores, not by arithmetic); per frame the operations and their order
/// are exactly those of StereoBiquad::process, so results do not depend on the grouping.
template <int kFrames> inline void cascadeFrames(std::span<StereoBiquad> sections, Vec2d* x) {
    for (StereoBiquad& s : sections) {
        const Vec2d b0 = s.b0, b1 = s.b1, b2 = s.b2, a1 = s.a1, a2 = s.a2;
        Vec2d s1 = s.s1, s2 = s.s2;
        for (int j = 0; j < kFrames; ++j) {
            const Vec2d in = x[j];
            const Vec2d y = b0 * in + s1;
            s1 = b1 * in - a1 * y + s2;
            s2 = b2 * in - a2 * y;
            x[j] = y;
        }
        s.s1 = s1;
        s.s2 = s2;
    }
}

/// Runs `block` (1 or 2 channels) through the cascade `sections` in place, in groups of four
/// frames (see cascadeFrames). Real-time safe.
inline void processCascade(std::span<StereoBiquad> sections, AudioView block) {
    constexpr int kGroup = 4;
    if (sections.empty() || block.numFrames == 0)
        return;
    float* left = block.channel(0);
    float* right = block.numChannels > 1 ? block.channel(1) : nullptr;
    const FrameCount n = block.numFrames;
    Vec2d x[kGroup];
    FrameCount i = 0;
    for (; i + kGroup <= n; i += kGroup) {
        for (int j = 0; j < kGroup; ++j)
            x[j] = Vec2d{static_cast<double>(left[i + j]),
                         right != nullptr ? static_cast<double>(right[i + j]) : 0.0};
        cascadeFrames<kGroup>(sections, x);
        for (int j = 0; j < kGroup; ++j) {
            left[i + j] = static_cast<float>(x[j][0]);
            if (right != nullptr)
                right[i + j] = static_cast<float>(x[j][1]);
        }
    }
    for (; i < n; ++i) {
        x[0] = Vec2d{static_cast<double>(left[i]),
                     right != nullptr ? static_cast<double>(right[i]) : 0.0};
        cascadeFrames<1>(sections, x);
        left[i] = static_cast<float>(x[0][0]);
        if (right != nullptr)
            right[i] = static_cast<float>(x[0][1]);
    }
}

/// Which kernel Cascade::setSections() picks. Auto: AVX2+FMA when the CPU has both, else the
/// portable one. Tests set Portable to cover that path on an AVX2 machine; not for production.
enum class CascadeKernel { Auto, Portable };
inline CascadeKernel& cascadeKernelOverride() {
    static CascadeKernel kernel = CascadeKernel::Auto;
    return kernel;
}

#if QUACK_DSP_HAVE_AVX2
/// True when the CPU runs AVX2 and FMA (cached; safe before static constructors ran).
inline bool cpuHasAvx2Fma() {
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }();
    return has;
}

#define QUACK_AVX2_FN __attribute__((target("avx2,fma")))
#define QUACK_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

/// Structure-of-arrays biquad coefficients and states, every value splatted over the two lanes
/// of its section: section s occupies doubles [2s, 2s+1], so sections 2p and 2p+1 (a "pair") are
/// one aligned 256-bit load. Transposed direct form II, as StereoBiquad.
template <int kMax> struct CascadeSoa {
    alignas(32) double b0[2 * kMax]{}, b1[2 * kMax]{}, b2[2 * kMax]{}, a1[2 * kMax]{},
        a2[2 * kMax]{}, s1[2 * kMax]{}, s2[2 * kMax]{};

    void setSection(int s, const BiquadCoeffs& c) {
        for (int lane = 0; lane < 2; ++lane) {
            const auto i = static_cast<size_t>(2 * s + lane);
            b0[i] = c.b0;
            b1[i] = c.b1;
            b2[i] = c.b2;
            a1[i] = c.a1;
            a2[i] = c.a2;
        }
    }
};

/// One biquad step with FMA (TDF-II as StereoBiquad, FMA rounding: each fused multiply-add
/// rounds once where the portable path rounds twice):
///   y = b0 x + s1;  s1' = (b1 x + s2) - a1 y;  s2' = b2 x - a2 y.
/// The 128-bit and 256-bit versions perform the same operations per lane, so a frame gets the
/// same bits whichever computes it (block-size invariance). (Substituting y, s1' = (b1 - a1 b0)
/// x + s2 - a1 s1, shortens the recursion to one FMA but measured no faster here: the skewed
/// kernel is bound by FMA throughput, not latency.)
QUACK_AVX2_INLINE __m128d fmaStep(const double* b0, const double* b1, const double* b2,
                                  const double* a1, const double* a2, __m128d x, __m128d& s1,
                                  __m128d& s2) {
    const __m128d y = _mm_fmadd_pd(_mm_load_pd(b0), x, s1);
    s1 = _mm_fnmadd_pd(_mm_load_pd(a1), y, _mm_fmadd_pd(_mm_load_pd(b1), x, s2));
    s2 = _mm_fnmadd_pd(_mm_load_pd(a2), y, _mm_mul_pd(_mm_load_pd(b2), x));
    return y;
}
QUACK_AVX2_INLINE __m256d fmaStep(const double* b0, const double* b1, const double* b2,
                                  const double* a1, const double* a2, __m256d x, __m256d& s1,
                                  __m256d& s2) {
    const __m256d y = _mm256_fmadd_pd(_mm256_load_pd(b0), x, s1);
    s1 = _mm256_fnmadd_pd(_mm256_load_pd(a1), y, _mm256_fmadd_pd(_mm256_load_pd(b1), x, s2));
    s2 = _mm256_fnmadd_pd(_mm256_load_pd(a2), y, _mm256_mul_pd(_mm256_load_pd(b2), x));
    return y;
}

/// Section s of `c`, one stereo frame, state in memory.
template <int kMax>
QUACK_AVX2_INLINE __m128d fmaSectionStep(CascadeSoa<kMax>& c, int s, __m128d x) {
    const int i = 2 * s;
    __m128d s1 = _mm_load_pd(c.s1 + i), s2 = _mm_load_pd(c.s2 + i);
    const __m128d y = fmaStep(c.b0 + i, c.b1 + i, c.b2 + i, c.a1 + i, c.a2 + i, x, s1, s2);
    _mm_store_pd(c.s1 + i, s1);
    _mm_store_pd(c.s2 + i, s2);
    return y;
}

/// Skewed (wavefront) cascade of sections base .. base + 2 kPairs - 1 over n >= 2 kPairs
/// interleaved stereo frames buf[2i], buf[2i+1], in place. At step t section s works on frame
/// t - s, so all sections of a step are independent: pair p holds {section 2p at frame t-2p,
/// section 2p+1 at frame t-2p-1} in one 256-bit register, and the next step's input of pair p
/// is {upper half of pair p-1's output, lower half of pair p's output} (one vperm2f128). The
/// recursions of all sections then overlap in the out-of-order window instead of one section's
/// latency chain bounding the rate. The wavefront's ramp-up and ramp-down triangles (the first
/// and last 2 kPairs - 1 frames) run section by section with fmaSectionStep, so the output has
/// zero latency. kPairs <= 4 keeps states and inputs (3 kPairs registers) in the 16 ymm
/// registers: spilled states would put store-to-load forwarding into every recursion.
template <int kPairs, int kMax>
QUACK_AVX2_FN void fmaSkewedCascade(CascadeSoa<kMax>& c, int base, double* buf, FrameCount n) {
    constexpr int kS = 2 * kPairs;
    alignas(32) double pend[2 * kS]; // pend[2s..2s+1]: the next input of section base + s
    // Ramp-up: frame f goes through sections 0 .. kS-2-f, leaving section kS-1-f's input.
    for (int f = 0; f < kS - 1; ++f) {
        __m128d v = _mm_load_pd(buf + 2 * f);
        for (int s = 0; s <= kS - 2 - f; ++s)
            v = fmaSectionStep(c, base + s, v);
        _mm_store_pd(pend + 2 * (kS - 1 - f), v);
    }
    _mm_store_pd(pend, _mm_load_pd(buf + 2 * (kS - 1)));
    const int o = 2 * base; // double offset of the first section
    __m256d in[kPairs], s1[kPairs], s2[kPairs];
    for (int p = 0; p < kPairs; ++p) {
        in[p] = _mm256_load_pd(pend + 4 * p);
        s1[p] = _mm256_load_pd(c.s1 + o + 4 * p);
        s2[p] = _mm256_load_pd(c.s2 + o + 4 * p);
    }
    for (FrameCount t = kS - 1; t < n; ++t) {
        __m256d y[kPairs];
        for (int p = 0; p < kPairs; ++p) {
            const int i = o + 4 * p;
            y[p] = fmaStep(c.b0 + i, c.b1 + i, c.b2 + i, c.a1 + i, c.a2 + i, in[p], s1[p], s2[p]);
        }
        _mm_store_pd(buf + 2 * (t - kS + 1), _mm256_extractf128_pd(y[kPairs - 1], 1));
        const __m128d next = t + 1 < n ? _mm_load_pd(buf + 2 * (t + 1)) : _mm_setzero_pd();
        in[0] = _mm256_insertf128_pd(_mm256_castpd128_pd256(next), _mm256_castpd256_pd128(y[0]),
                                     1);
        for (int p = 1; p < kPairs; ++p)
            in[p] = _mm256_permute2f128_pd(y[p - 1], y[p], 0x21);
    }
    for (int p = 0; p < kPairs; ++p) {
        _mm256_store_pd(pend + 4 * p, in[p]);
        _mm256_store_pd(c.s1 + o + 4 * p, s1[p]);
        _mm256_store_pd(c.s2 + o + 4 * p, s2[p]);
    }
    // Ramp-down: pend[s] is section base+s's input at frame n - s; finish those frames in order.
    for (FrameCount f = n - kS + 1; f < n; ++f) {
        const auto s0 = static_cast<int>(n - f);
        __m128d v = _mm_load_pd(pend + 2 * s0);
        for (int s = s0; s < kS; ++s)
            v = fmaSectionStep(c, base + s, v);
        _mm_store_pd(buf + 2 * f, v);
    }
}

/// Any n: the skewed kernel when the chunk is long enough, else frame by frame.
template <int kPairs, int kMax>
QUACK_AVX2_FN void fmaCascade(CascadeSoa<kMax>& c, int base, double* buf, FrameCount n) {
    if (n >= 2 * kPairs) {
        fmaSkewedCascade<kPairs>(c, base, buf, n);
        return;
    }
    for (FrameCount i = 0; i < n; ++i) {
        __m128d v = _mm_load_pd(buf + 2 * i);
        for (int s = 0; s < 2 * kPairs; ++s)
            v = fmaSectionStep(c, base + s, v);
        _mm_store_pd(buf + 2 * i, v);
    }
}
#endif

/// A cascade of up to kMax biquads over a stereo (or mono) block, fixed capacity (no
/// allocation after construction). setSections() picks the kernel: AVX2+FMA (pairs of sections
/// in a skewed 256-bit pipeline, see fmaSkewedCascade) when the CPU supports it, else the
/// portable processCascade. Both give output independent of the block partition; they differ
/// from each other by rounding only (FMA rounds once where the portable path rounds twice).
template <int kMax> class Cascade {
    static_assert(kMax % 2 == 0 && kMax <= 16);

  public:
    /// Sets the sections (processing order) and clears the state. Not real-time safe only in
    /// that it queries the CPU; no allocation.
    void setSections(std::span<const BiquadCoeffs> sections) {
        assert(sections.size() <= static_cast<size_t>(kMax));
        count_ = static_cast<int>(sections.size());
        for (int s = 0; s < count_; ++s)
            portable_[static_cast<size_t>(s)].setCoeffs(sections[static_cast<size_t>(s)]);
#if QUACK_DSP_HAVE_AVX2
        useAvx2_ = cascadeKernelOverride() == CascadeKernel::Auto && cpuHasAvx2Fma();
        // An odd count is padded with an identity section (b0 = 1): y = x exactly.
        soa_ = {};
        for (int s = 0; s < kMax; ++s)
            soa_.setSection(s, s < count_ ? sections[static_cast<size_t>(s)]
                                          : BiquadCoeffs::identity());
#endif
        reset();
    }
    void reset() {
        for (auto& s : portable_)
            s.reset();
#if QUACK_DSP_HAVE_AVX2
        std::fill(std::begin(soa_.s1), std::end(soa_.s1), 0.0);
        std::fill(std::begin(soa_.s2), std::end(soa_.s2), 0.0);
#endif
    }
    int size() const { return count_; }
    bool usesAvx2() const { return useAvx2_; }

    /// In place, real-time safe; 1 or 2 channels.
    void process(AudioView block) {
        if (count_ == 0 || block.numFrames == 0)
            return;
#if QUACK_DSP_HAVE_AVX2
        if (useAvx2_) {
            processAvx2(block);
            return;
        }
#endif
        processCascade(std::span<StereoBiquad>(portable_.data(), static_cast<size_t>(count_)),
                       block);
    }

  private:
#if QUACK_DSP_HAVE_AVX2
    static constexpr FrameCount kChunk = 1024; ///< 16 KiB of interleaved doubles, in L1
    QUACK_AVX2_FN void processAvx2(AudioView block) {
        alignas(32) double buf[2 * kChunk];
        float* left = block.channel(0);
        float* right = block.numChannels > 1 ? block.channel(1) : nullptr;
        const int pairs = (count_ + 1) / 2;
        for (FrameCount pos = 0; pos < block.numFrames; pos += kChunk) {
            const FrameCount n = std::min(kChunk, block.numFrames - pos);
            for (FrameCount i = 0; i < n; ++i) {
                buf[2 * i] = static_cast<double>(left[pos + i]);
                buf[2 * i + 1] = right != nullptr ? static_cast<double>(right[pos + i]) : 0.0;
            }
            // Passes of at most kMaxPassPairs pairs (see fmaSkewedCascade), balanced: 6 pairs
            // run as 3 + 3, 7 as 4 + 3. The partition is fixed by the section count, not by
            // the block, so it does not affect block-size invariance.
            const int passes = (pairs + kMaxPassPairs - 1) / kMaxPassPairs;
            int base = 0;
            for (int pass = 0; pass < passes; ++pass) {
                const int passPairs = (pairs - base / 2 + (passes - pass) - 1) / (passes - pass);
                runPairs<1>(passPairs, base, buf, n);
                base += 2 * passPairs;
            }
            for (FrameCount i = 0; i < n; ++i) {
                left[pos + i] = static_cast<float>(buf[2 * i]);
                if (right != nullptr)
                    right[pos + i] = static_cast<float>(buf[2 * i + 1]);
            }
        }
    }
    /// fmaCascade<pairs>, instantiated for 1 .. kMax/2 pairs only.
    static constexpr int kMaxPassPairs = 4;
    template <int kPairs>
    QUACK_AVX2_FN void runPairs(int pairs, int base, double* buf, FrameCount n) {
        if constexpr (kPairs < kMaxPassPairs) {
            if (pairs != kPairs) {
                runPairs<kPairs + 1>(pairs, base, buf, n);
                return;
            }
        }
        fmaCascade<kPairs>(soa_, base, buf, n);
    }
    CascadeSoa<kMax> soa_;
#endif
    int count_ = 0;
    bool useAvx2_ = false;
    std::array<StereoBiquad, kMax> portable_{};
};

} // namespace quack::dsp_detail
