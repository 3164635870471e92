#pragma once
/// The subset of FFTW 3's single-precision API the engine uses (analysis/analyzer.cpp,
/// dsp/match_eq.cpp), implemented in portable C++ for the WebAssembly build, where Debian has no
/// FFTW. On the include path of the WASM build only; native builds use the real FFTW.
///
/// Conventions are FFTW's (fftw3 manual s.4.8): r2c of n reals gives n/2+1 bins
/// X[k] = sum_j x[j] e^(-2 pi i jk/n); c2r is the unnormalised inverse (a round trip scales by
/// n) and reads only bins 0..n/2. Sizes must be powers of two (the engine's are); the transform
/// is a radix-2 complex FFT of n/2 points on the even/odd-packed input plus the usual split
/// step, computed in double and stored as float, so it is at least as accurate as FFTW's float
/// transform, though not bit-identical to it.
#include <cassert>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdlib>
#include <numbers>
#include <vector>

using fftwf_complex = float[2];

#define FFTW_ESTIMATE (1U << 6)

namespace quack::fftw_compat {

struct Plan {
    bool forward = true; ///< r2c, else c2r
    std::size_t n = 0;   ///< real length
    float* real = nullptr;
    fftwf_complex* cplx = nullptr;
    std::vector<std::complex<double>> twiddle; ///< e^(-2 pi i k/n), k < n/2
    std::vector<std::size_t> bitrev;           ///< bit reversal of the n/2-point FFT
    std::vector<std::complex<double>> z;       ///< work, n/2

    void init(std::size_t size) {
        assert(size >= 4 && (size & (size - 1)) == 0 && "power-of-two sizes only");
        n = size;
        const std::size_t m = n / 2;
        twiddle.resize(m);
        for (std::size_t k = 0; k < m; ++k)
            twiddle[k] = std::polar(1.0, -2.0 * std::numbers::pi * static_cast<double>(k) /
                                             static_cast<double>(n));
        bitrev.resize(m);
        unsigned bits = 0;
        while ((std::size_t{1} << bits) < m)
            ++bits;
        for (std::size_t i = 0; i < m; ++i) {
            std::size_t r = 0;
            for (unsigned b = 0; b < bits; ++b)
                r |= ((i >> b) & 1U) << (bits - 1 - b);
            bitrev[i] = r;
        }
        z.resize(m);
    }

    /// In-place m = n/2 point complex FFT of z; `inverse` uses e^(+2 pi i ...), unnormalised.
    /// The m-point twiddle e^(-2 pi i k/m) is twiddle[2k].
    void complexFft(bool inverse) {
        const std::size_t m = n / 2;
        for (std::size_t i = 0; i < m; ++i)
            if (bitrev[i] > i)
                std::swap(z[i], z[bitrev[i]]);
        for (std::size_t len = 2; len <= m; len <<= 1) {
            const std::size_t half = len / 2, step = (n / len);
            for (std::size_t start = 0; start < m; start += len)
                for (std::size_t j = 0; j < half; ++j) {
                    std::complex<double> w = twiddle[j * step];
                    if (inverse)
                        w = std::conj(w);
                    const std::complex<double> a = z[start + j], b = z[start + j + half] * w;
                    z[start + j] = a + b;
                    z[start + j + half] = a - b;
                }
        }
    }

    void r2c(const float* in, fftwf_complex* out) {
        const std::size_t m = n / 2;
        for (std::size_t k = 0; k < m; ++k)
            z[k] = {static_cast<double>(in[2 * k]), static_cast<double>(in[2 * k + 1])};
        complexFft(false);
        // Z = DFT(even + i odd): E[k] = (Z[k] + conj Z[m-k]) / 2, O[k] = -i (Z[k] - conj Z[m-k]) / 2,
        // X[k] = E[k] + W^k O[k] for k = 0..m (Z[m] = Z[0], W^m = -1).
        for (std::size_t k = 0; k <= m; ++k) {
            const std::complex<double> a = z[k % m], b = std::conj(z[(m - k) % m]);
            const std::complex<double> e = 0.5 * (a + b);
            const std::complex<double> o = std::complex<double>(0.0, -0.5) * (a - b);
            const std::complex<double> w = k < m ? twiddle[k] : std::complex<double>(-1.0, 0.0);
            const std::complex<double> x = e + w * o;
            out[k][0] = static_cast<float>(x.real());
            out[k][1] = static_cast<float>(x.imag());
        }
    }

    void c2r(const fftwf_complex* in, float* out) {
        const std::size_t m = n / 2;
        // For Hermitian X: E[k] = (X[k] + conj X[m-k]) / 2, O[k] = (X[k] - conj X[m-k]) conj(W^k) / 2;
        // Z[k] = E[k] + i O[k], and the unnormalised inverse of Z holds (n/2)(even + i odd).
        // FFTW, like this, ignores the imaginary parts of bins 0 and n/2.
        auto bin = [&](std::size_t k) {
            const double im = (k == 0 || k == m) ? 0.0 : static_cast<double>(in[k][1]);
            return std::complex<double>(static_cast<double>(in[k][0]), im);
        };
        for (std::size_t k = 0; k < m; ++k) {
            const std::complex<double> a = bin(k), b = std::conj(bin(m - k));
            const std::complex<double> e = 0.5 * (a + b);
            const std::complex<double> o = 0.5 * (a - b) * std::conj(twiddle[k]);
            z[k] = e + std::complex<double>(0.0, 1.0) * o;
        }
        complexFft(true);
        for (std::size_t k = 0; k < m; ++k) {
            out[2 * k] = static_cast<float>(2.0 * z[k].real());
            out[2 * k + 1] = static_cast<float>(2.0 * z[k].imag());
        }
    }
};

} // namespace quack::fftw_compat

using fftwf_plan = quack::fftw_compat::Plan*;

inline void* fftwf_malloc(std::size_t bytes) { return std::malloc(bytes == 0 ? 1 : bytes); }
inline void fftwf_free(void* p) { std::free(p); }
inline float* fftwf_alloc_real(std::size_t n) { return static_cast<float*>(fftwf_malloc(sizeof(float) * n)); }
inline fftwf_complex* fftwf_alloc_complex(std::size_t n) {
    return static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * n));
}

inline fftwf_plan fftwf_plan_dft_r2c_1d(int n, float* in, fftwf_complex* out, unsigned /*flags*/) {
    auto* p = new quack::fftw_compat::Plan;
    p->init(static_cast<std::size_t>(n));
    p->forward = true;
    p->real = in;
    p->cplx = out;
    return p;
}
inline fftwf_plan fftwf_plan_dft_c2r_1d(int n, fftwf_complex* in, float* out, unsigned /*flags*/) {
    auto* p = new quack::fftw_compat::Plan;
    p->init(static_cast<std::size_t>(n));
    p->forward = false;
    p->real = out;
    p->cplx = in;
    return p;
}
inline void fftwf_execute(fftwf_plan p) {
    if (p->forward)
        p->r2c(p->real, p->cplx);
    else
        p->c2r(p->cplx, p->real);
}
/// New-array execute (fftw3 manual s.4.6): the plan's own work buffer is reused, so one plan
/// must not be executed from two threads at once (the WASM build has one thread).
inline void fftwf_execute_dft_r2c(fftwf_plan p, float* in, fftwf_complex* out) { p->r2c(in, out); }
inline void fftwf_destroy_plan(fftwf_plan p) { delete p; }
