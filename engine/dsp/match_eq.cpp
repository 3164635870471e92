#include "engine/dsp/match_eq.h"

#include "engine/core/fft_lock.h"

#include <fftw3.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <complex>
#include <numbers>

// Design (per lane): the wanted magnitude |H(f)| comes from the curve on a dense grid of M
// points (M = 8 N, so cepstral aliasing is negligible). The minimum-phase filter with that
// magnitude follows from the real cepstrum (Oppenheim & Schafer, "homomorphic" method):
//   c = IDFT(ln|H|);  c_min[0] = c[0], c_min[n] = 2 c[n] (0 < n < M/2), c_min[M/2] = c[M/2],
//   c_min[n] = 0 otherwise;  H_min = exp(DFT(c_min));  h = IDFT(H_min), first N taps,
// the last N/4 of them faded by a half raised cosine so the truncation does not ripple.
// Minimum phase: no pre-ringing and no added delay beyond the filter's own group delay.
//
// Running (per lane): uniform overlap-save with partition N and FFT size 2N. Input is gathered
// into blocks of N frames; each full block y = IDFT(DFT([previous block, this block]) H) keeps
// the last N outputs, which are emitted during the next N frames: latency exactly N frames,
// independent of the caller's block sizes.

namespace quack {
namespace {

double curveDbAt(const std::vector<double>& hz, const std::vector<double>& db, double f) {
    if (hz.empty())
        return 0.0;
    if (f <= hz.front())
        return db.front();
    if (f >= hz.back())
        return db.back();
    const auto it = std::upper_bound(hz.begin(), hz.end(), f);
    const auto i = static_cast<size_t>(it - hz.begin());
    const double t = std::log(f / hz[i - 1]) / std::log(hz[i] / hz[i - 1]);
    return db[i - 1] + t * (db[i] - db[i - 1]);
}

FrameCount filterLengthFor(double sampleRate) {
    FrameCount n = 1024;
    while (static_cast<double>(n) < sampleRate / 6.0)
        n *= 2;
    return n;
}

struct FftwFloats {
    float* p = nullptr;
    explicit FftwFloats(size_t n) : p(fftwf_alloc_real(n)) {}
    ~FftwFloats() { fftwf_free(p); }
    FftwFloats(const FftwFloats&) = delete;
    FftwFloats& operator=(const FftwFloats&) = delete;
};
struct FftwComplex {
    fftwf_complex* p = nullptr;
    explicit FftwComplex(size_t n) : p(fftwf_alloc_complex(n)) {}
    ~FftwComplex() { fftwf_free(p); }
    FftwComplex(const FftwComplex&) = delete;
    FftwComplex& operator=(const FftwComplex&) = delete;
};

/// Minimum-phase impulse response of length n for the magnitude curve (dB) at sampleRate.
std::vector<float> designMinimumPhase(double sampleRate, FrameCount n, const std::vector<double>& hz,
                                      const std::vector<double>& db) {
    const auto m = static_cast<size_t>(8 * n);
    const size_t bins = m / 2 + 1;
    FftwFloats real(m);
    FftwComplex spec(bins);
    fftwf_plan toTime = nullptr, toFreq = nullptr;
    {
        std::lock_guard lock(fftwPlannerMutex());
        toTime = fftwf_plan_dft_c2r_1d(static_cast<int>(m), spec.p, real.p, FFTW_ESTIMATE);
        toFreq = fftwf_plan_dft_r2c_1d(static_cast<int>(m), real.p, spec.p, FFTW_ESTIMATE);
    }
    const double ln10Over20 = std::numbers::ln10 / 20.0;
    for (size_t k = 0; k < bins; ++k) {
        const double f = static_cast<double>(k) * sampleRate / static_cast<double>(m);
        spec.p[k][0] = static_cast<float>(curveDbAt(hz, db, f) * ln10Over20);
        spec.p[k][1] = 0.0f;
    }
    fftwf_execute(toTime); // real cepstrum times m
    const float scale = 1.0f / static_cast<float>(m);
    real.p[0] *= scale;
    for (size_t i = 1; i < m / 2; ++i)
        real.p[i] *= 2.0f * scale;
    real.p[m / 2] *= scale;
    std::fill(real.p + m / 2 + 1, real.p + m, 0.0f);
    fftwf_execute(toFreq);
    for (size_t k = 0; k < bins; ++k) {
        const std::complex<double> e =
            std::exp(std::complex<double>(static_cast<double>(spec.p[k][0]), static_cast<double>(spec.p[k][1])));
        spec.p[k][0] = static_cast<float>(e.real());
        spec.p[k][1] = static_cast<float>(e.imag());
    }
    fftwf_execute(toTime);
    std::vector<float> h(static_cast<size_t>(n));
    const auto fade = static_cast<size_t>(n / 4);
    for (size_t i = 0; i < h.size(); ++i) {
        double w = 1.0;
        if (i >= h.size() - fade) {
            const double t = static_cast<double>(i - (h.size() - fade)) / static_cast<double>(fade);
            w = 0.5 * (1.0 + std::cos(std::numbers::pi * t));
        }
        h[i] = static_cast<float>(static_cast<double>(real.p[i] * scale) * w);
    }
    {
        std::lock_guard lock(fftwPlannerMutex());
        fftwf_destroy_plan(toTime);
        fftwf_destroy_plan(toFreq);
    }
    return h;
}

} // namespace

struct MatchEq::Impl {
    double sampleRate = 48000.0;
    ChannelCount channels = 0;
    FrameCount n = 0;   ///< filter length = partition = latency
    FrameCount pos = 0; ///< frames gathered in the current partition
    int lanes = 0;
    std::vector<float> impulse[2];
    std::vector<std::complex<float>> response[2]; ///< DFT of the zero-padded IR, scaled 1/(2n)
    std::vector<float> input[2];                  ///< 2n: previous partition, then the current
    std::vector<float> output[2];                 ///< n: last partition's result, being emitted
    float* time = nullptr;
    fftwf_complex* freq = nullptr;
    fftwf_plan forward = nullptr, inverse = nullptr;

    ~Impl() { release(); }
    void release() {
        std::lock_guard lock(fftwPlannerMutex());
        if (forward)
            fftwf_destroy_plan(forward);
        if (inverse)
            fftwf_destroy_plan(inverse);
        fftwf_free(time);
        fftwf_free(freq);
        forward = inverse = nullptr;
        time = nullptr;
        freq = nullptr;
    }

    void runPartition(int lane) {
        const auto nn = static_cast<size_t>(n);
        std::copy(input[lane].begin(), input[lane].end(), time);
        fftwf_execute(forward);
        const auto& r = response[lane];
        for (size_t k = 0; k <= nn; ++k) {
            const std::complex<float> x(freq[k][0], freq[k][1]);
            const std::complex<float> y = x * r[k];
            freq[k][0] = y.real();
            freq[k][1] = y.imag();
        }
        fftwf_execute(inverse);
        std::copy(time + nn, time + 2 * nn, output[lane].begin());
        // The current partition becomes the previous one.
        std::copy(input[lane].begin() + static_cast<long>(nn), input[lane].end(), input[lane].begin());
    }
};

MatchEq::MatchEq() : impl_(std::make_unique<Impl>()) {}
MatchEq::~MatchEq() = default;
MatchEq::MatchEq(MatchEq&&) noexcept = default;
MatchEq& MatchEq::operator=(MatchEq&&) noexcept = default;

void MatchEq::prepare(double sampleRate, ChannelCount channels, const MatchCurves& curves) {
    assert(channels == 1 || channels == 2);
    assert(curves.centerHz.size() == curves.midGainDb.size());
    assert(channels == 1 || curves.centerHz.size() == curves.sideGainDb.size());
    Impl& d = *impl_;
    d.release();
    d.sampleRate = sampleRate;
    d.channels = channels;
    d.lanes = channels;
    d.n = filterLengthFor(sampleRate);
    const auto nn = static_cast<size_t>(d.n);
    d.time = fftwf_alloc_real(2 * nn);
    d.freq = fftwf_alloc_complex(nn + 1);
    {
        std::lock_guard lock(fftwPlannerMutex());
        d.forward = fftwf_plan_dft_r2c_1d(static_cast<int>(2 * nn), d.time, d.freq, FFTW_ESTIMATE);
        d.inverse = fftwf_plan_dft_c2r_1d(static_cast<int>(2 * nn), d.freq, d.time, FFTW_ESTIMATE);
    }
    for (int lane = 0; lane < d.lanes; ++lane) {
        const auto& db = lane == 0 ? curves.midGainDb : curves.sideGainDb;
        d.impulse[lane] = designMinimumPhase(sampleRate, d.n, curves.centerHz, db);
        std::fill(d.time, d.time + 2 * nn, 0.0f);
        std::copy(d.impulse[lane].begin(), d.impulse[lane].end(), d.time);
        fftwf_execute(d.forward);
        const float scale = 1.0f / static_cast<float>(2 * nn);
        d.response[lane].resize(nn + 1);
        for (size_t k = 0; k <= nn; ++k)
            d.response[lane][k] = std::complex<float>(d.freq[k][0], d.freq[k][1]) * scale;
        d.input[lane].assign(2 * nn, 0.0f);
        d.output[lane].assign(nn, 0.0f);
    }
    d.pos = 0;
}

void MatchEq::reset() {
    Impl& d = *impl_;
    for (int lane = 0; lane < d.lanes; ++lane) {
        std::fill(d.input[lane].begin(), d.input[lane].end(), 0.0f);
        std::fill(d.output[lane].begin(), d.output[lane].end(), 0.0f);
    }
    d.pos = 0;
}

void MatchEq::process(AudioView block) {
    Impl& d = *impl_;
    assert(block.numChannels == d.channels);
    const auto nn = static_cast<size_t>(d.n);
    FrameCount done = 0;
    while (done < block.numFrames) {
        const auto pos = static_cast<size_t>(d.pos);
        const auto len = static_cast<size_t>(std::min(d.n - d.pos, block.numFrames - done));
        if (d.channels == 2) {
            float* l = block.channel(0) + done;
            float* r = block.channel(1) + done;
            float* mIn = d.input[0].data() + nn + pos;
            float* sIn = d.input[1].data() + nn + pos;
            const float* mOut = d.output[0].data() + pos;
            const float* sOut = d.output[1].data() + pos;
            for (size_t i = 0; i < len; ++i) {
                mIn[i] = 0.5f * (l[i] + r[i]);
                sIn[i] = 0.5f * (l[i] - r[i]);
                l[i] = mOut[i] + sOut[i];
                r[i] = mOut[i] - sOut[i];
            }
        } else {
            float* x = block.channel(0) + done;
            float* in = d.input[0].data() + nn + pos;
            const float* out = d.output[0].data() + pos;
            for (size_t i = 0; i < len; ++i) {
                in[i] = x[i];
                x[i] = out[i];
            }
        }
        d.pos += static_cast<FrameCount>(len);
        done += static_cast<FrameCount>(len);
        if (d.pos == d.n) {
            for (int lane = 0; lane < d.lanes; ++lane)
                d.runPartition(lane);
            d.pos = 0;
        }
    }
}

FrameCount MatchEq::latencyFrames() const { return impl_->n; }
FrameCount MatchEq::filterLength() const { return impl_->n; }

double MatchEq::responseDb(int lane, double hz) const {
    const Impl& d = *impl_;
    assert(lane >= 0 && lane < d.lanes);
    const double w = 2.0 * std::numbers::pi * hz / d.sampleRate;
    std::complex<double> acc = 0.0;
    const auto& h = d.impulse[lane];
    for (size_t i = 0; i < h.size(); ++i)
        acc += static_cast<double>(h[i]) * std::polar(1.0, -w * static_cast<double>(i));
    return 20.0 * std::log10(std::max(std::abs(acc), 1e-12));
}

} // namespace quack
