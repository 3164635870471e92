#include "engine/analysis/loudness.h"

#include "engine/core/flush_to_zero.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <numbers>

namespace quack {
namespace {

// BS.1770-4 s.2.1, Table 1: the analogue prototypes behind the 48 kHz coefficients, recovered
// so the filters can be re-derived at any rate (the values libebur128 also uses).
constexpr double kShelfHz = 1681.974450955533;
constexpr double kShelfGainDb = 3.999843853973347;
constexpr double kShelfQ = 0.7071752369554196;
constexpr double kShelfVbExponent = 0.4996667741545416; ///< band gain Vb = Vh^this
constexpr double kHighPassHz = 38.13547087602444;
constexpr double kHighPassQ = 0.5003270373238773;

/// BS.1770-4 eq. 2: L = -0.691 + 10 log10(sum G_i z_i).
constexpr double kLoudnessOffsetDb = -0.691;
/// BS.1770-4 s.2.8: absolute gate -70 LKFS, relative gate -10 LU.
constexpr double kAbsoluteGateLufs = -70.0;
constexpr double kRelativeGateLu = -10.0;
/// EBU Tech 3342 s.3: relative gate -20 LU, LRA = P95 - P10 of the gated short-term values.
constexpr double kLraRelativeGateLu = -20.0;
constexpr double kLraLowPercentile = 0.10;
constexpr double kLraHighPercentile = 0.95;

constexpr int kHopsPerBlock = 4;      ///< 400 ms gating block / momentary window
constexpr int kHopsPerShortTerm = 30; ///< 3 s short-term window

/// a0 of the pre-warped high-pass, 1 + K/Q + K^2 with K = tan(pi f0 / fs): also its gain at
/// Nyquist (and, to < 1e-4 dB, in the passband) with the unnormalised numerator [1, -2, 1].
double highPassA0(double sampleRate) {
    const double k = std::tan(std::numbers::pi * kHighPassHz / sampleRate);
    return 1.0 + k / kHighPassQ + k * k;
}

/// BS.1770-4 Table 2 gives the high-pass numerator as [1, -2, 1] at 48 kHz, where the section's
/// passband gain is +0.043 dB and the -0.691 constant absorbs it. Re-derived at another rate with
/// the same numerator the passband gain drifts (+0.26 dB at 8 kHz, -0.004 dB at 44.1 kHz, -0.04 dB
/// at 384 kHz; libebur128 keeps this drift). We scale the numerator so the passband gain stays
/// the 48 kHz one: exactly 1 at 48 kHz, so Table 2 is reproduced.
double highPassNumeratorGain(double sampleRate) {
    return highPassA0(48000.0) / highPassA0(sampleRate); // x / x == 1 exactly at 48 kHz
}

double energyToLufs(double energy) {
    return energy > 0.0 ? kLoudnessOffsetDb + 10.0 * std::log10(energy) : kSilenceLufs;
}
double lufsToEnergy(double lufs) { return std::pow(10.0, (lufs - kLoudnessOffsetDb) / 10.0); }

/// Mean of `count` hops starting at `first`, always summed in the same order so the integrated
/// value and the block maxima agree bit for bit however the audio was chunked.
double windowSum(std::span<const double> hops, size_t first, size_t count) {
    double sum = 0.0;
    for (size_t k = 0; k < count; ++k)
        sum += hops[first + k];
    return sum;
}
double windowEnergy(std::span<const double> hops, size_t first, size_t count) {
    return windowSum(hops, first, count) / static_cast<double>(count);
}

/// Lane type of the K-weighting kernel: one channel in a double, or L and R in the two lanes of
/// one SSE2 / wasm simd128 register (GCC vector extension). Lane-wise IEEE operations in the same
/// order for both, so a channel's result does not depend on which path ran it.
using Double2 = double __attribute__((vector_size(16)));

inline double loadFrame(const float* const* in, FrameCount i, double) { return static_cast<double>(in[0][i]); }
inline Double2 loadFrame(const float* const* in, FrameCount i, Double2) {
    return Double2{static_cast<double>(in[0][i]), static_cast<double>(in[1][i])};
}
inline double laneSum(double v) { return v; }
inline double laneSum(Double2 v) { return v[0] + v[1]; }

/// What the kernel does with each frame's squared outputs y^2 (one per lane, times g^2).
enum class Sink { PowerFloat, PowerDouble, Accumulate };

/// K-weights `n` frames with DF-I sections (DF-I, not TDF-II: its feedback path is one
/// multiply-add per sample, half the loop-carried latency). Shelf: u = b0 x + b1 x1 + b2 x2 -
/// a1 u1 - a2 u2; high-pass with numerator [1, -2, 1] (BS.1770-4 Table 2), its numerator gain g
/// applied to the power as g^2 (two multiplies fewer per sample on the critical path).
template <class V, Sink S, class Out>
void kWeight(const float* const* in, FrameCount n, const KWeighting::Coeffs& k, double g2, double* st, Out* out,
             double* acc) {
    const V zero{};
    const V sb0 = zero + k.shelf.b0, sb1 = zero + k.shelf.b1, sb2 = zero + k.shelf.b2;
    const V sa1 = zero + k.shelf.a1, sa2 = zero + k.shelf.a2;
    const V ha1 = zero + k.highPass.a1, ha2 = zero + k.highPass.a2;
    const V two = zero + 2.0, gain = zero + g2;
    constexpr int kLanes = sizeof(V) / sizeof(double);
    // st: [x1, x2, u1, u2, y1, y2] per lane, lane-major (KWeightedPower::State).
    auto get = [&](int field) {
        V v;
        for (int c = 0; c < kLanes; ++c)
            reinterpret_cast<double*>(&v)[c] = st[6 * c + field];
        return v;
    };
    V x1 = get(0), x2 = get(1), u1 = get(2), u2 = get(3), y1 = get(4), y2 = get(5);
    V a = zero;
    if constexpr (S == Sink::Accumulate)
        for (int c = 0; c < kLanes; ++c)
            reinterpret_cast<double*>(&a)[c] = acc[c];
    for (FrameCount i = 0; i < n; ++i) {
        const V x = loadFrame(in, i, zero);
        const V u = (sb0 * x + sb1 * x1) + (sb2 * x2 - sa2 * u2) - sa1 * u1;
        const V y = ((u + u2) - two * u1 - ha2 * y2) - ha1 * y1;
        x2 = x1;
        x1 = x;
        u2 = u1;
        u1 = u;
        y2 = y1;
        y1 = y;
        if constexpr (S == Sink::Accumulate)
            a += gain * (y * y);
        else
            out[i] = static_cast<Out>(g2 * laneSum(y * y));
    }
    const V fields[6] = {x1, x2, u1, u2, y1, y2};
    for (int c = 0; c < kLanes; ++c) {
        for (int f = 0; f < 6; ++f)
            st[6 * c + f] = reinterpret_cast<const double*>(&fields[f])[c];
        if constexpr (S == Sink::Accumulate)
            acc[c] = reinterpret_cast<const double*>(&a)[c];
    }
}

} // namespace

// ---------------------------------------------------------------------------------------------
// KWeighting

KWeighting::Coeffs KWeighting::coefficients(double sampleRate) {
    assert(sampleRate > 0.0);
    Coeffs out;
    {
        // High shelf by the pre-warped bilinear transform, K = tan(pi f0 / fs).
        const double k = std::tan(std::numbers::pi * kShelfHz / sampleRate);
        const double vh = std::pow(10.0, kShelfGainDb / 20.0);
        const double vb = std::pow(vh, kShelfVbExponent);
        const double a0 = 1.0 + k / kShelfQ + k * k;
        out.shelf.b0 = (vh + vb * k / kShelfQ + k * k) / a0;
        out.shelf.b1 = 2.0 * (k * k - vh) / a0;
        out.shelf.b2 = (vh - vb * k / kShelfQ + k * k) / a0;
        out.shelf.a1 = 2.0 * (k * k - 1.0) / a0;
        out.shelf.a2 = (1.0 - k / kShelfQ + k * k) / a0;
    }
    {
        const double k = std::tan(std::numbers::pi * kHighPassHz / sampleRate);
        const double a0 = 1.0 + k / kHighPassQ + k * k;
        const double g = highPassNumeratorGain(sampleRate);
        out.highPass.b0 = g;
        out.highPass.b1 = -2.0 * g;
        out.highPass.b2 = g;
        out.highPass.a1 = 2.0 * (k * k - 1.0) / a0;
        out.highPass.a2 = (1.0 - k / kHighPassQ + k * k) / a0;
    }
    return out;
}

void KWeighting::prepare(double sampleRate) {
    const Coeffs c = coefficients(sampleRate);
    shelf_ = {c.shelf.b0, c.shelf.b1, c.shelf.b2, c.shelf.a1, c.shelf.a2, 0.0, 0.0};
    highPass_ = {c.highPass.b0, c.highPass.b1, c.highPass.b2, c.highPass.a1, c.highPass.a2, 0.0, 0.0};
}

void KWeighting::reset() {
    shelf_.s1 = shelf_.s2 = 0.0;
    highPass_.s1 = highPass_.s2 = 0.0;
}

double KWeighting::processSample(double x) {
    // Transposed direct form II per section.
    auto run = [](State& s, double in) {
        const double out = s.b0 * in + s.s1;
        s.s1 = s.b1 * in - s.a1 * out + s.s2;
        s.s2 = s.b2 * in - s.a2 * out;
        return out;
    };
    return run(highPass_, run(shelf_, x));
}

// ---------------------------------------------------------------------------------------------
// KWeightedPower

void KWeightedPower::prepare(double sampleRate, ChannelCount channels) {
    assert(channels == 1 || channels == 2);
    coeffs_ = KWeighting::coefficients(sampleRate);
    powerGain_ = coeffs_.highPass.b0 * coeffs_.highPass.b0;
    channels_ = channels;
    reset();
}

void KWeightedPower::reset() {
    std::fill(std::begin(state_), std::end(state_), 0.0);
}

namespace {
template <Sink S, class Out>
void runKWeight(ConstAudioView block, ChannelCount channels, const KWeighting::Coeffs& k, double g2, double* st,
                Out* out, double* acc) {
    assert(block.numChannels == channels);
    static_assert(kMaxChannels == 2, "kernel lanes are mono or stereo");
    const float* const* in = block.data.data();
    if (channels == 2)
        kWeight<Double2, S>(in, block.numFrames, k, g2, st, out, acc);
    else
        kWeight<double, S>(in, block.numFrames, k, g2, st, out, acc);
}
} // namespace

void KWeightedPower::process(ConstAudioView block, float* powerOut) {
    runKWeight<Sink::PowerFloat>(block, channels_, coeffs_, powerGain_, state_, powerOut, nullptr);
}
void KWeightedPower::process(ConstAudioView block, double* powerOut) {
    runKWeight<Sink::PowerDouble>(block, channels_, coeffs_, powerGain_, state_, powerOut, nullptr);
}
void KWeightedPower::accumulate(ConstAudioView block, double* sumSquares) {
    runKWeight<Sink::Accumulate, double>(block, channels_, coeffs_, powerGain_, state_, nullptr,
                                         sumSquares);
}

// ---------------------------------------------------------------------------------------------
// Gating

double gatedIntegratedLoudness(std::span<const double> hopEnergies) {
    if (hopEnergies.size() < static_cast<size_t>(kHopsPerBlock))
        return kSilenceLufs; // BS.1770-4 s.2.8: only complete 400 ms blocks count
    const size_t blocks = hopEnergies.size() - static_cast<size_t>(kHopsPerBlock) + 1;
    const double absGateEnergy = lufsToEnergy(kAbsoluteGateLufs);

    // s.2.8 eq. 5-6: relative gate = loudness of the power mean of blocks above the absolute gate,
    // minus 10 LU. Blocks are compared in the energy domain (monotone, so the same sets).
    double sum = 0.0;
    size_t count = 0;
    for (size_t j = 0; j < blocks; ++j) {
        const double e = windowEnergy(hopEnergies, j, kHopsPerBlock);
        if (e > absGateEnergy) {
            sum += e;
            ++count;
        }
    }
    if (count == 0)
        return kSilenceLufs;
    const double relGateEnergy = (sum / static_cast<double>(count)) * std::pow(10.0, kRelativeGateLu / 10.0);
    const double gate = std::max(absGateEnergy, relGateEnergy);

    // eq. 7: power mean (not a mean of dB values) of blocks above both gates.
    sum = 0.0;
    count = 0;
    for (size_t j = 0; j < blocks; ++j) {
        const double e = windowEnergy(hopEnergies, j, kHopsPerBlock);
        if (e > gate) {
            sum += e;
            ++count;
        }
    }
    return count == 0 ? kSilenceLufs : energyToLufs(sum / static_cast<double>(count));
}

// ---------------------------------------------------------------------------------------------
// LoudnessMeter

struct LoudnessMeter::Impl {
    double sampleRate;
    ChannelCount channels;
    FrameCount hopFrames;
    KWeightedPower kWeighting;
    std::array<double, kMaxChannels> hopSumSquares{}; ///< running sum of y^2 in the current hop
    FrameCount framesInHop = 0;
    FrameCount framesProcessed = 0;
    std::vector<double> hops;

    double maxMomentaryEnergy = 0.0;
    double maxShortTermEnergy = 0.0;

    Impl(double fs, ChannelCount ch)
        : sampleRate(fs), channels(ch), hopFrames(hopFramesFor(fs)) {
        kWeighting.prepare(fs, ch);
        // Ten minutes of history up front so typical tracks never reallocate in process().
        hops.reserve(6000);
    }

    void resetState() {
        kWeighting.reset();
        hopSumSquares = {};
        framesInHop = 0;
        framesProcessed = 0;
        hops.clear();
        maxMomentaryEnergy = 0.0;
        maxShortTermEnergy = 0.0;
    }

    void closeHop() {
        // BS.1770-4 eq. 1-2 with G = 1.0 for L and R: sum over channels of mean squares.
        double e = 0.0;
        for (ChannelCount c = 0; c < channels; ++c)
            e += hopSumSquares[static_cast<size_t>(c)] / static_cast<double>(hopFrames);
        hops.push_back(e);
        hopSumSquares = {};
        framesInHop = 0;

        // Momentary / short-term maxima at every 100 ms boundary. Before a window is full the
        // missing hops count as silence, as in a meter started at the beginning of the track;
        // such partial windows can never exceed a later full one that contains them, so the
        // maximum only differs for tracks shorter than the window.
        const size_t n = hops.size();
        const size_t m = std::min<size_t>(n, kHopsPerBlock);
        const size_t s = std::min<size_t>(n, kHopsPerShortTerm);
        maxMomentaryEnergy = std::max(maxMomentaryEnergy, windowSum(hops, n - m, m) / kHopsPerBlock);
        maxShortTermEnergy = std::max(maxShortTermEnergy, windowSum(hops, n - s, s) / kHopsPerShortTerm);
    }

    void process(const ConstAudioView& block) {
        assert(block.numChannels == channels);
        detail::ScopedFlushToZero ftz;
        FrameCount done = 0;
        while (done < block.numFrames) {
            // Run exactly up to the next hop boundary (absolute multiples of hopFrames).
            const FrameCount n = std::min(block.numFrames - done, hopFrames - framesInHop);
            kWeighting.accumulate(block.subView(done, n), hopSumSquares.data());
            done += n;
            framesInHop += n;
            framesProcessed += n;
            if (framesInHop == hopFrames)
                closeHop();
        }
    }
};

FrameCount LoudnessMeter::hopFramesFor(double sampleRate) {
    return std::max<FrameCount>(1, static_cast<FrameCount>(std::llround(0.1 * sampleRate)));
}

LoudnessMeter::LoudnessMeter(double sampleRate, ChannelCount channels)
    : impl_(std::make_unique<Impl>(sampleRate, channels)) {
    assert(sampleRate > 0.0 && channels >= 1 && channels <= kMaxChannels);
}
LoudnessMeter::~LoudnessMeter() = default;
LoudnessMeter::LoudnessMeter(LoudnessMeter&&) noexcept = default;
LoudnessMeter& LoudnessMeter::operator=(LoudnessMeter&&) noexcept = default;

void LoudnessMeter::process(ConstAudioView block) { impl_->process(block); }
void LoudnessMeter::reset() { impl_->resetState(); }

double LoudnessMeter::integratedLufs() const { return gatedIntegratedLoudness(impl_->hops); }

double LoudnessMeter::maxMomentaryLufs() const { return energyToLufs(impl_->maxMomentaryEnergy); }
double LoudnessMeter::maxShortTermLufs() const { return energyToLufs(impl_->maxShortTermEnergy); }

std::span<const double> LoudnessMeter::hopEnergies() const { return impl_->hops; }
FrameCount LoudnessMeter::framesProcessed() const { return impl_->framesProcessed; }
FrameCount LoudnessMeter::hopFrames() const { return impl_->hopFrames; }

std::vector<double> LoudnessMeter::shortTermHistoryLufs() const {
    const auto& hops = impl_->hops;
    std::vector<double> out;
    if (hops.size() < static_cast<size_t>(kHopsPerShortTerm))
        return out;
    out.reserve(hops.size() - kHopsPerShortTerm + 1);
    for (size_t j = 0; j + kHopsPerShortTerm <= hops.size(); ++j)
        out.push_back(energyToLufs(windowEnergy(hops, j, kHopsPerShortTerm)));
    return out;
}

double LoudnessMeter::loudnessRangeLu() const {
    // EBU Tech 3342 s.3: short-term (3 s) loudness sampled every 100 ms (10 Hz; the minimum the
    // Tech allows, and what the reference code does) over complete windows only.
    const std::vector<double> st = shortTermHistoryLufs();
    std::vector<double> gated;
    gated.reserve(st.size());
    double sum = 0.0;
    for (double l : st) {
        if (l > kAbsoluteGateLufs) { // absolute gate -70 LUFS
            gated.push_back(l);
            sum += lufsToEnergy(l);
        }
    }
    if (gated.empty())
        return 0.0;
    // Relative gate: -20 LU below the power mean of the absolute-gated values.
    const double relGate = energyToLufs(sum / static_cast<double>(gated.size())) + kLraRelativeGateLu;
    std::erase_if(gated, [relGate](double l) { return !(l > relGate); });
    if (gated.empty())
        return 0.0;
    std::sort(gated.begin(), gated.end());
    // Nearest rank as in the Tech 3342 reference code: index round((n - 1) * p), 0-based.
    const double last = static_cast<double>(gated.size() - 1);
    const auto rank = [last](double p) { return static_cast<size_t>(std::llround(last * p)); };
    return gated[rank(kLraHighPercentile)] - gated[rank(kLraLowPercentile)];
}

} // namespace quack
