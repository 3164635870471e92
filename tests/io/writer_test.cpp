// Encoders: the format table, bit-exact integer round trips, float and MP3 round trips,
// 320 kbps CBR verified frame by frame and with ffprobe, byte-identical repeated output, no
// metadata, option validation, and the temporary-file/commit helpers.
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "engine/io/dither.h"
#include "tests/io/io_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <thread>

namespace quack {
namespace {

using test::TempDir;

/// Planar signal, frames x channels.
using Planar = std::vector<std::vector<float>>;

Planar tone(ChannelCount channels, FrameCount frames, int sampleRate, double amplitude = 0.5) {
    Planar x(static_cast<size_t>(channels), std::vector<float>(static_cast<size_t>(frames)));
    for (ChannelCount c = 0; c < channels; ++c)
        for (FrameCount i = 0; i < frames; ++i)
            x[static_cast<size_t>(c)][static_cast<size_t>(i)] = static_cast<float>(
                amplitude * std::sin(2.0 * M_PI * (440.0 + 220.0 * c) * static_cast<double>(i) / sampleRate));
    return x;
}

/// Random integers k over the whole range [-2^(bits-1), 2^(bits-1) - 1] (both ends forced in)
/// as floats k / 2^(bits-1): exactly the samples a writer gets after dither.
Planar onGrid(int bits, ChannelCount channels, FrameCount frames) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(bits));
    const std::int64_t full = std::int64_t{1} << (bits - 1);
    Planar x(static_cast<size_t>(channels), std::vector<float>(static_cast<size_t>(frames)));
    for (auto& ch : x) {
        for (auto& s : ch)
            s = static_cast<float>(static_cast<double>(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * full)) - full) /
                                   static_cast<double>(full));
        ch[0] = -1.0f;
        ch[1] = static_cast<float>(static_cast<double>(full - 1) / static_cast<double>(full));
        ch[2] = 0.0f;
    }
    return x;
}

/// Writes `x` to `path` in blocks of `block` frames and closes the writer.
void writeFile(const std::string& path, const WriterOptions& options, const Planar& x,
               FrameCount block = 1000) {
    auto writer = createAudioWriter(path, options);
    ASSERT_TRUE(writer.ok()) << writer.error().message;
    const auto frames = static_cast<FrameCount>(x[0].size());
    for (FrameCount start = 0; start < frames; start += block) {
        ConstAudioView v;
        v.numChannels = options.channels;
        v.numFrames = std::min(block, frames - start);
        for (ChannelCount c = 0; c < options.channels; ++c)
            v.data[static_cast<size_t>(c)] = x[static_cast<size_t>(c)].data() + start;
        ASSERT_TRUE((*writer)->write(v).ok());
    }
    const Status closed = (*writer)->close();
    ASSERT_TRUE(closed.ok()) << closed.error().message;
}

test::Decoded decodeFile(const std::string& path) {
    auto source = openAudioFile(path);
    EXPECT_TRUE(source.ok()) << (source ? "" : source.error().message);
    if (!source)
        return {};
    return test::readAll(**source);
}

TEST(OutputFormats, TableAndNames) {
    struct Row {
        OutputFormat format;
        const char* name;
        const char* ext;
        int bits;
        bool lossy;
    };
    const Row rows[] = {{OutputFormat::Wav16, "wav16", "wav", 16, false},
                        {OutputFormat::Wav24, "wav24", "wav", 24, false},
                        {OutputFormat::WavFloat, "wav32f", "wav", 0, false},
                        {OutputFormat::Flac16, "flac16", "flac", 16, false},
                        {OutputFormat::Flac24, "flac24", "flac", 24, false},
                        {OutputFormat::Mp3, "mp3", "mp3", 0, true},
                        {OutputFormat::Vorbis, "vorbis", "ogg", 0, true},
                        {OutputFormat::Opus, "opus", "opus", 0, true},
                        {OutputFormat::Aac, "aac", "m4a", 0, true}};
    for (const Row& r : rows) {
        const OutputFormatInfo& info = outputFormatInfo(r.format);
        EXPECT_EQ(info.name, r.name);
        EXPECT_EQ(info.extension, r.ext);
        EXPECT_EQ(info.bits, r.bits);
        EXPECT_EQ(info.lossy, r.lossy);
        auto byName = outputFormatFromName(r.name);
        ASSERT_TRUE(byName.ok());
        EXPECT_EQ(*byName, r.format);
    }
    auto bad = outputFormatFromName("wma");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::UnsupportedOutputFormat);
    for (const Row& r : rows)
        EXPECT_NE(bad.error().message.find(r.name), std::string::npos) << bad.error().message;
}

TEST(OutputFormats, DefaultsFromPath) {
    EXPECT_EQ(outputFormatFromPath("out/master.wav").value(), OutputFormat::Wav24);
    EXPECT_EQ(outputFormatFromPath("master.FLAC").value(), OutputFormat::Flac24);
    EXPECT_EQ(outputFormatFromPath("/a.b/master.mp3").value(), OutputFormat::Mp3);
    for (const char* path : {"master.wma", "master", "dir.wav/master", "master.wav.tmp"}) {
        auto r = outputFormatFromPath(path);
        ASSERT_FALSE(r.ok()) << path;
        EXPECT_EQ(r.error().code, ErrorCode::UnsupportedOutputFormat);
        EXPECT_NE(r.error().message.find(".wav"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find("flac16"), std::string::npos) << r.error().message;
    }
}

struct ExactCase {
    OutputFormat format;
    const char* ext;
    int bits;
    const char* container;
    const char* encoding;
};

class ExactRoundTrip : public ::testing::TestWithParam<ExactCase> {};

TEST_P(ExactRoundTrip, DecodesToTheSameFloats) {
    const ExactCase& c = GetParam();
    TempDir dir;
    for (ChannelCount channels : {1, 2}) {
        WriterOptions options;
        options.format = c.format;
        options.sampleRate = 48000;
        options.channels = channels;
        Planar x;
        if (c.bits > 0) {
            x = onGrid(c.bits, channels, 30011);
        } else {
            // Float WAV keeps anything finite: overs, tiny and denormal values, -0.
            x = tone(channels, 30011, 48000, 1.5);
            x[0][5] = 1e-40f;
            x[0][6] = -0.0f;
            x[0][7] = 3.0e38f;
        }
        const std::string path = dir.file(test::cat({"rt", std::to_string(channels), ".", c.ext}));
        writeFile(path, options, x, 777);
        auto source = openAudioFile(path);
        ASSERT_TRUE(source.ok()) << source.error().message;
        EXPECT_EQ((*source)->info().container, c.container);
        EXPECT_EQ((*source)->info().encoding, c.encoding);
        EXPECT_EQ((*source)->info().sampleRate, 48000);
        EXPECT_EQ((*source)->info().channels, channels);
        const test::Decoded d = test::readAll(**source);
        ASSERT_EQ(d.frames(), 30011);
        for (ChannelCount ch = 0; ch < channels; ++ch)
            EXPECT_EQ(std::memcmp(d.channels[static_cast<size_t>(ch)].data(),
                                  x[static_cast<size_t>(ch)].data(), 30011 * sizeof(float)),
                      0)
                << "channel " << ch;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, ExactRoundTrip,
    ::testing::Values(ExactCase{OutputFormat::Wav16, "wav", 16, "wav", "pcm_16"},
                      ExactCase{OutputFormat::Wav24, "wav", 24, "wav", "pcm_24"},
                      ExactCase{OutputFormat::WavFloat, "wav", 0, "wav", "float"},
                      ExactCase{OutputFormat::Flac16, "flac", 16, "flac", "pcm_16"},
                      ExactCase{OutputFormat::Flac24, "flac", 24, "flac", "pcm_24"}),
    [](const auto& param) { return std::string(outputFormatInfo(param.param.format).name); });

TEST(Writer, DitheredOutputSurvivesTheFileBitExactly) {
    TempDir dir;
    Planar x = tone(2, 20000, 44100, 0.7);
    Ditherer d;
    d.prepare(16, 2, 42);
    AudioView v{{x[0].data(), x[1].data()}, 2, 20000};
    d.process(v);
    WriterOptions options{OutputFormat::Wav16, 44100, 2, 320};
    writeFile(dir.file("d.wav"), options, x);
    const test::Decoded back = decodeFile(dir.file("d.wav"));
    ASSERT_EQ(back.frames(), 20000);
    EXPECT_EQ(back.channels, x);
}

TEST(Writer, OffGridAndOverRangeSamplesAreRoundedAndClamped) {
    // The contract is on-grid input; anything else is rounded to the nearest step and clamped,
    // so the file is still well defined.
    TempDir dir;
    const float lsb = 1.0f / 32768.0f;
    Planar x(1, std::vector<float>{0.3f * lsb, 0.7f * lsb, -0.7f * lsb, 1.0f, -1.5f, 2.0f * lsb});
    writeFile(dir.file("g.wav"), {OutputFormat::Wav16, 44100, 1, 320}, x);
    const test::Decoded back = decodeFile(dir.file("g.wav"));
    const std::vector<float> expected{0.0f, lsb, -lsb, 32767.0f * lsb, -1.0f, 2.0f * lsb};
    EXPECT_EQ(back.channels[0], expected);
}

/// Frame-by-frame walk of an MPEG stream: returns the bit rate (kbps) of every frame.
std::vector<int> mp3FrameBitrates(const std::vector<unsigned char>& b, int* sampleRate) {
    static const int kL3V1[] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0};
    static const int kRates[] = {44100, 48000, 32000, 0};
    std::vector<int> rates;
    size_t i = 0;
    if (b.size() > 10 && std::memcmp(b.data(), "ID3", 3) == 0)
        return {}; // an ID3 tag is already a failure for the callers
    while (i + 4 <= b.size()) {
        if (b[i] != 0xFF || (b[i + 1] & 0xFE) != 0xFA) // MPEG-1 layer III sync
            break;
        const int kbps = kL3V1[b[i + 2] >> 4];
        const int rate = kRates[(b[i + 2] >> 2) & 3];
        if (kbps == 0 || rate == 0)
            break;
        *sampleRate = rate;
        rates.push_back(kbps);
        i += static_cast<size_t>(144 * kbps * 1000 / rate + ((b[i + 2] >> 1) & 1));
    }
    EXPECT_EQ(i, b.size()) << "bytes after the last MPEG frame (a tag?)";
    return rates;
}

TEST(Writer, Mp3Is320KbpsConstantBitRate) {
    TempDir dir;
    for (int rate : {44100, 48000}) {
        const std::string path = dir.file(test::cat({"cbr", std::to_string(rate), ".mp3"}));
        writeFile(path, {OutputFormat::Mp3, rate, 2, 320}, tone(2, rate, rate));
        int parsedRate = 0;
        const std::vector<int> bitrates = mp3FrameBitrates(test::readBytes(path), &parsedRate);
        ASSERT_GT(bitrates.size(), 30u);
        EXPECT_EQ(parsedRate, rate);
        for (int kbps : bitrates)
            ASSERT_EQ(kbps, 320);
        // Independent check with ffprobe (installed with ffmpeg, see scripts/install-deps.sh).
        const std::string cmd = "ffprobe -v error -select_streams a:0 -show_entries "
                                "stream=codec_name,bit_rate,sample_rate,channels -of "
                                "default=noprint_wrappers=1 '" + path + "' 2>&1";
        FILE* pipe = ::popen(cmd.c_str(), "r");
        ASSERT_NE(pipe, nullptr);
        std::string out;
        char buf[256];
        while (std::fgets(buf, sizeof buf, pipe))
            out += buf;
        ::pclose(pipe);
        EXPECT_NE(out.find("codec_name=mp3"), std::string::npos) << out;
        EXPECT_NE(out.find("bit_rate=320000"), std::string::npos) << out;
        EXPECT_NE(out.find("sample_rate=" + std::to_string(rate)), std::string::npos) << out;
        EXPECT_NE(out.find("channels=2"), std::string::npos) << out;
    }
}

TEST(Writer, Mp3RoundTripKeepsToneLengthAndLevel) {
    TempDir dir;
    const std::string path = dir.file("tone.mp3");
    writeFile(path, {OutputFormat::Mp3, 44100, 2, 320}, tone(2, 44100, 44100));
    auto source = openAudioFile(path);
    ASSERT_TRUE(source.ok()) << source.error().message;
    EXPECT_EQ((*source)->info().container, "mp3");
    EXPECT_TRUE((*source)->info().lossy);
    // LAME's Info tag records encoder delay and padding, so gapless decoding gives back the
    // exact input length.
    EXPECT_EQ((*source)->info().frames, 44100);
    const test::Decoded d = test::readAll(**source);
    EXPECT_EQ(d.frames(), 44100);
    for (int c = 0; c < 2; ++c) {
        // 320 kbps reproduces a pure tone within a few hundredths of a dB; 0.01 is ~0.2 dB.
        EXPECT_NEAR(test::sineAmplitude(d.channels[static_cast<size_t>(c)]), 0.5, 0.01);
        EXPECT_NEAR(test::sineFrequency(d.channels[static_cast<size_t>(c)], 44100), 440.0 + 220.0 * c, 2.0);
    }
}

TEST(Writer, SameInputGivesByteIdenticalFiles) {
    TempDir dir;
    const Planar x16 = onGrid(16, 2, 50000), x24 = onGrid(24, 2, 50000), xf = tone(2, 50000, 44100);
    const std::pair<OutputFormat, const Planar*> cases[] = {
        {OutputFormat::Wav16, &x16}, {OutputFormat::Wav24, &x24}, {OutputFormat::WavFloat, &xf},
        {OutputFormat::Flac16, &x16}, {OutputFormat::Flac24, &x24}, {OutputFormat::Mp3, &xf}};
    for (const auto& [format, signal] : cases) {
        const std::string name(outputFormatInfo(format).name);
        WriterOptions options{format, 44100, 2, 320};
        writeFile(dir.file("a_" + name), options, *signal, 4096);
        writeFile(dir.file("b_" + name), options, *signal, 333); // other block sizes too
        const auto a = test::readBytes(dir.file("a_" + name));
        EXPECT_GT(a.size(), 1000u);
        EXPECT_EQ(a, test::readBytes(dir.file("b_" + name))) << name;
    }
}

TEST(Writer, AddsNoMetadata) {
    TempDir dir;
    const Planar x = onGrid(16, 2, 10000);
    // WAV: only the chunks a decoder needs (fmt, data; fact for float, and libsndfile's "PAD "
    // filler that aligns the float data), no LIST/INFO, PEAK, bext.
    for (OutputFormat format : {OutputFormat::Wav16, OutputFormat::Wav24, OutputFormat::WavFloat}) {
        const std::string path = dir.file("m.wav");
        writeFile(path, {format, 44100, 2, 320}, x);
        const auto b = test::readBytes(path);
        std::set<std::string> chunks;
        for (size_t at = 12; at + 8 <= b.size();) {
            chunks.insert(std::string(b.begin() + static_cast<std::ptrdiff_t>(at),
                                      b.begin() + static_cast<std::ptrdiff_t>(at + 4)));
            const std::uint32_t size = b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) |
                                       (static_cast<std::uint32_t>(b[at + 7]) << 24);
            at += 8 + size + (size & 1);
        }
        std::set<std::string> allowed{"fmt ", "data", "fact", "PAD "};
        for (const auto& id : chunks)
            EXPECT_TRUE(allowed.count(id)) << "unexpected WAV chunk '" << id << "'";
    }
    // FLAC: metadata blocks; a VORBIS_COMMENT block may carry libFLAC's vendor string but
    // must hold zero comments.
    {
        const std::string path = dir.file("m.flac");
        writeFile(path, {OutputFormat::Flac16, 44100, 2, 320}, x);
        const auto b = test::readBytes(path);
        ASSERT_EQ(std::memcmp(b.data(), "fLaC", 4), 0);
        size_t at = 4;
        bool last = false;
        while (!last && at + 4 <= b.size()) {
            last = b[at] & 0x80;
            const int type = b[at] & 0x7F;
            const size_t len = (size_t{b[at + 1]} << 16) | (size_t{b[at + 2]} << 8) | b[at + 3];
            EXPECT_TRUE(type == 0 || type == 1 || type == 3 || type == 4) << "block type " << type;
            if (type == 4) {
                const size_t vendorLen = b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) |
                                         (size_t{b[at + 7]} << 24);
                const size_t countAt = at + 8 + vendorLen;
                const std::uint32_t count = b[countAt] | (b[countAt + 1] << 8) |
                                            (b[countAt + 2] << 16) | (static_cast<std::uint32_t>(b[countAt + 3]) << 24);
                EXPECT_EQ(count, 0u) << "Vorbis comments present";
            }
            at += 4 + len;
        }
    }
    // MP3: no ID3v2 at the start, no ID3v1 'TAG' or APE tag at the end; every byte is an MPEG
    // frame (checked by mp3FrameBitrates).
    {
        const std::string path = dir.file("m.mp3");
        writeFile(path, {OutputFormat::Mp3, 44100, 2, 320}, tone(2, 10000, 44100));
        const auto b = test::readBytes(path);
        ASSERT_GT(b.size(), 200u);
        EXPECT_NE(std::memcmp(b.data(), "ID3", 3), 0);
        EXPECT_NE(std::memcmp(b.data() + b.size() - 128, "TAG", 3), 0);
        int rate = 0;
        EXPECT_FALSE(mp3FrameBitrates(b, &rate).empty());
    }
}

TEST(Writer, RejectsBadOptionsAndSamples) {
    TempDir dir;
    auto channels = createAudioWriter(dir.file("x.wav"), {OutputFormat::Wav24, 44100, 3, 320});
    ASSERT_FALSE(channels.ok());
    EXPECT_EQ(channels.error().code, ErrorCode::InvalidArgument);
    auto rate = createAudioWriter(dir.file("x.wav"), {OutputFormat::Wav24, 1000, 2, 320});
    ASSERT_FALSE(rate.ok());
    EXPECT_EQ(rate.error().code, ErrorCode::InvalidArgument);
    auto mp3Rate = createAudioWriter(dir.file("x.mp3"), {OutputFormat::Mp3, 22050, 2, 320});
    ASSERT_FALSE(mp3Rate.ok());
    EXPECT_EQ(mp3Rate.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(mp3Rate.error().message.find("44100"), std::string::npos);
    auto mp3Bitrate = createAudioWriter(dir.file("x.mp3"), {OutputFormat::Mp3, 44100, 2, 333});
    ASSERT_FALSE(mp3Bitrate.ok());
    EXPECT_EQ(mp3Bitrate.error().code, ErrorCode::InvalidArgument);
    auto noDir = createAudioWriter(dir.file("missing/x.wav"), {OutputFormat::Wav24, 44100, 2, 320});
    ASSERT_FALSE(noDir.ok());
    EXPECT_EQ(noDir.error().code, ErrorCode::WriteFailed);

    auto writer = createAudioWriter(dir.file("nan.wav"), {OutputFormat::Wav16, 44100, 1, 320});
    ASSERT_TRUE(writer.ok());
    std::vector<float> bad{0.0f, NAN, 0.0f};
    ConstAudioView v{{bad.data()}, 1, 3};
    auto s = (*writer)->write(v);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(s.error().message.find("frame 1"), std::string::npos) << s.error().message;
    EXPECT_TRUE((*writer)->close().ok());
    EXPECT_FALSE((*writer)->write(v).ok()) << "write after close";
}

TEST(Writer, OtherMp3Bitrates) {
    TempDir dir;
    for (int kbps : {128, 192, 256}) {
        const std::string path = dir.file(test::cat({"b", std::to_string(kbps), ".mp3"}));
        writeFile(path, {OutputFormat::Mp3, 48000, 1, kbps}, tone(1, 24000, 48000));
        int rate = 0;
        const auto bitrates = mp3FrameBitrates(test::readBytes(path), &rate);
        ASSERT_FALSE(bitrates.empty());
        for (int b : bitrates)
            ASSERT_EQ(b, kbps);
    }
}

TEST(TempFiles, TemporaryPathIsHiddenBesideAndUnique) {
    const std::string t = temporaryPathBeside("/data/out/master.wav");
    EXPECT_EQ(t.rfind("/data/out/.master.wav.", 0), 0u) << t;
    EXPECT_NE(t.find(std::to_string(::getpid())), std::string::npos) << t;
    const std::string bare = temporaryPathBeside("master.flac");
    EXPECT_EQ(bare.find('/'), std::string::npos);
    EXPECT_EQ(bare[0], '.');
    // Unique across threads of one process (pid is the same, the counter differs).
    std::vector<std::string> names(4000);
    std::vector<std::thread> threads;
    for (int t4 = 0; t4 < 4; ++t4)
        threads.emplace_back([&names, t4] {
            for (int i = 0; i < 1000; ++i)
                names[static_cast<size_t>(t4 * 1000 + i)] = temporaryPathBeside("x/song.mp3");
        });
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST(TempFiles, CommitRenamesAtomically) {
    TempDir dir;
    const std::string final = dir.file("master.wav");
    const std::string temp = temporaryPathBeside(final);
    writeFile(temp, {OutputFormat::Wav16, 44100, 1, 320}, onGrid(16, 1, 1000));
    test::writeBytes(final, {1, 2, 3}); // an older result is replaced
    ASSERT_TRUE(commitFile(temp, final).ok());
    EXPECT_FALSE(std::filesystem::exists(temp));
    EXPECT_EQ(decodeFile(final).frames(), 1000);

    auto missing = commitFile(dir.file(".nothing.tmp"), final);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::WriteFailed);
    const std::string temp2 = temporaryPathBeside(final);
    test::writeBytes(temp2, {1});
    auto noDir = commitFile(temp2, dir.file("missing/master.wav"));
    ASSERT_FALSE(noDir.ok());
    EXPECT_EQ(noDir.error().code, ErrorCode::WriteFailed);
}

} // namespace
} // namespace quack
