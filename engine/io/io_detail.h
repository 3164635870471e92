#pragma once
/// Private helpers of the io component (not part of its public interface): file handles,
/// content sniffing, header parsing and the decoder back ends behind openAudioFile().
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace quack::io_detail {

/// Owns a POSIX file descriptor; closes it on destruction. Move-only.
class FileHandle {
  public:
    FileHandle() = default;
    explicit FileHandle(int fd) : fd_(fd) {}
    FileHandle(FileHandle&& other) noexcept : fd_(other.release()) {}
    FileHandle& operator=(FileHandle&& other) noexcept;
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;
    ~FileHandle();

    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_ = -1;
};

/// Reads up to `size` bytes at `offset` (retrying on EINTR and short reads); returns the count
/// read, or -1 on an I/O error.
std::int64_t readAt(int fd, std::int64_t offset, void* data, std::int64_t size);

/// The last path component, for messages (a server path is not shown to users).
std::string displayName(const std::string& path);
/// The extension without the dot, lower-cased; empty when there is none.
std::string lowerExtension(std::string_view path);

/// What the first bytes of a file say it is.
enum class ContentKind {
    Unknown,
    Wav,       ///< RIFF/RIFX WAVE
    Rf64,      ///< RF64 WAVE (large WAV)
    Aiff,      ///< FORM AIFF / AIFC
    Flac,      ///< native FLAC ("fLaC")
    OggVorbis, ///< Ogg with a Vorbis first stream
    OggOpus,   ///< Ogg with an Opus first stream
    OggOther,  ///< Ogg with another codec (FLAC-in-Ogg, Speex, Theora...): not decoded
    Mpeg,      ///< MPEG-1/2/2.5 audio layer I/II/III, optionally behind an ID3v2 tag
    // Recognised but not decoded; named in messages so users know what they uploaded.
    Mp4,
    Caf,
    Au,
    W64,
    Asf,
    Matroska,
    Midi,
    Ape,
    WavPack,
    Aac,
};

struct Sniff {
    ContentKind kind = ContentKind::Unknown;
    std::int64_t mpegOffset = 0;   ///< byte offset of the first MPEG frame (after ID3v2)
    int mpegLayer = 0;             ///< 1, 2 or 3 for Mpeg
    bool mpegHasLengthTag = false; ///< a Xing/Info/VBRI frame count is present (exact length)
};

/// Identifies the content from its bytes only (never the name). An MPEG stream without ID3 is
/// recognised only by two consecutive valid frame headers within the first 64 KiB, so that
/// random data is not mistaken for MP3.
Sniff sniffContent(int fd, std::int64_t fileSize);

/// Human name of a content kind for messages ("WAV", "MP4/M4A", ...).
std::string_view contentName(ContentKind kind);
/// True for the kinds openAudioFile decodes.
bool isDecodable(ContentKind kind);
/// The format family an extension promises ("wav", "aiff", "flac", "ogg", "opus", "mpeg"), or
/// empty for an unknown or missing extension.
std::string_view extensionFamily(std::string_view lowerExt);
/// The family of a content kind, comparable with extensionFamily().
std::string_view contentFamily(ContentKind kind);

/// Frames that a WAV (RIFF/RIFX) or AIFF header declares, from the data/SSND chunk size or
/// the COMM frame count; -1 when unknown (streamed WAV placeholders 0, 0x7FFFF000..0xFFFFFFFF,
/// RF64, compressed AIFC, or a header we cannot walk). Used to detect truncation, which
/// libsndfile hides by clamping its frame count to the bytes present, and to reject
/// over-long files from the header alone.
std::int64_t declaredPcmFrames(int fd, std::int64_t fileSize, ContentKind kind);

/// Checks a freshly opened stream's header facts, in this order: channels, sample rate,
/// duration (TooLong, from max(frames, declaredFrames) before any decoding), truncation
/// (declaredFrames > frames: CorruptFile), NoAudio.
Status validateHeader(const AudioFileInfo& info, std::int64_t declaredFrames,
                      const std::string& name);

/// Decoder back ends. Both take ownership of `file`.
Result<std::unique_ptr<AudioSource>> openSndfileSource(FileHandle file, std::int64_t fileSize,
                                                       const Sniff& sniff,
                                                       const std::string& name);
Result<std::unique_ptr<AudioSource>> openMpegSource(FileHandle file, std::int64_t fileSize,
                                                    const Sniff& sniff, const std::string& name);
/// FFmpeg (libavformat + libavcodec) back end for AAC or ALAC in MP4/M4A and raw ADTS AAC.
Result<std::unique_ptr<AudioSource>> openFfmpegSource(FileHandle file, std::int64_t fileSize,
                                                      const Sniff& sniff, const std::string& name);

/// The AAC-in-MP4 encoder behind createAudioWriter() (aac_writer.cpp); options are validated
/// by the caller except the AAC bit rate.
Result<std::unique_ptr<AudioWriter>> createAacWriter(const std::string& path,
                                                     const WriterOptions& options);

/// Rewrites the serial number of a single-stream Ogg file in place with a value derived from
/// the file's content (FNV-1a of every page body), and the page checksums with it, so that the
/// same audio gives the same bytes (libsndfile draws the serial at random). Error: WriteFailed
/// (I/O error, or the file is not a well-formed single-stream Ogg file).
Status normaliseOggSerial(const std::string& path, const std::string& name);

/// "'name' " + text (text starts with a verb), the shape of every message this component
/// produces. Only the last path component is shown.
std::string fileMessage(const std::string& name, std::string_view text);
/// "1 h 02 min 03 s" / "4.52 s" for messages.
std::string formatDuration(double seconds);

/// Returns the index of the first non-finite value in data[0..count), or -1.
std::int64_t firstNonFinite(const float* data, std::int64_t count);

} // namespace quack::io_detail
