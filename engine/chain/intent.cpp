#include "engine/chain/intent.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <string>

namespace quack {
namespace {

// Targets from the platforms' published normalisation levels (shared/notes, "Targets").
constexpr std::array kPresets = {
    Preset{"streaming", -14.0, -1.0, "Spotify, YouTube, Tidal: -14 LUFS, -1 dBTP"},
    Preset{"loud", -9.0, -1.0, "Competitive club/EDM loudness: -9 LUFS, -1 dBTP"},
    Preset{"podcast", -16.0, -1.0, "Apple Podcasts and spoken word: -16 LUFS, -1 dBTP"},
    Preset{"broadcast", -23.0, -1.0, "EBU R128 broadcast: -23 LUFS, -1 dBTP"},
};

std::string joinPresetNames() {
    std::string names;
    for (const auto& p : kPresets) {
        if (!names.empty())
            names += ", ";
        names += p.name;
    }
    return names;
}

} // namespace

std::span<const Preset> presets() { return {kPresets.data(), kPresets.size()}; }

Result<Preset> findPreset(std::string_view name) {
    for (const auto& p : kPresets)
        if (p.name == name)
            return p;
    return makeError(ErrorCode::InvalidArgument,
                     "unknown preset '" + std::string(name) + "' (choose one of: " + joinPresetNames() + ")");
}

Result<Style> parseStyle(std::string_view name) {
    if (name == "balanced")
        return Style::Balanced;
    if (name == "warm")
        return Style::Warm;
    if (name == "bright")
        return Style::Bright;
    return makeError(ErrorCode::InvalidArgument,
                     "unknown style '" + std::string(name) + "' (choose balanced, warm or bright)");
}

Result<Intensity> parseIntensity(std::string_view name) {
    if (name == "low")
        return Intensity::Low;
    if (name == "medium")
        return Intensity::Medium;
    if (name == "high")
        return Intensity::High;
    return makeError(ErrorCode::InvalidArgument,
                     "unknown intensity '" + std::string(name) + "' (choose low, medium or high)");
}

std::string_view styleName(Style style) {
    switch (style) {
    case Style::Balanced: return "balanced";
    case Style::Warm: return "warm";
    case Style::Bright: return "bright";
    }
    return "balanced";
}

std::string_view intensityName(Intensity intensity) {
    switch (intensity) {
    case Intensity::Low: return "low";
    case Intensity::Medium: return "medium";
    case Intensity::High: return "high";
    }
    return "medium";
}

Result<Intent> makeIntent(std::string_view preset, std::optional<double> targetLufs,
                          std::optional<double> ceilingDbtp, std::string_view style,
                          std::string_view intensity) {
    Intent intent;
    auto p = findPreset(preset.empty() ? "streaming" : preset);
    if (!p)
        return p.error();
    intent.presetName = std::string(p->name);
    intent.targetLufs = p->targetLufs;
    intent.ceilingDbtp = p->ceilingDbtp;
    if (targetLufs || ceilingDbtp)
        intent.presetName = "custom";
    if (targetLufs)
        intent.targetLufs = *targetLufs;
    if (ceilingDbtp)
        intent.ceilingDbtp = *ceilingDbtp;
    intent.ceilingGiven = ceilingDbtp.has_value();

    if (!std::isfinite(intent.targetLufs) || intent.targetLufs < kMinTargetLufs ||
        intent.targetLufs > kMaxTargetLufs)
        return makeError(ErrorCode::InvalidArgument,
                         "target loudness must be between " + std::to_string(int(kMinTargetLufs)) +
                             " and " + std::to_string(int(kMaxTargetLufs)) + " LUFS");
    if (!std::isfinite(intent.ceilingDbtp) || intent.ceilingDbtp < kMinCeilingDbtp ||
        intent.ceilingDbtp > kMaxCeilingDbtp)
        return makeError(ErrorCode::InvalidArgument,
                         "true-peak ceiling must be between " + std::to_string(int(kMinCeilingDbtp)) +
                             " and " + std::to_string(int(kMaxCeilingDbtp)) + " dBTP");
    // Music needs some peak-to-loudness ratio; below ~4 dB every peak is crushed.
    if (intent.ceilingDbtp - intent.targetLufs < 4.0)
        return makeError(ErrorCode::InvalidArgument,
                         "the target must be at least 4 dB below the ceiling (a lower PLR than "
                         "that can only be reached by destroying the audio)");
    auto s = parseStyle(style.empty() ? "balanced" : style);
    if (!s)
        return s.error();
    intent.style = *s;
    auto i = parseIntensity(intensity.empty() ? "medium" : intensity);
    if (!i)
        return i.error();
    intent.intensity = *i;
    return intent;
}

Result<CeilingChoice> chooseCeiling(const Intent& intent, bool lossyOutput,
                                    std::string_view formatName) {
    char value[32];
    std::snprintf(value, sizeof value, "%.1f", intent.ceilingDbtp);
    CeilingChoice choice{intent.ceilingDbtp, {}};
    if (intent.ceilingGiven) {
        choice.reason = std::string(value) + " dBTP as given";
        if (lossyOutput && intent.ceilingDbtp > kLossyDefaultCeilingDbtp)
            choice.reason += " (above the -1 dBTP usually kept for lossy formats; the decoded " +
                             std::string(formatName) + " file is verified against it)";
        return choice;
    }
    const std::string source =
        intent.presetName == "custom" ? "the default" : "the " + intent.presetName + " preset's";
    if (!lossyOutput || intent.ceilingDbtp <= kLossyDefaultCeilingDbtp) {
        choice.reason = std::string(value) + " dBTP, " + source + " ceiling" +
                        (lossyOutput ? "; the decoded " + std::string(formatName) +
                                           " file is verified against it"
                                     : "");
        return choice;
    }
    choice.ceilingDbtp = kLossyDefaultCeilingDbtp;
    if (choice.ceilingDbtp - intent.targetLufs < 4.0)
        return makeError(ErrorCode::InvalidArgument,
                         "a lossy output needs a ceiling of -1 dBTP or lower and the target at "
                         "least 4 dB below it; lower the target or set --ceiling-dbtp");
    choice.reason = "-1.0 dBTP instead of " + source + " " + value + ": " + std::string(formatName) +
                    " is lossy, and decoding (and the platforms' own transcoding) rebuilds peaks "
                    "above the encoded level, so lossy outputs keep at least 1 dB of headroom "
                    "unless a ceiling is given";
    return choice;
}

} // namespace quack
