// openAudioFile(): the checks that need no decoder (existence, readability, size, content vs
// extension), then a back end: libsndfile for WAV/AIFF/FLAC/Ogg, libmpg123 for MPEG audio,
// FFmpeg for AAC/ALAC in MP4 and raw ADTS AAC.
#include "engine/io/audio_source.h"
#include "engine/io/io_detail.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>

namespace quack {

using namespace io_detail;

namespace {

constexpr std::string_view kSupportedList =
    "WAV, AIFF, FLAC, Ogg Vorbis, Opus, MP3 and AAC/ALAC in MP4 (M4A)";

std::string upperFamily(std::string_view family) {
    if (family == "mpeg")
        return "MP3";
    if (family == "ogg")
        return "Ogg";
    if (family == "opus")
        return "Opus";
    if (family == "mp4")
        return "MP4/M4A";
    std::string s(family);
    for (auto& ch : s)
        if (ch >= 'a' && ch <= 'z')
            ch = static_cast<char>(ch - 'a' + 'A');
    return s;
}

} // namespace

Result<std::unique_ptr<AudioSource>> openAudioFile(const std::string& path) {
    const std::string name = displayName(path);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return makeError(ErrorCode::FileNotFound, fileMessage(name, "does not exist"));
        return makeError(ErrorCode::ReadFailed,
                         fileMessage(name, std::string("cannot be read: ") + std::strerror(errno)));
    }
    if (S_ISDIR(st.st_mode))
        return makeError(ErrorCode::ReadFailed, fileMessage(name, "is a directory, not a file"));
    if (!S_ISREG(st.st_mode)) // FIFOs and devices could block forever or never end
        return makeError(ErrorCode::ReadFailed, fileMessage(name, "is not a regular file"));

    FileHandle file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.get() < 0)
        return makeError(ErrorCode::ReadFailed,
                         fileMessage(name, std::string("cannot be read: ") + std::strerror(errno)));
    struct stat fst {};
    if (::fstat(file.get(), &fst) != 0)
        return makeError(ErrorCode::ReadFailed,
                         fileMessage(name, std::string("cannot be read: ") + std::strerror(errno)));
    const std::int64_t size = fst.st_size;
    if (size == 0)
        return makeError(ErrorCode::EmptyFile, fileMessage(name, "is empty (0 bytes)"));

    unsigned char probe = 0;
    if (readAt(file.get(), 0, &probe, 1) != 1)
        return makeError(ErrorCode::ReadFailed,
                         fileMessage(name, std::string("cannot be read: ") + std::strerror(errno)));

    const Sniff sniff = sniffContent(file.get(), size);
    const std::string ext = lowerExtension(path);
    const std::string_view extFamily = extensionFamily(ext);
    const std::string_view family = contentFamily(sniff.kind);
    // Opus is an Ogg codec, so .ogg/.oga may hold Opus; .opus must hold Opus.
    const bool compatible = extFamily.empty() || family.empty() || extFamily == family ||
                            (extFamily == "ogg" && family == "opus");
    if (!compatible)
        return makeError(ErrorCode::FormatMismatch,
                         fileMessage(name, "is named ." + ext + " (" + upperFamily(extFamily) +
                                               ") but contains " +
                                               std::string(contentName(sniff.kind)) +
                                               "; rename it or export it again"));
    if (sniff.kind == ContentKind::Unknown)
        return makeError(ErrorCode::UnsupportedFormat,
                         fileMessage(name, "is not an audio file QuackTracks recognises; "
                                           "supported formats are " +
                                               std::string(kSupportedList)));
    if (!isDecodable(sniff.kind))
        return makeError(ErrorCode::UnsupportedFormat,
                         fileMessage(name, "contains " + std::string(contentName(sniff.kind)) +
                                               ", which QuackTracks does not decode; supported "
                                               "formats are " +
                                               std::string(kSupportedList)));
    if (sniff.kind == ContentKind::Mpeg)
        return openMpegSource(std::move(file), size, sniff, name);
    if (sniff.kind == ContentKind::Mp4 || sniff.kind == ContentKind::Aac)
        return openFfmpegSource(std::move(file), size, sniff, name);
    return openSndfileSource(std::move(file), size, sniff, name);
}

} // namespace quack
