#pragma once
/// Encoding at the engine's edge. The writer receives samples that are already dithered and
/// quantised (see dither.h) for integer formats, and writes them exactly.
#include "engine/core/audio_buffer.h"
#include "engine/core/error.h"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace quack {

enum class OutputFormat { Wav16, Wav24, WavFloat, Flac16, Flac24, Mp3, Vorbis, Opus, Aac };

struct OutputFormatInfo {
    OutputFormat format;
    std::string_view name;      ///< CLI name: "wav16", "wav24", "wav32f", "flac16", "flac24",
                                ///< "mp3", "vorbis", "opus", "aac"
    std::string_view extension; ///< "wav", "flac", "mp3", "ogg", "opus", "m4a"
    int bits;                   ///< quantisation word length; 0 = no quantisation (float, lossy)
    bool lossy;
};

const OutputFormatInfo& outputFormatInfo(OutputFormat format);
/// By CLI name (see OutputFormatInfo::name; "ogg" is an alias of "vorbis", "m4a" of "aac").
/// Error: UnsupportedOutputFormat.
Result<OutputFormat> outputFormatFromName(std::string_view name);
/// The default format for a path's extension: .wav -> Wav24, .flac -> Flac24, .mp3 -> Mp3,
/// .ogg/.oga -> Vorbis, .opus -> Opus, .m4a/.mp4/.aac -> Aac (in an MP4 container).
/// Error: UnsupportedOutputFormat.
Result<OutputFormat> outputFormatFromPath(std::string_view path);

/// The sample rates a codec can encode at, Hz (ascending); empty means any rate the engine
/// accepts (kMinSampleRate..kMaxSampleRate). MP3 at 320 kbps: MPEG-1 rates 32/44.1/48 kHz;
/// Opus: 48 kHz only (the codec's native rate; libopus resamples anything else internally);
/// AAC: 32/44.1/48/88.2/96 kHz (the common AAC-LC rates at which 256 kbps is meaningful).
std::span<const int> codecSampleRates(OutputFormat format);
/// `rate` when the codec can encode at it, otherwise the codec's rate to convert to: the same
/// family (44.1 kHz multiples -> 44100, others -> 48000) when the codec has it.
int codecOutputRate(OutputFormat format, int rate);
/// Why codecOutputRate() changed a rate, for the report ("Opus encodes at 48 kHz only").
std::string_view codecRateReason(OutputFormat format);

struct WriterOptions {
    OutputFormat format = OutputFormat::Wav24;
    int sampleRate = 44100;
    ChannelCount channels = 2;
    int mp3BitrateKbps = 320;       ///< constant bit rate for Mp3
    double vorbisQuality = 0.8;     ///< Vorbis VBR quality 0..1 (0.8: ~256 kbps nominal stereo)
    int opusBitrateKbps = 256;      ///< Opus VBR target for stereo (half of it for mono), 32..512
    int aacBitrateKbps = 256;       ///< AAC-LC target for stereo (half of it for mono), 64..320
};

class AudioWriter {
  public:
    virtual ~AudioWriter() = default;
    /// Appends a block. For integer formats every sample must already lie on the format's grid
    /// (k / 2^(bits-1), clamped to [-1, 1 - 2^-(bits-1)]); it is then stored bit-exactly.
    virtual Status write(ConstAudioView block) = 0;
    /// Flushes and closes; the file is complete only after this returns success.
    virtual Status close() = 0;
};

/// Creates (truncates) `path`. Error: WriteFailed, UnsupportedOutputFormat, InvalidArgument
/// (channels not 1..2, rate outside the engine's range or not in codecSampleRates(), a bit rate
/// that is not an MPEG-1 layer III rate, or a Vorbis quality / Opus / AAC bit rate out of range).
///
/// Integer formats: each sample is rounded to the nearest step and clamped, which stores on-grid
/// input exactly (a decode gives back the same floats). write() refuses NaN/Inf
/// (InvalidArgument). Output is deterministic (same samples -> byte-identical file, whatever
/// the block sizes; for Ogg the stream serial number is derived from the encoded content, not
/// drawn at random) and carries no metadata: no PEAK/LIST chunks, Vorbis comments, ID3 tags
/// or MP4 metadata atoms. What each codec requires stays: libFLAC's, libvorbis's and libopus's
/// vendor strings, LAME's Info tag (gapless length), and the MP4 boxes a player needs
/// (ftyp, moov with an edit list for the AAC priming, mdat; no encoder name, time stamps 0).
Result<std::unique_ptr<AudioWriter>> createAudioWriter(const std::string& path,
                                                       const WriterOptions& options);

/// A path in the same directory as `finalPath` for writing before an atomic rename:
/// "<dir>/.<name>.<pid>-<counter>-<salt>.tmp" (hidden; unique across threads and processes).
std::string temporaryPathBeside(const std::string& finalPath);
/// fsyncs `tempPath`, then atomically renames it to `finalPath` (replacing it). Error:
/// WriteFailed; on failure `tempPath` is left in place for the caller to remove.
Status commitFile(const std::string& tempPath, const std::string& finalPath);

} // namespace quack
