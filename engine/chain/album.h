#pragma once
/// Album mastering: one consistent treatment across tracks. The loudest track meets the
/// target, every other keeps its loudness relative to it (a quiet ballad stays quieter), all
/// share one tonal direction decided from the album's average balance, and every file is
/// true-peak safe (each is mastered by masterFile(), with its own closed loops).
#include "engine/chain/master.h"

#include <string>
#include <vector>

namespace quack {

struct AlbumRequest {
    std::vector<std::string> inputPaths;  ///< in album order; 1..kMaxAlbumTracks
    std::string outputDir;                ///< created if missing; files keep their stems
    Intent intent;                        ///< the loudest track's target and every ceiling
    std::optional<OutputFormat> format;   ///< default: 24-bit WAV
    std::optional<int> sampleRate;
    std::uint64_t ditherSeed = kDefaultDitherSeed;
};

inline constexpr size_t kMaxAlbumTracks = 100;

struct AlbumTrackOutcome {
    std::string inputPath;
    std::string outputPath;
    double inputLufs = 0.0;
    double targetLufs = 0.0;    ///< decided for this track
    MasterOutcome master;
};

struct AlbumOutcome {
    std::vector<AlbumTrackOutcome> tracks;
    double albumLufs = 0.0;     ///< BS.1770 integrated loudness of all masters in sequence
    nlohmann::json report;      ///< quacktracks.album.v1: decisions with reasons, per-track reports
};

/// Called with the track index, its stage and the album's overall fraction 0..1.
using AlbumProgressFn = std::function<void(size_t track, std::string_view stage, double fraction)>;

/// Masters every track. Output names: <outputDir>/<input stem>.<format extension>; two inputs
/// with the same stem are InvalidArgument (one would overwrite the other). Each file appears
/// only when complete; on an error, files already finished stay (they are complete masters)
/// and the error names the failing track.
Result<AlbumOutcome> masterAlbum(const AlbumRequest& request, const AlbumProgressFn& progress = {});

/// The pure part: per-track targets from the tracks' integrated loudness. The loudest gets
/// intent.targetLufs; the others keep their distance to it, but never below kMinTargetLufs.
/// Silent tracks (non-finite loudness) get the target (they pass through as silence anyway).
std::vector<double> albumTargets(const std::vector<double>& trackLufs, double targetLufs);

/// The album's shared balance: per-band average (weighted by duration) of each track's
/// relative balance, as a Spectrum decide() can take.
Spectrum albumBalance(const std::vector<Analysis>& tracks);

} // namespace quack
