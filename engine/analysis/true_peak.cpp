/// Streaming true-peak detection by polyphase FIR interpolation (ITU-R BS.1770-4 Annex 2).
///
/// Both designs evaluate, for every input frame, the band-limited waveform at the fractional
/// instants of one input interval (tau, tau + 1], tau = i - latency - 1:
///   y_p = sum_s c_p[s] x[s],  c_p[s] = K(tau + p/P - s),  p = 1..P-1,
/// plus the sample x[tau + 1] itself (phase 0 of a Nyquist kernel is the identity).
///
///   Accurate8x     P = 8, K(u) = sinc(u) kaiser(u / 18; beta 5.5), |u| < 18: 36 taps per phase.
///                  Cut-off at 0.5 fs, so phase 0 is exactly the input sample; each phase is
///                  normalised to unit DC gain.
///   Ebur128Style4x P = 4, K(u) = sinc(u) * 0.5 (1 + cos(pi u / 6)), |u| <= 6: the 49-tap
///                  Hann-windowed sinc of libebur128 1.2.6 (taps j = 0..48 at 4 fs, centre 24),
///                  12 non-zero taps per fractional phase, not normalised (as libebur128).
///   Wideband8x     P = 8, all 8 phases, K(u) = sinc(2 fc u) kaiser(u / 20; beta 6), fc = 0.54:
///                  flat to 0.49 fs, reads high above 0.41 fs (leaked images): a safe upper
///                  bound of the ideal reconstruction near Nyquist, for the limiter.
///   Strict         all three on the same interval: the max. Wideband8x alone does not cover
///                  Accurate8x: on noise band-limited to 0.45 fs it reads 0.19 dB under it
///                  (tests/limiter/true_peak_test.cpp), more than the limiter's 0.1 dB margin.
///
/// Mirror symmetry (half the multiply-adds). With N = 2H taps per phase, window index
/// k = 0..N-1 and c_p[k] = K(H - 1 - k + p/P), an even K gives c_{P-p}[k] = c_p[N-1-k]:
/// phase P - p is phase p reversed over the same window. Per pair (p, P-p), with
///   s_k = (c_p[k] + c_p[N-1-k]) / 2,  d_k = (c_p[k] - c_p[N-1-k]) / 2,
///   u_k = x[k] + x[N-1-k],            v_k = x[k] - x[N-1-k],          k = 0..H-1,
/// S = sum s_k u_k and D = sum d_k v_k give y_p = S + D and y_{P-p} = S - D, and since
/// max(|S + D|, |S - D|) = |S| + |D| (exactly, in floats too: rounding is monotone and
/// symmetric) the pair's peak is |S| + |D|. The middle phase P/2 is its own mirror (d = 0).
/// Wideband8x's phase P (t = tau + 1) is symmetric about window index H instead (its tap 0 is
/// K(H) = 0): y_P = c[H] x[H] + sum_{j=1}^{H-1} c[H+j] (x[H-j] + x[H+j]). The tables are built
/// mirror-symmetric in double (phase P - p is phase p reversed, not re-evaluated) and rounded
/// to float once. Multiply-adds per frame: Accurate8x 126 (was 252), Wideband8x 160 (320),
/// the 4x model 18 (36); plus one add or subtract per input pair, shared by all phases.
///
/// Kernels: a portable C++ kernel (vectorised by the compiler across frames with whatever the
/// baseline ISA offers, e.g. SSE2 or WebAssembly SIMD) and, on x86-64 with GCC/Clang, an
/// AVX-512 (F/VL/DQ/BW + FMA) kernel or else an AVX2+FMA kernel, chosen once in prepare() from
/// what the CPU runs (the baseline build stays portable x86-64: only those functions carry the
/// target attributes). Either way each frame's value is the same sequence of operations
/// whatever the block size (the FMA kernels round once per tap instead of twice, and the
/// AVX-512 kernel sums the end phase in another order, so the kernels may differ in the last
/// bits from each other, never between block sizes on one machine). tests/limiter forces each
/// set through true_peak_detail::kernelOverride() (a test hook, not in the header).
///
/// Fast path: |y_p| <= (sum_s |c_p[s]|) max_s |x[s]| <= lOneMax * windowMax, where windowMax
/// covers every input any phase of the interval uses. windowMax is taken over whole groups of 8
/// frames aligned to the absolute frame index (plus the current partial group), so the bound of
/// a frame never depends on how the stream was cut into blocks. With exactAbove <= 0 no bound is
/// computed at all; only the group maxima are kept up to date (for later calls that use one).
/// On AVX2 CPUs each whole group's bounds come from one 8-lane in-register running max
/// (boundPassAvx2); max is exact in any order, so the bounds are the same as the scalar pass's.
/// AVX-512 CPUs use boundPassAvx2 too (no AVX-512 bound pass was tried: the fast path's time
/// is mostly the per-group bookkeeping, not the 8-lane max).
#include "engine/analysis/true_peak.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

/// Define QUACK_TRUE_PEAK_PORTABLE_ONLY to build only the portable kernels (the tests can also
/// force them at run time through true_peak_detail::kernelOverride()).
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(QUACK_TRUE_PEAK_PORTABLE_ONLY)
#define QUACK_TRUE_PEAK_AVX2 1
#include <immintrin.h>
#endif

namespace quack {

namespace {

constexpr int kPhases8 = 8;
constexpr int kTaps8 = 36;   ///< taps per fractional phase of Accurate8x (support 36 frames)
constexpr int kHalf8 = kTaps8 / 2;
/// Kaiser beta of Accurate8x. Designed (complex error of each phase against the ideal delay,
/// |H_p(f) - e^{-j 2 pi f p/8}| over f): <= 1.7e-3 (0.015 dB) up to 0.42 fs, <= 2.7e-3
/// (0.023 dB) up to 0.45 fs; images >= 0.55 fs attenuated >= 58 dB, >= 0.58 fs >= 63 dB.
/// (32 taps would give 0.11 dB at 0.45 fs for the same rejection; 40 taps buy 0.01 dB.)
constexpr double kKaiserBeta8 = 5.5;

/// Wideband8x: cut-off 0.54 fs (above Nyquist), Kaiser beta 6, 40 taps per phase. Designed:
/// passband gain 0.9994..1.0007 from DC to 0.49 fs; images beyond 0.59 fs below -60 dB, so
/// content above 0.41 fs reads high (its image leaks in: up to +6 dB just below fs/2).
/// A short filter cannot both pass 0.49 fs and reject its image at 0.51 fs: for a limiter
/// sidechain reading high is the safe side.
constexpr int kTapsBand = 40;
constexpr int kHalfBand = kTapsBand / 2;
constexpr double kCutoffBand = 0.54;
constexpr double kKaiserBetaBand = 6.0;

constexpr int kPhases4 = 4;
constexpr int kTaps4 = 12;   ///< non-zero taps per fractional phase of the 49-tap Hann sinc
constexpr int kHalf4 = kTaps4 / 2;

/// Mirrored pairs (p, P - p), p = 1..P/2-1, of each design; every design also has its middle
/// phase P/2, and Wideband8x the end phase P.
constexpr int kPairs8 = kPhases8 / 2 - 1;
constexpr int kPairs4 = kPhases4 / 2 - 1;

constexpr int kGroupFrames = 8;                ///< granularity of the fast-path window maximum
constexpr int kRingGroups = 8;                 ///< ring of whole groups' max |x| (>= groupsBack + 1)
static_assert((kRingGroups & (kRingGroups - 1)) == 0, "ringSlot masks");
constexpr FrameCount kChunkFrames = 256;       ///< internal work chunk (frames)
/// Frames per portable-kernel step: the kernels are vectorised across frames; these widths
/// were the fastest measured with SSE2 (bench/bench_limiter.cpp, QUACK_TRUE_PEAK_PORTABLE_ONLY):
/// mirror form vs the former direct form, Accurate8x 11.7 vs 17.5 ns/frame, Wideband8x 16 vs
/// 22, but the 4x model 8.1 vs 5.1 (its 3 x 16-lane sums and inputs spill; 4, 16 or 32 lanes
/// were no better within a 16-frame step). One form for all keeps one table per design.
constexpr int kKernel8 = 16;
constexpr int kKernel4 = 8;
constexpr int kKernelFrames = 16; ///< step of the exact pass (a multiple of both)
/// Relative slack added to the bound so that float rounding in the exact sums can never make
/// an exact value exceed its reported bound. Per phase, the mirror form sums <= H + 2 <= 22
/// rounded terms whose magnitudes add up to <= sum_k (|s_k| + |d_k|)(|x_a| + |x_b|)
/// <= 2 L1 max|x|; with unit roundoff 2^-24 that is <= 22 * 2 * 6e-8 = 2.6e-6 of the bound.
constexpr double kBoundSlack = 1.0 + 1.0e-5;

double besselI0(double x) {
    // I0(x) = sum_k ((x/2)^k / k!)^2; converges fast for the beta values used here.
    double sum = 1.0, term = 1.0;
    const double half = x / 2.0;
    for (int k = 1; k < 64; ++k) {
        term *= half / k;
        const double t2 = term * term;
        sum += t2;
        if (t2 < sum * 1e-17)
            break;
    }
    return sum;
}

double sinc(double u) {
    if (std::abs(u) < 1e-12)
        return 1.0;
    const double a = std::numbers::pi * u;
    return std::sin(a) / a;
}

/// Accurate8x kernel: sinc times a Kaiser window spanning |u| < kHalf8.
double kernel8(double u) {
    const double r = u / kHalf8;
    if (std::abs(r) >= 1.0)
        return 0.0;
    return sinc(u) * besselI0(kKaiserBeta8 * std::sqrt(1.0 - r * r)) / besselI0(kKaiserBeta8);
}

/// Wideband8x kernel: lowpass at kCutoffBand cycles/sample, Kaiser window over |u| < kHalfBand
/// (the 2 fc scale cancels in the per-phase normalisation).
double kernelBand(double u) {
    const double r = u / kHalfBand;
    if (std::abs(r) >= 1.0)
        return 0.0;
    return sinc(2.0 * kCutoffBand * u) * besselI0(kKaiserBetaBand * std::sqrt(1.0 - r * r)) /
           besselI0(kKaiserBetaBand);
}

/// libebur128-style kernel: sinc times the Hann window of the 49-tap filter at 4 fs.
double kernel4(double u) {
    if (std::abs(u) >= kHalf4)
        return 0.0;
    return sinc(u) * 0.5 * (1.0 + std::cos(std::numbers::pi * u / kHalf4));
}

/// Mirror-form coefficient table of one design (H = kTaps / 2), one block after another:
///   sym  [H][kPairs + 1]  s_k of each pair, then the middle phase's taps c[k] (k < H)
///   anti [H][kPairs]      d_k of each pair
///   end  [H]              (kEnd only) phase P: end[0] = c[H], end[j] = c[H + j], j = 1..H-1
template <int kTaps, int kPairs, bool kEnd>
[[maybe_unused]] constexpr int kMirrorCoefs = kTaps / 2 * (2 * kPairs + 1 + (kEnd ? 1 : 0));

/// Portable exact kernel for kFrames consecutive frames: x points at the first input of the
/// first frame's window, bc is the mirror table with every coefficient stored kFrames times in
/// a row (pre-broadcast, so the multiply takes its operand straight from memory). Written so
/// g++ -O3 vectorises across the frames (no float reassociation needed): the result of each
/// lane is the same sequence of operations whatever the block size.
template <int kTaps, int kPairs, bool kEnd, int kFrames>
inline void mirrorKernel(const float* x, const float* bc, float* peakOut) {
    constexpr int kH = kTaps / 2;
    constexpr int kSym = kPairs + 1;
    constexpr int kAnti = kPairs > 0 ? kPairs : 1;
    const float* sym = bc;
    const float* anti = sym + kH * kSym * kFrames;
    const float* endTaps = anti + kH * kPairs * kFrames;
    float s[kSym][kFrames] = {};
    float d[kAnti][kFrames] = {};
    for (int k = 0; k < kH; ++k) {
        float u[kFrames], v[kFrames];
        for (int l = 0; l < kFrames; ++l) {
            u[l] = x[k + l] + x[kTaps - 1 - k + l];
            v[l] = x[k + l] - x[kTaps - 1 - k + l];
        }
        for (int q = 0; q < kSym; ++q) {
            const float* c = sym + (k * kSym + q) * kFrames;
            for (int l = 0; l < kFrames; ++l)
                s[q][l] += c[l] * u[l];
        }
        for (int q = 0; q < kPairs; ++q) {
            const float* c = anti + (k * kPairs + q) * kFrames;
            for (int l = 0; l < kFrames; ++l)
                d[q][l] += c[l] * v[l];
        }
    }
    float t[kFrames] = {};
    if constexpr (kEnd) {
        for (int l = 0; l < kFrames; ++l)
            t[l] = endTaps[l] * x[kH + l];
        for (int j = 1; j < kH; ++j) {
            const float* c = endTaps + j * kFrames;
            for (int l = 0; l < kFrames; ++l)
                t[l] += c[l] * (x[kH - j + l] + x[kH + j + l]);
        }
    }
    for (int l = 0; l < kFrames; ++l) {
        float m = std::max(peakOut[l], std::abs(s[kPairs][l]));
        for (int q = 0; q < kPairs; ++q)
            m = std::max(m, std::abs(s[q][l]) + std::abs(d[q][l]));
        if constexpr (kEnd)
            m = std::max(m, std::abs(t[l]));
        peakOut[l] = m;
    }
}

/// Signature of a kernel pass over kKernelFrames frames: x is the first input of the first
/// frame's window of that component, coef its mirror table, bcast the same pre-broadcast
/// (kernelFrames copies of each coefficient), e the running max of the kKernelFrames frames.
using KernelFn = void (*)(const float* x, const float* coef, const float* bcast, float* e);

template <int kTaps, int kPairs, bool kEnd, int kFrames>
void portableKernel(const float* x, const float* /*coef*/, const float* bcast, float* e) {
    for (int l = 0; l < kKernelFrames; l += kFrames)
        mirrorKernel<kTaps, kPairs, kEnd, kFrames>(x + l, bcast, e + l);
}

#ifdef QUACK_TRUE_PEAK_AVX2
/// v_k = x[k] - x[N-1-k] of lanes l..l+7: from pass 1's buffer or recomputed from the input.
template <int kTaps, bool kStoreV>
__attribute__((target("avx2,fma"), always_inline)) inline __m256 loadV(const float* x, const float (*vBuf)[kKernelFrames],
                                                                     int k, int l) {
    if constexpr (kStoreV)
        return _mm256_load_ps(vBuf[k] + l);
    else
        return _mm256_sub_ps(_mm256_loadu_ps(x + k + l), _mm256_loadu_ps(x + kTaps - 1 - k + l));
}

/// AVX2+FMA: 16 frames (two vectors) per pass, the accumulators, inputs and broadcast tap
/// within the 16 ymm registers. Pass 1 loads each input pair once and accumulates the
/// symmetric sums (2 (kPairs + 1) accumulators); for Wideband8x it also keeps v_k and the end
/// phase's input pairs on the stack. Pass 2 accumulates the antisymmetric sums (and the end
/// phase). A small design (the 4x model) does everything in one pass. Per lane and sum the
/// order of operations is fixed: acc = fma(c[k], u[k], acc) for k = 0..H-1.
template <int kTaps, int kPairs, bool kEnd>
__attribute__((target("avx2,fma"))) void avx2Kernel(const float* x, const float* coef,
                                                    const float* /*bcast*/, float* e) {
    static_assert(kKernelFrames == 16);
    constexpr int kH = kTaps / 2;
    constexpr int kSym = kPairs + 1;
    constexpr int kAnti = kPairs > 0 ? kPairs : 1;
    constexpr bool kOnePass = !kEnd && 2 * (kSym + kPairs) <= 8;
    // Measured (bench/bench_limiter.cpp): keeping v_k on the stack pays off only when pass 2
    // also has the end phase's loads (Wideband8x: 4.8 vs 5.4 ns/frame); for Accurate8x it
    // costs (4.3 vs 3.8), and so did splitting pass 2 into even/odd-k accumulator sets.
    constexpr bool kStoreV = kEnd;
    const float* sym = coef;
    const float* anti = sym + kH * kSym;
    const float* endTaps = anti + kH * kPairs;
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));

    // v_k (pass 2 input) and the end phase's w_j = x[H - j] + x[H + j] (w_0 = x[H]).
    alignas(32) float vBuf[kStoreV ? kH : 1][kKernelFrames];
    alignas(32) float wBuf[kEnd ? kH : 1][kKernelFrames];
    __m256 s0[kSym], s1[kSym], d0[kAnti], d1[kAnti];
    for (int q = 0; q < kSym; ++q)
        s0[q] = s1[q] = _mm256_setzero_ps();
    for (int q = 0; q < kAnti; ++q)
        d0[q] = d1[q] = _mm256_setzero_ps();
    __m256 bPrev0 = _mm256_setzero_ps(), bPrev1 = _mm256_setzero_ps();
    if constexpr (kEnd) {
        _mm256_store_ps(wBuf[0], _mm256_loadu_ps(x + kH));
        _mm256_store_ps(wBuf[0] + 8, _mm256_loadu_ps(x + kH + 8));
    }
    for (int k = 0; k < kH; ++k) {
        const float* a = x + k;
        const float* b = x + (kTaps - 1 - k);
        const __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8);
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        const __m256 u0 = _mm256_add_ps(a0, b0), u1 = _mm256_add_ps(a1, b1);
        for (int q = 0; q < kSym; ++q) {
            const __m256 c = _mm256_broadcast_ss(sym + k * kSym + q);
            s0[q] = _mm256_fmadd_ps(c, u0, s0[q]);
            s1[q] = _mm256_fmadd_ps(c, u1, s1[q]);
        }
        const __m256 v0 = _mm256_sub_ps(a0, b0), v1 = _mm256_sub_ps(a1, b1);
        if constexpr (kOnePass) {
            for (int q = 0; q < kPairs; ++q) {
                const __m256 c = _mm256_broadcast_ss(anti + k * kPairs + q);
                d0[q] = _mm256_fmadd_ps(c, v0, d0[q]);
                d1[q] = _mm256_fmadd_ps(c, v1, d1[q]);
            }
        } else if constexpr (kStoreV) {
            _mm256_store_ps(vBuf[k], v0);
            _mm256_store_ps(vBuf[k] + 8, v1);
        }
        if constexpr (kEnd) {
            // x[k] + x[2H - k] = a(k) + b(k - 1): the pair j = H - k.
            if (k > 0) {
                _mm256_store_ps(wBuf[kH - k], _mm256_add_ps(a0, bPrev0));
                _mm256_store_ps(wBuf[kH - k] + 8, _mm256_add_ps(a1, bPrev1));
            }
            bPrev0 = b0;
            bPrev1 = b1;
        }
    }
    (void)bPrev0;
    (void)bPrev1;
    // max(v, m) keeps m when v is NaN, like std::max(m, v) in the portable kernel.
    __m256 m0 = _mm256_max_ps(_mm256_and_ps(s0[kPairs], absMask), _mm256_loadu_ps(e));
    __m256 m1 = _mm256_max_ps(_mm256_and_ps(s1[kPairs], absMask), _mm256_loadu_ps(e + 8));
    if constexpr (!kOnePass) {
        __m256 t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps();
        for (int k = 0; k < kH; ++k) {
            const __m256 v0 = loadV<kTaps, kStoreV>(x, vBuf, k, 0), v1 = loadV<kTaps, kStoreV>(x, vBuf, k, 8);
            for (int q = 0; q < kPairs; ++q) {
                const __m256 c = _mm256_broadcast_ss(anti + k * kPairs + q);
                d0[q] = _mm256_fmadd_ps(c, v0, d0[q]);
                d1[q] = _mm256_fmadd_ps(c, v1, d1[q]);
            }
            if constexpr (kEnd) {
                const __m256 c = _mm256_broadcast_ss(endTaps + k);
                t0 = _mm256_fmadd_ps(c, _mm256_load_ps(wBuf[k]), t0);
                t1 = _mm256_fmadd_ps(c, _mm256_load_ps(wBuf[k] + 8), t1);
            }
        }
        if constexpr (kEnd) {
            m0 = _mm256_max_ps(_mm256_and_ps(t0, absMask), m0);
            m1 = _mm256_max_ps(_mm256_and_ps(t1, absMask), m1);
        }
    }
    for (int q = 0; q < kPairs; ++q) {
        m0 = _mm256_max_ps(_mm256_add_ps(_mm256_and_ps(s0[q], absMask), _mm256_and_ps(d0[q], absMask)), m0);
        m1 = _mm256_max_ps(_mm256_add_ps(_mm256_and_ps(s1[q], absMask), _mm256_and_ps(d1[q], absMask)), m1);
    }
    _mm256_storeu_ps(e, m0);
    _mm256_storeu_ps(e + 8, m1);
}

bool cpuHasAvx2Fma() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// AVX-512 (+FMA): the 16 frames of a pass in one zmm vector, so every sum of every phase
/// (Wideband8x: 4 symmetric, 3 antisymmetric and the end phase, 8 accumulators) fits in the 32
/// registers at once: one pass loads each input pair once, and each tap is an FMA with the
/// coefficient broadcast from memory ({1to16}). Per lane and sum the order is fixed,
/// acc = fma(c[k], u[k], acc) for k = 0..H-1 (the end phase: j = 0, then j = H-1 down to 1),
/// so the values are the same for every block size; they may differ in the last bits from the
/// AVX2 kernel (the end phase's order). Measured (bench/bench_limiter.cpp, Zen 5, against the
/// AVX2 kernels in the same run): Accurate8x 3.7 vs 4.7 ns/frame, Wideband8x 3.8 vs 6.7, the
/// 4x model 1.7 vs 1.8, Strict 7.7 vs 11.3. Splitting each sum into 2 or 3 interleaved
/// accumulators (shorter FMA chains) or fully unrolling k was no faster (Wideband8x slower).
/// _mm512_max_ps(a, b) (b where either is NaN). g++ 12's _mm512_max_ps passes an
/// _mm512_undefined_ps() that -Wuninitialized flags; the all-lanes zero-masked form is the
/// same instruction without it.
__attribute__((target("avx512f"), always_inline)) inline __m512 max512(__m512 a, __m512 b) {
    return _mm512_maskz_max_ps(static_cast<__mmask16>(0xffff), a, b);
}

template <int kTaps, int kPairs, bool kEnd>
__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,fma"))) void
avx512Kernel(const float* x, const float* coef, const float* /*bcast*/, float* e) {
    static_assert(kKernelFrames == 16);
    constexpr int kH = kTaps / 2;
    constexpr int kSym = kPairs + 1;
    constexpr int kAnti = kPairs > 0 ? kPairs : 1;
    const float* sym = coef;
    const float* anti = sym + kH * kSym;
    const float* endTaps = anti + kH * kPairs;
    __m512 s[kSym], d[kAnti];
    for (int q = 0; q < kSym; ++q)
        s[q] = _mm512_setzero_ps();
    for (int q = 0; q < kAnti; ++q)
        d[q] = _mm512_setzero_ps();
    __m512 t = _mm512_setzero_ps(), bPrev = _mm512_setzero_ps();
    if constexpr (kEnd)
        t = _mm512_mul_ps(_mm512_set1_ps(endTaps[0]), _mm512_loadu_ps(x + kH));
    for (int k = 0; k < kH; ++k) {
        const __m512 a = _mm512_loadu_ps(x + k);
        const __m512 b = _mm512_loadu_ps(x + (kTaps - 1 - k));
        const __m512 u = _mm512_add_ps(a, b);
        const __m512 v = _mm512_sub_ps(a, b);
        for (int q = 0; q < kSym; ++q)
            s[q] = _mm512_fmadd_ps(_mm512_set1_ps(sym[k * kSym + q]), u, s[q]);
        for (int q = 0; q < kPairs; ++q)
            d[q] = _mm512_fmadd_ps(_mm512_set1_ps(anti[k * kPairs + q]), v, d[q]);
        if constexpr (kEnd) {
            // x[k] + x[2H - k] = a(k) + b(k - 1): the end phase's pair j = H - k.
            if (k > 0)
                t = _mm512_fmadd_ps(_mm512_set1_ps(endTaps[kH - k]), _mm512_add_ps(a, bPrev), t);
            bPrev = b;
        }
    }
    (void)t;
    (void)bPrev;
    // max(v, m) keeps m when v is NaN, like std::max(m, v) in the portable kernel.
    __m512 m = max512(_mm512_abs_ps(s[kPairs]), _mm512_loadu_ps(e));
    if constexpr (kEnd)
        m = max512(_mm512_abs_ps(t), m);
    for (int q = 0; q < kPairs; ++q)
        m = max512(_mm512_add_ps(_mm512_abs_ps(s[q]), _mm512_abs_ps(d[q])), m);
    _mm512_storeu_ps(e, m);
}

bool cpuHasAvx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("fma");
}
#endif

} // namespace

namespace true_peak_detail {
/// Test and benchmark hook, not declared in the public header (its users declare these two
/// functions themselves): which kernel set TruePeakDetector::prepare() picks. Auto: the best
/// the CPU runs (AVX-512, else AVX2+FMA, else portable). A forced set the CPU cannot run falls
/// back to the next one down. Read only by prepare(); not for production.
enum class KernelSet { Auto, Avx512, Avx2, Portable };
KernelSet& kernelOverride() {
    static KernelSet set = KernelSet::Auto;
    return set;
}
/// Whether this build and CPU can run `set` (Auto and Portable always).
bool kernelSetAvailable(KernelSet set) {
    switch (set) {
    case KernelSet::Auto:
    case KernelSet::Portable:
        return true;
#ifdef QUACK_TRUE_PEAK_AVX2
    case KernelSet::Avx2:
        return cpuHasAvx2Fma();
    case KernelSet::Avx512:
        return cpuHasAvx512();
#else
    case KernelSet::Avx2:
    case KernelSet::Avx512:
        return false;
#endif
    }
    return false;
}
} // namespace true_peak_detail

struct TruePeakDetector::Impl {
    /// One interpolator: its mirror table (plain and pre-broadcast for the portable kernel),
    /// its kernel and where its support sits inside the detector's window.
    struct Component {
        bool used = false;
        int offset = 0;            ///< first input of its support inside the window
        std::vector<float> coef;   ///< mirror table (see kMirrorCoefs)
        std::vector<float> bcast;  ///< the same, each coefficient repeated kernelFrames times
        KernelFn kernel = nullptr; ///< exact pass over kKernelFrames frames
    };
    Component acc8, ebu4, band8;

    TruePeakDesign design = TruePeakDesign::Accurate8x;
    int windowFrames = kTaps8;     ///< inputs the phases of one interval span (the widest support)
    FrameCount latency = kHalf8 - 1;
    int samplePos = kHalf8;        ///< window position of x[tau + 1]
    int groupsBack = 5;            ///< whole previous groups the window may reach into
    float lOneMax = 1.0f;          ///< max over used phases of sum |c| (>= 1: the sample itself)
    bool avx2Bound = false;        ///< boundPassAvx2 instead of boundPass (AVX2 CPUs)

    /// hist[0 .. windowFrames-1) holds the previous inputs, then the current chunk, then
    /// kKernelFrames of padding so the exact kernels may run past the chunk's end.
    std::vector<float> hist;
    std::array<float, kKernelFrames> exact{};

    FrameCount framesSeen = 0;     ///< absolute index of the next input frame
    /// max |x| (NaN ignored) of the frames seen of the current group; 0 when framesSeen is a
    /// multiple of kGroupFrames (a group is retired into the ring as soon as it is complete).
    float groupMax = 0.0f;
    std::array<float, kRingGroups> ring{}; ///< max |x| of whole group g at ringSlot(g)

    static size_t ringSlot(FrameCount group) { return static_cast<size_t>(group & (kRingGroups - 1)); }

    /// Fills c with the mirror table of phases 1..P-1 (and P if withEnd) of N = `taps` taps,
    /// c_p[k] = kernel(H - 1 - k + p / P), optionally normalised to unit DC gain per phase.
    /// Phase P - p is taken as phase p reversed and the middle and end phases are symmetrised,
    /// in double, before rounding to float: the table is exactly mirror-symmetric.
    /// Returns the largest L1 norm of a phase as evaluated (from the float table).
    template <typename Kernel>
    static double makeComponent(Component& c, int numPhases, bool withEnd, int taps, Kernel kernel,
                                bool normalise, int kernelFrames) {
        const int half = taps / 2;
        const int pairs = numPhases / 2 - 1;
        auto phase = [&](int p) {
            std::vector<double> v(static_cast<size_t>(taps));
            double sum = 0.0;
            for (int k = 0; k < taps; ++k) {
                v[static_cast<size_t>(k)] =
                    kernel(static_cast<double>(half - 1 - k) + static_cast<double>(p) / numPhases);
                sum += v[static_cast<size_t>(k)];
            }
            if (normalise)
                for (double& t : v)
                    t /= sum;
            return v;
        };
        const auto at = [](const std::vector<double>& v, int k) { return v[static_cast<size_t>(k)]; };
        const int sym = pairs + 1;
        c.coef.assign(static_cast<size_t>(half * (2 * pairs + 1 + (withEnd ? 1 : 0))), 0.0f);
        float* symTab = c.coef.data();
        float* antiTab = symTab + half * sym;
        float* endTab = antiTab + half * pairs;
        double l1Max = 0.0;
        for (int q = 0; q <= pairs; ++q) {
            // q < pairs: phase q + 1 and its mirror; q == pairs: the middle phase P/2.
            const auto v = phase(q < pairs ? q + 1 : numPhases / 2);
            double l1 = 0.0;
            for (int k = 0; k < half; ++k) {
                const auto s = static_cast<float>((at(v, k) + at(v, taps - 1 - k)) / 2.0);
                const auto d = static_cast<float>((at(v, k) - at(v, taps - 1 - k)) / 2.0);
                symTab[k * sym + q] = s;
                if (q < pairs) {
                    antiTab[k * pairs + q] = d;
                    l1 += std::abs(static_cast<double>(s) + static_cast<double>(d)) +
                          std::abs(static_cast<double>(s) - static_cast<double>(d));
                } else {
                    l1 += 2.0 * std::abs(static_cast<double>(s));
                }
            }
            l1Max = std::max(l1Max, l1);
        }
        if (withEnd) {
            const auto v = phase(numPhases);
            assert(at(v, 0) == 0.0); // K(H) = 0: phase P is symmetric about index H
            endTab[0] = static_cast<float>(at(v, half));
            double l1 = std::abs(static_cast<double>(endTab[0]));
            for (int j = 1; j < half; ++j) {
                endTab[j] = static_cast<float>((at(v, half - j) + at(v, half + j)) / 2.0);
                l1 += 2.0 * std::abs(static_cast<double>(endTab[j]));
            }
            l1Max = std::max(l1Max, l1);
        }
        c.bcast.resize(c.coef.size() * static_cast<size_t>(kernelFrames));
        for (size_t i = 0; i < c.bcast.size(); ++i)
            c.bcast[i] = c.coef[i / static_cast<size_t>(kernelFrames)];
        return l1Max;
    }

    void prepare(TruePeakDesign d) {
        design = d;
        const bool strict = d == TruePeakDesign::Strict;
        acc8.used = strict || d == TruePeakDesign::Accurate8x;
        ebu4.used = strict || d == TruePeakDesign::Ebur128Style4x;
        band8.used = strict || d == TruePeakDesign::Wideband8x;
        const int half = band8.used ? kHalfBand : acc8.used ? kHalf8 : kHalf4;
        windowFrames = 2 * half;
        latency = half - 1;
        samplePos = half;
        acc8.offset = half - kHalf8;
        ebu4.offset = half - kHalf4;
        band8.offset = half - kHalfBand;
        groupsBack = (windowFrames - 1 + kGroupFrames - 1) / kGroupFrames;
        assert(groupsBack < kRingGroups);

        double lOne = 1.0;
        // Accurate8x and the 4x model: fractional phases 1..P-1 (phase 0 is the sample).
        const double l8 = makeComponent(acc8, kPhases8, false, kTaps8, kernel8, true, kKernel8);
        const double l4 = makeComponent(ebu4, kPhases4, false, kTaps4, kernel4, false, kKernel4);
        // Wideband8x: cut-off above fs/2, so phase 8 (t = tau + 1) is not the sample: all 8.
        const double lb = makeComponent(band8, kPhases8, true, kTapsBand, kernelBand, true, kKernel8);
        assert((acc8.coef.size() == kMirrorCoefs<kTaps8, kPairs8, false>));
        assert((ebu4.coef.size() == kMirrorCoefs<kTaps4, kPairs4, false>));
        assert((band8.coef.size() == kMirrorCoefs<kTapsBand, kPairs8, true>));
        if (acc8.used)
            lOne = std::max(lOne, l8);
        if (ebu4.used)
            lOne = std::max(lOne, l4);
        if (band8.used)
            lOne = std::max(lOne, lb);
        lOneMax = static_cast<float>(lOne * kBoundSlack);

        acc8.kernel = portableKernel<kTaps8, kPairs8, false, kKernel8>;
        ebu4.kernel = portableKernel<kTaps4, kPairs4, false, kKernel4>;
        band8.kernel = portableKernel<kTapsBand, kPairs8, true, kKernel8>;
#ifdef QUACK_TRUE_PEAK_AVX2
        using true_peak_detail::KernelSet;
        KernelSet set = true_peak_detail::kernelOverride();
        if (set == KernelSet::Auto)
            set = KernelSet::Avx512;
        if (set == KernelSet::Avx512 && !true_peak_detail::kernelSetAvailable(set))
            set = KernelSet::Avx2;
        if (set == KernelSet::Avx2 && !true_peak_detail::kernelSetAvailable(set))
            set = KernelSet::Portable;
        // The AVX2 bound pass also on AVX-512 CPUs (which all run AVX2; checked anyway).
        avx2Bound = set != KernelSet::Portable && cpuHasAvx2Fma();
        if (set == KernelSet::Avx2) {
            acc8.kernel = avx2Kernel<kTaps8, kPairs8, false>;
            ebu4.kernel = avx2Kernel<kTaps4, kPairs4, false>;
            band8.kernel = avx2Kernel<kTapsBand, kPairs8, true>;
        } else if (set == KernelSet::Avx512) {
            acc8.kernel = avx512Kernel<kTaps8, kPairs8, false>;
            ebu4.kernel = avx512Kernel<kTaps4, kPairs4, false>;
            band8.kernel = avx512Kernel<kTapsBand, kPairs8, true>;
        }
#endif
        hist.assign(static_cast<size_t>(windowFrames - 1 + kChunkFrames + kKernelFrames), 0.0f);
        reset();
    }

    void reset() {
        std::fill(hist.begin(), hist.end(), 0.0f);
        framesSeen = 0;
        groupMax = 0.0f;
        ring.fill(0.0f);
    }

    /// Exact values of the kKernelFrames frames from chunk frame f into e (may run past the
    /// chunk's end: the history has padding).
    void exactStep(FrameCount f, float* e) const {
        const float* h = hist.data() + f;
        for (int l = 0; l < kKernelFrames; ++l)
            e[l] = std::abs(h[samplePos + l]);
        for (const Component* c : {&acc8, &ebu4, &band8})
            if (c->used)
                c->kernel(h + c->offset, c->coef.data(), c->bcast.data(), e);
    }

    /// Keeps groupMax and the ring up to date over n input frames without computing bounds
    /// (the exact-everywhere mode). Only the last kRingGroups whole groups can still be read.
    void trackGroups(const float* in, FrameCount n) {
        FrameCount f = 0;
        const auto inGroup = static_cast<int>(framesSeen & (kGroupFrames - 1));
        if (inGroup != 0) {
            const FrameCount end = std::min<FrameCount>(n, kGroupFrames - inGroup);
            float gm = groupMax;
            for (; f < end; ++f)
                gm = std::max(gm, std::abs(in[f]));
            if (inGroup + end < kGroupFrames) {
                groupMax = gm;
                return;
            }
            ring[ringSlot(framesSeen / kGroupFrames)] = gm;
            groupMax = 0.0f;
        }
        const FrameCount whole = (n - f) / kGroupFrames;
        f += std::max<FrameCount>(0, whole - kRingGroups) * kGroupFrames;
        for (; f + kGroupFrames <= n; f += kGroupFrames) {
            float gm = 0.0f;
            for (int l = 0; l < kGroupFrames; ++l)
                gm = std::max(gm, std::abs(in[f + l]));
            ring[ringSlot((framesSeen + f) / kGroupFrames)] = gm;
        }
        float gm = 0.0f;
        for (; f < n; ++f)
            gm = std::max(gm, std::abs(in[f]));
        groupMax = gm;
    }

    /// Writes the bound of each frame to peakOut (one group segment at a time: the window
    /// maximum of the previous groups changes only when a group starts) and flags the kernel
    /// steps holding a frame whose bound exceeds exactAbove. The bound grows within a group,
    /// so a segment needs exact values iff its last frame does.
    bool boundPass(const float* in, float* peakOut, FrameCount n, float exactAbove,
                   unsigned char* needExact) {
        bool anyExact = false;
        const float l1 = lOneMax;
        for (FrameCount f = 0; f < n;) {
            const FrameCount pos = framesSeen + f;
            const auto inGroup = static_cast<int>(pos & (kGroupFrames - 1));
            const FrameCount group = pos / kGroupFrames;
            // Groups before the stream's start (group - g < 0, masked into slots not yet
            // written since reset) read 0, as they should.
            float pm = 0.0f;
            for (int g = 1; g <= groupsBack; ++g)
                pm = std::max(pm, ring[ringSlot(group - g)]);
            const FrameCount segStart = f;
            const FrameCount end = std::min(n, f + (kGroupFrames - inGroup));
            float gm = groupMax;
            if (end - f == kGroupFrames) {
                // A whole aligned group: fixed trip count, unrolled.
                for (int l = 0; l < kGroupFrames; ++l) {
                    gm = std::max(gm, std::abs(in[f + l]));
                    peakOut[f + l] = std::max(gm, pm) * l1;
                }
                f += kGroupFrames;
            } else {
                for (; f < end; ++f) {
                    gm = std::max(gm, std::abs(in[f]));
                    peakOut[f] = std::max(gm, pm) * l1;
                }
            }
            if (inGroup + (end - segStart) == kGroupFrames) {
                ring[ringSlot(group)] = gm;
                groupMax = 0.0f;
            } else {
                groupMax = gm;
            }
            if (!(peakOut[end - 1] <= exactAbove)) {
                anyExact = true;
                // The segment lies within one or two kernel steps: flag both.
                needExact[static_cast<size_t>((end - 1) / kKernelFrames)] = 1;
                needExact[static_cast<size_t>(segStart / kKernelFrames)] = 1;
            }
        }
        return anyExact;
    }

#ifdef QUACK_TRUE_PEAK_AVX2
    /// boundPass with each whole aligned group in one 8-lane vector: |x| with NaN read as 0
    /// (max(0, .) is what ignoring NaN gives, gm starting at 0), an in-register running max
    /// (lane shifts by 1 and 2 inside each 128-bit half, then the low half's max into the high
    /// half), max with the previous groups' max, times lOneMax. Max is exact in any order and
    /// the multiply is the same, so the values equal boundPass's exactly.
    __attribute__((target("avx2"))) bool boundPassAvx2(const float* in, float* peakOut, FrameCount n,
                                                      float exactAbove, unsigned char* needExact) {
        bool anyExact = false;
        const float l1 = lOneMax;
        const __m256 l1v = _mm256_set1_ps(l1);
        const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
        for (FrameCount f = 0; f < n;) {
            const FrameCount pos = framesSeen + f;
            const auto inGroup = static_cast<int>(pos & (kGroupFrames - 1));
            const FrameCount group = pos / kGroupFrames;
            float pm = 0.0f;
            for (int g = 1; g <= groupsBack; ++g)
                pm = std::max(pm, ring[ringSlot(group - g)]);
            const FrameCount segStart = f;
            const FrameCount end = std::min(n, f + (kGroupFrames - inGroup));
            float gm = groupMax;
            if (end - f == kGroupFrames) {
                // A whole aligned group (inGroup == 0, so groupMax == 0).
                __m256 v = _mm256_and_ps(_mm256_loadu_ps(in + f), absMask);
                v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
                v = _mm256_max_ps(v, _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(v), 4)));
                v = _mm256_max_ps(v, _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(v), 8)));
                const __m256 lowMax = _mm256_shuffle_ps(v, v, _MM_SHUFFLE(3, 3, 3, 3));
                v = _mm256_max_ps(v, _mm256_permute2f128_ps(lowMax, lowMax, 0x08));
                gm = _mm_cvtss_f32(_mm_permute_ps(_mm256_extractf128_ps(v, 1), _MM_SHUFFLE(3, 3, 3, 3)));
                _mm256_storeu_ps(peakOut + f, _mm256_mul_ps(_mm256_max_ps(v, _mm256_set1_ps(pm)), l1v));
                f += kGroupFrames;
            } else {
                for (; f < end; ++f) {
                    gm = std::max(gm, std::abs(in[f]));
                    peakOut[f] = std::max(gm, pm) * l1;
                }
            }
            if (inGroup + (end - segStart) == kGroupFrames) {
                ring[ringSlot(group)] = gm;
                groupMax = 0.0f;
            } else {
                groupMax = gm;
            }
            if (!(peakOut[end - 1] <= exactAbove)) {
                anyExact = true;
                needExact[static_cast<size_t>((end - 1) / kKernelFrames)] = 1;
                needExact[static_cast<size_t>(segStart / kKernelFrames)] = 1;
            }
        }
        return anyExact;
    }
#endif

    void processChunk(const float* in, float* peakOut, FrameCount n, float exactAbove) {
        const int w = windowFrames;
        float* h = hist.data();
        std::memcpy(h + (w - 1), in, static_cast<size_t>(n) * sizeof(float));
        // Read the inputs from the copy from now on: peakOut may alias in.
        const float* x = h + (w - 1);

        if (!(exactAbove > 0.0f)) {
            // Exact everywhere: no bound can be <= exactAbove except 0, where the exact value is
            // 0 too. Full steps write straight to the output.
            for (FrameCount f = 0; f < n; f += kKernelFrames) {
                if (f + kKernelFrames <= n) {
                    exactStep(f, peakOut + f);
                } else {
                    exactStep(f, exact.data());
                    std::memcpy(peakOut + f, exact.data(), static_cast<size_t>(n - f) * sizeof(float));
                }
            }
            trackGroups(x, n);
        } else {
            std::array<unsigned char, kChunkFrames / kKernelFrames> needExact{};
#ifdef QUACK_TRUE_PEAK_AVX2
            const bool anyExact = avx2Bound ? boundPassAvx2(x, peakOut, n, exactAbove, needExact.data())
                                            : boundPass(x, peakOut, n, exactAbove, needExact.data());
#else
            const bool anyExact = boundPass(x, peakOut, n, exactAbove, needExact.data());
#endif
            if (anyExact) {
                for (FrameCount f = 0; f < n; f += kKernelFrames) {
                    if (needExact[static_cast<size_t>(f / kKernelFrames)] == 0)
                        continue;
                    exactStep(f, exact.data());
                    const FrameCount m = std::min<FrameCount>(kKernelFrames, n - f);
                    for (FrameCount l = 0; l < m; ++l) {
                        const float b = peakOut[f + l];
                        peakOut[f + l] = b <= exactAbove ? b : exact[static_cast<size_t>(l)];
                    }
                }
            }
        }

        std::memmove(h, h + n, static_cast<size_t>(w - 1) * sizeof(float));
        framesSeen += n;
    }
};

TruePeakDetector::TruePeakDetector() : impl_(std::make_unique<Impl>()) {
    impl_->prepare(TruePeakDesign::Accurate8x);
}
TruePeakDetector::~TruePeakDetector() = default;
TruePeakDetector::TruePeakDetector(TruePeakDetector&&) noexcept = default;
TruePeakDetector& TruePeakDetector::operator=(TruePeakDetector&&) noexcept = default;

void TruePeakDetector::prepare(double sampleRate, TruePeakDesign design) {
    // The kernels are defined in input-sample units, so one design serves every rate.
    assert(sampleRate >= kMinSampleRate && sampleRate <= kMaxSampleRate);
    (void)sampleRate;
    impl_->prepare(design);
}

void TruePeakDetector::reset() { impl_->reset(); }

void TruePeakDetector::process(const float* in, float* peakOut, FrameCount numFrames,
                               float exactAbove) {
    assert(numFrames >= 0);
    for (FrameCount done = 0; done < numFrames;) {
        const FrameCount n = std::min(kChunkFrames, numFrames - done);
        impl_->processChunk(in + done, peakOut + done, n, exactAbove);
        done += n;
    }
}

FrameCount TruePeakDetector::latencyFrames() const { return impl_->latency; }

} // namespace quack
