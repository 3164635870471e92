// Streaming resampling (libsoxr): exact output length, tone preserved, block-size invariance,
// bit-identical rewind, identity pass-through, error propagation. Plus the decode benchmark.
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "tests/io/io_test_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

namespace quack {
namespace {

/// In-memory source: a sine per channel (440 Hz left, 660 Hz right) at amplitude 0.5.
class ToneSource final : public AudioSource {
  public:
    ToneSource(int sampleRate, ChannelCount channels, FrameCount frames) {
        info_.sampleRate = sampleRate;
        info_.channels = channels;
        info_.frames = frames;
        info_.durationSeconds = static_cast<double>(frames) / sampleRate;
        info_.container = "memory";
        info_.encoding = "float";
        info_.bitsPerSample = 32;
    }
    const AudioFileInfo& info() const override { return info_; }
    Result<FrameCount> read(AudioView block) override {
        const FrameCount n = std::min(block.numFrames, info_.frames - position_);
        for (ChannelCount c = 0; c < info_.channels; ++c)
            for (FrameCount i = 0; i < n; ++i)
                block.channel(c)[i] = static_cast<float>(
                    0.5 * std::sin(2.0 * M_PI * (440.0 + 220.0 * c) *
                                   static_cast<double>(position_ + i) / info_.sampleRate));
        position_ += n;
        return n;
    }
    Status rewind() override {
        position_ = 0;
        return {};
    }

  private:
    AudioFileInfo info_;
    FrameCount position_ = 0;
};

std::unique_ptr<AudioSource> resampled(int inRate, int outRate, ChannelCount channels,
                                       FrameCount frames) {
    auto r = makeResamplingSource(std::make_unique<ToneSource>(inRate, channels, frames), outRate);
    EXPECT_TRUE(r.ok()) << (r ? "" : r.error().message);
    return r ? std::move(r).value() : nullptr;
}

TEST(Resampler, IdentityReturnsTheSourceItself) {
    auto source = std::make_unique<ToneSource>(48000, 2, 1000);
    AudioSource* raw = source.get();
    auto r = makeResamplingSource(std::move(source), 48000);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->get(), raw);
}

TEST(Resampler, RejectsRatesOutsideTheRange) {
    for (int rate : {7999, 384001, 0}) {
        auto r = makeResamplingSource(std::make_unique<ToneSource>(48000, 2, 1000), rate);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    }
}

TEST(Resampler, OutputLengthIsRoundedInputLength) {
    // Documented: out = round_half_up(in * outRate / inRate), reported by info() and delivered.
    const std::pair<int, int> ratios[] = {{44100, 48000}, {48000, 44100}, {96000, 44100},
                                          {8000, 384000}, {44100, 8000}};
    for (auto [inRate, outRate] : ratios)
        for (FrameCount frames : {FrameCount{1}, FrameCount{2}, FrameCount{441}, FrameCount{4095},
                                  FrameCount{4096}, FrameCount{4097}, FrameCount{44101}}) {
            auto source = resampled(inRate, outRate, 2, frames);
            ASSERT_TRUE(source);
            const FrameCount expected = (frames * outRate + inRate / 2) / inRate;
            EXPECT_EQ(source->info().frames, expected) << inRate << "->" << outRate << " " << frames;
            EXPECT_EQ(source->info().sampleRate, outRate);
            EXPECT_EQ(test::readAll(*source, 1000).frames(), expected)
                << inRate << "->" << outRate << " " << frames;
        }
}

TEST(Resampler, PreservesToneLevelAndFrequency) {
    for (auto [inRate, outRate] : {std::pair{44100, 48000}, std::pair{48000, 44100},
                                   std::pair{44100, 96000}}) {
        auto source = resampled(inRate, outRate, 2, inRate);
        const test::Decoded d = test::readAll(*source);
        for (int c = 0; c < 2; ++c) {
            const double hz = 440.0 + 220.0 * c;
            // VHQ passband ripple is ~0.01 dB; 1e-3 on 0.5 is 0.017 dB.
            EXPECT_NEAR(test::sineAmplitude(d.channels[static_cast<size_t>(c)]), 0.5, 1e-3);
            EXPECT_NEAR(test::sineFrequency(d.channels[static_cast<size_t>(c)], outRate), hz, hz * 1e-4);
        }
        // Linear phase, delay compensated by soxr: sample i of the output is the input sine at
        // time i / outRate. Check the middle of the signal to -80 dB.
        const auto& left = d.channels[0];
        double maxErr = 0.0;
        for (size_t i = left.size() / 4; i < left.size() * 3 / 4; ++i) {
            const double ideal = 0.5 * std::sin(2.0 * M_PI * 440.0 * static_cast<double>(i) / outRate);
            maxErr = std::max(maxErr, std::abs(static_cast<double>(left[i]) - ideal));
        }
        EXPECT_LT(maxErr, 5e-5) << inRate << "->" << outRate;
    }
}

TEST(Resampler, SamplesDoNotDependOnBlockSizeAndRewindIsBitIdentical) {
    auto source = resampled(44100, 48000, 2, 30000);
    const test::Decoded reference = test::readAll(*source, 4096);
    for (FrameCount block : {FrameCount{1}, FrameCount{7}, FrameCount{64}, FrameCount{4096}}) {
        ASSERT_TRUE(source->rewind().ok());
        const test::Decoded d = test::readAll(*source, block);
        EXPECT_EQ(d.channels, reference.channels) << "block " << block;
    }
}

TEST(Resampler, WorksOnDecodedFilesAndPropagatesErrors) {
    auto file = openAudioFile(test::fixture("tone_48k_stereo_s24.flac"));
    ASSERT_TRUE(file.ok());
    auto r = makeResamplingSource(std::move(file).value(), 44100);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)->info().container, "flac");
    EXPECT_EQ((*r)->info().frames, 22050);
    const test::Decoded d = test::readAll(**r);
    EXPECT_EQ(d.frames(), 22050);
    EXPECT_NEAR(test::sineFrequency(d.channels[1], 44100), 1500.0, 1.0);

    auto nan = openAudioFile(test::fixture("bad_nan.wav"));
    ASSERT_TRUE(nan.ok());
    auto rn = makeResamplingSource(std::move(nan).value(), 48000);
    ASSERT_TRUE(rn.ok());
    AudioBuffer buffer(1, 512);
    Result<FrameCount> n = FrameCount{0};
    for (int i = 0; i < 100 && (n = (*rn)->read(buffer.view())).ok() && *n > 0; ++i) {
    }
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().code, ErrorCode::InvalidSamples);
}

// Not a gate: run with --gtest_also_run_disabled_tests to measure decoding speed of a 3-minute
// 24-bit stereo 44.1 kHz WAV (written to a temp dir first) and 44.1 -> 48 kHz resampling.
TEST(Benchmark, DISABLED_Decode3MinuteWav24) {
    test::TempDir dir;
    constexpr int kRate = 44100;
    constexpr FrameCount kFrames = 180 * kRate;
    {
        auto writer = createAudioWriter(dir.file("long.wav"), {OutputFormat::Wav24, kRate, 2, 320});
        ASSERT_TRUE(writer.ok());
        AudioBuffer block(2, 4096);
        ToneSource tone(kRate, 2, kFrames);
        for (;;) {
            auto n = tone.read(block.view());
            if (*n == 0)
                break;
            for (int c = 0; c < 2; ++c)
                for (FrameCount i = 0; i < *n; ++i)
                    block.channel(c)[i] = std::round(block.channel(c)[i] * 8388608.0f) / 8388608.0f;
            ASSERT_TRUE((*writer)->write(block.view(*n)).ok());
        }
        ASSERT_TRUE((*writer)->close().ok());
    }
    auto time = [&](bool resample) {
        auto source = openAudioFile(dir.file("long.wav"));
        EXPECT_TRUE(source.ok());
        std::unique_ptr<AudioSource> s = std::move(source).value();
        if (resample)
            s = std::move(makeResamplingSource(std::move(s), 48000)).value();
        AudioBuffer buffer(2, 4096);
        FrameCount total = 0;
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            auto n = s->read(buffer.view());
            if (!n || *n == 0)
                break;
            total += *n;
        }
        const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%s: %lld frames in %.3f s = %.0fx real time\n",
                    resample ? "decode+resample 44.1k->48k" : "decode", static_cast<long long>(total),
                    sec, 180.0 / sec);
    };
    time(false);
    time(true);
}

} // namespace
} // namespace quack
