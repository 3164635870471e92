#pragma once
/// Portable C++ decoders and encoders for WAV and FLAC, with no library below them: the io back
/// ends of the WebAssembly build (Debian has no emscripten builds of libsndfile or libFLAC). They
/// sit behind the same AudioSource / AudioWriter interfaces and give the same errors, sample
/// values and (for WAV) bytes as the libsndfile back ends; wasm_backends.cpp plugs them in.
/// Native tests decode libsndfile's files with them and theirs with libsndfile.
#include "engine/io/io_detail.h"

#include <memory>
#include <string>

namespace quack::portable_io {

/// RIFF WAV: PCM 8 (unsigned), 16, 24, 32-bit, float 32/64, plain or WAVE_FORMAT_EXTENSIBLE.
/// RIFX, RF64 and compressed WAV (ADPCM, mu-law...) are UnsupportedFormat here. Samples are the
/// values libsndfile gives (k / 2^(bits-1), exact in float). Same header checks as native
/// (validateHeader). Takes ownership of `file`.
Result<std::unique_ptr<AudioSource>> openWavSource(io_detail::FileHandle file, std::int64_t fileSize,
                                                   const std::string& name);

/// Native FLAC (optionally behind an ID3v2 tag), 8, 16 or 24 bits per sample, 1 or 2 channels:
/// every subframe type (constant, verbatim, fixed, LPC), both Rice codings and escapes, every
/// stereo decorrelation; each frame's CRC-8 and CRC-16 are checked (a mismatch is CorruptFile,
/// where libFLAC would conceal the frame with silence). Takes ownership of `file`.
Result<std::unique_ptr<AudioSource>> openFlacSource(io_detail::FileHandle file, std::int64_t fileSize,
                                                    const std::string& name);

/// Creates (truncates) `path` and writes WAV with libsndfile's layout: 16/24-bit PCM with a
/// 16-byte fmt chunk; float with a fact chunk and libsndfile's 24-byte PAD chunk (so the bytes
/// match the native writer's). Options are validated by createAudioWriter().
Result<std::unique_ptr<AudioWriter>> createWavWriter(const std::string& path, const WriterOptions& options);

/// Creates (truncates) `path` and writes FLAC 16/24-bit: fixed 4096-frame blocks, fixed
/// predictors of order 0-4 with partitioned Rice coding (no LPC), the best of the four stereo
/// decorrelations per frame; STREAMINFO (with frame sizes and the length, MD5 zero = "not
/// computed", which the format allows) and a vendor comment. Lossless and deterministic, but
/// not libFLAC's bytes and some 5-10% larger. See docs/decisions/0007-wasm-engine.md.
Result<std::unique_ptr<AudioWriter>> createFlacWriter(const std::string& path, const WriterOptions& options);

} // namespace quack::portable_io
