#pragma once
/// Recognises audio containers by their first bytes, so an upload of the wrong type is refused
/// on its first chunk instead of after gigabytes. A cheap gate, not a validator: the engine's
/// decoder still checks the whole file.
#include <cstddef>
#include <span>

namespace quack::service {

/// Bytes looksLikeAudio wants to see (an ID3v2 tag header plus a frame sync is not needed:
/// "ID3" alone is accepted). Shorter heads are judged on what they have.
inline constexpr std::size_t kSniffBytes = 12;

/// WAV (RIFF/RF64/BW64 ... WAVE), AIFF/AIFC (FORM ... AIFF|AIFC), FLAC ("fLaC"), Ogg ("OggS"),
/// MP3 (an ID3v2 tag, or an MPEG audio frame sync 0xFFE with a valid layer, bit rate and
/// sample rate), MP4/M4A with AAC or ALAC ("ftyp" at offset 4) and raw ADTS AAC.
bool looksLikeAudio(std::span<const unsigned char> head);

} // namespace quack::service
