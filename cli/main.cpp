// The `quacktracks` command: parses flags, calls the engine, prints. Nothing else lives here.
#include "engine/chain/album.h"
#include "engine/chain/master.h"
#include "engine/chain/preview.h"
#include "engine/core/error.h"
#include "service/host/service_host.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <sys/stat.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <pthread.h>
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

/// Settings for the service verbs: defaults <- --config file <- QUACK_* environment <- flags.
struct ServiceFlags {
    std::string configPath;
    std::optional<int> port, workers;
    std::optional<std::string> bind, dataDir, webRoot;
};

void addServiceFlags(CLI::App* cmd, ServiceFlags& f, bool http) {
    cmd->add_option("--config", f.configPath, "JSON config file (keys as in service/app/config.h, snake_case)");
    cmd->add_option("--data-dir", f.dataDir, "Database, blobs and signing key live here");
    if (!http)
        return;
    cmd->add_option("--port", f.port, "TCP port (0: pick a free one and print it)");
    cmd->add_option("--bind", f.bind, "Address to listen on (default 127.0.0.1)");
    cmd->add_option("--workers", f.workers, "In-process mastering workers (0: none)");
    cmd->add_option("--web-root", f.webRoot, "Built web app to serve (default web/dist)");
}

/// The loaded configuration, or prints the error and returns nullopt.
std::optional<quack::service::ServiceConfig> serviceConfig(const ServiceFlags& f) {
    auto config = quack::service::loadConfig(f.configPath);
    if (!config) {
        std::cerr << "quacktracks: error [" << config.error().id() << "]: " << config.error().message << "\n";
        return std::nullopt;
    }
    auto c = std::move(config).value();
    if (f.port)
        c.port = *f.port;
    if (f.workers)
        c.workers = *f.workers;
    if (f.bind)
        c.bindAddress = *f.bind;
    if (f.dataDir)
        c.dataDir = *f.dataDir;
    if (f.webRoot)
        c.webRoot = *f.webRoot;
    if (c.webRoot.empty())
        c.webRoot = "web/dist";
    return c;
}

int serviceFailure(const quack::service::ApiError& e) {
    std::cerr << "quacktracks: error [" << e.id() << "]: " << e.message << "\n";
    return e.exitCode(); // from the error table: a busy database is 69 (unavailable), not a bug
}

void printSweep(const quack::service::SweepReport& r) {
    std::printf("sweep: %d uploads deleted, %d masters expired, %d leases recovered, %d orphaned objects "
                "deleted, %d partial writes removed, %d errors\n",
                r.uploadsDeleted, r.mastersExpired, r.leasesRecovered, r.orphansDeleted, r.incompleteDeleted,
                r.errors);
    std::fflush(stdout);
}

int runServe(const quack::service::ServiceConfig& config) {
    namespace http = quack::service::http;
    http::HostOptions options;
    // Access log on stderr: method, route pattern, status, duration; nothing personal.
    options.accessLog = [](const http::AccessLogEntry& e) {
        std::fprintf(stderr, "http %.*s %.*s %d %.1fms %lluB\n", static_cast<int>(e.method.size()), e.method.data(),
                     static_cast<int>(e.route.size()), e.route.data(), e.status, e.durationMs,
                     static_cast<unsigned long long>(e.bytesSent));
    };
    options.onSweep = [](const quack::service::SweepReport& r) {
        if (r.uploadsDeleted + r.mastersExpired + r.leasesRecovered + r.orphansDeleted + r.incompleteDeleted +
                r.errors > 0)
            printSweep(r);
    };
    auto host = http::ServiceHost::start(config, quack::service::systemClock(), options);
    if (!host)
        return serviceFailure(host.error());
    const auto& h = host.value();
    const std::string shown = config.bindAddress == "0.0.0.0" ? "127.0.0.1" : config.bindAddress;
    std::printf("QuackTracks serving on http://%s:%d/ (%d workers, data in %s)\n",
                shown.find(':') != std::string::npos ? ("[" + shown + "]").c_str() : shown.c_str(), h->port(),
                config.workers, config.dataDir.c_str());
    std::fflush(stdout);
    h->waitForTerminationSignal();
    std::printf("shutting down\n");
    std::fflush(stdout);
    h->stop();
    return 0;
}

/// A worker process alone: shares the database and blob directory with `serve`.
int runWorker(const quack::service::ServiceConfig& config) {
    auto services = quack::service::openServices(config);
    if (!services)
        return serviceFailure(services.error());
    const auto& s = services.value();
    quack::service::Worker worker(config, s.ports.db, s.ports.blobs, s.ports.clock,
                                  quack::service::http::makeWorkerId(0));
    // SIGINT/SIGTERM are taken synchronously by this thread (sigwait), not by a handler, so
    // stopping the worker needs no async-signal-safe code. The lease makes an abrupt end
    // (SIGKILL) harmless too: another worker takes the job when the lease expires.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread loop([&worker] { worker.run(); });
    std::printf("QuackTracks worker polling %s (%s)\n", config.dataDir.c_str(), s.description.c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    worker.stop();
    loop.join();
    return 0;
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
    master->add_option("-o,--output", out, "Output file (.wav, .flac, .mp3, .ogg, .opus, .m4a)")->required();
    master->add_option("-p,--preset", preset, "streaming (-14 LUFS), loud (-9), podcast (-16), broadcast (-23)");
    master->add_option("--target-lufs", targetLufs, "Integrated loudness target, LUFS (overrides the preset)");
    master->add_option("--ceiling-dbtp", ceilingDbtp, "True-peak ceiling, dBTP (overrides the preset)");
    master->add_option("--style", style, "balanced, warm or bright");
    master->add_option("--intensity", intensity, "low, medium or high");
    master->add_option("-f,--format", format,
                       "wav16, wav24, wav32f, flac16, flac24, mp3, vorbis, opus, aac (default: by extension)");
    quack::TagRequest tagRequest;
    bool noTags = false;
    master->add_option("--tag", tagRequest.assignments, "KEY=VALUE tag to write (repeatable), e.g. TITLE=My Song");
    master->add_option("--isrc", tagRequest.isrc, "ISRC to write, CC-XXX-YY-NNNNN");
    master->add_flag("--no-tags", noTags, "Do not carry the input's tags (title, artist, ...)");
    master->add_option("--sample-rate", sampleRate, "Convert to this rate in Hz (default: keep the input's)");
    master->add_option("--report", reportPath, "Write the full JSON report here");
    master->add_option("--seed", seed, "Dither seed (same seed, same bytes)");
    master->add_flag("--json", mode.json, "Print the report as JSON on stdout");
    master->add_flag("-q,--quiet", mode.quiet, "Print nothing but errors");
    std::string referencePath, matchList = "eq,width,loudness";
    double matchStrength = 100.0;
    std::optional<double> previewSeconds;
    bool trimSilence = false;
    double fadeInMs = 0.0, fadeOutMs = 0.0;
    master->add_flag("--trim-silence", trimSilence, "Remove leading and trailing digital silence first");
    master->add_option("--fade-in", fadeInMs, "Fade in over this many ms (raised cosine)");
    master->add_option("--fade-out", fadeOutMs, "Fade out over this many ms (raised cosine)");
    master->add_option("--reference", referencePath,
                       "Match this record's tonal balance, width and loudness (the ceiling still holds)");
    master->add_option("--match", matchList, "What to match with --reference: any of eq,width,loudness");
    master->add_option("--match-strength", matchStrength, "0 (no correction) .. 100 (full match), default 100");
    master->add_option("--preview", previewSeconds,
                       "Also write SECONDS-long excerpts of the master and the original at the same loudness "
                       "(<output>.preview.wav, <output>.original-preview.wav)");

    // master-album
    auto* album = app.add_subcommand("master-album", "Master an album: one treatment, relative loudness kept");
    std::vector<std::string> albumTracks;
    std::string albumDir;
    album->add_option("TRACK", albumTracks, "Tracks in album order")->required();
    album->add_option("-o,--output-dir", albumDir, "Folder for the masters (created if missing)")->required();
    album->add_option("-p,--preset", preset, "Loudest track's target: streaming, loud, podcast, broadcast");
    album->add_option("--target-lufs", targetLufs, "Loudest track's loudness target, LUFS");
    album->add_option("--ceiling-dbtp", ceilingDbtp, "True-peak ceiling for every track, dBTP");
    album->add_option("--style", style, "balanced, warm or bright");
    album->add_option("--intensity", intensity, "low, medium or high");
    album->add_option("-f,--format", format, "Output format for every track (default wav24)");
    album->add_option("--sample-rate", sampleRate, "Convert to this rate in Hz");
    album->add_option("--report", reportPath, "Write the album's JSON report here");
    album->add_flag("--json", mode.json, "Print the album report as JSON on stdout");
    album->add_flag("-q,--quiet", mode.quiet, "Print nothing but errors");

    // presets
    auto* presetsCmd = app.add_subcommand("presets", "List the loudness presets");
    presetsCmd->add_flag("--json", mode.json, "Print JSON");

    // errors
    auto* errorsCmd = app.add_subcommand("errors", "List the error codes and exit statuses");
    errorsCmd->add_flag("--json", mode.json, "Print JSON");

    // serve / worker / admin sweep
    ServiceFlags serviceFlags;
    auto* serveCmd = app.add_subcommand("serve", "Run the web service: HTTP API, web app, workers, retention sweeper");
    addServiceFlags(serveCmd, serviceFlags, true);
    auto* workerCmd = app.add_subcommand("worker", "Run one mastering worker against a service's data directory");
    addServiceFlags(workerCmd, serviceFlags, false);
    auto* adminCmd = app.add_subcommand("admin", "Maintenance commands");
    adminCmd->require_subcommand(1);
    auto* sweepCmd = adminCmd->add_subcommand("sweep", "Run one retention sweep now and print what it did");
    addServiceFlags(sweepCmd, serviceFlags, false);
    auto* orphansCmd = adminCmd->add_subcommand(
        "orphans", "List stored objects no upload or job needs (what the next sweep deletes); read only");
    addServiceFlags(orphansCmd, serviceFlags, false);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : quack::errorInfo(ErrorCode::InvalidArgument).exitCode;
    }

    if (*serveCmd || *workerCmd || *sweepCmd || *orphansCmd) {
        // Everything the service writes (database, blobs, scratch, masters) is its own only.
        ::umask(077);
        auto config = serviceConfig(serviceFlags);
        if (!config)
            return quack::errorInfo(ErrorCode::InvalidArgument).exitCode;
        if (*serveCmd)
            return runServe(*config);
        if (*workerCmd)
            return runWorker(*config);
        auto services = quack::service::openServices(*config);
        if (!services)
            return serviceFailure(services.error());
        const auto& s = services.value();
        if (*orphansCmd) {
            auto orphans = quack::service::orphanedObjects(s.db(), s.blobs());
            if (!orphans)
                return serviceFailure(orphans.error());
            for (const auto& key : orphans.value())
                std::printf("%s\n", key.c_str());
            std::fprintf(stderr, "%zu orphaned objects\n", orphans->size());
            return 0;
        }
        printSweep(quack::service::sweepOnce(s.db(), s.blobs(), *s.ports.clock, *config));
        return 0;
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
        // One list: the engine's codes, then the service's (serve, worker, admin and the API).
        auto row = [&](std::string_view id, int exitCode, int httpStatus, bool retryable, const char* scope) {
            list.push_back({{"code", id}, {"exit_code", exitCode}, {"http_status", httpStatus},
                            {"retryable", retryable}, {"scope", scope}});
            if (!mode.json)
                std::printf("%-26s exit %3d  http %d%s\n", std::string(id).c_str(), exitCode, httpStatus,
                            retryable ? "  retryable" : "");
        };
        for (const auto& e : quack::allErrorInfos())
            row(e.id, e.exitCode, e.httpStatus, e.retryable, "engine");
        for (const auto& e : quack::service::allApiErrorInfos())
            row(e.id, e.exitCode, e.httpStatus, e.retryable, "service");
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

    // master and master-album
    auto intent = quack::makeIntent(preset, targetLufs, ceilingDbtp, style, intensity);
    if (!intent)
        return fail(intent.error(), mode);
    if (*album) {
        quack::AlbumRequest areq;
        areq.inputPaths = albumTracks;
        areq.outputDir = albumDir;
        areq.intent = *intent;
        areq.sampleRate = sampleRate;
        areq.ditherSeed = seed;
        if (!format.empty()) {
            auto f = quack::outputFormatFromName(format);
            if (!f)
                return fail(f.error(), mode);
            areq.format = *f;
        }
        quack::ProgressFn bar = progressBar(mode);
        auto albumOut = quack::masterAlbum(areq, [&](size_t, std::string_view stage, double f) {
            if (bar)
                bar(stage, f);
        });
        if (!albumOut)
            return fail(albumOut.error(), mode);
        if (!reportPath.empty()) {
            std::ofstream rf(reportPath, std::ios::binary | std::ios::trunc);
            rf << albumOut->report.dump(2) << "\n";
            if (!rf)
                return fail(Error{ErrorCode::WriteFailed, "cannot write the report to " + reportPath}, mode);
        }
        if (mode.json) {
            std::cout << albumOut->report.dump(2) << "\n";
        } else if (!mode.quiet) {
            for (const auto& t : albumOut->tracks)
                std::printf("%s -> %s: %s -> %s (target %.1f), true peak %s\n", t.inputPath.c_str(),
                            t.outputPath.c_str(), dbText(t.inputLufs, "LUFS").c_str(),
                            dbText(t.master.after.integratedLufs, "LUFS").c_str(), t.targetLufs,
                            dbText(t.master.after.truePeakDbtp, "dBTP").c_str());
            std::printf("album loudness %s\n", dbText(albumOut->albumLufs, "LUFS").c_str());
        }
        return 0;
    }
    quack::MasterRequest req;
    req.inputPath = in;
    req.outputPath = out;
    req.intent = *intent;
    req.sampleRate = sampleRate;
    req.ditherSeed = seed;
    req.tags = tagRequest;
    req.tags.carryInput = !noTags;
    if (!format.empty()) {
        auto f = quack::outputFormatFromName(format);
        if (!f)
            return fail(f.error(), mode);
        req.format = *f;
    }
    req.trimSilence = trimSilence;
    req.fadeInMs = fadeInMs;
    req.fadeOutMs = fadeOutMs;
    if (!referencePath.empty()) {
        auto match = quack::parseMatchList(matchList, matchStrength);
        if (!match)
            return fail(match.error(), mode);
        req.referencePath = referencePath;
        req.match = *match;
    }
    if (previewSeconds && !(*previewSeconds >= quack::kMinPreviewSeconds && *previewSeconds <= quack::kMaxPreviewSeconds))
        return fail(Error{ErrorCode::InvalidArgument, "--preview takes 5 to 120 seconds"}, mode);
    auto outcome = quack::masterFile(req, progressBar(mode));
    if (!outcome)
        return fail(outcome.error(), mode);
    if (previewSeconds) {
        const std::filesystem::path o(out);
        const std::string stem = (o.parent_path() / o.stem()).string();
        quack::PreviewRequest preq;
        preq.masterPath = out;
        preq.originalPath = in;
        preq.masterOut = stem + ".preview.wav";
        preq.originalOut = stem + ".original-preview.wav";
        preq.seconds = *previewSeconds;
        preq.ceilingDbtp = outcome->report["intent"]["ceiling_dbtp"].get<double>();
        if (outcome->report.contains("edits"))
            preq.originalOffsetSeconds = outcome->report["edits"]["trimmed_leading_seconds"].get<double>();
        auto preview = quack::writePreviews(preq);
        if (!preview)
            return fail(preview.error(), mode);
        outcome->report["preview"] = preview->report;
    }
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
                    dbText(a.integratedLufs, "LUFS").c_str(),
                    outcome->report["intent"]["target_lufs"].get<double>());
        if (outcome->report.contains("reference")) {
            const auto& r = outcome->report["reference"];
            std::printf("  reference  %s: balance deviation %s -> %s dB RMS\n", r["file"].get<std::string>().c_str(),
                        r["spectral_deviation_db"]["mix"].dump().c_str(),
                        r["spectral_deviation_db"]["master"].dump().c_str());
        }
        if (outcome->report.contains("preview"))
            std::printf("  previews   %s, %s at %s LUFS\n",
                        outcome->report["preview"]["master_file"].get<std::string>().c_str(),
                        outcome->report["preview"]["original_file"].get<std::string>().c_str(),
                        outcome->report["preview"]["lufs"].dump().c_str());
        std::printf("  true peak  %s -> %s (ceiling %.1f)\n", dbText(b.truePeakDbtp, "dBTP").c_str(),
                    dbText(a.truePeakDbtp, "dBTP").c_str(), outcome->report["intent"]["ceiling_dbtp"].get<double>());
        std::printf("  LRA        %s -> %s\n", dbText(b.loudnessRangeLu, "LU").c_str(),
                    dbText(a.loudnessRangeLu, "LU").c_str());
        for (const auto& w : outcome->params.warnings)
            std::printf("  warning [%s]: %s\n", w.code.c_str(), w.message.c_str());
    }
    return 0;
}
