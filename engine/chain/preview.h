#pragma once
/// Fair previews: the same excerpt of the master and of the original, at the same integrated
/// loudness, so an A/B comparison is not won by loudness alone (listeners prefer louder;
/// Matchering's previews are not loudness-matched).
#include "engine/core/error.h"

#include <nlohmann/json.hpp>

#include <string>

namespace quack {

inline constexpr double kMinPreviewSeconds = 5.0;
inline constexpr double kMaxPreviewSeconds = 120.0;
/// Raised-cosine fade at each edge of an excerpt, ms: long enough that the cut never clicks,
/// short enough not to change the excerpt's loudness by more than ~0.1 LU at 5 s.
inline constexpr double kPreviewFadeMs = 150.0;

struct PreviewRequest {
    std::string masterPath;    ///< the finished master (any format we decode)
    std::string originalPath;  ///< the mix it was made from
    std::string masterOut;     ///< excerpt of the master (24-bit WAV)
    std::string originalOut;   ///< the same excerpt of the original (24-bit WAV)
    double seconds = 30.0;     ///< kMinPreviewSeconds..kMaxPreviewSeconds, at most the track
    double ceilingDbtp = -1.0; ///< neither excerpt's true peak may exceed this
    /// Where the master's time 0 lies in the original, s (the silence trimmed off its start).
    double originalOffsetSeconds = 0.0;
    std::uint64_t ditherSeed = 0x5155414B;
};

struct PreviewOutcome {
    double startSeconds = 0.0;
    double durationSeconds = 0.0;
    double lufs = 0.0;              ///< integrated loudness of both excerpts as written
    double masterGainDb = 0.0;      ///< applied to the master's excerpt (<= 0)
    double originalGainDb = 0.0;    ///< applied to the original's excerpt
    double masterLufs = 0.0;        ///< measured on the written master excerpt
    double originalLufs = 0.0;      ///< measured on the written original excerpt
    nlohmann::json report;          ///< the above with the reason for the section and the level
};

/// Chooses the section of the master whose loudness is closest to the whole track's (the
/// most typical passage, not the loudest or the intro), cuts the same seconds from both files,
/// fades the edges, and writes both at one integrated loudness: the master's, unless raising
/// the original that far would push its true peak over the ceiling, in which case both meet at
/// the highest level the original reaches under the ceiling (the master is turned down; nothing
/// is limited, so neither excerpt is altered but in level). Both files appear only complete.
/// Errors: InvalidArgument (seconds out of range), the decoders' errors, WriteFailed.
Result<PreviewOutcome> writePreviews(const PreviewRequest& request);

} // namespace quack
