#include "service/app/validation.h"

#include "engine/chain/intent.h"
#include "engine/io/audio_writer.h"

#include <algorithm>
#include <array>
#include <filesystem>

namespace quack::service {
namespace {

ApiError validation(std::string message) {
    return apiError(ApiErrorCode::ValidationFailed, std::move(message));
}

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::array kAudioContentTypes = {
    "audio/wav",  "audio/x-wav",  "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac",
    "audio/mpeg", "audio/mp3",    "audio/aiff", "audio/x-aiff",   "audio/ogg",  "audio/opus",
    "application/ogg", "audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac", "audio/x-aac",
    "audio/aacp", "video/mp4",
};

} // namespace

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos)
        return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

bool hasControlChars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

std::string normaliseEmail(std::string_view raw) {
    std::string e = trim(raw);
    std::transform(e.begin(), e.end(), e.begin(), asciiLower);
    return e;
}

bool plausibleEmail(std::string_view e) {
    if (e.size() < 3 || e.size() > kMaxEmailBytes || hasControlChars(e) ||
        e.find(' ') != std::string_view::npos)
        return false;
    const auto at = e.find('@');
    if (at == std::string_view::npos || at == 0 || e.find('@', at + 1) != std::string_view::npos)
        return false;
    const auto domain = e.substr(at + 1);
    const auto dot = domain.find('.');
    return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size();
}

std::string truncateUtf8(std::string s, std::size_t max) {
    if (s.size() <= max)
        return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u)
        --n;
    s.resize(n);
    return s;
}

std::string sanitiseFilename(std::string_view raw) {
    const auto slash = raw.find_last_of("/\\");
    std::string name = trim(slash == std::string_view::npos ? raw : raw.substr(slash + 1));
    std::string out;
    for (const char c : name)
        if (!(static_cast<unsigned char>(c) < 0x20 || c == 0x7F))
            out += c;
    out = truncateUtf8(trim(out), kMaxFilenameBytes);
    if (out.empty() || out == "." || out == "..")
        out = "upload";
    return out;
}

std::string downloadName(const std::string& original, std::string_view extension) {
    std::string stem = std::filesystem::path(original).stem().string();
    std::string safe;
    for (const char c : stem) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.' || c == ' ';
        safe += ok ? c : '_';
    }
    safe = trim(safe);
    if (safe.empty())
        safe = "track";
    return truncateUtf8(safe, 100) + "-master." + std::string(extension);
}

std::string extensionOf(const std::string& format) {
    auto f = quack::outputFormatFromName(format);
    return f ? std::string(quack::outputFormatInfo(*f).extension) : std::string("wav");
}

std::optional<std::string> acceptedAudioContentType(std::string_view raw) {
    std::string type = trim(raw);
    std::transform(type.begin(), type.end(), type.begin(), asciiLower);
    if (std::find(kAudioContentTypes.begin(), kAudioContentTypes.end(), type) == kAudioContentTypes.end())
        return std::nullopt;
    return type;
}

ApiResult<std::string> validateName(std::string_view raw) {
    std::string name = trim(raw);
    if (name.empty() || name.size() > kMaxNameBytes || hasControlChars(name))
        return validation("name must be 1 to 100 characters");
    return name;
}

ApiStatus validatePassword(std::string_view password) {
    if (password.size() < kMinPasswordBytes || password.size() > kMaxPasswordBytes)
        return validation("password must be 10 to 128 bytes long");
    return {};
}

JobSettingsInput toInput(const JobSettings& s) {
    JobSettingsInput in;
    in.style = s.style;
    in.intensity = s.intensity;
    in.format = s.format;
    if (s.preset) {
        in.preset = s.preset;
    } else {
        in.targetLufs = s.targetLufs;
        in.ceilingDbtp = s.ceilingDbtp;
    }
    return in;
}

ApiResult<JobSettings> validateJobSettings(const JobSettingsInput& in) {
    if (in.preset && !quack::findPreset(*in.preset)) {
        std::string names;
        for (const auto& p : quack::presets())
            names += (names.empty() ? "" : ", ") + std::string(p.name);
        return apiError(ApiErrorCode::UnknownPreset, "unknown preset '" + truncateUtf8(*in.preset, 40) +
                                                         "'; presets are " + names);
    }
    auto intent = quack::makeIntent(in.preset.value_or("streaming"), in.targetLufs, in.ceilingDbtp,
                                    in.style.value_or("balanced"), in.intensity.value_or("medium"));
    if (!intent)
        return validation(intent.error().message);
    auto outputFormat = quack::outputFormatFromName(in.format.value_or("wav24"));
    if (!outputFormat) // the engine's message names the formats it writes
        return validation(outputFormat.error().message);

    JobSettings s;
    if (intent->presetName != "custom")
        s.preset = intent->presetName;
    s.targetLufs = intent->targetLufs;
    s.ceilingDbtp = intent->ceilingDbtp;
    s.style = std::string(quack::styleName(intent->style));
    s.intensity = std::string(quack::intensityName(intent->intensity));
    s.format = std::string(quack::outputFormatInfo(*outputFormat).name);
    return s;
}

} // namespace quack::service
