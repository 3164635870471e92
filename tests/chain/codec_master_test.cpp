// Mastering to the lossy release formats (Ogg Vorbis, Opus, AAC in M4A): the ceiling holds and
// the loudness lands after decoding, measured by an independent decoder (libsndfile for Ogg,
// the ffmpeg command line for M4A) and an independent meter (libebur128, 4x true peak); the
// codec-aware default ceiling; determinism; and tags carried, given and refused.
#include "engine/chain/intent.h"
#include "engine/chain/master.h"
#include "engine/io/tags.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace quack {
namespace {

using test::TempDir;

Intent intent(const char* preset, std::optional<double> target = std::nullopt,
              std::optional<double> ceiling = std::nullopt) {
    auto i = makeIntent(preset, target, ceiling, "balanced", "medium");
    EXPECT_TRUE(i.ok());
    return *i;
}

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// Decodes with a decoder that is not ours. The ffmpeg 5.1 command line skips the AAC priming
/// (edit list start) but keeps the last frame's padding (it ignores the edit list's end), so
/// the M4A decode is cut to the mastered length; the padding is the codec's fade-out of the
/// last frame, not part of the track.
test::Decoded decodeIndependently(const TempDir& dir, const std::string& path, FrameCount frames) {
    if (!path.ends_with(".m4a"))
        return test::readAudio(path);
    const std::string wav = dir.file("ffmpeg-decoded.wav");
    const std::string cmd = "ffmpeg -v error -y -i '" + path + "' -c:a pcm_f32le '" + wav + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    test::Decoded d = test::readAudio(wav);
    EXPECT_GE(d.audio.numFrames(), frames);
    if (d.audio.numFrames() > frames) {
        AudioBuffer cut(d.audio.numChannels(), frames);
        for (ChannelCount c = 0; c < cut.numChannels(); ++c)
            std::copy_n(d.audio.channel(c), frames, cut.channel(c));
        d.audio = std::move(cut);
    }
    return d;
}

TEST(LossyCeiling, ChoiceIsPureAndExplained) {
    const Intent streaming = intent("streaming");
    // Lossless keeps the preset's ceiling.
    auto a = chooseCeiling(streaming, false, "wav24");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->ceilingDbtp, -1.0);
    EXPECT_NE(a->reason.find("streaming preset"), std::string::npos) << a->reason;
    // A preset (or future preset) above -1 dBTP: lowered for lossy, kept for lossless.
    Intent hot = streaming;
    hot.ceilingDbtp = -0.3;
    auto b = chooseCeiling(hot, true, "opus");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->ceilingDbtp, kLossyDefaultCeilingDbtp);
    EXPECT_NE(b->reason.find("lossy"), std::string::npos) << b->reason;
    EXPECT_NE(b->reason.find("opus"), std::string::npos) << b->reason;
    EXPECT_EQ(chooseCeiling(hot, false, "flac24")->ceilingDbtp, -0.3);
    // A ceiling the user gave is theirs, even above -1 for lossy; the reason says so.
    const Intent given = intent("streaming", std::nullopt, -0.5);
    EXPECT_TRUE(given.ceilingGiven);
    auto c = chooseCeiling(given, true, "aac");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->ceilingDbtp, -0.5);
    EXPECT_NE(c->reason.find("as given"), std::string::npos) << c->reason;
    // A custom target without a ceiling takes the default, -1 for lossy.
    const Intent custom = intent("streaming", -12.0);
    EXPECT_FALSE(custom.ceilingGiven);
    EXPECT_EQ(chooseCeiling(custom, true, "mp3")->ceilingDbtp, -1.0);
    // Lowering must leave the 4 dB makeIntent() demands above the target.
    Intent tight = hot;
    tight.targetLufs = -4.5;
    auto d = chooseCeiling(tight, true, "vorbis");
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ErrorCode::InvalidArgument);
}

struct LossyOut {
    const char* file;
    const char* format;
    int rate;
};

class LossyMaster : public ::testing::TestWithParam<LossyOut> {};

TEST_P(LossyMaster, HoldsCeilingAndTargetAfterDecoding) {
    const LossyOut& o = GetParam();
    TempDir dir;
    const double seconds = 10.0;
    test::writeWav(dir.file("in.wav"), test::musicLike(44100, seconds, 21), 44100);
    for (const char* preset : {"streaming", "loud"}) {
        const Intent i = intent(preset);
        MasterRequest req;
        req.inputPath = dir.file("in.wav");
        req.outputPath = dir.file(o.file);
        req.intent = i;
        auto r = masterFile(req);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->report["output"]["format"], o.format);
        EXPECT_EQ(r->report["output"]["sample_rate_hz"], o.rate);
        const auto frames = static_cast<FrameCount>(seconds * o.rate);
        const auto d = decodeIndependently(dir, dir.file(o.file), frames);
        ASSERT_EQ(d.rate, o.rate);
        // Length: exact for Vorbis/M4A (44.1 kHz in and out); soxr's 44.1 -> 48 kHz length
        // rounds to within a frame for Opus.
        EXPECT_NEAR(static_cast<double>(d.audio.numFrames()), static_cast<double>(frames), 1.0);
        const auto m = test::measureIndependent(d.audio, d.rate);
        // The promise, measured on what a listener's decoder produces: never above the ceiling
        // by libebur128's 4x true peak, and within the +-0.1 LU that lossless outputs meet too
        // (the loop measures the decoded file and corrects, so the codec's loudness change is
        // inside the loop).
        EXPECT_LE(m.truePeakDbtp, i.ceilingDbtp) << preset;
        EXPECT_NEAR(m.integratedLufs, i.targetLufs, 0.1) << preset;
        bool ceilingDecision = false;
        for (const auto& dec : r->report["decisions"])
            ceilingDecision |= dec["name"] == "output.ceiling_dbtp" && dec["value"] == i.ceilingDbtp;
        EXPECT_TRUE(ceilingDecision) << r->report["decisions"].dump();
    }
}

TEST_P(LossyMaster, SameInputGivesIdenticalBytes) {
    const LossyOut& o = GetParam();
    TempDir dir;
    test::writeWav(dir.file("in.wav"), test::musicLike(44100, 6.0, 4), 44100);
    MasterRequest req;
    req.inputPath = dir.file("in.wav");
    req.intent = intent("loud");
    req.tags.assignments = {"TITLE=Twice"};
    req.outputPath = dir.file(std::string("1") + o.file);
    ASSERT_TRUE(masterFile(req).ok());
    req.outputPath = dir.file(std::string("2") + o.file);
    ASSERT_TRUE(masterFile(req).ok());
    const auto a = slurp(dir.file(std::string("1") + o.file));
    EXPECT_GT(a.size(), 10000u);
    EXPECT_TRUE(a == slurp(dir.file(std::string("2") + o.file))) << o.file << " differs between runs";
}

INSTANTIATE_TEST_SUITE_P(Formats, LossyMaster,
                         ::testing::Values(LossyOut{"out.ogg", "vorbis", 44100},
                                           LossyOut{"out.opus", "opus", 48000},
                                           LossyOut{"out.m4a", "aac", 44100}),
                         [](const auto& p) { return std::string(p.param.format); });

TEST(MasterTags, CarriedGivenAndReported) {
    TempDir dir;
    test::writeWav(dir.file("mix.wav"), test::musicLike(44100, 4.0, 8), 44100);
    // The input carries descriptive tags and an encoder tag.
    ASSERT_TRUE(writeTags(dir.file("mix.wav"), OutputFormat::WavFloat,
                          {{"TITLE", {"Mix Title"}}, {"ARTIST", {"Mix Artist"}}, {"ALBUM", {"Pond"}},
                           {"ENCODEDBY", {"SomeDAW"}}})
                    .ok());
    MasterRequest req;
    req.inputPath = dir.file("mix.wav");
    req.outputPath = dir.file("master.m4a");
    req.intent = intent("streaming");
    req.tags.assignments = {"ARTIST=The Ducks", "LABEL=Quack Records"};
    req.tags.isrc = "US-RC1-76-07839";
    auto r = masterFile(req);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const TagMap out = readAllTags(dir.file("master.m4a"));
    EXPECT_EQ(out.at("TITLE"), std::vector<std::string>{"Mix Title"});
    EXPECT_EQ(out.at("ALBUM"), std::vector<std::string>{"Pond"});
    EXPECT_EQ(out.at("ARTIST"), std::vector<std::string>{"The Ducks"}) << "the command line wins";
    EXPECT_EQ(out.at("LABEL"), std::vector<std::string>{"Quack Records"});
    EXPECT_EQ(out.at("ISRC"), std::vector<std::string>{"USRC17607839"});
    EXPECT_FALSE(out.count("ENCODEDBY"));
    EXPECT_EQ(out.size(), 5u) << "nothing the user did not provide";
    const auto& tags = r->report["output"]["tags"];
    EXPECT_EQ(tags["written"]["ISRC"][0], "USRC17607839");
    EXPECT_EQ(tags["dropped_from_input"][0], "ENCODEDBY");

    // --no-tags: only what the command line gives.
    req.tags.carryInput = false;
    req.outputPath = dir.file("bare.ogg");
    ASSERT_TRUE(masterFile(req).ok());
    const TagMap bare = readAllTags(dir.file("bare.ogg"));
    EXPECT_FALSE(bare.count("TITLE"));
    EXPECT_EQ(bare.size(), 3u);

    // No tags anywhere: the output has none.
    req.tags = {};
    req.tags.carryInput = false;
    req.outputPath = dir.file("none.opus");
    ASSERT_TRUE(masterFile(req).ok());
    EXPECT_TRUE(readAllTags(dir.file("none.opus")).empty());
}

TEST(MasterTags, BadIsrcFailsBeforeAnyWork) {
    TempDir dir;
    test::writeWav(dir.file("mix.wav"), test::musicLike(44100, 2.0, 8), 44100);
    MasterRequest req;
    req.inputPath = dir.file("mix.wav");
    req.outputPath = dir.file("master.flac");
    req.intent = intent("streaming");
    req.tags.isrc = "USRC1760783";
    auto r = masterFile(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(r.error().message.find("ISRC"), std::string::npos);
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path))
        ++files;
    EXPECT_EQ(files, 1) << "no output, no temporary file";
}

} // namespace
} // namespace quack
