// Tags through TagLib 1.13's unified property interface (PropertyMap), which maps the same
// keys onto ID3v2 frames, Vorbis comments and MP4 atoms. What we never write: encoder or
// software names, dates of encoding, ReplayGain or loudness values of the input (they describe
// a different file), pictures (not in a PropertyMap in 1.13; not carried). What stays because
// the codec requires it: the vendor string of a Vorbis comment block (libFLAC, libvorbis,
// libopus) and LAME's Info frame in MP3.
#include "engine/io/tags.h"
#include "engine/io/io_detail.h"

#ifndef QUACK_PORTABLE_IO
#include <taglib/fileref.h>
#include <taglib/flacfile.h>
#include <taglib/id3v2.h>
#include <taglib/infotag.h>
#include <taglib/mp4file.h>
#include <taglib/mpegfile.h>
#include <taglib/opusfile.h>
#include <taglib/tdebuglistener.h>
#include <taglib/tpropertymap.h>
#include <taglib/vorbisfile.h>
#include <taglib/wavfile.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>

namespace quack {
namespace {

/// Descriptive keys carried from an input: facts about the music and its release, which stay
/// true after mastering. Anything else (ENCODER, ENCODEDBY, ENCODERSETTINGS, REPLAYGAIN_*,
/// ITUNSMPB, ITUNNORM, LENGTH, ...) describes the input file's encoding and is dropped.
[[maybe_unused]] constexpr std::array<std::string_view, 33> kCarriedKeys = {
    "ALBUM",         "ALBUMARTIST", "ALBUMARTISTSORT", "ALBUMSORT",   "ARRANGER",
    "ARTIST",        "ARTISTSORT",  "BARCODE",         "BPM",         "CATALOGNUMBER",
    "COMMENT",       "COMPILATION", "COMPOSER",        "COMPOSERSORT", "CONDUCTOR",
    "COPYRIGHT",     "DATE",        "DISCNUMBER",      "DISCSUBTITLE", "GENRE",
    "ISRC",          "LABEL",       "LANGUAGE",        "LYRICIST",    "LYRICS",
    "MOOD",          "ORIGINALDATE", "PRODUCER",       "RELEASEDATE", "SUBTITLE",
    "TITLE",         "TITLESORT",   "TRACKNUMBER",
};

#ifndef QUACK_PORTABLE_IO
/// TagLib prints parse warnings through a global listener in debug builds; library code must
/// not print, so a silent listener is installed once.
class SilentListener final : public TagLib::DebugListener {
  public:
    void printMessage(const TagLib::String&) override {}
};

void ensureTagLibQuiet() {
    static std::once_flag once;
    static SilentListener listener;
    std::call_once(once, [] { TagLib::setDebugListener(&listener); });
}
#endif

bool validUtf8Text(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                return false;
            ++i;
            continue;
        }
        int extra = 0;
        if (c >= 0xC2 && c <= 0xDF)
            extra = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            extra = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            extra = 3;
        else
            return false; // continuation byte first, overlong lead (C0, C1) or beyond U+10FFFF
        if (i + static_cast<size_t>(extra) >= s.size())
            return false;
        std::uint32_t cp = c & (0x3Fu >> extra);
        for (int k = 1; k <= extra; ++k) {
            const auto d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
            if ((d & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3Fu);
        }
        // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8.
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += static_cast<size_t>(extra) + 1;
    }
    return true;
}

bool validKey(std::string_view key) {
    if (key.empty() || key.size() > 64 || !std::isalpha(static_cast<unsigned char>(key[0])))
        return false;
    return std::all_of(key.begin(), key.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
    });
}

std::string upperAscii(std::string_view s) {
    std::string u(s);
    for (auto& ch : u)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return u;
}

bool validNumberPair(std::string_view v) {
    // "N" or "N/M", digits only, short.
    const auto slash = v.find('/');
    auto digits = [](std::string_view d) {
        return !d.empty() && d.size() <= 6 &&
               std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    };
    return slash == std::string_view::npos ? digits(v)
                                           : digits(v.substr(0, slash)) && digits(v.substr(slash + 1));
}

#ifndef QUACK_PORTABLE_IO
TagLib::String toTagLib(const std::string& s) { return TagLib::String(s, TagLib::String::UTF8); }
std::string fromTagLib(const TagLib::String& s) { return s.to8Bit(true); }

TagLib::PropertyMap toPropertyMap(const TagMap& tags) {
    TagLib::PropertyMap map;
    for (const auto& [key, values] : tags) {
        TagLib::StringList list;
        for (const auto& v : values)
            list.append(toTagLib(v));
        map.insert(toTagLib(key), list);
    }
    return map;
}

TagMap fromPropertyMap(const TagLib::PropertyMap& map) {
    TagMap tags;
    for (const auto& [key, values] : map) {
        auto& out = tags[fromTagLib(key)];
        for (const auto& v : values)
            out.push_back(fromTagLib(v));
    }
    return tags;
}

std::vector<std::string> keysOf(const TagLib::PropertyMap& map) {
    std::vector<std::string> keys;
    for (const auto& [key, values] : map)
        keys.push_back(fromTagLib(key));
    std::sort(keys.begin(), keys.end());
    return keys;
}

/// RIFF INFO holds only the basic fields; ID3v2 (the "ID3 " chunk) holds the rest.
void setInfoBasics(TagLib::RIFF::Info::Tag& info, const TagMap& tags) {
    auto first = [&](const char* key) -> std::string {
        auto it = tags.find(key);
        return it == tags.end() || it->second.empty() ? std::string() : it->second.front();
    };
    info.setTitle(toTagLib(first("TITLE")));
    info.setArtist(toTagLib(first("ARTIST")));
    info.setAlbum(toTagLib(first("ALBUM")));
    info.setGenre(toTagLib(first("GENRE")));
    info.setComment(toTagLib(first("COMMENT")));
    const std::string date = first("DATE");
    info.setYear(date.size() >= 4 && validNumberPair(date.substr(0, 4))
                     ? static_cast<unsigned>(std::stoul(date.substr(0, 4)))
                     : 0u);
    const std::string track = first("TRACKNUMBER");
    info.setTrack(validNumberPair(track) ? static_cast<unsigned>(std::stoul(track)) : 0u);
}

#endif

} // namespace

Result<std::string> normaliseIsrc(std::string_view isrc) {
    std::string code;
    for (char ch : isrc)
        if (ch != '-')
            code += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto bad = [&] {
        std::string m = "'";
        m += isrc.substr(0, 64);
        m += "' is not an ISRC; the form is CC-XXX-YY-NNNNN (country letters, registrant "
             "letters or digits, year digits, designation digits), 12 characters without the "
             "hyphens";
        return makeError(ErrorCode::InvalidArgument, m);
    };
    if (code.size() != 12)
        return bad();
    for (size_t i = 0; i < 12; ++i) {
        const auto ch = static_cast<unsigned char>(code[i]);
        const bool ok = i < 2 ? std::isupper(ch) != 0
                              : (i < 5 ? (std::isupper(ch) || std::isdigit(ch)) : std::isdigit(ch) != 0);
        if (!ok)
            return bad();
    }
    return code;
}

Result<TagMap> userTags(const TagRequest& request) {
    TagMap tags;
    auto add = [&](const std::string& key, std::string value, std::string_view given) -> Status {
        if (key == "ISRC") {
            auto isrc = normaliseIsrc(value);
            if (!isrc)
                return isrc.error();
            value = *isrc;
        }
        if ((key == "TRACKNUMBER" || key == "DISCNUMBER") && !validNumberPair(value))
            return makeError(ErrorCode::InvalidArgument,
                             "--tag " + std::string(given.substr(0, 80)) + ": " + key +
                                 " must be a number or N/M, e.g. 3/12");
        auto& values = tags[key];
        if (values.size() >= kMaxTagValues || tags.size() > kMaxTagKeys)
            return makeError(ErrorCode::InvalidArgument, "too many --tag values (at most " +
                                                             std::to_string(kMaxTagValues) +
                                                             " per key and " +
                                                             std::to_string(kMaxTagKeys) + " keys)");
        values.push_back(std::move(value));
        return {};
    };
    for (const auto& a : request.assignments) {
        const auto eq = a.find('=');
        const std::string key = upperAscii(eq == std::string::npos ? a : a.substr(0, eq));
        if (eq == std::string::npos || !validKey(key))
            return makeError(ErrorCode::InvalidArgument,
                             "--tag '" + a.substr(0, 80) +
                                 "' must be KEY=VALUE with a key of letters, digits and '_' "
                                 "starting with a letter (e.g. TITLE=My Song)");
        std::string value = a.substr(eq + 1);
        if (value.empty() || value.size() > kMaxTagValueBytes || !validUtf8Text(value))
            return makeError(ErrorCode::InvalidArgument,
                             "--tag " + key + ": the value must be 1 to " +
                                 std::to_string(kMaxTagValueBytes) +
                                 " bytes of UTF-8 text without control characters");
        if (auto s = add(key, std::move(value), a); !s)
            return s.error();
    }
    if (request.isrc)
        if (auto s = add("ISRC", *request.isrc, *request.isrc); !s)
            return s.error();
    return tags;
}

#ifdef QUACK_PORTABLE_IO
// The WebAssembly build has no TagLib: an input's tags are not read (none are carried) and
// tags asked for are reported as not written (unsupported), never silently lost.
InputTags readInputTags(const std::string&) { return {}; }
#else
InputTags readInputTags(const std::string& path) {
    ensureTagLibQuiet();
    InputTags result;
    TagLib::FileRef file(path.c_str(), false);
    if (file.isNull())
        return result;
    TagMap all = fromPropertyMap(file.file()->properties());
    // Formats with several tags (WAV: ID3v2 and INFO) expose only one through properties();
    // the basic fields of the others come through the merged tag().
    if (const TagLib::Tag* t = file.tag()) {
        auto fill = [&](const char* key, const TagLib::String& v) {
            if (!v.isEmpty() && !all.count(key))
                all[key] = {fromTagLib(v)};
        };
        fill("TITLE", t->title());
        fill("ARTIST", t->artist());
        fill("ALBUM", t->album());
        fill("GENRE", t->genre());
        fill("COMMENT", t->comment());
        if (t->year() > 0 && !all.count("DATE"))
            all["DATE"] = {std::to_string(t->year())};
        if (t->track() > 0 && !all.count("TRACKNUMBER"))
            all["TRACKNUMBER"] = {std::to_string(t->track())};
    }
    for (auto& [key, values] : all) {
        const bool known = std::find(kCarriedKeys.begin(), kCarriedKeys.end(), key) != kCarriedKeys.end();
        std::vector<std::string> kept;
        for (auto& v : values) {
            if (v.empty() || v.size() > kMaxTagValueBytes || !validUtf8Text(v))
                continue;
            if (key == "ISRC") {
                auto isrc = normaliseIsrc(v);
                if (!isrc)
                    continue;
                v = *isrc;
            }
            if (kept.size() < kMaxTagValues)
                kept.push_back(v);
        }
        if (!known || kept.empty() || result.carried.size() >= kMaxTagKeys)
            result.dropped.push_back(key);
        else
            result.carried[key] = std::move(kept);
    }
    return result;
}

#endif

TagMap combineTags(const TagMap& carried, const TagMap& user) {
    TagMap out = carried;
    for (const auto& [key, values] : user)
        out[key] = values;
    return out;
}

#ifdef QUACK_PORTABLE_IO
Result<std::vector<std::string>> writeTags(const std::string&, OutputFormat, const TagMap& tags) {
    std::vector<std::string> keys;
    for (const auto& [key, values] : tags)
        keys.push_back(key);
    return keys;
}
#else
Result<std::vector<std::string>> writeTags(const std::string& path, OutputFormat format,
                                           const TagMap& tags) {
    ensureTagLibQuiet();
    const std::string name = io_detail::displayName(path);
    auto failed = [&](const char* why) {
        return makeError(ErrorCode::WriteFailed,
                         io_detail::fileMessage(name, std::string("cannot be tagged: ") + why));
    };
    const TagLib::PropertyMap wanted = toPropertyMap(tags);
    TagLib::PropertyMap unsupported;
    bool saved = false;
    switch (format) {
    case OutputFormat::Wav16:
    case OutputFormat::Wav24:
    case OutputFormat::WavFloat: {
        TagLib::RIFF::WAV::File f(path.c_str(), false);
        if (!f.isValid())
            return failed("TagLib cannot parse the WAV file");
        unsupported = f.setProperties(wanted);
        setInfoBasics(*f.InfoTag(), tags);
        saved = f.save(TagLib::RIFF::WAV::File::AllTags, TagLib::File::StripOthers, TagLib::ID3v2::v3);
        break;
    }
    case OutputFormat::Flac16:
    case OutputFormat::Flac24: {
        TagLib::FLAC::File f(path.c_str(), false);
        if (!f.isValid())
            return failed("TagLib cannot parse the FLAC file");
        unsupported = f.setProperties(wanted);
        saved = f.save();
        break;
    }
    case OutputFormat::Mp3: {
        TagLib::MPEG::File f(path.c_str(), false);
        if (!f.isValid())
            return failed("TagLib cannot parse the MP3 file");
        unsupported = f.setProperties(wanted);
        // ID3v2.3: what Windows and older players read (2.4 is not understood everywhere).
        saved = f.save(TagLib::MPEG::File::ID3v2, TagLib::File::StripOthers, TagLib::ID3v2::v3,
                       TagLib::File::DoNotDuplicate);
        break;
    }
    case OutputFormat::Vorbis: {
        TagLib::Ogg::Vorbis::File f(path.c_str(), false);
        if (!f.isValid())
            return failed("TagLib cannot parse the Ogg Vorbis file");
        unsupported = f.setProperties(wanted);
        saved = f.save();
        break;
    }
    case OutputFormat::Opus: {
        TagLib::Ogg::Opus::File f(path.c_str(), false);
        if (!f.isValid())
            return failed("TagLib cannot parse the Opus file");
        unsupported = f.setProperties(wanted);
        saved = f.save();
        break;
    }
    case OutputFormat::Aac: {
        TagLib::MP4::File f(path.c_str(), false);
        if (!f.isValid())
            return failed("TagLib cannot parse the MP4 file");
        unsupported = f.setProperties(wanted);
        saved = f.save();
        break;
    }
    }
    if (!saved)
        return failed("TagLib could not save the file");
    return keysOf(unsupported);
}
#endif

Result<TagOutcome> tagFile(const std::string& inputPath, const std::string& outputPath,
                           OutputFormat format, bool carryInput, const TagMap& user) {
    TagOutcome outcome;
    TagMap carried;
    if (carryInput) {
        InputTags in = readInputTags(inputPath);
        carried = std::move(in.carried);
        outcome.droppedInput = std::move(in.dropped);
    }
    outcome.written = combineTags(carried, user);
    if (outcome.written.empty())
        return outcome;
    auto unsupported = writeTags(outputPath, format, outcome.written);
    if (!unsupported)
        return unsupported.error();
    for (const auto& key : *unsupported)
        outcome.written.erase(key);
    outcome.unsupported = std::move(unsupported).value();
    return outcome;
}

#ifdef QUACK_PORTABLE_IO
TagMap readAllTags(const std::string&) { return {}; }
#else
TagMap readAllTags(const std::string& path) {
    ensureTagLibQuiet();
    TagLib::FileRef file(path.c_str(), false);
    if (file.isNull())
        return {};
    return fromPropertyMap(file.file()->properties());
}
#endif

} // namespace quack
