#pragma once
/// Optional trims: leading and trailing digital silence removed from the mix before mastering,
/// and fade-in/fade-out shapes applied to the master (fades.h-style gains, used by the render).
#include "engine/io/audio_source.h"

#include <memory>

namespace quack {

/// Samples at or under this magnitude count as digital silence: -90 dBFS, about one 16-bit
/// LSB, so the dither noise of a 16-bit file's silent lead-in is trimmed with it.
inline constexpr float kDigitalSilence = 3.1623e-5f;
/// Longest fade accepted, ms.
inline constexpr double kMaxFadeMs = 60000.0;

/// Frames [start, start + frames) hold everything louder than digital silence.
struct SoundRange {
    FrameCount start = 0;
    FrameCount frames = 0; ///< 0 when the whole source is digital silence
};

/// One pass over `source` (rewound before and after). Errors: the source's read errors.
Result<SoundRange> findSoundRange(AudioSource& source);

/// The frames of `range` of `inner`, as a source of its own (info().frames = range.frames,
/// duration to match). rewind() rewinds the inner source. The inner source must outlive it.
std::unique_ptr<AudioSource> makeTrimmedSource(AudioSource& inner, SoundRange range);

/// Fade gains: raised-cosine (equal-power would dip the sum; a cosine ramp is the usual
/// mastering fade), in from 0 over fadeInFrames at the start, out to 0 over fadeOutFrames at
/// the end of a `totalFrames`-long file. gainAt() is 1 outside the fades.
struct FadeShape {
    FrameCount totalFrames = 0;
    FrameCount fadeInFrames = 0;
    FrameCount fadeOutFrames = 0;
    bool active() const { return fadeInFrames > 0 || fadeOutFrames > 0; }
    double gainAt(FrameCount frame) const;
    /// Multiplies block (whose first frame is `firstFrame` of the file) by the fade gains.
    void apply(AudioView block, FrameCount firstFrame) const;
};

} // namespace quack
