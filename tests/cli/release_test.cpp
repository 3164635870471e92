// Issue 3's CLI surface: --reference with --match/--match-strength, --preview, --trim-silence
// with fades, and master-album; each checked by what it writes, and bad values by exit code.
#include "engine/core/error.h"
#include "../chain/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

namespace quack {
namespace {

int run(const std::string& args) {
    const std::string cmd = std::string(QUACK_CLI_PATH) + " " + args + " >/dev/null";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json readJson(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}

std::string q(const std::string& s) { return "'" + s + "'"; }

TEST(CliRelease, ReferencePreviewAndEdits) {
    test::TempDir dir;
    AudioBuffer mix = test::musicLike(44100, 20.0, 1);
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < mix.numFrames(); ++i)
            mix.channel(c)[i] *= 0.4f;
    test::writeWav(dir.file("mix.wav"), mix, 44100);
    const AudioBuffer ref = test::musicLike(44100, 20.0, 2); // louder than the mix
    test::writeWav(dir.file("ref.wav"), ref, 44100);
    ASSERT_EQ(run("master " + q(dir.file("mix.wav")) + " -o " + q(dir.file("out.wav")) + " --reference " +
                  q(dir.file("ref.wav")) + " --match eq,loudness --match-strength 80 --preview 8 --fade-out 1500" +
                  " --report " + q(dir.file("r.json"))),
              0);
    const auto r = readJson(dir.file("r.json"));
    EXPECT_EQ(r["reference"]["file"], "ref.wav");
    EXPECT_DOUBLE_EQ(r["reference"]["match"]["strength_percent"].get<double>(), 80.0);
    EXPECT_FALSE(r["reference"]["match"]["width"].get<bool>());
    EXPECT_EQ(r["intent"]["preset"], "reference");
    EXPECT_TRUE(std::filesystem::exists(dir.file("out.preview.wav")));
    EXPECT_TRUE(std::filesystem::exists(dir.file("out.original-preview.wav")));
    EXPECT_NEAR(r["preview"]["duration_seconds"].get<double>(), 8.0, 0.01);
    EXPECT_NEAR(r["edits"]["fade_out_ms"].get<double>(), 1500.0, 0.1);
    // Bad values: stable invalid_argument exit, nothing written.
    const int invalid = errorInfo(ErrorCode::InvalidArgument).exitCode;
    EXPECT_EQ(run("master " + q(dir.file("mix.wav")) + " -o " + q(dir.file("bad.wav")) + " --reference " +
                  q(dir.file("ref.wav")) + " --match treble"),
              invalid);
    EXPECT_EQ(run("master " + q(dir.file("mix.wav")) + " -o " + q(dir.file("bad.wav")) + " --reference " +
                  q(dir.file("ref.wav")) + " --match-strength 150"),
              invalid);
    EXPECT_EQ(run("master " + q(dir.file("mix.wav")) + " -o " + q(dir.file("bad.wav")) + " --preview 1"), invalid);
    EXPECT_EQ(run("master " + q(dir.file("mix.wav")) + " -o " + q(dir.file("bad.wav")) + " --fade-in -5"), invalid);
    EXPECT_EQ(run("master " + q(dir.file("mix.wav")) + " -o " + q(dir.file("bad.wav")) + " --reference " +
                  q(dir.file("missing.wav"))),
              errorInfo(ErrorCode::FileNotFound).exitCode);
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad.wav")));
}

TEST(CliRelease, MasterAlbum) {
    test::TempDir dir;
    test::writeWav(dir.file("one.wav"), test::musicLike(44100, 8.0, 5), 44100);
    AudioBuffer quiet = test::musicLike(44100, 8.0, 6);
    for (ChannelCount c = 0; c < 2; ++c)
        for (FrameCount i = 0; i < quiet.numFrames(); ++i)
            quiet.channel(c)[i] *= 0.5f;
    test::writeWav(dir.file("two.wav"), quiet, 44100);
    ASSERT_EQ(run("master-album " + q(dir.file("one.wav")) + " " + q(dir.file("two.wav")) + " -o " +
                  q(dir.file("album")) + " --preset loud -f flac24 --report " + q(dir.file("a.json"))),
              0);
    const auto a = readJson(dir.file("a.json"));
    EXPECT_EQ(a["schema"], "quacktracks.album.v1");
    ASSERT_EQ(a["tracks"].size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(dir.file("album/one.flac")));
    EXPECT_TRUE(std::filesystem::exists(dir.file("album/two.flac")));
    // The quieter track (6 dB down as mixed) keeps its distance: targets differ by ~6 LU.
    EXPECT_NEAR(a["tracks"][0]["target_lufs"].get<double>() - a["tracks"][1]["target_lufs"].get<double>(), 6.0, 0.5);
    // No tracks: a usage error, not a crash.
    EXPECT_NE(run("master-album -o " + q(dir.file("album2"))), 0);
}

} // namespace
} // namespace quack
