#pragma once
// Helpers for the pipeline tests: temp dirs, WAV I/O through libsndfile directly (independent of
// our io component), and an independent meter (libebur128).
#include "engine/core/audio_buffer.h"

#include <ebur128.h>
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace quack::test {

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "quack-test-XXXXXX").string();
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void writeWav(const std::string& path, const AudioBuffer& buf, int rate, int format = SF_FORMAT_WAV | SF_FORMAT_FLOAT) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = buf.numChannels();
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
    std::vector<float> inter(static_cast<size_t>(buf.numFrames() * buf.numChannels()));
    for (FrameCount i = 0; i < buf.numFrames(); ++i)
        for (ChannelCount c = 0; c < buf.numChannels(); ++c)
            inter[static_cast<size_t>(i * buf.numChannels() + c)] = buf.channel(c)[i];
    sf_writef_float(f, inter.data(), buf.numFrames());
    sf_close(f);
}

struct Decoded {
    AudioBuffer audio;
    int rate = 0;
};

inline Decoded readAudio(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    Decoded d;
    if (f == nullptr) {
        ADD_FAILURE() << "cannot open " << path << ": " << sf_strerror(nullptr);
        return d;
    }
    std::vector<float> inter;
    std::vector<float> block(static_cast<size_t>(4096 * info.channels));
    for (;;) {
        const sf_count_t n = sf_readf_float(f, block.data(), 4096);
        if (n <= 0)
            break;
        inter.insert(inter.end(), block.begin(), block.begin() + n * info.channels);
    }
    sf_close(f);
    const FrameCount frames = static_cast<FrameCount>(inter.size()) / info.channels;
    d.audio.resize(info.channels, frames);
    for (FrameCount i = 0; i < frames; ++i)
        for (ChannelCount c = 0; c < info.channels; ++c)
            d.audio.channel(c)[i] = inter[static_cast<size_t>(i * info.channels + c)];
    d.rate = info.samplerate;
    return d;
}

/// libebur128's reading: integrated LUFS and true peak (its 4x oversampling) in dBTP.
struct IndependentMeasure {
    double integratedLufs = 0.0;
    double truePeakDbtp = 0.0;
};

inline IndependentMeasure measureIndependent(const AudioBuffer& audio, int rate) {
    const auto ch = static_cast<unsigned>(audio.numChannels());
    ebur128_state* st = ebur128_init(ch, static_cast<unsigned long>(rate), EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    std::vector<float> inter(static_cast<size_t>(audio.numFrames()) * ch);
    for (FrameCount i = 0; i < audio.numFrames(); ++i)
        for (unsigned c = 0; c < ch; ++c)
            inter[static_cast<size_t>(i) * ch + c] = audio.channel(static_cast<ChannelCount>(c))[i];
    ebur128_add_frames_float(st, inter.data(), static_cast<size_t>(audio.numFrames()));
    IndependentMeasure m;
    ebur128_loudness_global(st, &m.integratedLufs);
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

/// A music-like test signal: band-limited noise under a slowly moving envelope plus a bass
/// line, stereo with partial correlation. Deterministic for a seed.
inline AudioBuffer musicLike(int rate, double seconds, unsigned seed = 1, ChannelCount channels = 2) {
    const auto frames = static_cast<FrameCount>(seconds * rate);
    AudioBuffer b(channels, frames);
    std::mt19937 rng(seed);
    std::normal_distribution<double> nd(0.0, 1.0);
    double lp[2] = {0, 0}, common = 0.0;
    const double a = std::exp(-2.0 * M_PI * 3000.0 / rate);
    for (FrameCount i = 0; i < frames; ++i) {
        const double t = static_cast<double>(i) / rate;
        const double env = 0.5 + 0.4 * std::sin(2 * M_PI * 0.25 * t) * std::sin(2 * M_PI * 1.7 * t);
        common = a * common + (1 - a) * nd(rng);
        const double bass = 0.25 * std::sin(2 * M_PI * 55.0 * t) * (0.6 + 0.4 * std::sin(2 * M_PI * 2.0 * t));
        for (ChannelCount c = 0; c < channels; ++c) {
            lp[c] = a * lp[c] + (1 - a) * nd(rng);
            b.channel(c)[i] = static_cast<float>(0.25 * (env * (3.0 * common + 1.5 * lp[c]) + bass));
        }
    }
    return b;
}

/// Path of a corpus directory ($QUACK_CORPUS/sub), or "" when there is no corpus.
inline std::string corpusDir(const std::string& sub) {
    const char* env = std::getenv("QUACK_CORPUS");
    if (env == nullptr)
        return {};
    const auto p = std::filesystem::path(env) / sub;
    return std::filesystem::is_directory(p) ? p.string() : std::string();
}

} // namespace quack::test
