// The `quacktracks` command: parses flags, calls the engine, prints. Nothing else lives here.
#include "engine/chain/master.h"
#include "engine/core/error.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <unistd.h>

namespace {

using quack::Error;
using quack::ErrorCode;

constexpr const char* kVersion = "0.1.0";

struct OutputMode {
    bool json = false;
    bool quiet = false;
};

/// Prints an error the same way everywhere and returns its exit code (one table: error.cpp).
int fail(const Error& e, const OutputMode& mode) {
    const auto& info = quack::errorInfo(e.code);
    if (mode.json)
        std::cout << nlohmann::json{{"error", {{"code", info.id}, {"message", e.message}}}}.dump(2) << "\n";
    std::cerr << "quacktracks: error [" << info.id << "]: " << e.message << "\n";
    return info.exitCode;
}

/// A one-line progress bar on stderr when it is a terminal (and neither --json nor --quiet).
quack::ProgressFn progressBar(const OutputMode& mode) {
    if (mode.json || mode.quiet || isatty(STDERR_FILENO) == 0)
        return {};
    return [last = -1](std::string_view stage, double fraction) mutable {
        const int pct = static_cast<int>(fraction * 100.0);
        if (pct == last)
            return;
        last = pct;
        const int width = 30, filled = pct * width / 100;
        std::fprintf(stderr, "\r%-8.*s [%.*s%*s] %3d%%", static_cast<int>(stage.size()), stage.data(),
                     filled, "##############################", width - filled, "", pct);
        if (pct >= 100)
            std::fprintf(stderr, "\r%60s\r", "");
        std::fflush(stderr);
    };
}

std::string dbText(double v, const char* unit) {
    if (!std::isfinite(v))
        return std::string("-inf ") + unit;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.2f %s", v, unit);
    return buf;
}

void printAnalysis(const quack::FileAnalysis& fa) {
    const auto& a = fa.analysis;
    const auto& i = fa.info;
    std::printf("Format            %s/%s, %d Hz, %d ch, %.2f s%s\n", i.container.c_str(),
                i.encoding.c_str(), i.sampleRate, i.channels, i.durationSeconds, i.lossy ? " (lossy)" : "");
    std::printf("Integrated        %s\n", dbText(a.integratedLufs, "LUFS").c_str());
    std::printf("Loudness range    %s\n", dbText(a.loudnessRangeLu, "LU").c_str());
    std::printf("Max momentary     %s\n", dbText(a.maxMomentaryLufs, "LUFS").c_str());
    std::printf("Max short-term    %s\n", dbText(a.maxShortTermLufs, "LUFS").c_str());
    std::printf("True peak         %s\n", dbText(a.truePeakDbtp, "dBTP").c_str());
    std::printf("Sample peak       %s\n", dbText(a.samplePeakDbfs, "dBFS").c_str());
    std::printf("RMS               %s\n", dbText(a.rmsDbfs, "dBFS").c_str());
    std::printf("Crest factor      %s\n", dbText(a.crestFactorDb, "dB").c_str());
    std::printf("PLR               %s\n", dbText(a.plrDb, "dB").c_str());
    for (size_t c = 0; c < a.dcOffset.size(); ++c)
        std::printf("DC offset ch%zu     %+.6f\n", c + 1, a.dcOffset[c]);
    if (a.channels == 2)
        std::printf("Stereo            correlation %.3f, width %.3f\n", a.correlation, a.width);
    std::printf("Clipping          %lld runs, %lld samples\n", static_cast<long long>(a.clipping.clipRuns),
                static_cast<long long>(a.clipping.clippedSamples));
    std::printf("Silence           %.3f s leading, %.3f s trailing\n", a.leadingSilenceSeconds,
                a.trailingSilenceSeconds);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"QuackTracks: loudness-exact, true-peak-safe audio mastering"};
    app.require_subcommand(1);
    app.set_version_flag("--version", kVersion);
    OutputMode mode;

    // analyze
    auto* analyze = app.add_subcommand("analyze", "Measure loudness, peaks, dynamics, stereo and spectrum");
    std::string analyzeIn;
    analyze->add_option("FILE", analyzeIn, "Audio file (WAV, AIFF, FLAC, Ogg Vorbis, Opus, MP3)")->required();
    analyze->add_flag("--json", mode.json, "Print JSON on stdout");
    analyze->add_flag("-q,--quiet", mode.quiet, "No progress output");

    // master
    auto* master = app.add_subcommand("master", "Master a mix to a loudness target");
    std::string in, out, preset = "streaming", style = "balanced", intensity = "medium", format, reportPath;
    std::optional<double> targetLufs, ceilingDbtp;
    std::optional<int> sampleRate;
    std::uint64_t seed = quack::kDefaultDitherSeed;
    master->add_option("IN", in, "Input mix")->required();
    master->add_option("-o,--output", out, "Output file (.wav, .flac, .mp3)")->required();
    master->add_option("-p,--preset", preset, "streaming (-14 LUFS), loud (-9), podcast (-16), broadcast (-23)");
    master->add_option("--target-lufs", targetLufs, "Integrated loudness target, LUFS (overrides the preset)");
    master->add_option("--ceiling-dbtp", ceilingDbtp, "True-peak ceiling, dBTP (overrides the preset)");
    master->add_option("--style", style, "balanced, warm or bright");
    master->add_option("--intensity", intensity, "low, medium or high");
    master->add_option("-f,--format", format, "wav16, wav24, wav32f, flac16, flac24, mp3 (default: by extension)");
    master->add_option("--sample-rate", sampleRate, "Convert to this rate in Hz (default: keep the input's)");
    master->add_option("--report", reportPath, "Write the full JSON report here");
    master->add_option("--seed", seed, "Dither seed (same seed, same bytes)");
    master->add_flag("--json", mode.json, "Print the report as JSON on stdout");
    master->add_flag("-q,--quiet", mode.quiet, "Print nothing but errors");

    // presets
    auto* presetsCmd = app.add_subcommand("presets", "List the loudness presets");
    presetsCmd->add_flag("--json", mode.json, "Print JSON");

    // errors
    auto* errorsCmd = app.add_subcommand("errors", "List the error codes and exit statuses");
    errorsCmd->add_flag("--json", mode.json, "Print JSON");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : quack::errorInfo(ErrorCode::InvalidArgument).exitCode;
    }

    if (*presetsCmd) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& p : quack::presets()) {
            list.push_back({{"name", p.name}, {"target_lufs", p.targetLufs}, {"ceiling_dbtp", p.ceilingDbtp},
                            {"description", p.description}});
            if (!mode.json)
                std::printf("%-10s %6.1f LUFS %5.1f dBTP  %.*s\n", std::string(p.name).c_str(), p.targetLufs,
                            p.ceilingDbtp, static_cast<int>(p.description.size()), p.description.data());
        }
        if (mode.json)
            std::cout << list.dump(2) << "\n";
        return 0;
    }
    if (*errorsCmd) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& e : quack::allErrorInfos()) {
            list.push_back({{"code", e.id}, {"exit_code", e.exitCode}, {"http_status", e.httpStatus}});
            if (!mode.json)
                std::printf("%-26s exit %3d  http %d\n", std::string(e.id).c_str(), e.exitCode, e.httpStatus);
        }
        if (mode.json)
            std::cout << list.dump(2) << "\n";
        return 0;
    }
    if (*analyze) {
        auto result = quack::analyzeFile(analyzeIn, progressBar(mode));
        if (!result)
            return fail(result.error(), mode);
        if (mode.json) {
            nlohmann::json j = quack::toJson(result->analysis);
            j["file"] = quack::toJson(result->info);
            std::cout << j.dump(2) << "\n";
        } else if (!mode.quiet) {
            printAnalysis(*result);
        }
        return 0;
    }

    // master
    auto intent = quack::makeIntent(preset, targetLufs, ceilingDbtp, style, intensity);
    if (!intent)
        return fail(intent.error(), mode);
    quack::MasterRequest req;
    req.inputPath = in;
    req.outputPath = out;
    req.intent = *intent;
    req.sampleRate = sampleRate;
    req.ditherSeed = seed;
    if (!format.empty()) {
        auto f = quack::outputFormatFromName(format);
        if (!f)
            return fail(f.error(), mode);
        req.format = *f;
    }
    auto outcome = quack::masterFile(req, progressBar(mode));
    if (!outcome)
        return fail(outcome.error(), mode);
    if (!reportPath.empty()) {
        std::ofstream rf(reportPath, std::ios::binary | std::ios::trunc);
        rf << outcome->report.dump(2) << "\n";
        if (!rf)
            return fail(Error{ErrorCode::WriteFailed, "cannot write the report to " + reportPath}, mode);
    }
    if (mode.json) {
        std::cout << outcome->report.dump(2) << "\n";
    } else if (!mode.quiet) {
        const auto& b = outcome->before;
        const auto& a = outcome->after;
        std::printf("%s -> %s\n", in.c_str(), out.c_str());
        std::printf("  loudness   %s -> %s (target %.1f)\n", dbText(b.integratedLufs, "LUFS").c_str(),
                    dbText(a.integratedLufs, "LUFS").c_str(), req.intent.targetLufs);
        std::printf("  true peak  %s -> %s (ceiling %.1f)\n", dbText(b.truePeakDbtp, "dBTP").c_str(),
                    dbText(a.truePeakDbtp, "dBTP").c_str(), req.intent.ceilingDbtp);
        std::printf("  LRA        %s -> %s\n", dbText(b.loudnessRangeLu, "LU").c_str(),
                    dbText(a.loudnessRangeLu, "LU").c_str());
        for (const auto& w : outcome->params.warnings)
            std::printf("  warning [%s]: %s\n", w.code.c_str(), w.message.c_str());
    }
    return 0;
}
