#pragma once
/// What the user asks for: loudness target, true-peak ceiling, style and intensity, by preset
/// or explicitly. Validated here so every front end (CLI, service) gets the same errors.
#include "engine/core/error.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace quack {

enum class Style { Balanced, Warm, Bright };
enum class Intensity { Low, Medium, High };

struct Preset {
    std::string_view name;
    double targetLufs;
    double ceilingDbtp;
    std::string_view description;
};

/// The built-in presets (streaming, loud, podcast, broadcast).
std::span<const Preset> presets();
/// Error: InvalidArgument naming the valid presets.
Result<Preset> findPreset(std::string_view name);

Result<Style> parseStyle(std::string_view name);
Result<Intensity> parseIntensity(std::string_view name);
std::string_view styleName(Style style);
std::string_view intensityName(Intensity intensity);

struct Intent {
    std::string presetName = "streaming"; ///< "custom" when target/ceiling were given
    double targetLufs = -14.0;
    double ceilingDbtp = -1.0;
    Style style = Style::Balanced;
    Intensity intensity = Intensity::Medium;
    bool ceilingGiven = false;            ///< the user set the ceiling (not the preset)
};

/// Loudness targets the engine accepts, LUFS, and ceilings, dBTP.
inline constexpr double kMinTargetLufs = -40.0;
inline constexpr double kMaxTargetLufs = -5.0;
inline constexpr double kMinCeilingDbtp = -9.0;
inline constexpr double kMaxCeilingDbtp = 0.0;

/// Builds an intent from a preset name and optional overrides; checks ranges and that the
/// target leaves room under the ceiling. Error: InvalidArgument.
Result<Intent> makeIntent(std::string_view preset, std::optional<double> targetLufs,
                          std::optional<double> ceilingDbtp, std::string_view style,
                          std::string_view intensity);

/// The highest ceiling a lossy output gets when the user did not choose one, dBTP. Lossy
/// decoders reconstruct peaks above the encoded signal's (inter-sample overshoot plus the
/// codec's own error), and platforms transcode uploads again; -1 dBTP is the headroom AES
/// TD1004 and EBU R128 s2 recommend for lossy delivery.
inline constexpr double kLossyDefaultCeilingDbtp = -1.0;

/// The ceiling a master holds and why.
struct CeilingChoice {
    double ceilingDbtp = -1.0;
    std::string reason;
};

/// Pure: the user's ceiling when they gave one (even above -1 dBTP for lossy output: their
/// call, and the decoded file is still verified against it); otherwise the preset's, lowered
/// to kLossyDefaultCeilingDbtp for a lossy format. `formatName` is for the reason text.
/// Error: InvalidArgument when the lowered ceiling leaves less than the 4 dB makeIntent()
/// requires above the target.
Result<CeilingChoice> chooseCeiling(const Intent& intent, bool lossyOutput,
                                    std::string_view formatName);

} // namespace quack
