#pragma once
/// Metadata tags (TagLib): carried from the input, given on the command line, written into the
/// output before it is renamed into place. Keys are TagLib's unified property names, upper case
/// ("TITLE", "ARTIST", "ALBUM", "DATE", "GENRE", "TRACKNUMBER", "ISRC", ...), which TagLib maps to
/// each format's own fields: ID3v2.3 frames (MP3, and an "ID3 " chunk in WAV, beside a RIFF
/// INFO list with the basic fields), Vorbis comments (FLAC, Ogg Vorbis, Opus) and MP4 atoms.
#include "engine/core/error.h"
#include "engine/io/audio_writer.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quack {

/// Key -> values (a key may repeat, e.g. two ARTISTs). Ordered, so output is deterministic.
using TagMap = std::map<std::string, std::vector<std::string>>;

/// Limits on what is accepted (from a file or a user): bytes per value, values per key, keys.
inline constexpr size_t kMaxTagValueBytes = 4096;
inline constexpr size_t kMaxTagValues = 16;
inline constexpr size_t kMaxTagKeys = 64;

/// What the user asked for. Plain values; validated by userTags().
struct TagRequest {
    bool carryInput = true;                ///< copy the input's descriptive tags (--no-tags: false)
    std::vector<std::string> assignments;  ///< "KEY=VALUE" as given with --tag, in order
    std::optional<std::string> isrc;       ///< as given with --isrc
};

/// An ISRC (ISO 3901) with or without hyphens, any case ("us-rc1-76-07839"): two letters
/// (country), three letters or digits (registrant), two digits (year), five digits
/// (designation) -> the 12-character upper-case form without hyphens. Error: InvalidArgument.
Result<std::string> normaliseIsrc(std::string_view isrc);

/// The tags a request sets: each "KEY=VALUE" (key: a letter, then letters, digits or '_', at most
/// 64, upper-cased; value: valid UTF-8 without control characters other than newline and tab,
/// at most kMaxTagValueBytes), then the ISRC. A key given twice gets both values; --isrc and
/// --tag ISRC= are the same key. ISRC values are normalised; TRACKNUMBER and DISCNUMBER must be
/// "N" or "N/M". Error: InvalidArgument naming the offending argument.
Result<TagMap> userTags(const TagRequest& request);

/// Tags read from an input file, split into those carried to the output (descriptive: title,
/// artist, album, date, genre, track, ISRC, ... - see tags.cpp) and those dropped because they
/// describe the input's encoding rather than the music (ENCODER, REPLAYGAIN_*, iTunSMPB, ...)
/// or break the limits above. A file without tags, or one TagLib cannot read, has none: reading
/// tags never fails a master.
struct InputTags {
    TagMap carried;
    std::vector<std::string> dropped; ///< keys not carried
};
InputTags readInputTags(const std::string& path);

/// The input's carried tags with the user's on top: a key the user gives replaces the input's
/// values for that key.
TagMap combineTags(const TagMap& carried, const TagMap& user);

/// Replaces every tag in `path` (which holds `format`; the file name need not say so) with
/// `tags`, keeping what the codec requires (vendor strings). Returns the keys the format cannot
/// hold (not written). An empty map removes all tags. Error: WriteFailed.
Result<std::vector<std::string>> writeTags(const std::string& path, OutputFormat format,
                                           const TagMap& tags);

/// What tagFile() did, for the report.
struct TagOutcome {
    TagMap written;                         ///< every tag now in the output
    std::vector<std::string> droppedInput;  ///< input keys not carried (see readInputTags)
    std::vector<std::string> unsupported;   ///< keys the output format cannot hold
};

/// The whole tag step of a master: the input's carried tags (unless !carryInput) combined with
/// `user` (from userTags()), written into `outputPath` (the temporary file, before the rename).
/// When there is nothing to write, the file is left untouched (the writers add no tags).
/// Error: WriteFailed.
Result<TagOutcome> tagFile(const std::string& inputPath, const std::string& outputPath,
                           OutputFormat format, bool carryInput, const TagMap& user);

/// Reads back every tag of a file (for tests and for the report): TagLib's property map.
TagMap readAllTags(const std::string& path);

} // namespace quack
