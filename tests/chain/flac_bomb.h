#pragma once
// The decompression bombs of issue 9 finding 2, built by the test: a FLAC of real frames whose
// STREAMINFO then lies about its length. Used by the engine's and the service's limit tests.
#include "tests/chain/test_util.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace quack::test {

/// Writes `frames` of quiet stereo noise as FLAC 16-bit at `rate` through libsndfile.
inline void writeFlac(const std::string& path, int rate, FrameCount frames) {
    AudioBuffer buf(2, frames);
    std::uint32_t x = 12345;
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < frames; ++i) {
            x = x * 1664525u + 1013904223u;
            buf.channel(c)[i] = 0.1f * (static_cast<float>(x >> 8) / 16777216.0f - 0.5f);
        }
    test::writeWav(path, buf, rate, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
}

inline std::vector<char> readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// Rewrites the 36-bit total_samples of a FLAC's STREAMINFO (RFC 9639 8.2: "fLaC", a 4-byte
/// block header, then min/max block (2+2), min/max frame (3+3), then 20 bits rate, 3 channels-1,
/// 5 bits-1, 36 total samples). The frames themselves are untouched: the header now lies.
inline void setFlacTotalSamples(const std::string& path, std::uint64_t total) {
    auto b = readAll(path);
    ASSERT_GT(b.size(), 42u);
    ASSERT_EQ(std::string(b.data(), 4), "fLaC");
    const size_t at = 8 + 13; // STREAMINFO data starts at 8; the count starts at its bit 108
    auto* u = reinterpret_cast<unsigned char*>(b.data());
    u[at] = static_cast<unsigned char>((u[at] & 0xF0) | ((total >> 32) & 0x0F));
    u[at + 1] = static_cast<unsigned char>(total >> 24);
    u[at + 2] = static_cast<unsigned char>(total >> 16);
    u[at + 3] = static_cast<unsigned char>(total >> 8);
    u[at + 4] = static_cast<unsigned char>(total);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
}

/// The finding's file: ~1 MB of FLAC (0.9 s of 384 kHz stereo noise) whose header declares
/// 10 minutes (230.4e6 frames).
inline void writeTenMinuteBomb(const std::string& path) {
    writeFlac(path, 384000, 384000 * 9 / 10);
    setFlacTotalSamples(path, 384000ULL * 600);
}

} // namespace quack::test
