// The WASM build's FFTW stand-in (engine/wasm/fftw_compat/fftw3.h) against a direct DFT in
// double: r2c bins and a c2r round trip (which FFTW leaves unnormalised, x n).
#include "engine/wasm/fftw_compat/fftw3.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace {

TEST(FftwCompat, MatchesDirectDftAndRoundTrips) {
    for (int n : {8, 64, 1024, 4096}) {
        std::vector<float> x(static_cast<size_t>(n)), back(static_cast<size_t>(n));
        std::mt19937 rng(static_cast<unsigned>(n));
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (auto& v : x)
            v = u(rng);
        std::vector<fftwf_complex> spec(static_cast<size_t>(n / 2 + 1));
        fftwf_plan fwd = fftwf_plan_dft_r2c_1d(n, x.data(), spec.data(), FFTW_ESTIMATE);
        fftwf_plan inv = fftwf_plan_dft_c2r_1d(n, spec.data(), back.data(), FFTW_ESTIMATE);
        fftwf_execute(fwd);
        double worst = 0.0;
        for (int k = 0; k <= n / 2; ++k) {
            double re = 0.0, im = 0.0;
            for (int j = 0; j < n; ++j) {
                const double a = -2.0 * std::numbers::pi * j * k / n;
                re += static_cast<double>(x[static_cast<size_t>(j)]) * std::cos(a);
                im += static_cast<double>(x[static_cast<size_t>(j)]) * std::sin(a);
            }
            worst = std::max({worst, std::abs(re - static_cast<double>(spec[static_cast<size_t>(k)][0])),
                              std::abs(im - static_cast<double>(spec[static_cast<size_t>(k)][1]))});
        }
        // Bins are O(sqrt n) here; computed in double and rounded to float once, the error is
        // a few float ulps of the largest bin: 1e-5 * sqrt(n) leaves room for that, not for a bug.
        EXPECT_LT(worst, 1e-5 * std::sqrt(n)) << n;
        fftwf_execute(inv);
        for (int j = 0; j < n; ++j)
            EXPECT_NEAR(back[static_cast<size_t>(j)] / static_cast<float>(n), x[static_cast<size_t>(j)], 1e-6f) << n << " " << j;
        fftwf_destroy_plan(fwd);
        fftwf_destroy_plan(inv);
    }
}

} // namespace
