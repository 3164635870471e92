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
    std::string container;          ///< "wav", "aiff", "flac", "ogg", "opus", "mp3"
    std::string encoding;           ///< "pcm_16", "pcm_24", "pcm_32", "pcm_u8", "float", "double",
                                    ///< "vorbis", "opus", "mp3", ...
    int bitsPerSample = 0;          ///< 0 for lossy codecs
    bool lossy = false;
};

/// A rewindable stream of planar float audio.
class AudioSource {
  public:
    virtual ~AudioSource() = default;
    virtual const AudioFileInfo& info() const = 0;
    /// Fills up to block.numFrames frames (block.numChannels == info().channels); returns the
    /// count read, 0 at the end. Errors: CorruptFile (truncated/damaged), InvalidSamples (NaN/Inf).
    virtual Result<FrameCount> read(AudioView block) = 0;
    /// Back to the first frame, for another pass.
    virtual Status rewind() = 0;
};

/// Opens and validates an audio file: WAV/AIFF (8/16/24/32-bit int, float), FLAC, Ogg Vorbis,
/// Opus, MP3. Errors: FileNotFound, ReadFailed, EmptyFile, UnsupportedFormat, FormatMismatch,
/// CorruptFile, NoAudio, TooManyChannels, UnsupportedSampleRate, TooLong.
Result<std::unique_ptr<AudioSource>> openAudioFile(const std::string& path);

/// Wraps a source and converts it to `outputRate` with libsoxr (very high quality). The
/// returned source's info() reports the new rate and frame count.
Result<std::unique_ptr<AudioSource>> makeResamplingSource(std::unique_ptr<AudioSource> source,
                                                          int outputRate);

} // namespace quack
