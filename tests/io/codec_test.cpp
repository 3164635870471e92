// The lossy encoders added for release files - Ogg Vorbis, Opus (libsndfile) and AAC in MP4
// (FFmpeg) - and the FFmpeg decoder for MP4/M4A and ADTS: format table, rate rules, round
// trips, bit rates, determinism, no metadata, and errors for bad options and bad files.
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "engine/io/tags.h"
#include "tests/io/io_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

namespace quack {
namespace {

using test::TempDir;
using Planar = std::vector<std::vector<float>>;

Planar tone(ChannelCount channels, FrameCount frames, int sampleRate, double amplitude = 0.5) {
    Planar x(static_cast<size_t>(channels), std::vector<float>(static_cast<size_t>(frames)));
    for (ChannelCount c = 0; c < channels; ++c)
        for (FrameCount i = 0; i < frames; ++i)
            x[static_cast<size_t>(c)][static_cast<size_t>(i)] = static_cast<float>(
                amplitude * std::sin(2.0 * M_PI * (440.0 + 220.0 * c) * static_cast<double>(i) / sampleRate));
    return x;
}

/// White noise at about -12 dBFS RMS: hard to compress, so a VBR encoder spends near its target.
Planar noise(ChannelCount channels, FrameCount frames, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 0.25f);
    Planar x(static_cast<size_t>(channels), std::vector<float>(static_cast<size_t>(frames)));
    for (auto& ch : x)
        for (auto& s : ch)
            s = std::clamp(nd(rng), -0.99f, 0.99f);
    return x;
}

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

WriterOptions options(OutputFormat format, int rate, ChannelCount channels = 2) {
    WriterOptions o;
    o.format = format;
    o.sampleRate = rate;
    o.channels = channels;
    return o;
}

std::string run(const std::string& cmd) {
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (!pipe)
        return {};
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe))
        out += buf;
    ::pclose(pipe);
    return out;
}

bool contains(const std::vector<unsigned char>& bytes, std::string_view needle) {
    return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

struct LossyCase {
    OutputFormat format;
    const char* file;
    int rate;
    const char* container;
    const char* encoding;
};

/// Amplitude tolerance on a 0.5 tone. At ~256 kbps Vorbis and Opus give a pure tone back within
/// a few hundredths of a dB: 0.01 on 0.5 is 0.17 dB, far above what they lose and far below a
/// gain bug. AAC uses FFmpeg's "fast" coder (steady peaks for the ceiling loop, issue 9 finding
/// 12, engine/io), which returns this tone 0.2 dB low: 0.02 (0.35 dB) still catches any gain bug.
double amplitudeTolerance(OutputFormat f) { return f == OutputFormat::Aac ? 0.02 : 0.01; }

const LossyCase kLossy[] = {
    {OutputFormat::Vorbis, "t.ogg", 44100, "ogg", "vorbis"},
    {OutputFormat::Opus, "t.opus", 48000, "opus", "opus"},
    {OutputFormat::Aac, "t.m4a", 44100, "mp4", "aac"},
};

TEST(CodecFormats, NamesExtensionsAndAliases) {
    EXPECT_EQ(outputFormatFromName("vorbis").value(), OutputFormat::Vorbis);
    EXPECT_EQ(outputFormatFromName("ogg").value(), OutputFormat::Vorbis);
    EXPECT_EQ(outputFormatFromName("opus").value(), OutputFormat::Opus);
    EXPECT_EQ(outputFormatFromName("aac").value(), OutputFormat::Aac);
    EXPECT_EQ(outputFormatFromName("m4a").value(), OutputFormat::Aac);
    EXPECT_EQ(outputFormatFromPath("a/b.ogg").value(), OutputFormat::Vorbis);
    EXPECT_EQ(outputFormatFromPath("b.OPUS").value(), OutputFormat::Opus);
    EXPECT_EQ(outputFormatFromPath("b.m4a").value(), OutputFormat::Aac);
    EXPECT_EQ(outputFormatFromPath("b.mp4").value(), OutputFormat::Aac);
    for (OutputFormat f : {OutputFormat::Vorbis, OutputFormat::Opus, OutputFormat::Aac}) {
        EXPECT_TRUE(outputFormatInfo(f).lossy);
        EXPECT_EQ(outputFormatInfo(f).bits, 0);
    }
    EXPECT_EQ(outputFormatInfo(OutputFormat::Vorbis).extension, "ogg");
    EXPECT_EQ(outputFormatInfo(OutputFormat::Opus).extension, "opus");
    EXPECT_EQ(outputFormatInfo(OutputFormat::Aac).extension, "m4a");
    auto bad = outputFormatFromPath("b.wma");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find(".opus"), std::string::npos) << bad.error().message;
}

TEST(CodecFormats, SampleRateRules) {
    EXPECT_TRUE(codecSampleRates(OutputFormat::Wav24).empty());
    EXPECT_TRUE(codecSampleRates(OutputFormat::Vorbis).empty());
    EXPECT_EQ(codecOutputRate(OutputFormat::Wav24, 22050), 22050);
    EXPECT_EQ(codecOutputRate(OutputFormat::Vorbis, 22050), 22050);
    // Opus: always 48 kHz.
    for (int r : {8000, 22050, 44100, 48000, 96000})
        EXPECT_EQ(codecOutputRate(OutputFormat::Opus, r), 48000) << r;
    // MP3 and AAC: kept when allowed, else the same family.
    EXPECT_EQ(codecOutputRate(OutputFormat::Mp3, 32000), 32000);
    EXPECT_EQ(codecOutputRate(OutputFormat::Mp3, 88200), 44100);
    EXPECT_EQ(codecOutputRate(OutputFormat::Mp3, 96000), 48000);
    EXPECT_EQ(codecOutputRate(OutputFormat::Aac, 96000), 96000);
    EXPECT_EQ(codecOutputRate(OutputFormat::Aac, 22050), 44100);
    EXPECT_EQ(codecOutputRate(OutputFormat::Aac, 16000), 48000);
    EXPECT_NE(codecRateReason(OutputFormat::Opus).find("48 kHz"), std::string_view::npos);
}

class LossyRoundTrip : public ::testing::TestWithParam<LossyCase> {};

TEST_P(LossyRoundTrip, KeepsLengthLevelAndPitch) {
    const LossyCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file(c.file);
    const FrameCount frames = c.rate * 2 + 123; // not a multiple of any codec frame
    writeFile(path, options(c.format, c.rate), tone(2, frames, c.rate));
    auto source = openAudioFile(path);
    ASSERT_TRUE(source.ok()) << source.error().message;
    const AudioFileInfo& info = (*source)->info();
    EXPECT_EQ(info.container, c.container);
    EXPECT_EQ(info.encoding, c.encoding);
    EXPECT_TRUE(info.lossy);
    EXPECT_EQ(info.sampleRate, c.rate);
    EXPECT_EQ(info.channels, 2);
    // Every container records the encoder delay and the true length (Ogg granule positions with
    // Opus pre-skip, the MP4 edit list), so decoding gives back exactly the frames written.
    EXPECT_EQ(info.frames, frames);
    const test::Decoded d = test::readAll(**source);
    EXPECT_EQ(d.frames(), frames);
    for (size_t ch = 0; ch < 2; ++ch) {
        EXPECT_NEAR(test::sineAmplitude(d.channels[ch]), 0.5, amplitudeTolerance(c.format)) << ch;
        EXPECT_NEAR(test::sineFrequency(d.channels[ch], c.rate), 440.0 + 220.0 * static_cast<double>(ch), 1.0) << ch;
    }
    // Time alignment: the decoded tone is in phase with the input (no leftover encoder delay).
    // Correlation over the middle half is ~1 when aligned and ~cos(2 pi 440 d / rate) when d
    // frames late; 0.99 allows the codec noise but not one frame's worth of 1024 samples.
    const Planar ref = tone(2, frames, c.rate);
    double xy = 0, xx = 0, yy = 0;
    for (FrameCount i = frames / 4; i < frames * 3 / 4; ++i) {
        const double a = ref[0][static_cast<size_t>(i)], b = d.channels[0][static_cast<size_t>(i)];
        xy += a * b;
        xx += a * a;
        yy += b * b;
    }
    EXPECT_GT(xy / std::sqrt(xx * yy), 0.99);
    // A second pass after rewind() is bit-identical.
    ASSERT_TRUE((*source)->rewind().ok());
    const test::Decoded again = test::readAll(**source, 777);
    EXPECT_EQ(again.channels, d.channels);
}

TEST_P(LossyRoundTrip, MonoWorks) {
    const LossyCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file(c.file);
    writeFile(path, options(c.format, c.rate, 1), tone(1, c.rate, c.rate));
    auto source = openAudioFile(path);
    ASSERT_TRUE(source.ok()) << source.error().message;
    EXPECT_EQ((*source)->info().channels, 1);
    const test::Decoded d = test::readAll(**source);
    EXPECT_EQ(d.frames(), c.rate);
    EXPECT_NEAR(test::sineAmplitude(d.channels[0]), 0.5, amplitudeTolerance(c.format));
}

TEST_P(LossyRoundTrip, SameSamplesGiveSameBytes) {
    const LossyCase& c = GetParam();
    TempDir dir;
    const Planar x = noise(2, c.rate * 3);
    writeFile(dir.file(std::string("a") + c.file), options(c.format, c.rate), x, 4096);
    writeFile(dir.file(std::string("b") + c.file), options(c.format, c.rate), x, 333);
    const auto a = test::readBytes(dir.file(std::string("a") + c.file));
    EXPECT_GT(a.size(), 10000u);
    EXPECT_EQ(a, test::readBytes(dir.file(std::string("b") + c.file)));
    // Different audio gets a different Ogg serial (bytes 14..17 of the first page), so two of
    // our files can be chained without a serial clash.
    if (c.format != OutputFormat::Aac) {
        writeFile(dir.file(std::string("c") + c.file), options(c.format, c.rate), noise(2, c.rate * 3, 2));
        const auto other = test::readBytes(dir.file(std::string("c") + c.file));
        EXPECT_NE(std::memcmp(a.data() + 14, other.data() + 14, 4), 0);
    }
}

TEST_P(LossyRoundTrip, CarriesNoMetadata) {
    const LossyCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file(c.file);
    writeFile(path, options(c.format, c.rate), tone(2, c.rate, c.rate));
    EXPECT_TRUE(readAllTags(path).empty());
    const auto bytes = test::readBytes(path);
    // No software names beyond the codec's required vendor string: libsndfile's ENCODER
    // comment is removed, FFmpeg's "Lavf..." encoder tag is never written.
    EXPECT_FALSE(contains(bytes, "libsndfile"));
    EXPECT_FALSE(contains(bytes, "Lavf"));
    EXPECT_FALSE(contains(bytes, "Lavc"));
    EXPECT_FALSE(contains(bytes, "ENCODER"));
}

INSTANTIATE_TEST_SUITE_P(Codecs, LossyRoundTrip, ::testing::ValuesIn(kLossy),
                         [](const auto& p) { return std::string(outputFormatInfo(p.param.format).name); });

TEST(CodecBitrates, MatchTheSettings) {
    TempDir dir;
    // Vorbis quality 0.8: the identification header's nominal bit rate (libvorbis' table for
    // 44.1 kHz stereo at q8 is 256 kbps).
    writeFile(dir.file("q.ogg"), options(OutputFormat::Vorbis, 44100), noise(2, 44100 * 4));
    const auto v = test::readBytes(dir.file("q.ogg"));
    // First page: 27-byte header + 1 lacing byte, then "\x01vorbis", version (4), channels (1),
    // rate (4), bitrate_maximum (4), bitrate_nominal (4).
    ASSERT_GT(v.size(), 60u);
    ASSERT_EQ(std::memcmp(v.data() + 28, "\x01vorbis", 7), 0);
    const size_t nominalAt = 28 + 7 + 4 + 1 + 4 + 4;
    const std::uint32_t nominal = v[nominalAt] | (v[nominalAt + 1] << 8) | (v[nominalAt + 2] << 16) |
                                  (static_cast<std::uint32_t>(v[nominalAt + 3]) << 24);
    EXPECT_NEAR(nominal, 256000.0, 8000.0);
    // Opus and AAC: average bit rate of noise (which needs every bit) within 10% of 256 kbps;
    // VBR and container overhead move it a few percent either way.
    const double seconds = 8.0;
    writeFile(dir.file("n.opus"), options(OutputFormat::Opus, 48000), noise(2, 48000 * 8));
    const double opusKbps = static_cast<double>(test::readBytes(dir.file("n.opus")).size()) * 8.0 / seconds / 1000.0;
    EXPECT_NEAR(opusKbps, 256.0, 25.6);
    writeFile(dir.file("n.m4a"), options(OutputFormat::Aac, 48000), noise(2, 48000 * 8));
    const double aacKbps = static_cast<double>(test::readBytes(dir.file("n.m4a")).size()) * 8.0 / seconds / 1000.0;
    EXPECT_NEAR(aacKbps, 256.0, 25.6);
    // ffprobe (an independent parser) sees AAC-LC in an M4A-branded MP4.
    const std::string probe = run("ffprobe -v error -show_entries stream=codec_name,profile,sample_rate,channels:format=format_name "
                                  "-of default=noprint_wrappers=1 '" + dir.file("n.m4a") + "' 2>&1");
    EXPECT_NE(probe.find("codec_name=aac"), std::string::npos) << probe;
    EXPECT_NE(probe.find("profile=LC"), std::string::npos) << probe;
    EXPECT_NE(probe.find("sample_rate=48000"), std::string::npos) << probe;
    const auto m4a = test::readBytes(dir.file("n.m4a"));
    EXPECT_EQ(std::memcmp(m4a.data() + 4, "ftypM4A ", 8), 0);
}

TEST(CodecErrors, BadOptionsAreClear) {
    TempDir dir;
    auto opus = createAudioWriter(dir.file("x.opus"), options(OutputFormat::Opus, 44100));
    ASSERT_FALSE(opus.ok());
    EXPECT_EQ(opus.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(opus.error().message.find("48000"), std::string::npos) << opus.error().message;
    auto aac = createAudioWriter(dir.file("x.m4a"), options(OutputFormat::Aac, 22050));
    ASSERT_FALSE(aac.ok());
    EXPECT_EQ(aac.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(aac.error().message.find("44100"), std::string::npos) << aac.error().message;
    for (OutputFormat f : {OutputFormat::Vorbis, OutputFormat::Opus, OutputFormat::Aac}) {
        for (ChannelCount ch : {0, 3}) {
            auto w = createAudioWriter(dir.file("x.bin"), options(f, 48000, ch));
            ASSERT_FALSE(w.ok());
            EXPECT_EQ(w.error().code, ErrorCode::InvalidArgument);
            EXPECT_NE(w.error().message.find("channels"), std::string::npos);
        }
    }
    WriterOptions o = options(OutputFormat::Opus, 48000);
    o.opusBitrateKbps = 600;
    EXPECT_EQ(createAudioWriter(dir.file("x.opus"), o).error().code, ErrorCode::InvalidArgument);
    o = options(OutputFormat::Aac, 48000);
    o.aacBitrateKbps = 32;
    EXPECT_EQ(createAudioWriter(dir.file("x.m4a"), o).error().code, ErrorCode::InvalidArgument);
    o = options(OutputFormat::Vorbis, 48000);
    o.vorbisQuality = 1.5;
    EXPECT_EQ(createAudioWriter(dir.file("x.ogg"), o).error().code, ErrorCode::InvalidArgument);
    auto noDir = createAudioWriter(dir.file("missing/x.m4a"), options(OutputFormat::Aac, 48000));
    ASSERT_FALSE(noDir.ok());
    EXPECT_EQ(noDir.error().code, ErrorCode::WriteFailed);
    // NaN is refused by every writer.
    auto w = createAudioWriter(dir.file("nan.m4a"), options(OutputFormat::Aac, 48000, 1));
    ASSERT_TRUE(w.ok());
    std::vector<float> bad{0.0f, 0.0f, NAN};
    auto s = (*w)->write(ConstAudioView{{bad.data()}, 1, 3});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(s.error().message.find("frame 2"), std::string::npos) << s.error().message;
}

TEST(Mp4Decoder, DamagedFilesAreCorrupt) {
    TempDir dir;
    writeFile(dir.file("good.m4a"), options(OutputFormat::Aac, 44100), tone(2, 44100 * 2, 44100));
    const auto good = test::readBytes(dir.file("good.m4a"));
    // Cut before the moov box (written last): no track description at all.
    test::writeBytes(dir.file("cut.m4a"), {good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2)});
    auto cut = openAudioFile(dir.file("cut.m4a"));
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.error().code, ErrorCode::CorruptFile) << cut.error().message;
    EXPECT_NE(cut.error().message.find("cut.m4a"), std::string::npos);
    // Only an ftyp box.
    std::vector<unsigned char> ftyp = {0, 0, 0, 0x14, 'f', 't', 'y', 'p', 'M', '4', 'A', ' ', 0, 0, 0, 0, 'M', '4', 'A', ' '};
    test::writeBytes(dir.file("ftyp.m4a"), ftyp);
    auto f = openAudioFile(dir.file("ftyp.m4a"));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, ErrorCode::CorruptFile) << f.error().message;
    // Garbage in the middle of the audio data: either refused while reading or decoded with
    // damage, never a crash (ASan) and never non-finite samples.
    auto smashed = good;
    for (size_t i = 2000; i < 6000 && i < smashed.size(); ++i)
        smashed[i] = static_cast<unsigned char>(i * 7919u);
    test::writeBytes(dir.file("smashed.m4a"), smashed);
    auto sm = openAudioFile(dir.file("smashed.m4a"));
    if (sm.ok()) {
        AudioBuffer buf(2, 4096);
        for (int guard = 0; guard < 1000; ++guard) {
            auto n = (*sm)->read(buf.view());
            if (!n) {
                EXPECT_EQ(n.error().code, ErrorCode::CorruptFile) << n.error().message;
                break;
            }
            if (*n == 0)
                break;
        }
    } else {
        EXPECT_EQ(sm.error().code, ErrorCode::CorruptFile);
    }
    // MP4 content under another audio extension is a mismatch.
    test::writeBytes(dir.file("song.flac"), good);
    auto mm = openAudioFile(dir.file("song.flac"));
    ASSERT_FALSE(mm.ok());
    EXPECT_EQ(mm.error().code, ErrorCode::FormatMismatch);
}

TEST(Mp4Decoder, ReadsFilesFromOtherEncoders) {
    // ffmpeg's command line makes ADTS AAC, ALAC in M4A and a video-less MP3-in-MP4.
    TempDir dir;
    const std::string gen = "ffmpeg -v error -y -f lavfi -i 'sine=frequency=1000:sample_rate=48000:duration=1' ";
    ASSERT_EQ(std::system((gen + "-c:a aac -b:a 192k '" + dir.file("raw.aac") + "'").c_str()), 0);
    ASSERT_EQ(std::system((gen + "-c:a alac '" + dir.file("lossless.m4a") + "'").c_str()), 0);
    ASSERT_EQ(std::system((gen + "-c:a libmp3lame '" + dir.file("mp3in.mp4") + "' 2>/dev/null").c_str()) == 0 ||
                  true,
              true);
    auto adts = openAudioFile(dir.file("raw.aac"));
    ASSERT_TRUE(adts.ok()) << adts.error().message;
    EXPECT_EQ((*adts)->info().container, "aac");
    const test::Decoded a = test::readAll(**adts);
    // An ADTS stream has no length field; FFmpeg's encoder adds its 1024-frame priming and
    // the padding of the last frame, which no ADTS decoder can remove.
    EXPECT_NEAR(static_cast<double>(a.frames()), 48000.0, 2048.0 + 1024.0);
    // lavfi's sine source has amplitude 1/8.
    EXPECT_NEAR(test::sineAmplitude(a.channels[0]), 0.125, 0.005);
    auto alac = openAudioFile(dir.file("lossless.m4a"));
    ASSERT_TRUE(alac.ok()) << alac.error().message;
    EXPECT_EQ((*alac)->info().encoding, "alac");
    EXPECT_FALSE((*alac)->info().lossy);
    const test::Decoded l = test::readAll(**alac);
    EXPECT_EQ(l.frames(), 48000);
    EXPECT_NEAR(test::sineFrequency(l.channels[0], 48000), 1000.0, 0.5);
    if (std::filesystem::exists(dir.file("mp3in.mp4"))) {
        auto other = openAudioFile(dir.file("mp3in.mp4"));
        ASSERT_FALSE(other.ok());
        EXPECT_EQ(other.error().code, ErrorCode::UnsupportedFormat) << other.error().message;
    }
}

TEST(Mp4Decoder, RandomSyncBytesAreNotAac) {
    // 0xFFF1 looks like an ADTS header; without a second frame where the first says, it is not.
    TempDir dir;
    std::vector<unsigned char> b(5000, 0x55);
    b[0] = 0xFF;
    b[1] = 0xF1;
    test::writeBytes(dir.file("x.bin"), b);
    auto s = openAudioFile(dir.file("x.bin"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::UnsupportedFormat) << s.error().message;
}

} // namespace
} // namespace quack
