#pragma once
/// Validation and normalisation of what users send, as pure functions (no ports, no I/O), so
/// each rule is unit-tested alone. The HTTP layer parses the wire format into these inputs;
/// the use cases validate with these functions.
#include "service/domain/errors.h"
#include "service/domain/types.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace quack::service {

inline constexpr std::size_t kMinPasswordBytes = 10;
inline constexpr std::size_t kMaxPasswordBytes = 128;
inline constexpr std::size_t kMaxNameBytes = 100;
inline constexpr std::size_t kMaxEmailBytes = 254; ///< RFC 5321 path limit
inline constexpr std::size_t kMaxFilenameBytes = 200;

/// Leading and trailing ASCII white space removed.
std::string trim(std::string_view s);
/// C0 controls or DEL present.
bool hasControlChars(std::string_view s);
/// Trimmed, ASCII lower-cased.
std::string normaliseEmail(std::string_view raw);
/// A single '@', a dotted domain, no spaces or controls, at most kMaxEmailBytes.
bool plausibleEmail(std::string_view email);
/// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string truncateUtf8(std::string s, std::size_t max);
/// The last path component, without controls, at most kMaxFilenameBytes; "upload" if empty.
std::string sanitiseFilename(std::string_view raw);
/// ASCII-only download name for Content-Disposition: "<stem>-master.<ext>".
std::string downloadName(const std::string& original, std::string_view extension);
/// The file extension of an output format name ("wav24" -> "wav"); "wav" for unknown names.
std::string extensionOf(const std::string& format);

/// Lower-cased and trimmed content type, if it is one the engine decodes (WAV, AIFF, FLAC,
/// Ogg Vorbis/Opus, MP3, MP4/M4A with AAC or ALAC, ADTS AAC); nullopt otherwise.
std::optional<std::string> acceptedAudioContentType(std::string_view raw);

/// Name: 1..kMaxNameBytes after trimming, no controls. ValidationFailed otherwise.
ApiResult<std::string> validateName(std::string_view raw);
/// Password: kMinPasswordBytes..kMaxPasswordBytes bytes. ValidationFailed otherwise.
ApiStatus validatePassword(std::string_view password);

/// Mastering settings as the client sent them (all optional; defaults applied on validation).
struct JobSettingsInput {
    std::optional<std::string> preset;
    std::optional<double> targetLufs;
    std::optional<double> ceilingDbtp;
    std::optional<std::string> style;
    std::optional<std::string> intensity;
    std::optional<std::string> format;
};
/// The same settings back as input (to re-validate stored or programmatic settings).
JobSettingsInput toInput(const JobSettings& settings);
/// Validated against the engine's presets and ranges: UnknownPreset, ValidationFailed. The
/// effective values are stored (a preset with overrides is a custom target; "m4a" -> "aac").
ApiResult<JobSettings> validateJobSettings(const JobSettingsInput& input);

} // namespace quack::service
