// The loudness and ceiling figures on real music: every track of the shared corpus
// (shared/tools/make-corpus: raw MIDI renders and commercially mastered soundtracks), at
// every preset, mastered by the real `quacktracks` binary and measured by libebur128.
// Skipped when $QUACK_CORPUS is unset (make test builds the corpus and sets it).
#include "../chain/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace quack {
namespace {

std::vector<std::string> corpusTracks() {
    std::vector<std::string> files;
    for (const char* sub : {"unmastered", "mastered"}) {
        const std::string dir = test::corpusDir(sub);
        if (dir.empty())
            continue;
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().extension() == ".wav")
                files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

int runCli(const std::string& args) {
    const std::string cmd = std::string(QUACK_CLI_PATH) + " " + args + " --quiet";
    return std::system(cmd.c_str());
}

struct PresetCase {
    const char* preset;
    double target;
    double ceiling;
    const char* ext;
};

void PrintTo(const PresetCase& c, std::ostream* os) { *os << c.preset << "/" << c.ext; }

class CorpusPreset : public ::testing::TestWithParam<PresetCase> {};

TEST_P(CorpusPreset, EveryTrackHitsTargetUnderCeiling) {
    const auto tracks = corpusTracks();
    if (tracks.empty())
        GTEST_SKIP() << "no corpus (set QUACK_CORPUS; make test does)";
    const PresetCase pc = GetParam();
    test::TempDir dir;
    double worstLoudness = 0.0, worstPeak = -100.0;
    for (const auto& track : tracks) {
        SCOPED_TRACE(track);
        const std::string out = dir.file(std::string("out.") + pc.ext);
        ASSERT_EQ(runCli("master '" + track + "' -o '" + out + "' --preset " + pc.preset), 0);
        const auto d = test::readAudio(out);
        const auto m = test::measureIndependent(d.audio, d.rate);
        // The figure: +-0.1 LU of the target, by an independent meter.
        EXPECT_NEAR(m.integratedLufs, pc.target, 0.1);
        // Never above the ceiling by that meter's true peak (libebur128: 4x oversampling).
        EXPECT_LE(m.truePeakDbtp, pc.ceiling);
        worstLoudness = std::max(worstLoudness, std::abs(m.integratedLufs - pc.target));
        worstPeak = std::max(worstPeak, m.truePeakDbtp);
    }
    std::printf("[corpus] %s/%s: %zu tracks, worst |loudness error| %.3f LU, highest true peak %.3f dBTP\n",
                pc.preset, pc.ext, tracks.size(), worstLoudness, worstPeak);
}

INSTANTIATE_TEST_SUITE_P(Presets, CorpusPreset,
                         ::testing::Values(PresetCase{"streaming", -14, -1, "wav"},
                                           PresetCase{"loud", -9, -1, "wav"},
                                           PresetCase{"podcast", -16, -1, "wav"},
                                           PresetCase{"broadcast", -23, -1, "wav"},
                                           PresetCase{"streaming", -14, -1, "mp3"},
                                           PresetCase{"loud", -9, -1, "mp3"}),
                         [](const auto& tpi) {
                             return std::string(tpi.param.preset) + "_" + tpi.param.ext;
                         });

// Issue 9 finding 12: `--preset loud` to AAC failed with target_unreachable on 3 of the 7
// unmastered clips (FFmpeg's twoloop coder: decoded peaks that jump with the input level).
// Decoded by the ffmpeg command line (independent of our FFmpeg-library decoder), measured by
// libebur128. The ffmpeg CLI plays the last frame's padding past the edit list (io/README.md),
// a fade-out of the codec's own that neither meter's figure depends on beyond 0.01 LU.
// The unmastered clips only: on already-mastered tracks (already at ~-9 LUFS with their own
// limiting) the loop can still fail for AAC (airship_2: known, not fixed yet).
TEST(CorpusAac, LoudHoldsOnEveryUnmasteredTrack) {
    std::vector<std::string> tracks;
    for (const auto& t : corpusTracks())
        if (t.find("/unmastered/") != std::string::npos)
            tracks.push_back(t);
    if (tracks.empty())
        GTEST_SKIP() << "no corpus (set QUACK_CORPUS; make test does)";
    test::TempDir dir;
    double worstLoudness = 0.0, worstPeak = -100.0;
    for (const auto& track : tracks) {
        SCOPED_TRACE(track);
        const std::string out = dir.file("out.m4a"), dec = dir.file("dec.wav");
        ASSERT_EQ(runCli("master '" + track + "' -o '" + out + "' --preset loud"), 0);
        ASSERT_EQ(std::system(("ffmpeg -nostdin -v error -y -i '" + out + "' -c:a pcm_f32le '" + dec + "'").c_str()), 0);
        const auto d = test::readAudio(dec);
        const auto m = test::measureIndependent(d.audio, d.rate);
        EXPECT_NEAR(m.integratedLufs, -9.0, 0.1);
        EXPECT_LE(m.truePeakDbtp, -1.0);
        worstLoudness = std::max(worstLoudness, std::abs(m.integratedLufs + 9.0));
        worstPeak = std::max(worstPeak, m.truePeakDbtp);
    }
    std::printf("[corpus] loud/m4a: %zu tracks, worst |loudness error| %.3f LU, highest true peak %.3f dBTP\n",
                tracks.size(), worstLoudness, worstPeak);
}

} // namespace
} // namespace quack
