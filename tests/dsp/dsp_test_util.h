#pragma once
/// Signal generators and measurements for the dsp tests. Self-contained (no quack_analysis) so
/// the dsp tests build and fail on their own.
#include "engine/core/audio_buffer.h"
#include "engine/dsp/stereo_biquad.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <functional>
#include <numbers>
#include <random>
#include <vector>

namespace quack::test {

inline constexpr double kPi = std::numbers::pi;

/// While alive (and `portable` is true), processors prepared in its scope use the portable
/// kernel even on an AVX2+FMA CPU, so tests cover both paths on one machine.
class KernelScope {
  public:
    explicit KernelScope(bool portable) : saved_(dsp_detail::cascadeKernelOverride()) {
        dsp_detail::cascadeKernelOverride() =
            portable ? dsp_detail::CascadeKernel::Portable : dsp_detail::CascadeKernel::Auto;
    }
    ~KernelScope() { dsp_detail::cascadeKernelOverride() = saved_; }
    KernelScope(const KernelScope&) = delete;
    KernelScope& operator=(const KernelScope&) = delete;

  private:
    dsp_detail::CascadeKernel saved_;
};

/// max |a - b| over all samples of two equally shaped buffers.
inline double maxAbsDiff(const AudioBuffer& a, const AudioBuffer& b) {
    double worst = 0.0;
    for (ChannelCount c = 0; c < a.numChannels(); ++c)
        for (FrameCount i = 0; i < a.numFrames(); ++i)
            worst = std::max(worst, std::abs(static_cast<double>(a.channel(c)[i]) -
                                             static_cast<double>(b.channel(c)[i])));
    return worst;
}

inline double dbFromRatio(double r) {
    return 20.0 * std::log10(r);
}

/// Fills `frames` frames with f(channel, frame).
inline AudioBuffer makeSignal(ChannelCount channels, FrameCount frames,
                              const std::function<double(ChannelCount, FrameCount)>& f) {
    AudioBuffer buf(channels, frames);
    for (ChannelCount c = 0; c < channels; ++c)
        for (FrameCount i = 0; i < frames; ++i)
            buf.channel(c)[i] = static_cast<float>(f(c, i));
    return buf;
}

inline AudioBuffer makeSine(ChannelCount channels, FrameCount frames, double fs, double hz,
                            double amplitude) {
    return makeSignal(channels, frames, [&](ChannelCount, FrameCount i) {
        return amplitude * std::sin(2.0 * kPi * hz * static_cast<double>(i) / fs);
    });
}

/// Independent uniform white noise per channel in [-amplitude, amplitude].
inline AudioBuffer makeNoise(ChannelCount channels, FrameCount frames, double amplitude,
                             unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(-amplitude, amplitude);
    return makeSignal(channels, frames, [&](ChannelCount, FrameCount) { return dist(rng); });
}

/// RMS of x[from, to).
inline double rms(const float* x, FrameCount from, FrameCount to) {
    double sum = 0.0;
    for (FrameCount i = from; i < to; ++i)
        sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return std::sqrt(sum / static_cast<double>(to - from));
}

/// Least-squares fit of a cos + b sin at the known frequency `hz` (plus a DC term) to x[from,
/// to). Returns the fitted amplitude; `residualRms` receives the RMS of what the fit leaves
/// (harmonics + noise), so THD+N = residualRms / (amplitude / sqrt2).
inline double fitSine(const float* x, FrameCount from, FrameCount to, double fs, double hz,
                      double* residualRms = nullptr) {
    // Normal equations for the basis {cos, sin, 1}.
    double m[3][3] = {}, r[3] = {};
    const double w = 2.0 * kPi * hz / fs;
    for (FrameCount i = from; i < to; ++i) {
        const double t = static_cast<double>(i);
        const double basis[3] = {std::cos(w * t), std::sin(w * t), 1.0};
        for (int a = 0; a < 3; ++a) {
            r[a] += basis[a] * static_cast<double>(x[i]);
            for (int b = 0; b < 3; ++b)
                m[a][b] += basis[a] * basis[b];
        }
    }
    // Solve 3x3 by Cramer's rule.
    auto det3 = [](const double(&q)[3][3]) {
        return q[0][0] * (q[1][1] * q[2][2] - q[1][2] * q[2][1]) -
               q[0][1] * (q[1][0] * q[2][2] - q[1][2] * q[2][0]) +
               q[0][2] * (q[1][0] * q[2][1] - q[1][1] * q[2][0]);
    };
    const double d = det3(m);
    double coef[3];
    for (int k = 0; k < 3; ++k) {
        double q[3][3];
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b)
                q[a][b] = b == k ? r[a] : m[a][b];
        coef[k] = det3(q) / d;
    }
    if (residualRms != nullptr) {
        double sum = 0.0;
        for (FrameCount i = from; i < to; ++i) {
            const double t = static_cast<double>(i);
            const double e = static_cast<double>(x[i]) - coef[0] * std::cos(w * t) -
                             coef[1] * std::sin(w * t) - coef[2];
            sum += e * e;
        }
        *residualRms = std::sqrt(sum / static_cast<double>(to - from));
    }
    return std::hypot(coef[0], coef[1]);
}

/// THD+N of x[from, to) as a ratio (residual RMS over fundamental RMS).
inline double thdPlusN(const float* x, FrameCount from, FrameCount to, double fs, double hz) {
    double residual = 0.0;
    const double amplitude = fitSine(x, from, to, fs, hz, &residual);
    return residual / (amplitude / std::numbers::sqrt2);
}

/// |H(f)| in dB from an impulse response (direct DFT at one frequency, double accumulation).
inline double magnitudeDbFromImpulse(const float* h, FrameCount n, double fs, double hz) {
    std::complex<double> sum{};
    const double w = 2.0 * kPi * hz / fs;
    // Rotating phasor, renormalised every 1024 steps to stop the magnitude drifting.
    const std::complex<double> step = std::polar(1.0, -w);
    std::complex<double> phasor = 1.0;
    for (FrameCount i = 0; i < n; ++i) {
        sum += static_cast<double>(h[i]) * phasor;
        phasor *= step;
        if ((i & 1023) == 1023)
            phasor = std::polar(1.0, -w * static_cast<double>(i + 1));
    }
    return 20.0 * std::log10(std::abs(sum));
}

/// Log-spaced frequencies from lo to hi, `perOctave` per octave, hi included.
inline std::vector<double> logFrequencies(double lo, double hi, int perOctave) {
    std::vector<double> out;
    const double step = std::exp2(1.0 / perOctave);
    for (double f = lo; f < hi; f *= step)
        out.push_back(f);
    out.push_back(hi);
    return out;
}

inline bool allFinite(const AudioBuffer& buf) {
    for (ChannelCount c = 0; c < buf.numChannels(); ++c)
        for (FrameCount i = 0; i < buf.numFrames(); ++i)
            if (!std::isfinite(buf.channel(c)[i]))
                return false;
    return true;
}

inline float maxAbs(const AudioBuffer& buf) {
    float m = 0.0f;
    for (ChannelCount c = 0; c < buf.numChannels(); ++c)
        for (FrameCount i = 0; i < buf.numFrames(); ++i)
            m = std::max(m, std::abs(buf.channel(c)[i]));
    return m;
}

inline bool bitEqual(const AudioBuffer& a, const AudioBuffer& b) {
    if (a.numChannels() != b.numChannels() || a.numFrames() != b.numFrames())
        return false;
    for (ChannelCount c = 0; c < a.numChannels(); ++c)
        for (FrameCount i = 0; i < a.numFrames(); ++i)
            if (a.channel(c)[i] != b.channel(c)[i])
                return false;
    return true;
}

/// Runs `process(view)` over `buf` in blocks of `blockFrames`.
template <typename Processor>
void processInBlocks(Processor& p, AudioBuffer& buf, FrameCount blockFrames) {
    const AudioView all = buf.view();
    for (FrameCount pos = 0; pos < buf.numFrames(); pos += blockFrames)
        p.process(all.subView(pos, std::min(blockFrames, buf.numFrames() - pos)));
}

} // namespace quack::test
