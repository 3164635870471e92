#pragma once
// Shared helpers for the io tests: fixture paths, a scratch directory, whole-file reads and
// rough tone measurements (level and frequency) that need nothing but the samples.
#include "engine/io/audio_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string_view>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace quack::test {

inline std::string fixture(const std::string& name) {
    return std::string(QUACK_SOURCE_DIR) + "/tests/fixtures/" + name;
}

/// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
  public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("quack-io-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

/// Concatenation without operator+ chains (GCC 12 at -O3 reports a false -Wrestrict on
/// "literal" + std::string + "literal").
inline std::string cat(std::initializer_list<std::string_view> parts) {
    std::string s;
    for (auto p : parts)
        s += p;
    return s;
}

inline std::vector<unsigned char> readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void writeBytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// Planar samples of a whole stream.
struct Decoded {
    std::vector<std::vector<float>> channels;
    FrameCount frames() const { return channels.empty() ? 0 : static_cast<FrameCount>(channels[0].size()); }
};

/// Reads a source to its end in blocks of `blockFrames`; fails the test on an error.
inline Decoded readAll(AudioSource& source, FrameCount blockFrames = 4096) {
    const ChannelCount channels = source.info().channels;
    AudioBuffer buffer(channels, blockFrames);
    Decoded out;
    out.channels.resize(static_cast<size_t>(channels));
    for (int guard = 0; guard < 10'000'000; ++guard) {
        auto n = source.read(buffer.view());
        if (!n) {
            ADD_FAILURE() << "read failed: " << n.error().message;
            break;
        }
        if (*n == 0)
            break;
        for (ChannelCount c = 0; c < channels; ++c)
            out.channels[static_cast<size_t>(c)].insert(out.channels[static_cast<size_t>(c)].end(),
                                                        buffer.channel(c), buffer.channel(c) + *n);
    }
    return out;
}

/// Peak amplitude of a sine estimated from the RMS of the middle half (sqrt(2) * RMS), which
/// skips codec start-up and fade edges.
inline double sineAmplitude(const std::vector<float>& x) {
    const size_t a = x.size() / 4, b = x.size() * 3 / 4;
    double sum = 0.0;
    for (size_t i = a; i < b; ++i)
        sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return std::sqrt(2.0 * sum / static_cast<double>(b - a));
}

/// Frequency from linearly interpolated rising zero crossings over the middle half.
inline double sineFrequency(const std::vector<float>& x, double sampleRate) {
    const size_t a = x.size() / 4, b = x.size() * 3 / 4;
    double first = -1.0, last = -1.0;
    int crossings = 0;
    for (size_t i = a + 1; i < b; ++i) {
        const double y0 = x[i - 1], y1 = x[i];
        if (y0 < 0.0 && y1 >= 0.0) {
            const double t = static_cast<double>(i - 1) + y0 / (y0 - y1);
            if (first < 0.0)
                first = t;
            last = t;
            ++crossings;
        }
    }
    if (crossings < 2)
        return 0.0;
    return (crossings - 1) / (last - first) * sampleRate;
}

} // namespace quack::test
