#pragma once
/// Private to engine/dsp: a biquad that filters both channels of a frame at once (the two
/// channels are the two lanes of one 128-bit double vector, so one SSE2 instruction serves L and
/// R), and a scoped flush-to-zero guard. This is the only place in dsp/ that knows about SIMD.
#include "engine/core/audio_buffer.h"
#include "engine/core/biquad.h"

#include <span>

#if defined(__SSE2__)
#include <xmmintrin.h>
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



} // namespace quack::dsp_detail
