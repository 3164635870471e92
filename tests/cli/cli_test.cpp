// The `quacktracks` command as a user meets it: exit codes, error ids, JSON shapes, and that a
// failed run leaves no output file. Bad inputs are made here so each case is explicit.
#include "service/domain/errors.h"
#include "engine/core/error.h"
#include "../chain/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sys/wait.h>

namespace quack {
namespace {

struct CliRun {
    int exitCode = -1;
    std::string out;
};

/// Runs the CLI with a shell command line; captures stdout (stderr goes to stdout when asked).
CliRun cli(const std::string& args, bool mergeStderr = false) {
    const std::string cmd = std::string(QUACK_CLI_PATH) + " " + args + (mergeStderr ? " 2>&1" : " 2>/dev/null");
    CliRun r;
    FILE* p = popen(cmd.c_str(), "r");
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
        r.out.append(buf.data(), n);
    const int status = pclose(p);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

/// A canonical 16-bit PCM WAV header for `frames` frames; the data may be cut short.
std::string wavHeader(int channels, int rate, std::uint32_t frames, int bits = 16, int format = 1) {
    auto u32 = [](std::uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
    auto u16 = [](std::uint16_t v) { return std::string{char(v), char(v >> 8)}; };
    const std::uint32_t bytes = frames * static_cast<std::uint32_t>(channels * bits / 8);
    return "RIFF" + u32(36 + bytes) + "WAVEfmt " + u32(16) + u16(static_cast<std::uint16_t>(format)) +
           u16(static_cast<std::uint16_t>(channels)) + u32(static_cast<std::uint32_t>(rate)) +
           u32(static_cast<std::uint32_t>(rate * channels * bits / 8)) +
           u16(static_cast<std::uint16_t>(channels * bits / 8)) + u16(static_cast<std::uint16_t>(bits)) + "data" +
           u32(bytes);
}

struct BadCase {
    const char* name;
    const char* file;
    ErrorCode expected;
};

TEST(Cli, BadInputsGetStableCodesAndLeaveNothing) {
    test::TempDir dir;
    writeBytes(dir.file("empty.wav"), "");
    writeBytes(dir.file("text.wav"), "hello, this is a text file and not audio at all\n");
    writeBytes(dir.file("truncated.wav"), wavHeader(2, 44100, 44100) + std::string(1000, '\0'));
    writeBytes(dir.file("zero.wav"), wavHeader(2, 44100, 0));
    writeBytes(dir.file("garbage.flac"), "fLaC" + std::string(200, '\x7f'));
    {
        AudioBuffer three(2, 100);
        test::writeWav(dir.file("stereo.wav"), three, 44100);
        std::filesystem::copy_file(dir.file("stereo.wav"), dir.file("mislabelled.mp3"));
    }
    {
        std::string data = wavHeader(3, 44100, 4410);
        data += std::string(4410 * 3 * 2, '\0');
        writeBytes(dir.file("three.wav"), data);
    }
    {
        AudioBuffer nan(2, 4410);
        nan.channel(0)[100] = std::numeric_limits<float>::quiet_NaN();
        nan.channel(1)[200] = std::numeric_limits<float>::infinity();
        test::writeWav(dir.file("nan.wav"), nan, 44100);
    }
    {
        std::string data = wavHeader(1, 4000, 4000);
        data += std::string(8000, '\0');
        writeBytes(dir.file("rate.wav"), data);
    }
    const BadCase cases[] = {
        {"missing", "nope.wav", ErrorCode::FileNotFound},
        {"empty", "empty.wav", ErrorCode::EmptyFile},
        {"text", "text.wav", ErrorCode::UnsupportedFormat},
        {"truncated", "truncated.wav", ErrorCode::CorruptFile},
        {"zero-length", "zero.wav", ErrorCode::NoAudio},
        {"corrupt flac", "garbage.flac", ErrorCode::CorruptFile},
        {"wrong extension", "mislabelled.mp3", ErrorCode::FormatMismatch},
        {"three channels", "three.wav", ErrorCode::TooManyChannels},
        {"NaN/Inf", "nan.wav", ErrorCode::InvalidSamples},
        {"4 kHz", "rate.wav", ErrorCode::UnsupportedSampleRate},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto& info = errorInfo(c.expected);
        const CliRun r = cli("master '" + dir.file(c.file) + "' -o '" + dir.file("out.wav") + "' --json");
        EXPECT_EQ(r.exitCode, info.exitCode);
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << r.out;
        EXPECT_EQ(j["error"]["code"], info.id);
        EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
        EXPECT_FALSE(std::filesystem::exists(dir.file("out.wav")));
        // analyze reports the same code.
        EXPECT_EQ(cli("analyze '" + dir.file(c.file) + "'").exitCode, info.exitCode);
    }
    // Nothing but the inputs is left in the directory: no temporary files either.
    int files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path))
        ++files;
    EXPECT_EQ(files, 10);
}

TEST(Cli, TooLongInputIsRefused) {
    // Just over 3 hours of 8 kHz 8-bit mono: 86.4 MB, written sparse-ish in one go.
    test::TempDir dir;
    const std::uint32_t frames = 3u * 3600u * 8000u + 8000u;
    {
        std::ofstream f(dir.file("long.wav"), std::ios::binary);
        f << wavHeader(1, 8000, frames, 8);
        f.seekp(static_cast<std::streamoff>(44 + frames - 1));
        f.put('\x80');
    }
    const CliRun r = cli("analyze '" + dir.file("long.wav") + "' --json");
    EXPECT_EQ(r.exitCode, errorInfo(ErrorCode::TooLong).exitCode);
    EXPECT_NE(r.out.find("too_long"), std::string::npos);
}

TEST(Cli, UsageErrors) {
    test::TempDir dir;
    test::writeWav(dir.file("in.wav"), test::musicLike(44100, 1.0), 44100);
    const int usage = errorInfo(ErrorCode::InvalidArgument).exitCode;
    EXPECT_EQ(cli("").exitCode, usage);
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "'").exitCode, usage) << "missing -o";
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("o.wav") + "' --preset nope").exitCode, usage);
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("o.wav") + "' --target-lufs -2").exitCode, usage);
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("o.wav") + "' --format wma").exitCode,
              errorInfo(ErrorCode::UnsupportedOutputFormat).exitCode);
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("o.wav") + "' --sample-rate 1000").exitCode, usage);
    EXPECT_FALSE(std::filesystem::exists(dir.file("o.wav")));
    EXPECT_EQ(cli("--help").exitCode, 0);
}

TEST(Cli, MasterWritesReportAndAnalyzeReadsIt) {
    test::TempDir dir;
    test::writeWav(dir.file("in.wav"), test::musicLike(44100, 5.0), 44100);
    const CliRun m = cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("out.flac") +
                      "' --preset podcast --style warm --intensity low --report '" + dir.file("r.json") + "' --quiet");
    ASSERT_EQ(m.exitCode, 0);
    EXPECT_TRUE(m.out.empty()) << "--quiet prints nothing";
    std::ifstream rf(dir.file("r.json"));
    const auto report = nlohmann::json::parse(rf);
    EXPECT_EQ(report["intent"]["preset"], "podcast");
    EXPECT_EQ(report["intent"]["style"], "warm");
    const CliRun a = cli("analyze '" + dir.file("out.flac") + "' --json");
    ASSERT_EQ(a.exitCode, 0);
    const auto j = nlohmann::json::parse(a.out);
    // Our meter on the written file agrees with the report's own measurement to rounding.
    EXPECT_NEAR(j["integrated_lufs"].get<double>(), -16.0, 0.05);
    EXPECT_LE(j["true_peak_dbtp"].get<double>(), -1.0);
    EXPECT_EQ(j["file"]["container"], "flac");
    const CliRun human = cli("analyze '" + dir.file("out.flac") + "'");
    EXPECT_NE(human.out.find("Integrated"), std::string::npos);
}

TEST(Cli, LossyFormatsAndTags) {
    test::TempDir dir;
    test::writeWav(dir.file("in.wav"), test::musicLike(44100, 4.0), 44100);
    const CliRun m = cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("out.opus") +
                         "' --tag 'TITLE=Duck Song' --tag ALBUM=Pond --isrc US-RC1-76-07839 --no-tags --json");
    ASSERT_EQ(m.exitCode, 0) << m.out;
    const auto j = nlohmann::json::parse(m.out);
    EXPECT_EQ(j["output"]["format"], "opus");
    EXPECT_EQ(j["output"]["sample_rate_hz"], 48000);
    EXPECT_EQ(j["output"]["tags"]["written"]["TITLE"][0], "Duck Song");
    EXPECT_EQ(j["output"]["tags"]["written"]["ISRC"][0], "USRC17607839");
    // The analyze verb reads the M4A the master verb writes (FFmpeg decoder).
    ASSERT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("out.m4a") + "' -q").exitCode, 0);
    const CliRun a = cli("analyze '" + dir.file("out.m4a") + "' --json");
    ASSERT_EQ(a.exitCode, 0);
    const auto aj = nlohmann::json::parse(a.out);
    EXPECT_EQ(aj["file"]["container"], "mp4");
    EXPECT_LE(aj["true_peak_dbtp"].get<double>(), -1.0);
    // A bad ISRC or --tag is a usage error, and nothing is written.
    const int usage = errorInfo(ErrorCode::InvalidArgument).exitCode;
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("bad.ogg") + "' --isrc US-RC1-76").exitCode, usage);
    EXPECT_EQ(cli("master '" + dir.file("in.wav") + "' -o '" + dir.file("bad.ogg") + "' --tag NOEQUALS").exitCode, usage);
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad.ogg")));
}

TEST(Cli, ListsPresetsAndErrors) {
    const CliRun p = cli("presets --json");
    ASSERT_EQ(p.exitCode, 0);
    EXPECT_EQ(nlohmann::json::parse(p.out).size(), 4u);
    const CliRun e = cli("errors --json");
    ASSERT_EQ(e.exitCode, 0);
    // The engine's codes and the service's, one list.
    EXPECT_EQ(nlohmann::json::parse(e.out).size(), allErrorInfos().size() + service::allApiErrorInfos().size());
}

} // namespace
} // namespace quack
