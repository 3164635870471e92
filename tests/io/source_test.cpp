// Decoding of the committed fixtures (tests/fixtures/README.md): header facts, level,
// frequency, channel order, exact PCM values, and bit-identical rewinds whatever the block size.
#include "engine/io/audio_source.h"
#include "tests/io/io_test_util.h"

#include <gtest/gtest.h>

#include <cstring>

namespace quack {
namespace {

using test::fixture;

struct DecodeCase {
    const char* file;
    const char* container;
    const char* encoding;
    int bits;
    bool lossy;
    int sampleRate;
    ChannelCount channels;
    FrameCount frames;      ///< expected info().frames (and decoded count)
    double leftHz, rightHz; ///< tone per channel (rightHz unused for mono)
    double amplitudeTol;    ///< on the 0.5 peak amplitude
};

// Tolerances: lossless PCM >= 16 bits reproduces the 0.5 sine to within its quantisation, so
// 0.002 only absorbs the RMS-window edge; 8-bit PCM adds ~1/256 of error. Lossy codecs change
// the level by up to ~0.3 dB on a pure tone at these rates, hence 0.03 (0.5 dB).
const DecodeCase kCases[] = {
    {"tone_44k1_mono_s16.wav", "wav", "pcm_16", 16, false, 44100, 1, 22050, 440, 0, 0.002},
    {"tone_48k_stereo_s24.wav", "wav", "pcm_24", 24, false, 48000, 2, 24000, 1000, 1500, 0.002},
    {"tone_44k1_mono_f32.wav", "wav", "float", 32, false, 44100, 1, 22050, 440, 0, 0.002},
    {"tone_8k_mono_u8.wav", "wav", "pcm_u8", 8, false, 8000, 1, 4000, 400, 0, 0.01},
    {"tone_8k_mono_s32.wav", "wav", "pcm_32", 32, false, 8000, 1, 4000, 400, 0, 0.002},
    {"tone_8k_mono_f64.wav", "wav", "double", 64, false, 8000, 1, 4000, 400, 0, 0.002},
    {"tone_44k1_stereo_s16.aiff", "aiff", "pcm_16", 16, false, 44100, 2, 22050, 440, 660, 0.002},
    {"tone_48k_stereo_s24.flac", "flac", "pcm_24", 24, false, 48000, 2, 24000, 1000, 1500, 0.002},
    {"tone_44k1_stereo.ogg", "ogg", "vorbis", 0, true, 44100, 2, 44100, 440, 660, 0.03},
    {"tone_48k_stereo.opus", "opus", "opus", 0, true, 48000, 2, 48000, 1000, 1500, 0.03},
    {"tone_44k1_stereo.mp3", "mp3", "mp3", 0, true, 44100, 2, 44100, 440, 660, 0.03},
};

class DecodeFixture : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeFixture, HeaderLevelFrequencyAndLength) {
    const DecodeCase& c = GetParam();
    auto source = openAudioFile(fixture(c.file));
    ASSERT_TRUE(source.ok()) << source.error().message;
    const AudioFileInfo& info = (*source)->info();
    EXPECT_EQ(info.container, c.container);
    EXPECT_EQ(info.encoding, c.encoding);
    EXPECT_EQ(info.bitsPerSample, c.bits);
    EXPECT_EQ(info.lossy, c.lossy);
    EXPECT_EQ(info.sampleRate, c.sampleRate);
    EXPECT_EQ(info.channels, c.channels);
    EXPECT_EQ(info.frames, c.frames);
    EXPECT_NEAR(info.durationSeconds, static_cast<double>(c.frames) / c.sampleRate, 1e-9);

    const test::Decoded d = test::readAll(**source);
    // Every fixture's header count is exact (PCM sizes, FLAC STREAMINFO, Ogg granule
    // positions, the LAME tag with gapless trimming), so the decoded count must match it.
    EXPECT_EQ(d.frames(), c.frames);
    for (ChannelCount ch = 0; ch < c.channels; ++ch) {
        const auto& x = d.channels[static_cast<size_t>(ch)];
        const double hz = ch == 0 ? c.leftHz : c.rightHz;
        EXPECT_NEAR(test::sineAmplitude(x), 0.5, c.amplitudeTol) << "channel " << ch;
        // Zero crossings over a quarter second resolve the frequency to well under 0.5%.
        EXPECT_NEAR(test::sineFrequency(x, c.sampleRate), hz, hz * 0.005) << "channel " << ch;
    }
}

TEST_P(DecodeFixture, RewindGivesBitIdenticalSamplesWithOtherBlockSizes) {
    const DecodeCase& c = GetParam();
    auto source = openAudioFile(fixture(c.file));
    ASSERT_TRUE(source.ok()) << source.error().message;
    const test::Decoded first = test::readAll(**source, 4096);
    for (FrameCount block : {FrameCount{1}, FrameCount{7}, FrameCount{1000}}) {
        ASSERT_TRUE((*source)->rewind().ok());
        const test::Decoded again = test::readAll(**source, block);
        ASSERT_EQ(again.frames(), first.frames()) << "block " << block;
        for (ChannelCount ch = 0; ch < c.channels; ++ch)
            EXPECT_EQ(std::memcmp(first.channels[static_cast<size_t>(ch)].data(),
                                  again.channels[static_cast<size_t>(ch)].data(),
                                  static_cast<size_t>(first.frames()) * sizeof(float)),
                      0)
                << "block " << block << " channel " << ch;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DecodeFixture, ::testing::ValuesIn(kCases),
                         [](const auto& param) {
                             std::string name = param.param.file;
                             for (auto& ch : name)
                                 if (!std::isalnum(static_cast<unsigned char>(ch)))
                                     ch = '_';
                             return name;
                         });

/// Integer PCM decodes to exactly k / 2^(bits-1): check every sample is on its grid.
TEST(Decode, IntegerPcmIsExactlyOnTheGrid) {
    for (auto [file, bits] : {std::pair{"tone_44k1_mono_s16.wav", 16},
                              std::pair{"tone_48k_stereo_s24.wav", 24},
                              std::pair{"tone_48k_stereo_s24.flac", 24},
                              std::pair{"tone_44k1_stereo_s16.aiff", 16},
                              std::pair{"tone_8k_mono_u8.wav", 8}}) {
        auto source = openAudioFile(fixture(file));
        ASSERT_TRUE(source.ok()) << source.error().message;
        const test::Decoded d = test::readAll(**source);
        const double scale = std::ldexp(1.0, bits - 1);
        for (const auto& ch : d.channels)
            for (float x : ch) {
                const double k = static_cast<double>(x) * scale;
                ASSERT_EQ(k, std::round(k)) << file;
            }
    }
}

TEST(Decode, ReadAfterEndKeepsReturningZero) {
    auto source = openAudioFile(fixture("tone_44k1_mono_s16.wav"));
    ASSERT_TRUE(source.ok());
    test::readAll(**source);
    AudioBuffer buffer(1, 64);
    for (int i = 0; i < 3; ++i) {
        auto n = (*source)->read(buffer.view());
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(*n, 0);
    }
}

TEST(Decode, ExtensionIsCaseInsensitiveAndOptional) {
    test::TempDir dir;
    const auto bytes = test::readBytes(fixture("tone_44k1_mono_s16.wav"));
    for (const char* name : {"UPPER.WAV", "no_extension", "odd.name.bin", ".hidden"}) {
        test::writeBytes(dir.file(name), bytes);
        auto source = openAudioFile(dir.file(name));
        EXPECT_TRUE(source.ok()) << name << ": " << (source ? "" : source.error().message);
    }
    // Opus is an Ogg codec: an .ogg name may hold it.
    test::writeBytes(dir.file("opus_in.ogg"), test::readBytes(fixture("tone_48k_stereo.opus")));
    EXPECT_TRUE(openAudioFile(dir.file("opus_in.ogg")).ok());
}

} // namespace
} // namespace quack
