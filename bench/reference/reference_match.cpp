// Reference-matching figure (issue 3): for pairs from the shared corpus (an unmastered mix, a
// mastered reference), master the mix with --reference at full strength and print
//   - the fractional-octave spectral deviation of the master from the reference (dB RMS,
//     third-octave bands 40 Hz-16 kHz, constant offset removed = after loudness matching),
//     over the bands whose needed correction lies within the bound, and over all bands;
//   - the master's loudness minus the reference's, by libebur128;
//   - the master's true peak by libebur128 (4x) and by our 8x meter.
// Usage: bench_reference CORPUS_DIR [PAIRS]
#include "engine/chain/master.h"
#include "engine/chain/reference.h"

#include <ebur128.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace quack;

namespace {

struct Independent {
    double lufs = 0.0, truePeakDbtp = 0.0;
};

Independent measure(const std::string& path) {
    auto src = openAudioFile(path);
    if (!src)
        return {NAN, NAN};
    const auto ch = static_cast<unsigned>((*src)->info().channels);
    ebur128_state* st = ebur128_init(ch, static_cast<unsigned long>((*src)->info().sampleRate),
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    AudioBuffer buf((*src)->info().channels, 4096);
    std::vector<float> inter(4096 * ch);
    for (;;) {
        auto n = (*src)->read(buf.view());
        if (!n || *n == 0)
            break;
        for (FrameCount i = 0; i < *n; ++i)
            for (unsigned c = 0; c < ch; ++c)
                inter[static_cast<size_t>(i) * ch + c] = buf.channel(static_cast<ChannelCount>(c))[i];
        ebur128_add_frames_float(st, inter.data(), static_cast<size_t>(*n));
    }
    Independent m;
    ebur128_loudness_global(st, &m.lufs);
    double tp = 0.0;
    for (unsigned c = 0; c < ch; ++c) {
        double p = 0.0;
        ebur128_true_peak(st, c, &p);
        tp = std::max(tp, p);
    }
    m.truePeakDbtp = 20.0 * std::log10(tp);
    ebur128_destroy(&st);
    return m;
}

std::vector<std::string> wavs(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".wav")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [PAIRS]\n", argv[0]);
        return 2;
    }
    const fs::path corpus = argv[1];
    const size_t pairs = argc > 2 ? static_cast<size_t>(std::stoul(argv[2])) : 99;
    const auto mixes = wavs(corpus / "unmastered"), refs = wavs(corpus / "mastered");
    if (mixes.empty() || refs.empty()) {
        std::fprintf(stderr, "no corpus at %s (make corpus)\n", argv[1]);
        return 2;
    }
    const fs::path work = fs::temp_directory_path() / ("quack-ref-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    std::printf("%-22s %-18s %9s %9s %9s %7s %9s %9s %8s\n", "mix", "reference", "dev.in", "dev.out",
                "dev.all", "bands", "dLUFS", "TP(4x)", "time_s");
    double worstIn = 0.0, worstLufs = 0.0, worstTp = -100.0;
    for (size_t k = 0; k < mixes.size() && k < pairs; ++k) {
        const std::string& mix = mixes[k];
        const std::string& ref = refs[k % refs.size()];
        MasterRequest req;
        req.inputPath = mix;
        req.outputPath = (work / "master.wav").string();
        req.intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium").value();
        req.referencePath = ref;
        req.match = MatchOptions{};
        const auto t0 = std::chrono::steady_clock::now();
        auto out = masterFile(req);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!out) {
            std::printf("%s: %s\n", fs::path(mix).filename().c_str(), out.error().message.c_str());
            return 1;
        }
        const Analysis& refA = *out->reference;
        const ReferenceMatch& m = *out->match;
        const double devBefore =
            spectralDeviationDb(out->before.midSpectrum, refA.midSpectrum, 40.0, 16000.0, m.boundedHz);
        const double devIn = spectralDeviationDb(out->after.midSpectrum, refA.midSpectrum, 40.0, 16000.0, m.boundedHz);
        const double devAll = spectralDeviationDb(out->after.midSpectrum, refA.midSpectrum);
        const Independent mo = measure(req.outputPath), ro = measure(ref);
        std::printf("%-22s %-18s %9.2f %9.2f %9.2f %7zu %+9.2f %+9.2f %8.2f\n", fs::path(mix).filename().c_str(),
                    fs::path(ref).filename().c_str(), devBefore, devIn, devAll,
                    m.curves.centerHz.size() - m.boundedHz.size(), mo.lufs - ro.lufs, mo.truePeakDbtp, secs);
        worstIn = std::max(worstIn, devIn);
        worstLufs = std::max(worstLufs, std::abs(mo.lufs - ro.lufs));
        worstTp = std::max(worstTp, mo.truePeakDbtp);
    }
    std::printf("worst: deviation within the bound %.2f dB RMS, |loudness - reference| %.2f LU, "
                "true peak %.2f dBTP\n",
                worstIn, worstLufs, worstTp);
    std::error_code ec;
    fs::remove_all(work, ec);
    return 0;
}
