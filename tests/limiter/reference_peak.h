#pragma once
/// Independent reference meters and test signals for the true-peak and limiter tests. They share
/// no code with the engine: a brute-force band-limited interpolation (long Kaiser-windowed sinc
/// evaluated directly at a fine grid, in double) and a libebur128-1.2.6-style 4x meter written
/// in the direct form (zero-stuff, then a 49-tap Hann-windowed sinc at 4 fs).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

namespace quack::test {

inline double besselI0Ref(double x) {
    double sum = 1.0, term = 1.0;
    for (int k = 1; k < 200; ++k) {
        term *= x / 2.0 / k;
        sum += term * term;
    }
    return sum;
}

inline double sincRef(double u) {
    if (std::abs(u) < 1e-15)
        return 1.0;
    return std::sin(std::numbers::pi * u) / (std::numbers::pi * u);
}

inline double dbOf(double linear) { return 20.0 * std::log10(linear); }
inline double linOf(double db) { return std::pow(10.0, db / 20.0); }

/// Brute-force band-limited reconstruction x(t) = sum_s x[s] 2fc sinc(2fc (t - s)) w((t - s) / hw)
/// with a Kaiser window (beta 12: sidelobes ~ -90 dB), evaluated at `oversample` points per
/// input interval. fc = 0.5 is the ideal DAC (flat to ~0.47 fs with halfWidth 64);
/// fc = 0.485 models ffmpeg's ebur128 path (swr resampling to 192 kHz, cut-off 0.97 x Nyquist).
class ReferenceInterpolator {
  public:
    ReferenceInterpolator(int oversample, int halfWidth, double cutoff = 0.5)
        : os_(oversample), hw_(halfWidth) {
        const double beta = 12.0, i0b = besselI0Ref(beta);
        table_.resize(static_cast<size_t>(os_ * 2 * hw_));
        for (int q = 0; q < os_; ++q)
            for (int k = 0; k < 2 * hw_; ++k) {
                // point t = n + q/os uses inputs s = n - hw + 1 + k, u = t - s
                const double u = static_cast<double>(hw_ - 1 - k) + static_cast<double>(q) / os_;
                const double r = u / hw_;
                const double w = std::abs(r) < 1.0 ? besselI0Ref(beta * std::sqrt(1.0 - r * r)) / i0b : 0.0;
                table_[static_cast<size_t>(q * 2 * hw_ + k)] = 2.0 * cutoff * sincRef(2.0 * cutoff * u) * w;
            }
    }

    /// Per-interval maxima: out[n] = max |x(t)| over the grid t = n - 1 + q / oversample,
    /// q = 1..oversample (n = 0..size-1), the signal being zero outside [0, size).
    std::vector<double> intervalPeaks(const std::vector<float>& x) const {
        const auto n = static_cast<long>(x.size());
        std::vector<double> padded(static_cast<size_t>(n + 2 * hw_ + 2), 0.0);
        for (long i = 0; i < n; ++i)
            padded[static_cast<size_t>(i + hw_)] = static_cast<double>(x[static_cast<size_t>(i)]);
        std::vector<double> out(static_cast<size_t>(n), 0.0);
        for (long i = 0; i < n; ++i) {
            double m = std::abs(static_cast<double>(x[static_cast<size_t>(i)]));
            // points t = (i - 1) + q / os, q = 1..os-1, use inputs (i - 1) - hw + 1 + k
            const double* base = padded.data() + (i - 1 - hw_ + 1 + hw_);
            for (int q = 1; q < os_; ++q) {
                const double* c = table_.data() + q * 2 * hw_;
                double acc = 0.0;
                for (int k = 0; k < 2 * hw_; ++k)
                    acc += c[k] * base[k];
                m = std::max(m, std::abs(acc));
            }
            out[static_cast<size_t>(i)] = m;
        }
        return out;
    }

    double truePeak(const std::vector<float>& x) const {
        const auto p = intervalPeaks(x);
        return p.empty() ? 0.0 : *std::max_element(p.begin(), p.end());
    }

  private:
    int os_, hw_;
    std::vector<double> table_;
};

/// libebur128 1.2.6-style true peak (below 96 kHz): zero-stuff by 4, filter with the 49-tap
/// Hann-windowed sinc h[j] = sinc((j - 24) / 4) * 0.5 (1 - cos(2 pi j / 48)), take
/// max(|sample|, |interpolated|). Direct form, double precision.
inline double ebur128StyleTruePeak(const std::vector<float>& x) {
    constexpr int kTaps = 49, kFactor = 4;
    double h[kTaps];
    for (int j = 0; j < kTaps; ++j) {
        const double m = j - (kTaps - 1) / 2.0;
        h[j] = sincRef(m / kFactor) * 0.5 * (1.0 - std::cos(2.0 * std::numbers::pi * j / (kTaps - 1)));
    }
    const auto n = static_cast<long>(x.size());
    double peak = 0.0;
    for (long i = 0; i < n; ++i)
        peak = std::max(peak, std::abs(static_cast<double>(x[static_cast<size_t>(i)])));
    for (long k = 0; k < (n + 12) * kFactor; ++k) {
        double acc = 0.0;
        for (int j = 0; j < kTaps; ++j) {
            const long u = k - j;
            if (u >= 0 && u % kFactor == 0 && u / kFactor < n)
                acc += h[j] * static_cast<double>(x[static_cast<size_t>(u / kFactor)]);
        }
        peak = std::max(peak, std::abs(acc));
    }
    return peak;
}

/// Lowpass by direct convolution with a Kaiser-windowed sinc (cutoff fc in cycles/sample,
/// zero-phase, halfWidth taps each side, beta 10).
inline std::vector<float> lowpass(const std::vector<double>& x, double fc, int halfWidth) {
    const double beta = 10.0, i0b = besselI0Ref(beta);
    std::vector<double> h(static_cast<size_t>(2 * halfWidth + 1));
    for (int k = -halfWidth; k <= halfWidth; ++k) {
        const double r = static_cast<double>(k) / halfWidth;
        h[static_cast<size_t>(k + halfWidth)] =
            2.0 * fc * sincRef(2.0 * fc * k) * besselI0Ref(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0b;
    }
    const auto n = static_cast<long>(x.size());
    std::vector<float> y(static_cast<size_t>(n));
    for (long i = 0; i < n; ++i) {
        double acc = 0.0;
        for (int k = -halfWidth; k <= halfWidth; ++k) {
            const long j = i - k;
            if (j >= 0 && j < n)
                acc += h[static_cast<size_t>(k + halfWidth)] * x[static_cast<size_t>(j)];
        }
        y[static_cast<size_t>(i)] = static_cast<float>(acc);
    }
    return y;
}

inline std::vector<float> sine(long frames, double cyclesPerSample, double amplitude, double phaseRad) {
    std::vector<float> x(static_cast<size_t>(frames));
    for (long i = 0; i < frames; ++i)
        x[static_cast<size_t>(i)] = static_cast<float>(
            amplitude * std::sin(2.0 * std::numbers::pi * cyclesPerSample * static_cast<double>(i) + phaseRad));
    return x;
}

inline std::vector<double> whiteNoise(long frames, double amplitude, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(-amplitude, amplitude);
    std::vector<double> x(static_cast<size_t>(frames));
    for (auto& v : x)
        v = dist(rng);
    return x;
}

inline std::vector<float> toFloat(const std::vector<double>& x) {
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        y[i] = static_cast<float>(x[i]);
    return y;
}

inline float maxAbs(const std::vector<float>& x) {
    float m = 0.0f;
    for (float v : x)
        m = std::max(m, std::abs(v));
    return m;
}

} // namespace quack::test
