#pragma once
/// Second-order IIR section (transposed direct form II) with double state, and the classic
/// coefficient designs (RBJ Audio EQ Cookbook; bilinear transform pre-warped at f0:
/// K = tan(pi * f0 / fs)). Allocation-free and real-time safe.
#include <cmath>
#include <numbers>

namespace quack {

/// Normalised biquad coefficients: y = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
struct BiquadCoeffs {
    double b0 = 1.0, b1 = 0.0, b2 = 0.0, a1 = 0.0, a2 = 0.0;

    /// Magnitude response in dB at frequency `hz` for sample rate `fs`.
    double magnitudeDb(double hz, double fs) const {
        const double w = 2.0 * std::numbers::pi * hz / fs;
        const double c1 = std::cos(w), s1 = std::sin(w), c2 = std::cos(2 * w), s2 = std::sin(2 * w);
        const double nr = b0 + b1 * c1 + b2 * c2, ni = -(b1 * s1 + b2 * s2);
        const double dr = 1.0 + a1 * c1 + a2 * c2, di = -(a1 * s1 + a2 * s2);
        return 10.0 * std::log10((nr * nr + ni * ni) / (dr * dr + di * di));
    }

    /// Identity (pass-through).
    static BiquadCoeffs identity() { return {}; }

    /// Butterworth-style 2nd-order high-pass at f0 Hz with quality q.
    static BiquadCoeffs highPass(double f0, double q, double fs) {
        const double w = 2.0 * std::numbers::pi * f0 / fs, cw = std::cos(w), alpha = std::sin(w) / (2.0 * q);
        const double a0 = 1.0 + alpha;
        return {(1.0 + cw) / 2.0 / a0, -(1.0 + cw) / a0, (1.0 + cw) / 2.0 / a0, -2.0 * cw / a0,
                (1.0 - alpha) / a0};
    }
    /// 2nd-order low-pass at f0 Hz with quality q.
    static BiquadCoeffs lowPass(double f0, double q, double fs) {
        const double w = 2.0 * std::numbers::pi * f0 / fs, cw = std::cos(w), alpha = std::sin(w) / (2.0 * q);
        const double a0 = 1.0 + alpha;
        return {(1.0 - cw) / 2.0 / a0, (1.0 - cw) / a0, (1.0 - cw) / 2.0 / a0, -2.0 * cw / a0,
                (1.0 - alpha) / a0};
    }
    /// Peaking EQ: gainDb at f0 Hz, bandwidth set by q.
    static BiquadCoeffs peaking(double f0, double q, double gainDb, double fs) {
        const double amp = std::pow(10.0, gainDb / 40.0);
        const double w = 2.0 * std::numbers::pi * f0 / fs, cw = std::cos(w), alpha = std::sin(w) / (2.0 * q);
        const double a0 = 1.0 + alpha / amp;
        return {(1.0 + alpha * amp) / a0, -2.0 * cw / a0, (1.0 - alpha * amp) / a0, -2.0 * cw / a0,
                (1.0 - alpha / amp) / a0};
    }
    /// Low shelf: gainDb below f0 Hz, slope set by q (0.7071 = Butterworth-like).
    static BiquadCoeffs lowShelf(double f0, double q, double gainDb, double fs) {
        const double amp = std::pow(10.0, gainDb / 40.0);
        const double w = 2.0 * std::numbers::pi * f0 / fs, cw = std::cos(w), alpha = std::sin(w) / (2.0 * q);
        const double sq = 2.0 * std::sqrt(amp) * alpha;
        const double a0 = (amp + 1.0) + (amp - 1.0) * cw + sq;
        return {amp * ((amp + 1.0) - (amp - 1.0) * cw + sq) / a0,
                2.0 * amp * ((amp - 1.0) - (amp + 1.0) * cw) / a0,
                amp * ((amp + 1.0) - (amp - 1.0) * cw - sq) / a0,
                -2.0 * ((amp - 1.0) + (amp + 1.0) * cw) / a0,
                ((amp + 1.0) + (amp - 1.0) * cw - sq) / a0};
    }
    /// High shelf: gainDb above f0 Hz, slope set by q.
    static BiquadCoeffs highShelf(double f0, double q, double gainDb, double fs) {
        const double amp = std::pow(10.0, gainDb / 40.0);
        const double w = 2.0 * std::numbers::pi * f0 / fs, cw = std::cos(w), alpha = std::sin(w) / (2.0 * q);
        const double sq = 2.0 * std::sqrt(amp) * alpha;
        const double a0 = (amp + 1.0) - (amp - 1.0) * cw + sq;
        return {amp * ((amp + 1.0) + (amp - 1.0) * cw + sq) / a0,
                -2.0 * amp * ((amp - 1.0) + (amp + 1.0) * cw) / a0,
                amp * ((amp + 1.0) + (amp - 1.0) * cw - sq) / a0,
                2.0 * ((amp - 1.0) - (amp + 1.0) * cw) / a0,
                ((amp + 1.0) - (amp - 1.0) * cw - sq) / a0};
    }
};

/// One biquad section's state for one channel. Double state (house style: double for IIR
/// state) keeps low-frequency sections quiet at 384 kHz.
class Biquad {
  public:
    void setCoeffs(const BiquadCoeffs& c) { c_ = c; }
    const BiquadCoeffs& coeffs() const { return c_; }
    void reset() { s1_ = s2_ = 0.0; }

    double processSample(double x) {
        const double y = c_.b0 * x + s1_;
        s1_ = c_.b1 * x - c_.a1 * y + s2_;
        s2_ = c_.b2 * x - c_.a2 * y;
        return y;
    }
    /// In place over `n` samples.
    void process(float* data, long n) {
        for (long i = 0; i < n; ++i)
            data[i] = static_cast<float>(processSample(static_cast<double>(data[i])));
    }

  private:
    BiquadCoeffs c_;
    double s1_ = 0.0, s2_ = 0.0;
};

} // namespace quack
