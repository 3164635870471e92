#pragma once
/// The mastering pipeline: decode -> analyse -> decide -> process -> limit -> dither -> encode,
/// with loudness closed in a loop (render, measure, correct) and the ceiling verified on the
/// encoded file itself. Streams in blocks: memory does not grow with the track's length.
#include "engine/analysis/analyzer.h"
#include "engine/chain/decisions.h"
#include "engine/chain/reference.h"
#include "engine/chain/intent.h"
#include "engine/chain/limits.h"
#include "engine/core/error.h"
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"
#include "engine/io/tags.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace quack {

/// Dither seed used when none is given ("QUAK"): fixed so the same input and options give
/// byte-identical output.
inline constexpr std::uint64_t kDefaultDitherSeed = 0x5155414B;

struct MasterRequest {
    std::string inputPath;
    std::string outputPath;
    Intent intent;
    std::optional<OutputFormat> format; ///< default: from the output path's extension
    std::optional<int> sampleRate;      ///< convert to this rate (libsoxr); default: keep
    std::uint64_t ditherSeed = kDefaultDitherSeed;
    /// Album mode: this EQ curve instead of one decided from this track alone (the album's
    /// shared tonal direction), with the reason for the report.
    std::optional<TonalCurve> eqOverride;
    std::string eqOverrideReason;
    /// Reference mode (reference.h): match this record's balance, width and loudness.
    std::optional<std::string> referencePath;
    MatchOptions match;
    /// Set by reference mode's closed loop for its second pass: the reference's analysis and
    /// the refined match (callers leave it empty).
    struct ReferenceState {
        Analysis reference;
        ReferenceMatch match;
        double firstPassDeviationDb = 0.0;
    };
    std::optional<ReferenceState> referenceState;
    /// Remove leading and trailing digital silence (trim.h) before mastering.
    bool trimSilence = false;
    /// Fades applied to the master (raised cosine), ms; 0 = none. At most 60 s, and each at
    /// most half the (trimmed) length.
    double fadeInMs = 0.0;
    double fadeOutMs = 0.0;
    TagRequest tags;                    ///< input tags carried, --tag/--isrc (io/tags.h)
    /// Decoded size, temporary space, time and cancellation (chain/limits.h); default: none.
    ResourceLimits limits;
};

/// What one render measured.
struct RenderMeasurement {
    double gainDb = 0.0;           ///< drive into the limiter
    double limiterCeilingDbtp = 0.0;
    double integratedLufs = 0.0;   ///< of the file as written (decoded again for lossy formats)
    double truePeakDbtp = 0.0;     ///< strictest of our meters on the written file
};

struct MasterOutcome {
    Analysis before;
    Analysis after;                ///< of the written file (decoded again for lossy formats)
    ChainParams params;
    std::vector<RenderMeasurement> renders;
    nlohmann::json report;         ///< everything above plus timings, as written by --report
    std::optional<Analysis> reference;  ///< reference mode: the reference's analysis
    std::optional<ReferenceMatch> match; ///< reference mode: the match applied
};

/// Called with a stage name ("analyze", "process", "render", "verify") and overall 0..1.
using ProgressFn = std::function<void(std::string_view stage, double fraction)>;

/// Masters one file. The output appears at outputPath only when complete (write, then rename);
/// on any error nothing is left behind.
Result<MasterOutcome> masterFile(const MasterRequest& request, const ProgressFn& progress = {});

/// The analysis `quacktracks analyze` prints, with the file's format.
struct FileAnalysis {
    AudioFileInfo info;
    Analysis analysis;
};
Result<FileAnalysis> analyzeFile(const std::string& path, const ProgressFn& progress = {});

/// JSON of a file's format facts.
nlohmann::json toJson(const AudioFileInfo& info);

} // namespace quack
