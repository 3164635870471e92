#pragma once
/// Encoding at the engine's edge. The writer receives samples that are already dithered and
/// quantised (see dither.h) for integer formats, and writes them exactly.
#include "engine/core/audio_buffer.h"
#include "engine/core/error.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace quack {

enum class OutputFormat { Wav16, Wav24, WavFloat, Flac16, Flac24, Mp3 };

struct OutputFormatInfo {
    OutputFormat format;
    std::string_view name;      ///< CLI name: "wav16", "wav24", "wav32f", "flac16", "flac24", "mp3"
    std::string_view extension; ///< "wav", "flac", "mp3"
    int bits;                   ///< quantisation word length; 0 = no quantisation (float, mp3)
    bool lossy;
};

const OutputFormatInfo& outputFormatInfo(OutputFormat format);
/// By CLI name (see OutputFormatInfo::name). Error: UnsupportedOutputFormat.
Result<OutputFormat> outputFormatFromName(std::string_view name);
/// The default format for a path's extension: .wav -> Wav24, .flac -> Flac24, .mp3 -> Mp3.
/// Error: UnsupportedOutputFormat.
Result<OutputFormat> outputFormatFromPath(std::string_view path);

struct WriterOptions {
    OutputFormat format = OutputFormat::Wav24;
    int sampleRate = 44100;
    ChannelCount channels = 2;
    int mp3BitrateKbps = 320; ///< constant bit rate for Mp3
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
/// (channels not 1..2, rate outside the engine's range, MP3 at a rate other than 32000, 44100
/// or 48000 Hz, or a bit rate that is not an MPEG-1 layer III rate).
///
/// Integer formats: each sample is rounded to the nearest step and clamped, which stores on-grid
/// input exactly (a decode gives back the same floats). write() refuses NaN/Inf
/// (InvalidArgument). Output is deterministic (same samples -> byte-identical file, whatever
/// the block sizes) and carries no metadata: no PEAK/LIST chunks, Vorbis comments or ID3 tags
/// (FLAC keeps libFLAC's vendor string, MP3 LAME's Info tag).
Result<std::unique_ptr<AudioWriter>> createAudioWriter(const std::string& path,
                                                       const WriterOptions& options);

/// A path in the same directory as `finalPath` for writing before an atomic rename:
/// "<dir>/.<name>.<pid>-<counter>-<salt>.tmp" (hidden; unique across threads and processes).
std::string temporaryPathBeside(const std::string& finalPath);
/// fsyncs `tempPath`, then atomically renames it to `finalPath` (replacing it). Error:
/// WriteFailed; on failure `tempPath` is left in place for the caller to remove.
Status commitFile(const std::string& tempPath, const std::string& finalPath);

} // namespace quack
