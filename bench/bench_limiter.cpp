/// True-peak detector and limiter throughput (ns per frame per channel). Measures, never gates.
#include "engine/analysis/true_peak.h"
#include "engine/limiter/limiter.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace quack::true_peak_detail {
/// Kernel-set hook defined in engine/analysis/true_peak.cpp (not in the public header).
enum class KernelSet { Auto, Avx512, Avx2, Portable };
KernelSet& kernelOverride();
bool kernelSetAvailable(KernelSet set);
} // namespace quack::true_peak_detail

namespace {

/// Music-like test signal at 44.1 kHz: noise through a gentle one-pole lowpass (falling
/// spectrum) with a slow 4 Hz envelope; peaks around 1.0.
std::vector<float> musicLike(size_t frames) {
    std::mt19937 rng(42);
    std::normal_distribution<double> dist(0.0, 1.0);
    std::vector<float> x(frames);
    double lp = 0.0;
    for (size_t i = 0; i < frames; ++i) {
        lp += 0.3 * (dist(rng) - lp); // gentle one-pole tilt, like music's falling spectrum
        const double env = 0.55 + 0.45 * std::sin(2.0 * std::numbers::pi * 4.0 * static_cast<double>(i) / 44100.0);
        x[i] = static_cast<float>(0.25 * env * lp);
    }
    return x;
}

void benchDetector(benchmark::State& state, quack::TruePeakDesign design, float exactAbove) {
    const auto x = musicLike(1 << 16);
    std::vector<float> out(x.size());
    quack::TruePeakDetector d;
    d.prepare(44100.0, design);
    for (auto _ : state) {
        for (size_t i = 0; i < x.size(); i += 4096)
            d.process(x.data() + i, out.data() + i, 4096, exactAbove);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(x.size()));
    state.counters["ns/frame"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(x.size()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// benchDetector with a forced kernel set (AVX2 or portable on an AVX-512 machine), to report
/// the kernels' ratio within one run. Skipped when the CPU cannot run that set.
void benchDetectorSet(benchmark::State& state, quack::TruePeakDesign design, float exactAbove,
                      quack::true_peak_detail::KernelSet set) {
    namespace tpd = quack::true_peak_detail;
    if (!tpd::kernelSetAvailable(set)) {
        state.SkipWithError("kernel set not available on this CPU");
        return;
    }
    tpd::kernelOverride() = set;
    benchDetector(state, design, exactAbove); // prepare() reads the override once
    tpd::kernelOverride() = tpd::KernelSet::Auto;
}

void benchLimiter(benchmark::State& state) {
    const auto mono = musicLike(1 << 16);
    quack::AudioBuffer buf(2, static_cast<quack::FrameCount>(mono.size()));
    quack::TruePeakLimiter lim;
    lim.prepare(44100.0, 2, 4096, {});
    lim.setInputGain(std::pow(10.0, 6.0 / 20.0)); // ~6 dB of drive into a -1 dBTP ceiling
    for (auto _ : state) {
        state.PauseTiming();
        for (int c = 0; c < 2; ++c)
            std::copy(mono.begin(), mono.end(), buf.channel(c));
        state.ResumeTiming();
        for (quack::FrameCount i = 0; i < buf.numFrames(); i += 4096)
            lim.process(buf.view().subView(i, std::min<quack::FrameCount>(4096, buf.numFrames() - i)));
        benchmark::DoNotOptimize(buf.channel(0));
    }
    // Per stereo frame.
    state.counters["ns/frame"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(mono.size()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// Linked Strict sidechain of the music-like signal (aligned, before input gain), as the
/// pipeline spools it.
std::vector<float> strictPeaks(const std::vector<float>& x) {
    quack::TruePeakDetector d;
    d.prepare(44100.0, quack::TruePeakDesign::Strict);
    const auto lat = static_cast<size_t>(d.latencyFrames());
    std::vector<float> in(x), p(x.size() + lat);
    in.resize(p.size(), 0.0f);
    d.process(in.data(), p.data(), static_cast<quack::FrameCount>(p.size()), 0.0f);
    return {p.begin() + static_cast<long>(lat), p.end()};
}

/// The loudness loop's use: LimiterGainComputer::process over the spooled peaks times a drive
/// (dB, from the benchmark's argument): 0 dB hardly limits, 6 dB limits most of the loud parts,
/// 5 and 15 dB are the loudness presets' drives (-14 and -9 LUFS): limited most of the time.
void benchGainComputer(benchmark::State& state) {
    const auto peaks = strictPeaks(musicLike(1 << 16));
    const auto drive = static_cast<float>(std::pow(10.0, static_cast<double>(state.range(0)) / 20.0));
    std::vector<float> p(peaks.size()), g(peaks.size());
    for (size_t i = 0; i < p.size(); ++i)
        p[i] = peaks[i] * drive;
    quack::LimiterGainComputer gc;
    gc.prepare(44100.0, {});
    for (auto _ : state) {
        for (size_t i = 0; i < p.size(); i += 4096)
            gc.process(p.data() + i, g.data() + i, 4096);
        benchmark::DoNotOptimize(g.data());
    }
    state.counters["ns/frame"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(p.size()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// Dense "mastered" music-like sidechain (shallow 4 Hz envelope, peak normalised to the
/// default -1.1 dBFS target) driven by the argument (dB): the loudness presets drive the limiter
/// ~5 dB (-14 LUFS) and ~15 dB (-9 LUFS), limited most of the time (counter "limited": share of
/// frames with gain < 1).
void benchGainComputerDense(benchmark::State& state) {
    std::mt19937 rng(7);
    std::normal_distribution<double> dist(0.0, 1.0);
    std::vector<float> x(1 << 16);
    double lp = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        lp += 0.3 * (dist(rng) - lp);
        const double env = 0.8 + 0.2 * std::sin(2.0 * std::numbers::pi * 4.0 * static_cast<double>(i) / 44100.0);
        x[i] = static_cast<float>(env * lp);
    }
    const auto peaks = strictPeaks(x);
    float maxPeak = 0.0f;
    for (float v : peaks)
        maxPeak = std::max(maxPeak, v);
    quack::LimiterGainComputer gc;
    gc.prepare(44100.0, {});
    const double drive = std::pow(10.0, static_cast<double>(state.range(0)) / 20.0) * gc.targetPeak() /
                         static_cast<double>(maxPeak);
    std::vector<float> g(peaks.size());
    for (auto _ : state) {
        for (size_t i = 0; i < peaks.size(); i += 4096)
            gc.processScaled(peaks.data() + i, drive, g.data() + i, 4096);
        benchmark::DoNotOptimize(g.data());
    }
    size_t limited = 0;
    for (float v : g)
        limited += v < 1.0f ? 1 : 0;
    state.counters["limited"] = static_cast<double>(limited) / static_cast<double>(g.size());
    state.counters["ns/frame"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(peaks.size()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// The render's use: TruePeakLimiter::processWithPeaks, stereo, with stats (per stereo frame).
void benchProcessWithPeaks(benchmark::State& state) {
    const auto mono = musicLike(1 << 16);
    const auto peaks = strictPeaks(mono);
    const auto frames = static_cast<quack::FrameCount>(mono.size());
    quack::AudioBuffer buf(2, frames);
    quack::TruePeakLimiter lim;
    lim.prepare(44100.0, 2, 4096, {});
    lim.setInputGain(std::pow(10.0, static_cast<double>(state.range(0)) / 20.0));
    for (auto _ : state) {
        state.PauseTiming();
        for (int c = 0; c < 2; ++c)
            std::copy(mono.begin(), mono.end(), buf.channel(c));
        state.ResumeTiming();
        for (quack::FrameCount i = 0; i < frames; i += 4096)
            lim.processWithPeaks(buf.view().subView(i, std::min<quack::FrameCount>(4096, frames - i)),
                                 peaks.data() + i);
        benchmark::DoNotOptimize(buf.channel(0));
    }
    state.counters["ns/frame"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(mono.size()),
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

} // namespace

BENCHMARK_CAPTURE(benchDetector, accurate8x_exact, quack::TruePeakDesign::Accurate8x, 0.0f);
BENCHMARK_CAPTURE(benchDetector, ebur4x_exact, quack::TruePeakDesign::Ebur128Style4x, 0.0f);
BENCHMARK_CAPTURE(benchDetector, wideband8x_exact, quack::TruePeakDesign::Wideband8x, 0.0f);
BENCHMARK_CAPTURE(benchDetector, strict_exact, quack::TruePeakDesign::Strict, 0.0f);
// A meter's running max / a sidechain threshold near the loud parts (-2 dB from peak).
BENCHMARK_CAPTURE(benchDetector, accurate8x_fast, quack::TruePeakDesign::Accurate8x, 0.8f);
BENCHMARK_CAPTURE(benchDetector, strict_fast, quack::TruePeakDesign::Strict, 0.8f);
// A threshold every frame exceeds (loud music): bounds are computed, all values are exact.
BENCHMARK_CAPTURE(benchDetector, strict_loud, quack::TruePeakDesign::Strict, 0.01f);
// The same with the AVX2+FMA kernels forced (on an AVX-512 CPU, the ratio to the above).
BENCHMARK_CAPTURE(benchDetectorSet, accurate8x_exact_avx2, quack::TruePeakDesign::Accurate8x, 0.0f,
                  quack::true_peak_detail::KernelSet::Avx2);
BENCHMARK_CAPTURE(benchDetectorSet, ebur4x_exact_avx2, quack::TruePeakDesign::Ebur128Style4x, 0.0f,
                  quack::true_peak_detail::KernelSet::Avx2);
BENCHMARK_CAPTURE(benchDetectorSet, wideband8x_exact_avx2, quack::TruePeakDesign::Wideband8x, 0.0f,
                  quack::true_peak_detail::KernelSet::Avx2);
BENCHMARK_CAPTURE(benchDetectorSet, strict_exact_avx2, quack::TruePeakDesign::Strict, 0.0f,
                  quack::true_peak_detail::KernelSet::Avx2);
BENCHMARK_CAPTURE(benchDetectorSet, accurate8x_fast_avx2, quack::TruePeakDesign::Accurate8x, 0.8f,
                  quack::true_peak_detail::KernelSet::Avx2);
BENCHMARK_CAPTURE(benchDetectorSet, strict_loud_avx2, quack::TruePeakDesign::Strict, 0.01f,
                  quack::true_peak_detail::KernelSet::Avx2);
BENCHMARK(benchLimiter);
BENCHMARK(benchGainComputer)->Arg(0)->Arg(5)->Arg(6)->Arg(15);
BENCHMARK(benchGainComputerDense)->Arg(0)->Arg(5)->Arg(15);
BENCHMARK(benchProcessWithPeaks)->Arg(0)->Arg(6);
