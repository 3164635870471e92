#include "engine/chain/album.h"

#include "engine/chain/report_util.h"

#include "engine/analysis/loudness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

namespace quack {
namespace {

using chain_detail::fmt;
constexpr auto r2 = chain_detail::round2OrNull;

/// BS.1770 integrated loudness of several files played in sequence (album loudness): the
/// gating runs over the concatenated 100 ms hop energies.
Result<double> sequenceLoudness(const std::vector<std::string>& paths) {
    std::vector<double> hops;
    for (const std::string& p : paths) {
        auto src = openAudioFile(p);
        if (!src)
            return src.error();
        LoudnessMeter meter((*src)->info().sampleRate, (*src)->info().channels);
        AudioBuffer buf((*src)->info().channels, 4096);
        for (;;) {
            auto n = (*src)->read(buf.view());
            if (!n)
                return n.error();
            if (*n == 0)
                break;
            meter.process(buf.view(*n));
        }
        const auto h = meter.hopEnergies();
        hops.insert(hops.end(), h.begin(), h.end());
    }
    return gatedIntegratedLoudness(hops);
}

} // namespace

std::vector<double> albumTargets(const std::vector<double>& trackLufs, double targetLufs) {
    double loudest = -std::numeric_limits<double>::infinity();
    for (double l : trackLufs)
        if (std::isfinite(l))
            loudest = std::max(loudest, l);
    std::vector<double> out;
    for (double l : trackLufs)
        out.push_back(std::isfinite(l) && std::isfinite(loudest)
                          ? std::max(kMinTargetLufs, targetLufs - (loudest - l))
                          : targetLufs);
    return out;
}

Spectrum albumBalance(const std::vector<Analysis>& tracks) {
    Spectrum s;
    if (tracks.empty())
        return s;
    // Bands every track has (they differ only at the top, by sample rate).
    size_t bands = tracks[0].spectrum.centerHz.size();
    for (const Analysis& a : tracks)
        bands = std::min(bands, a.spectrum.centerHz.size());
    s.centerHz.assign(tracks[0].spectrum.centerHz.begin(), tracks[0].spectrum.centerHz.begin() + static_cast<long>(bands));
    std::vector<double> sum(bands, 0.0), weight(bands, 0.0);
    for (const Analysis& a : tracks) {
        const std::vector<double> rel = relativeBalance(a.spectrum);
        for (size_t b = 0; b < bands && b < rel.size(); ++b)
            if (std::isfinite(rel[b])) {
                sum[b] += a.durationSeconds * rel[b];
                weight[b] += a.durationSeconds;
            }
    }
    for (size_t b = 0; b < bands; ++b)
        s.levelDb.push_back(weight[b] > 0.0 ? sum[b] / weight[b] : -std::numeric_limits<double>::infinity());
    return s;
}

Result<AlbumOutcome> masterAlbum(const AlbumRequest& req, const AlbumProgressFn& progress) {
    const size_t n = req.inputPaths.size();
    if (n == 0 || n > kMaxAlbumTracks)
        return makeError(ErrorCode::InvalidArgument,
                         "an album has 1 to " + std::to_string(kMaxAlbumTracks) + " tracks, got " + std::to_string(n));
    const OutputFormat format = req.format.value_or(OutputFormat::Wav24);
    const std::string ext(outputFormatInfo(format).extension);
    std::vector<std::string> outputs;
    std::set<std::string> stems;
    for (const std::string& in : req.inputPaths) {
        const std::string stem = std::filesystem::path(in).stem().string();
        if (!stems.insert(stem).second)
            return makeError(ErrorCode::InvalidArgument,
                             "two album tracks are named '" + stem + "': their masters would overwrite each other");
        outputs.push_back((std::filesystem::path(req.outputDir) / (stem + "." + ext)).string());
    }
    std::error_code ec;
    std::filesystem::create_directories(req.outputDir, ec);
    if (ec)
        return makeError(ErrorCode::WriteFailed, "cannot create the output folder: " + ec.message());

    // 1. Analyse every track (the same analysis masterFile makes).
    std::vector<Analysis> analyses;
    std::vector<double> lufs;
    for (size_t i = 0; i < n; ++i) {
        auto a = analyzeFile(req.inputPaths[i], [&](std::string_view stage, double f) {
            if (progress)
                progress(i, stage, 0.2 * (static_cast<double>(i) + f) / static_cast<double>(n));
        });
        if (!a) {
            Error e = a.error();
            e.message = "track " + std::to_string(i + 1) + " (" +
                        std::filesystem::path(req.inputPaths[i]).filename().string() + "): " + e.message;
            return e;
        }
        lufs.push_back(a->analysis.integratedLufs);
        analyses.push_back(std::move(a->analysis));
    }

    // 2. Decide the album: targets and one tonal direction.
    const std::vector<double> targets = albumTargets(lufs, req.intent.targetLufs);
    Analysis album = analyses[0];
    for (const Analysis& a : analyses)
        if (a.integratedLufs > album.integratedLufs)
            album = a; // dynamics facts of the loudest track; the balance is the album's
    album.spectrum = albumBalance(analyses);
    album.midSpectrum = album.spectrum;
    const ChainParams albumParams = decide(album, InputFacts{}, req.intent, defaultTargetBalance());
    const std::string eqReason =
        "the album's shared tonal direction: decided once from the duration-weighted average balance of all " +
        std::to_string(n) + " tracks and applied to each, so the record sounds like one record";

    AlbumOutcome out;
    nlohmann::json trackReports = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i) {
        MasterRequest mr;
        mr.inputPath = req.inputPaths[i];
        mr.outputPath = outputs[i];
        mr.intent = req.intent;
        mr.intent.presetName = req.intent.presetName + " (album)";
        mr.intent.targetLufs = targets[i];
        mr.format = format;
        mr.sampleRate = req.sampleRate;
        mr.ditherSeed = req.ditherSeed + i;
        mr.eqOverride = albumParams.eqCurve;
        if (!albumParams.eqActive)
            mr.eqOverride->gainDb.assign(mr.eqOverride->gainDb.size(), 0.0);
        mr.eqOverrideReason = eqReason;
        auto m = masterFile(mr, [&](std::string_view stage, double f) {
            if (progress)
                progress(i, stage, 0.2 + 0.75 * (static_cast<double>(i) + f) / static_cast<double>(n));
        });
        if (!m) {
            Error e = m.error();
            e.message = "track " + std::to_string(i + 1) + " (" +
                        std::filesystem::path(req.inputPaths[i]).filename().string() + "): " + e.message;
            return e;
        }
        AlbumTrackOutcome t{req.inputPaths[i], outputs[i], lufs[i], targets[i], std::move(*m)};
        trackReports.push_back({{"input", std::filesystem::path(t.inputPath).filename().string()},
                                {"output", std::filesystem::path(t.outputPath).filename().string()},
                                {"input_lufs", r2(t.inputLufs)},
                                {"target_lufs", r2(t.targetLufs)},
                                {"report", t.master.report}});
        out.tracks.push_back(std::move(t));
    }

    auto albumLufs = sequenceLoudness(outputs);
    if (!albumLufs)
        return albumLufs.error();
    out.albumLufs = *albumLufs;
    if (progress)
        progress(n - 1, "done", 1.0);

    double loudestIn = -std::numeric_limits<double>::infinity();
    for (double l : lufs)
        if (std::isfinite(l))
            loudestIn = std::max(loudestIn, l);
    out.report = {
        {"schema", "quacktracks.album.v1"},
        {"tracks", trackReports},
        {"album_lufs", r2(out.albumLufs)},
        {"decisions",
         nlohmann::json::array(
             {{{"name", "album.loudness"},
               {"value", r2(req.intent.targetLufs)},
               {"reason", "the loudest track (" + fmt("%.2f", loudestIn) + " LUFS as mixed) is mastered to " +
                              fmt("%.2f", req.intent.targetLufs) +
                              " LUFS; every other track keeps its distance to it, so quiet songs stay quiet"}},
              {{"name", "album.eq_curve"},
               {"value", albumParams.eqActive ? "shared" : "none"},
               {"reason", eqReason}},
              {{"name", "album.ceiling_dbtp"},
               {"value", req.intent.ceilingDbtp},
               {"reason", "every track is held under the same true-peak ceiling"}}})},
    };
    return out;
}

} // namespace quack
