/// Analysis speed: the full Analyzer (loudness, LRA, 8x true peak, spectra, stereo, clipping) on a
/// 3-minute stereo 44.1 kHz track, and its parts. The "x_realtime" counter is audio seconds per
/// wall second; the target is >= 600x (a 3-minute song in < 0.3 s on one core). Measures, never
/// gates. With QUACK_CORPUS set, the same on the first mastered corpus track (real music).
#include "engine/analysis/analyzer.h"
#include "engine/analysis/loudness.h"
#include "engine/analysis/true_peak.h"
#include "engine/io/dither.h"

#include <benchmark/benchmark.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <vector>

namespace {

using namespace quack;

constexpr double kFs = 44100.0;
constexpr double kSeconds = 180.0;
constexpr FrameCount kBlock = 4096;

/// Music-like stereo test track: pink-ish partly correlated noise, a kick every 0.5 s and a
/// chord, under a verse/chorus envelope peaking near -1 dBFS.
const AudioBuffer& syntheticTrack() {
    static const AudioBuffer buf = [] {
        const auto frames = static_cast<FrameCount>(kSeconds * kFs);
        AudioBuffer b(2, frames);
        std::uint64_t s = 12345;
        auto noise = [&s] {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            return static_cast<double>((s * 0x2545F4914F6CDD1Dull) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
        };
        double lc = 0, ll = 0, lr = 0;
        const double a = std::exp(-2.0 * std::numbers::pi * 800.0 / kFs);
        for (FrameCount i = 0; i < frames; ++i) {
            const double t = static_cast<double>(i) / kFs;
            const double env = std::fmod(t, 40.0) < 20.0 ? 0.12 : 0.25;
            const double beat = std::fmod(t, 0.5);
            const double kick = 0.8 * std::exp(-beat * 25.0) * std::sin(2.0 * std::numbers::pi * 55.0 * beat);
            const double chord = 0.3 * (std::sin(2.0 * std::numbers::pi * 220.0 * t) +
                                        std::sin(2.0 * std::numbers::pi * 277.18 * t));
            lc = (1 - a) * noise() + a * lc;
            ll = (1 - a) * noise() + a * ll;
            lr = (1 - a) * noise() + a * lr;
            const double c = 3.0 * lc + kick + chord;
            b.channel(0)[i] = static_cast<float>(env * (c + 1.5 * ll));
            b.channel(1)[i] = static_cast<float>(env * (c + 1.5 * lr));
        }
        return b;
    }();
    return buf;
}

/// The first mastered corpus track, or an empty buffer.
const AudioBuffer& corpusTrack(double& fs) {
    static double rate = 0.0;
    static const AudioBuffer buf = [] {
        AudioBuffer b;
        const char* dir = std::getenv("QUACK_CORPUS");
        if (dir == nullptr || !std::filesystem::is_directory(std::filesystem::path(dir) / "mastered"))
            return b;
        std::vector<std::filesystem::path> wavs;
        for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir) / "mastered"))
            if (e.path().extension() == ".wav")
                wavs.push_back(e.path());
        if (wavs.empty())
            return b;
        std::sort(wavs.begin(), wavs.end());
        SF_INFO info{};
        SNDFILE* f = sf_open(wavs.front().c_str(), SFM_READ, &info);
        if (f == nullptr || info.channels > 2)
            return b;
        std::vector<float> inter(static_cast<size_t>(info.frames * info.channels));
        const sf_count_t got = sf_readf_float(f, inter.data(), info.frames);
        sf_close(f);
        b.resize(info.channels, got);
        for (sf_count_t i = 0; i < got; ++i)
            for (int c = 0; c < info.channels; ++c)
                b.channel(c)[i] = inter[static_cast<size_t>(i * info.channels + c)];
        rate = info.samplerate;
        return b;
    }();
    fs = rate;
    return buf;
}

void setCounters(benchmark::State& state, const AudioBuffer& b, double fs) {
    const double seconds = static_cast<double>(b.numFrames()) / fs;
    state.counters["x_realtime"] = benchmark::Counter(seconds, benchmark::Counter::kIsIterationInvariantRate);
    state.SetItemsProcessed(state.iterations() * b.numFrames());
}

void runAnalyzer(benchmark::State& state, const AudioBuffer& b, double fs, AnalysisOptions opt) {
    for (auto _ : state) {
        Analyzer a(fs, b.numChannels(), opt);
        const ConstAudioView v = b.view();
        for (FrameCount i = 0; i < v.numFrames; i += kBlock)
            a.process(v.subView(i, std::min(kBlock, v.numFrames - i)));
        Analysis r = a.finish();
        benchmark::DoNotOptimize(r);
    }
    setCounters(state, b, fs);
}

void BM_AnalyzerFull(benchmark::State& state) { runAnalyzer(state, syntheticTrack(), kFs, {}); }
void BM_AnalyzerNoSpectrum(benchmark::State& state) {
    runAnalyzer(state, syntheticTrack(), kFs, AnalysisOptions{.spectrum = false});
}
void BM_AnalyzerFullCorpusTrack(benchmark::State& state) {
    double fs = 0.0;
    const AudioBuffer& b = corpusTrack(fs);
    if (b.numFrames() == 0) {
        state.SkipWithError("QUACK_CORPUS not set or no mastered/*.wav");
        return;
    }
    runAnalyzer(state, b, fs, {});
}

void BM_LoudnessMeter(benchmark::State& state) {
    const AudioBuffer& b = syntheticTrack();
    for (auto _ : state) {
        LoudnessMeter m(kFs, 2);
        const ConstAudioView v = b.view();
        for (FrameCount i = 0; i < v.numFrames; i += kBlock)
            m.process(v.subView(i, std::min(kBlock, v.numFrames - i)));
        benchmark::DoNotOptimize(m.integratedLufs());
        benchmark::DoNotOptimize(m.loudnessRangeLu());
    }
    setCounters(state, b, kFs);
}

/// The true-peak share of the Analyzer: two Accurate8x detectors with the running-max hint.
void BM_TruePeakAccurate8xWithHint(benchmark::State& state) {
    const AudioBuffer& b = syntheticTrack();
    std::vector<float> out(static_cast<size_t>(kBlock));
    for (auto _ : state) {
        TruePeakDetector d[2];
        for (auto& x : d)
            x.prepare(kFs, TruePeakDesign::Accurate8x);
        float peak = 0.0f;
        for (FrameCount i = 0; i < b.numFrames(); i += kBlock) {
            const FrameCount n = std::min(kBlock, b.numFrames() - i);
            for (int c = 0; c < 2; ++c) {
                d[c].process(b.channel(c) + i, out.data(), n, peak);
                for (FrameCount k = 0; k < n; ++k)
                    peak = std::max(peak, out[static_cast<size_t>(k)]);
            }
        }
        benchmark::DoNotOptimize(peak);
    }
    setCounters(state, b, kFs);
}

/// ns per stereo frame for a frame-rate benchmark.
void setFrameCounters(benchmark::State& state, FrameCount frames) {
    setCounters(state, syntheticTrack(), kFs);
    state.counters["ns_per_frame"] = benchmark::Counter(
        static_cast<double>(frames) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

/// The master pass's per-frame K-weighted power, the old way: KWeighting::processSample per
/// channel and sample (the baseline for BM_KWeightedPower).
void BM_KWeightingProcessSample(benchmark::State& state) {
    const AudioBuffer& b = syntheticTrack();
    std::vector<float> power(static_cast<size_t>(kBlock));
    for (auto _ : state) {
        KWeighting kw[2];
        for (auto& k : kw)
            k.prepare(kFs);
        for (FrameCount i = 0; i < b.numFrames(); i += kBlock) {
            const FrameCount n = std::min(kBlock, b.numFrames() - i);
            for (FrameCount j = 0; j < n; ++j) {
                double z = 0.0;
                for (int c = 0; c < 2; ++c) {
                    const double y = kw[c].processSample(static_cast<double>(b.channel(c)[i + j]));
                    z += y * y;
                }
                power[static_cast<size_t>(j)] = static_cast<float>(z);
            }
            benchmark::DoNotOptimize(power.data());
        }
    }
    setFrameCounters(state, b.numFrames());
}

#ifndef QUACK_BENCH_BASELINE
void BM_KWeightedPower(benchmark::State& state) {
    const AudioBuffer& b = syntheticTrack();
    std::vector<float> power(static_cast<size_t>(kBlock));
    for (auto _ : state) {
        KWeightedPower kw;
        kw.prepare(kFs, 2);
        const ConstAudioView v = b.view();
        for (FrameCount i = 0; i < v.numFrames; i += kBlock) {
            kw.process(v.subView(i, std::min(kBlock, v.numFrames - i)), power.data());
            benchmark::DoNotOptimize(power.data());
        }
    }
    setFrameCounters(state, b.numFrames());
}
BENCHMARK(BM_KWeightedPower)->Unit(benchmark::kMillisecond);
#endif

/// 24-bit TPDF dither of the stereo track (blocks copied to a scratch buffer first; the copy,
/// ~0.1 ns per frame, is included).
void BM_Dither24(benchmark::State& state) {
    const AudioBuffer& b = syntheticTrack();
    AudioBuffer scratch(2, kBlock);
    for (auto _ : state) {
        Ditherer d;
        d.prepare(24, 2, 0x5EED);
        for (FrameCount i = 0; i < b.numFrames(); i += kBlock) {
            const FrameCount n = std::min(kBlock, b.numFrames() - i);
            for (int c = 0; c < 2; ++c)
                std::copy_n(b.channel(c) + i, n, scratch.channel(c));
            d.process(scratch.view(n));
            benchmark::DoNotOptimize(scratch.channel(0));
        }
    }
    setFrameCounters(state, b.numFrames());
}

BENCHMARK(BM_KWeightingProcessSample)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Dither24)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AnalyzerFull)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AnalyzerNoSpectrum)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AnalyzerFullCorpusTrack)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoudnessMeter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TruePeakAccurate8xWithHint)->Unit(benchmark::kMillisecond);

} // namespace
