// The WASM build's portable WAV/FLAC codecs (engine/io/portable), run natively against
// libsndfile (and through it libFLAC): the same samples both ways, the same WAV bytes.
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "engine/io/portable/portable_io.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

namespace quack {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("quack-portable-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

/// Music-like test signal on the `bits` grid: two detuned tones, noise and a step, so every
/// predictor order and stereo decorrelation gets used; frames not a multiple of 4096.
AudioBuffer gridSignal(int channels, FrameCount frames, int bits, unsigned seed) {
    AudioBuffer b(channels, frames);
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.02);
    const double scale = std::ldexp(1.0, bits - 1);
    for (int c = 0; c < channels; ++c)
        for (FrameCount i = 0; i < frames; ++i) {
            const double t = static_cast<double>(i) / 48000.0;
            double x = 0.4 * std::sin(2 * 3.14159265358979 * (440.0 + c) * t) + 0.2 * std::sin(2 * 3.14159265358979 * 97.0 * t) + noise(rng);
            if (i > frames / 2 && i < frames / 2 + 500)
                x = 0.9; // constant run
            b.view().channel(c)[i] = static_cast<float>(std::clamp(std::nearbyint(x * scale), -scale, scale - 1.0) / scale);
        }
    return b;
}

std::vector<float> decodeWithSndfile(const std::string& path, SF_INFO& info) {
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    EXPECT_NE(f, nullptr) << sf_strerror(nullptr);
    std::vector<float> out(static_cast<size_t>(info.frames * info.channels));
    EXPECT_EQ(sf_readf_float(f, out.data(), info.frames), info.frames);
    sf_close(f);
    return out;
}

std::vector<float> decodeWithPortable(const std::string& path, bool flac, AudioFileInfo& info) {
    io_detail::FileHandle fd(::open(path.c_str(), O_RDONLY));
    struct stat st {};
    ::fstat(fd.get(), &st);
    auto src = flac ? portable_io::openFlacSource(std::move(fd), st.st_size, "x")
                    : portable_io::openWavSource(std::move(fd), st.st_size, "x");
    EXPECT_TRUE(src) << (src ? "" : src.error().message);
    if (!src)
        return {};
    info = (*src)->info();
    // Odd block size, so reads straddle the 4096-frame FLAC blocks.
    AudioBuffer block(info.channels, 1000);
    std::vector<float> out;
    for (;;) {
        auto n = (*src)->read(block.view());
        EXPECT_TRUE(n);
        if (!n || *n == 0)
            break;
        for (FrameCount i = 0; i < *n; ++i)
            for (int c = 0; c < info.channels; ++c)
                out.push_back(block.view().channel(c)[i]);
    }
    return out;
}

void writeWith(const std::string& path, OutputFormat format, const AudioBuffer& b, bool portable) {
    WriterOptions o;
    o.format = format;
    o.sampleRate = 48000;
    o.channels = b.numChannels();
    const bool flac = format == OutputFormat::Flac16 || format == OutputFormat::Flac24;
    auto w = portable ? (flac ? portable_io::createFlacWriter(path, o) : portable_io::createWavWriter(path, o))
                      : createAudioWriter(path, o);
    ASSERT_TRUE(w);
    // Odd block sizes: the output must not depend on them.
    FrameCount at = 0;
    for (FrameCount step = 777; at < b.numFrames(); at += step) {
        const FrameCount n = std::min(step, b.numFrames() - at);
        auto v = static_cast<ConstAudioView>(b.view()).subView(at, n);
        ASSERT_TRUE((*w)->write(v));
    }
    ASSERT_TRUE((*w)->close());
}

std::string bytesOf(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::vector<float> interleave(const AudioBuffer& b) {
    std::vector<float> out;
    for (FrameCount i = 0; i < b.numFrames(); ++i)
        for (int c = 0; c < b.numChannels(); ++c)
            out.push_back(b.view().channel(c)[i]);
    return out;
}

struct Case {
    OutputFormat format;
    int bits;
    int channels;
};

class PortableCodec : public ::testing::TestWithParam<Case> {};

// Exact equality throughout: on-grid samples are stored and decoded losslessly by both codecs.
TEST_P(PortableCodec, PortableWriterDecodesIdenticallyInLibsndfile) {
    const Case c = GetParam();
    TempDir dir;
    const AudioBuffer b = gridSignal(c.channels, 48000 * 3 + 123, c.bits, 7);
    const bool flac = c.format == OutputFormat::Flac16 || c.format == OutputFormat::Flac24;
    const std::string ours = (dir.path / (flac ? "p.flac" : "p.wav")).string();
    writeWith(ours, c.format, b, true);
    SF_INFO info{};
    EXPECT_EQ(decodeWithSndfile(ours, info), interleave(b));
    EXPECT_EQ(info.frames, b.numFrames());
    if (!flac) {
        // The same bytes as libsndfile's writer.
        const std::string theirs = (dir.path / "s.wav").string();
        writeWith(theirs, c.format, b, false);
        const std::string a = bytesOf(ours), b2 = bytesOf(theirs);
        const auto diff = std::mismatch(a.begin(), a.end(), b2.begin(), b2.end());
        EXPECT_TRUE(a == b2) << "sizes " << a.size() << " vs " << b2.size() << ", first difference at byte "
                             << (diff.first - a.begin());
    }
}

TEST_P(PortableCodec, PortableReaderDecodesLibsndfileFilesIdentically) {
    const Case c = GetParam();
    TempDir dir;
    const AudioBuffer b = gridSignal(c.channels, 48000 * 2 + 77, c.bits, 11);
    const bool flac = c.format == OutputFormat::Flac16 || c.format == OutputFormat::Flac24;
    const std::string theirs = (dir.path / (flac ? "s.flac" : "s.wav")).string();
    writeWith(theirs, c.format, b, false); // libsndfile (libFLAC for FLAC: LPC subframes)
    AudioFileInfo info;
    EXPECT_EQ(decodeWithPortable(theirs, flac, info), interleave(b));
    EXPECT_EQ(info.frames, b.numFrames());
    EXPECT_EQ(info.channels, c.channels);
    // And the native reader's facts.
    auto native = openAudioFile(theirs);
    ASSERT_TRUE(native);
    EXPECT_EQ((*native)->info().encoding, info.encoding);
    EXPECT_EQ((*native)->info().bitsPerSample, info.bitsPerSample);
    EXPECT_EQ((*native)->info().container, info.container);
}

INSTANTIATE_TEST_SUITE_P(Formats, PortableCodec,
                         ::testing::Values(Case{OutputFormat::Wav16, 16, 2}, Case{OutputFormat::Wav24, 24, 1},
                                           Case{OutputFormat::Wav24, 24, 2}, Case{OutputFormat::WavFloat, 24, 2},
                                           Case{OutputFormat::Flac16, 16, 2}, Case{OutputFormat::Flac16, 16, 1},
                                           Case{OutputFormat::Flac24, 24, 2}, Case{OutputFormat::Flac24, 24, 1}));

TEST(PortableFlac, DamagedFrameIsCorruptFile) {
    TempDir dir;
    const std::string path = (dir.path / "d.flac").string();
    writeWith(path, OutputFormat::Flac16, gridSignal(2, 48000, 16, 3), false);
    std::string bytes = bytesOf(path);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5A); // breaks a CRC
    std::ofstream(path, std::ios::binary) << bytes;
    io_detail::FileHandle fd(::open(path.c_str(), O_RDONLY));
    auto src = portable_io::openFlacSource(std::move(fd), static_cast<std::int64_t>(bytes.size()), "d.flac");
    ASSERT_TRUE(src);
    AudioBuffer block(2, 4096);
    Result<FrameCount> n = FrameCount{1};
    while (n && *n > 0)
        n = (*src)->read(block.view());
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code, ErrorCode::CorruptFile);
}

} // namespace
} // namespace quack
