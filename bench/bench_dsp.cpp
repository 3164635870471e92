// Cost of the pre-limiter DSP blocks per stereo frame at 44.1 kHz, blocks of 4096 frames.
// Budgets (the whole chain must run a 3-minute song in well under 1 s): TonalEq <= ~15 ns,
// MultibandProcessor (3 bands) <= 40 ns. The counter "per_frame" is seconds per stereo frame.
// Baseline in the same run: the same EQ sections through the core scalar Biquad, one channel
// and one section at a time (the obvious implementation); compare TonalEq against it.
#include "engine/core/biquad.h"
#include "engine/dsp/multiband.h"
#include "engine/dsp/tonal_eq.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cmath>
#include <random>
#include <vector>

namespace {

using namespace quack;

constexpr double kFs = 44100.0;
constexpr FrameCount kBlock = 4096;

AudioBuffer noiseBlock() {
    AudioBuffer buf(2, kBlock);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < kBlock; ++i)
            buf.channel(c)[i] = dist(rng);
    return buf;
}

/// A +-4 dB curve that uses every section (the worst case for cost).
TonalCurve busyCurve() {
    TonalCurve c;
    for (int k = -17; k <= 13; ++k) {
        const double hz = 1000.0 * std::pow(10.0, k / 10.0);
        c.centerHz.push_back(hz);
        c.gainDb.push_back(4.0 * std::sin(1.3 * std::log2(hz / 20.0)));
    }
    return c;
}

/// Restores the input before each pass, so processing in place again and again neither decays
/// nor grows the signal (a +4 dB band would overflow to inf after ~200 passes). < 0.2 ns/frame.
void refill(const AudioBuffer& from, AudioBuffer& to) {
    for (ChannelCount c = 0; c < 2; ++c)
        std::copy(from.channel(c), from.channel(c) + kBlock, to.channel(c));
}

void setPerFrame(benchmark::State& state) {
    state.counters["per_frame"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(kBlock),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_TonalEq(benchmark::State& state) {
    TonalEq eq;
    eq.prepare(kFs, 2, busyCurve());
    const AudioBuffer input = noiseBlock();
    AudioBuffer buf(2, kBlock);
    for (auto _ : state) {
        refill(input, buf);
        eq.process(buf.view());
        benchmark::ClobberMemory();
    }
    state.counters["sections"] = static_cast<double>(eq.sections().size());
    setPerFrame(state);
}
BENCHMARK(BM_TonalEq);

/// The pipeline's pre-EQ pair in one cascade: 20 Hz high-pass + the busy curve (14 sections).
/// Compare with BM_SubsonicFilter + BM_TonalEq (two passes).
void BM_TonalEqWithHighPass(benchmark::State& state) {
    TonalEq eq;
    eq.prepare(kFs, 2, busyCurve(), 20.0);
    const AudioBuffer input = noiseBlock();
    AudioBuffer buf(2, kBlock);
    for (auto _ : state) {
        refill(input, buf);
        eq.process(buf.view());
        benchmark::ClobberMemory();
    }
    setPerFrame(state);
}
BENCHMARK(BM_TonalEqWithHighPass);

void BM_TonalEqScalarBaseline(benchmark::State& state) {
    TonalEq eq;
    eq.prepare(kFs, 2, busyCurve());
    std::vector<Biquad> sections(2 * eq.sections().size());
    for (size_t i = 0; i < sections.size(); ++i)
        sections[i].setCoeffs(eq.sections()[i % eq.sections().size()]);
    const AudioBuffer input = noiseBlock();
    AudioBuffer buf(2, kBlock);
    const size_t perChannel = eq.sections().size();
    for (auto _ : state) {
        refill(input, buf);
        for (ChannelCount c = 0; c < 2; ++c)
            for (size_t s = 0; s < perChannel; ++s)
                sections[static_cast<size_t>(c) * perChannel + s].process(buf.channel(c), kBlock);
        benchmark::ClobberMemory();
    }
    setPerFrame(state);
}
BENCHMARK(BM_TonalEqScalarBaseline);

void BM_SubsonicFilter(benchmark::State& state) {
    SubsonicFilter hp;
    hp.prepare(kFs, 2, 20.0);
    const AudioBuffer input = noiseBlock();
    AudioBuffer buf(2, kBlock);
    for (auto _ : state) {
        refill(input, buf);
        hp.process(buf.view());
        benchmark::ClobberMemory();
    }
    setPerFrame(state);
}
BENCHMARK(BM_SubsonicFilter);

/// state.range(0): number of bands (3 or 4); state.range(1): 0 = neutral, 1 = compressing.
void BM_Multiband(benchmark::State& state) {
    const auto bands = static_cast<size_t>(state.range(0));
    MultibandParams p;
    p.crossoverHz =
        bands == 3 ? std::vector<double>{120.0, 2500.0} : std::vector<double>{90.0, 600.0, 4000.0};
    p.bands.assign(bands, BandDynamics{});
    if (state.range(1) != 0)
        for (auto& b : p.bands) {
            b.thresholdDb = -30.0; // the -9 dBFS-RMS noise keeps every band compressing
            b.ratio = 2.0;
            b.makeupDb = 1.0;
            b.width = 0.9;
        }
    MultibandProcessor mb;
    mb.prepare(kFs, 2, kBlock, p);
    const AudioBuffer input = noiseBlock();
    AudioBuffer buf(2, kBlock);
    for (auto _ : state) {
        refill(input, buf);
        mb.process(buf.view());
        benchmark::ClobberMemory();
    }
    setPerFrame(state);
}
BENCHMARK(BM_Multiband)->ArgNames({"bands", "compress"})->Args({3, 0})->Args({3, 1})->Args({4, 1});

} // namespace

BENCHMARK_MAIN();
