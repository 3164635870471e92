#include "tests/http/test_audio.h"

#include <ebur128.h>
#include <sndfile.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace quack::test {

void writeMusicWav(const std::string& path, double seconds) {
    constexpr int kRate = 44100;
    SF_INFO info{};
    info.samplerate = kRate;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f)
        throw std::runtime_error("cannot write " + path);
    const auto frames = static_cast<long>(seconds * kRate);
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    std::vector<float> block(2 * 4096);
    const double partials[] = {110.0, 220.5, 331.0, 440.0, 659.3, 1318.5, 2637.0};
    for (long start = 0; start < frames; start += 4096) {
        const long n = std::min<long>(4096, frames - start);
        for (long i = 0; i < n; ++i) {
            const double t = static_cast<double>(start + i) / kRate;
            double l = 0.0, r = 0.0;
            for (int k = 0; k < 7; ++k) {
                const double a = 0.05 / (1.0 + k) * (1.0 + 0.5 * std::sin(2.0 * std::numbers::pi * (0.3 + 0.1 * k) * t));
                l += a * std::sin(2.0 * std::numbers::pi * partials[k] * t);
                r += a * std::sin(2.0 * std::numbers::pi * partials[k] * 1.002 * t + 0.3 * k);
            }
            block[static_cast<std::size_t>(2 * i)] = static_cast<float>(l) + noise(rng);
            block[static_cast<std::size_t>(2 * i + 1)] = static_cast<float>(r) + noise(rng);
        }
        sf_writef_float(f, block.data(), n);
    }
    sf_close(f);
}

Loudness measureFile(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f)
        throw std::runtime_error("cannot read " + path);
    ebur128_state* st = ebur128_init(static_cast<unsigned>(info.channels), static_cast<unsigned long>(info.samplerate),
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    std::vector<float> block(static_cast<std::size_t>(info.channels) * 4096);
    sf_count_t n;
    while ((n = sf_readf_float(f, block.data(), 4096)) > 0)
        ebur128_add_frames_float(st, block.data(), static_cast<std::size_t>(n));
    Loudness out;
    ebur128_loudness_global(st, &out.integratedLufs);
    double peak = 0.0;
    for (unsigned c = 0; c < static_cast<unsigned>(info.channels); ++c) {
        double p = 0.0;
        ebur128_true_peak(st, c, &p);
        peak = std::max(peak, p);
    }
    out.truePeakDbtp = 20.0 * std::log10(peak);
    out.seconds = static_cast<double>(info.frames) / info.samplerate;
    ebur128_destroy(&st);
    sf_close(f);
    return out;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace quack::test
