#pragma once
/// Private to engine/analysis: 128-bit vector helpers (GCC/Clang vector extensions, SSE2 baseline)
/// for the Analyzer's reductions. Plain lane-wise IEEE operations in a fixed order: results are
/// deterministic and do not depend on the caller's block size when fed fixed-size chunks.
#include "engine/core/types.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace quack::detail {

using Float4 = float __attribute__((vector_size(16)));
using Float2 = float __attribute__((vector_size(8)));
using Double2 = double __attribute__((vector_size(16)));
using Int4 = std::int32_t __attribute__((vector_size(16)));

inline Float4 load4(const float* p) {
    Float4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline Float4 abs4(Float4 v) {
    const Int4 mask = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    return std::bit_cast<Float4>(std::bit_cast<Int4>(v) & mask);
}
inline Float4 max4(Float4 a, Float4 b) { return a > b ? a : b; }
inline float hmax(Float4 v) { return std::max(std::max(v[0], v[1]), std::max(v[2], v[3])); }
inline double hsum(Double2 v) { return v[0] + v[1]; }
/// Lanes 0-1 / 2-3 of v widened to double (cvtps2pd).
inline Double2 lowToDouble(Float4 v) { return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), Double2); }
inline Double2 highToDouble(Float4 v) { return __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), Double2); }

/// max over i < n of |x[i]| (0 for n == 0).
inline float maxAbs(const float* x, FrameCount n) {
    Float4 m0 = {}, m1 = {};
    FrameCount i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = max4(m0, abs4(load4(x + i)));
        m1 = max4(m1, abs4(load4(x + i + 4)));
    }
    float m = hmax(max4(m0, m1));
    for (; i < n; ++i) {
        const float a = x[i] < 0.0f ? -x[i] : x[i];
        m = a > m ? a : m;
    }
    return m;
}

/// max over i < n of x[i], for non-negative x (0 for n == 0).
inline float maxNonNegative(const float* x, FrameCount n) {
    Float4 m0 = {}, m1 = {};
    FrameCount i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = max4(m0, load4(x + i));
        m1 = max4(m1, load4(x + i + 4));
    }
    float m = hmax(max4(m0, m1));
    for (; i < n; ++i)
        m = x[i] > m ? x[i] : m;
    return m;
}

/// Sum x, sum x^2 (double accumulation of exact float->double values) and max |x| of n samples.
struct ChannelSums {
    double sum = 0.0, sumSq = 0.0;
    float peak = 0.0f;
};
inline ChannelSums channelSums(const float* x, FrameCount n) {
    Double2 s0 = {}, s1 = {}, q0 = {}, q1 = {};
    Float4 pk = {};
    FrameCount i = 0;
    for (; i + 4 <= n; i += 4) {
        const Float4 v = load4(x + i);
        const Double2 a = lowToDouble(v), b = highToDouble(v);
        s0 += a;
        s1 += b;
        q0 += a * a;
        q1 += b * b;
        pk = max4(pk, abs4(v));
    }
    ChannelSums r{hsum(s0 + s1), hsum(q0 + q1), hmax(pk)};
    for (; i < n; ++i) {
        const auto v = static_cast<double>(x[i]);
        r.sum += v;
        r.sumSq += v * v;
        const float a = x[i] < 0.0f ? -x[i] : x[i];
        r.peak = a > r.peak ? a : r.peak;
    }
    return r;
}

/// sum l[i] * r[i] in double.
inline double crossSum(const float* l, const float* r, FrameCount n) {
    Double2 s0 = {}, s1 = {};
    FrameCount i = 0;
    for (; i + 4 <= n; i += 4) {
        const Float4 a = load4(l + i), b = load4(r + i);
        s0 += lowToDouble(a) * lowToDouble(b);
        s1 += highToDouble(a) * highToDouble(b);
    }
    double s = hsum(s0 + s1);
    for (; i < n; ++i)
        s += static_cast<double>(l[i]) * static_cast<double>(r[i]);
    return s;
}

/// channelSums of l and of r, crossSum(l, r) and, when mid != nullptr, mid[i] = (l+r)/2 and
/// side[i] = (l-r)/2 (float), in one pass over memory. Each result has the accumulators, order
/// and tail of the separate functions, so it is bit-identical to them.
struct StereoSums {
    ChannelSums l, r;
    double lr = 0.0;
};
inline StereoSums stereoSums(const float* l, const float* r, FrameCount n, float* mid, float* side) {
    Double2 ls0 = {}, ls1 = {}, lq0 = {}, lq1 = {}, rs0 = {}, rs1 = {}, rq0 = {}, rq1 = {}, x0 = {}, x1 = {};
    Float4 lpk = {}, rpk = {};
    const Float4 half = {0.5f, 0.5f, 0.5f, 0.5f};
    FrameCount i = 0;
    for (; i + 4 <= n; i += 4) {
        const Float4 a = load4(l + i), b = load4(r + i);
        const Double2 a0 = lowToDouble(a), a1 = highToDouble(a), b0 = lowToDouble(b), b1 = highToDouble(b);
        ls0 += a0;
        ls1 += a1;
        lq0 += a0 * a0;
        lq1 += a1 * a1;
        rs0 += b0;
        rs1 += b1;
        rq0 += b0 * b0;
        rq1 += b1 * b1;
        x0 += a0 * b0;
        x1 += a1 * b1;
        lpk = max4(lpk, abs4(a));
        rpk = max4(rpk, abs4(b));
        if (mid != nullptr) {
            const Float4 m = half * (a + b), s = half * (a - b);
            std::memcpy(mid + i, &m, sizeof m);
            std::memcpy(side + i, &s, sizeof s);
        }
    }
    StereoSums out{{hsum(ls0 + ls1), hsum(lq0 + lq1), hmax(lpk)}, {hsum(rs0 + rs1), hsum(rq0 + rq1), hmax(rpk)},
                   hsum(x0 + x1)};
    const auto addTail = [](ChannelSums& cs, float f) {
        const auto v = static_cast<double>(f);
        cs.sum += v;
        cs.sumSq += v * v;
        const float a = f < 0.0f ? -f : f;
        cs.peak = a > cs.peak ? a : cs.peak;
    };
    for (; i < n; ++i) {
        addTail(out.l, l[i]);
        addTail(out.r, r[i]);
        out.lr += static_cast<double>(l[i]) * static_cast<double>(r[i]);
        if (mid != nullptr) {
            mid[i] = 0.5f * (l[i] + r[i]);
            side[i] = 0.5f * (l[i] - r[i]);
        }
    }
    return out;
}

} // namespace quack::detail
