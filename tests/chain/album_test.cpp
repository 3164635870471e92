// Album mode: relative loudness kept, one EQ for all, every file under the ceiling; measured
// by libebur128.
#include "engine/chain/album.h"

#include "tests/chain/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace quack {
namespace {

using test::TempDir;

TEST(AlbumTargets, LoudestMeetsTargetOthersKeepTheirDistance) {
    const auto t = albumTargets({-20.0, -26.0, -23.5, -std::numeric_limits<double>::infinity()}, -14.0);
    ASSERT_EQ(t.size(), 4u);
    EXPECT_DOUBLE_EQ(t[0], -14.0);
    EXPECT_DOUBLE_EQ(t[1], -20.0);
    EXPECT_DOUBLE_EQ(t[2], -17.5);
    EXPECT_DOUBLE_EQ(t[3], -14.0); // silent: passes through as silence
    // Never below the engine's lowest target.
    EXPECT_DOUBLE_EQ(albumTargets({-10.0, -60.0}, -14.0)[1], kMinTargetLufs);
}

TEST(Album, KeepsRelativeLoudnessAndSharesTheEq) {
    TempDir dir;
    const int rate = 44100;
    const float scales[3] = {0.5f, 0.25f, 0.35f}; // about 0, -6 and -3 dB apart
    std::vector<std::string> inputs;
    std::vector<double> inLufs;
    for (int k = 0; k < 3; ++k) {
        AudioBuffer b = test::musicLike(rate, 20.0, static_cast<unsigned>(11 + k));
        for (ChannelCount c = 0; c < 2; ++c)
            for (FrameCount i = 0; i < b.numFrames(); ++i)
                b.channel(c)[i] *= scales[k];
        inputs.push_back(dir.file("track" + std::to_string(k) + ".wav"));
        test::writeWav(inputs.back(), b, rate);
        inLufs.push_back(test::measureIndependent(b, rate).integratedLufs);
    }
    AlbumRequest req;
    req.inputPaths = inputs;
    req.outputDir = dir.file("out");
    auto intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium");
    ASSERT_TRUE(intent.ok());
    req.intent = *intent;
    auto out = masterAlbum(req);
    ASSERT_TRUE(out.ok()) << out.error().message;
    ASSERT_EQ(out->tracks.size(), 3u);
    std::vector<double> outLufs;
    for (const auto& t : out->tracks) {
        const auto d = test::readAudio(t.outputPath);
        const auto m = test::measureIndependent(d.audio, rate);
        outLufs.push_back(m.integratedLufs);
        // Every file true-peak safe (libebur128 4x; 0.1 dB for its interpolation error).
        EXPECT_LE(m.truePeakDbtp, -1.0 + 0.1) << t.outputPath;
        // One tonal direction: each track's EQ is the album's.
        EXPECT_EQ(t.master.params.eqCurve.gainDb, out->tracks[0].master.params.eqCurve.gainDb);
    }
    // The loudest meets the target (0.1 LU: the engine's loudness guarantee)...
    const size_t loudest = static_cast<size_t>(std::max_element(inLufs.begin(), inLufs.end()) - inLufs.begin());
    EXPECT_NEAR(outLufs[loudest], -14.0, 0.1);
    // ...and the figure: relative loudness preserved within 0.5 LU.
    for (size_t k = 0; k < 3; ++k)
        EXPECT_NEAR(outLufs[k] - outLufs[loudest], inLufs[k] - inLufs[loudest], 0.5) << k;
    EXPECT_EQ(out->report["schema"], "quacktracks.album.v1");
    EXPECT_TRUE(std::isfinite(out->albumLufs));
}

TEST(Album, RejectsDuplicateStemsAndEmptyAlbums) {
    TempDir dir;
    AlbumRequest req;
    req.outputDir = dir.file("out");
    EXPECT_EQ(masterAlbum(req).error().code, ErrorCode::InvalidArgument);
    req.inputPaths = {dir.file("a/song.wav"), dir.file("b/song.flac")};
    EXPECT_EQ(masterAlbum(req).error().code, ErrorCode::InvalidArgument);
}

TEST(Album, NamesTheFailingTrack) {
    TempDir dir;
    test::writeWav(dir.file("good.wav"), test::musicLike(44100, 5.0), 44100);
    AlbumRequest req;
    req.outputDir = dir.file("out");
    req.inputPaths = {dir.file("good.wav"), dir.file("missing.wav")};
    auto intent = makeIntent("streaming", std::nullopt, std::nullopt, "balanced", "medium");
    req.intent = *intent;
    auto out = masterAlbum(req);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::FileNotFound);
    EXPECT_NE(out.error().message.find("track 2"), std::string::npos) << out.error().message;
}

} // namespace
} // namespace quack
