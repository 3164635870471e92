#pragma once
/// Decoding at the engine's edge: files in, planar float blocks out. All validation of input
/// files happens here and is reported as Error values with stable codes.
#include "engine/core/audio_buffer.h"
#include "engine/core/error.h"

#include <memory>
#include <string>

namespace quack {

struct AudioFileInfo {
    int sampleRate = 0;
    ChannelCount channels = 0;
    FrameCount frames = 0;          ///< total frames (exact for PCM/FLAC; decoder's count for lossy)
    double durationSeconds = 0.0;
    std::string container;          ///< "wav", "aiff", "flac", "ogg", "opus", "mp3", "mp4", "aac"
    std::string encoding;           ///< "pcm_16", "pcm_24", "pcm_32", "pcm_u8", "float", "double",
                                    ///< "vorbis", "opus", "mp3", "aac", "alac", ...
    int bitsPerSample = 0;          ///< 0 for lossy codecs
    bool lossy = false;
};

/// A rewindable stream of planar float audio. Not thread-safe; one reader at a time.
class AudioSource {
  public:
    virtual ~AudioSource() = default;
    virtual const AudioFileInfo& info() const = 0;
    /// Fills up to block.numFrames frames (block.numChannels == info().channels); returns the
    /// count read, 0 at the end. Errors: CorruptFile (truncated/damaged), InvalidSamples (NaN/Inf).
    virtual Result<FrameCount> read(AudioView block) = 0;
    /// Back to the first frame, for another pass. File sources re-open their decoder, so the
    /// next pass yields bit-identical samples (for lossy codecs too), whatever the block sizes.
    /// Clears a previous read() error. Errors: ReadFailed (the file changed or vanished).
    virtual Status rewind() = 0;
};

/// Opens and validates an audio file: WAV/AIFF (8/16/24/32-bit int, float), FLAC, Ogg Vorbis,
/// Opus, MP3, AAC or ALAC in MP4/M4A, raw ADTS AAC. Errors: FileNotFound, ReadFailed, EmptyFile, UnsupportedFormat, FormatMismatch,
/// CorruptFile, NoAudio, TooManyChannels, UnsupportedSampleRate, TooLong.
///
/// The format is identified from the content, never the name; a known extension that
/// contradicts the content is FormatMismatch (unknown or missing extensions are fine, and
/// .ogg may hold Opus). Header checks run before any decoding, in this order: channels, sample
/// rate, duration (TooLong uses the header's declared length), truncation of WAV/AIFF (declared
/// data longer than the file: CorruptFile), zero frames (NoAudio). read() reports the rest:
/// NaN/Inf samples, decoder errors, and, at the end of the stream, fewer frames than the header
/// promised (CorruptFile). For Vorbis, Opus, MP3 and MP4 the header count (Ogg granule position,
/// LAME/Xing tag, MP4 edit list) may differ slightly from the decoded count, so only a shortfall
/// above 10% is called truncation, and an MP3 without a Xing/Info/VBRI tag (whose length
/// mpg123 estimates from the file size) or an ADTS stream (no length field) is never called
/// truncated. An MP4 without an audio track is NoAudio; one whose audio is neither AAC nor
/// ALAC is UnsupportedFormat. Messages name the file by its last path
/// component only. The file is streamed in blocks; it is never held in memory.
Result<std::unique_ptr<AudioSource>> openAudioFile(const std::string& path);

/// Wraps a source and converts it to `outputRate` with libsoxr (very high quality). The
/// returned source's info() reports the new rate and frame count.
///
/// Length: exactly round_half_up(inputFrames * outputRate / inputRate) frames are delivered,
/// where inputFrames is what the source actually produced (soxr's tail is trimmed or
/// zero-padded to that); info().frames applies the same formula to the source's info().frames.
/// The output does not depend on the caller's block sizes, and rewind() (source rewind + soxr
/// clear) repeats it bit-identically. Same rate: returns `source` itself. Errors:
/// InvalidArgument (outputRate outside [kMinSampleRate, kMaxSampleRate]), Internal (soxr);
/// read() passes the source's errors through.
Result<std::unique_ptr<AudioSource>> makeResamplingSource(std::unique_ptr<AudioSource> source,
                                                          int outputRate);

} // namespace quack
