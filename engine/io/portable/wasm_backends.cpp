// The io back ends of the WebAssembly build (only that build compiles this file): WAV and FLAC
// go to the portable codecs; the formats whose libraries Debian does not build for emscripten
// (AIFF, Ogg Vorbis/Opus, MP3, AAC/ALAC in MP4) are refused with UnsupportedFormat, which the
// service routes to native workers. The checks before the back end (audio_source.cpp: existence,
// size, sniffing, extension) are the native ones, compiled unchanged.
#include "engine/io/io_detail.h"
#include "engine/io/portable/portable_io.h"

namespace quack {
namespace io_detail {
namespace {

Error nativeOnly(const Sniff& sniff, const std::string& name) {
    return makeError(ErrorCode::UnsupportedFormat,
                     fileMessage(name, "contains " + std::string(contentName(sniff.kind)) +
                                           ", which the WebAssembly engine does not decode (the "
                                           "native engine does); it decodes WAV and FLAC"));
}

} // namespace

Result<std::unique_ptr<AudioSource>> openSndfileSource(FileHandle file, std::int64_t fileSize, const Sniff& sniff,
                                                       const std::string& name) {
    if (sniff.kind == ContentKind::Wav)
        return portable_io::openWavSource(std::move(file), fileSize, name);
    if (sniff.kind == ContentKind::Flac)
        return portable_io::openFlacSource(std::move(file), fileSize, name);
    return nativeOnly(sniff, name);
}

Result<std::unique_ptr<AudioSource>> openMpegSource(FileHandle, std::int64_t, const Sniff& sniff,
                                                    const std::string& name) {
    return nativeOnly(sniff, name);
}

Result<std::unique_ptr<AudioSource>> openFfmpegSource(FileHandle, std::int64_t, const Sniff& sniff,
                                                      const std::string& name) {
    return nativeOnly(sniff, name);
}

Result<std::unique_ptr<AudioWriter>> createAacWriter(const std::string&, const WriterOptions&) {
    return makeError(ErrorCode::UnsupportedOutputFormat,
                     "aac is encoded by the native engine only; the WebAssembly engine writes wav16, "
                     "wav24, wav32f, flac16 and flac24");
}

Status normaliseOggSerial(const std::string&, const std::string& name) {
    return makeError(ErrorCode::WriteFailed, fileMessage(name, "cannot be written: no Ogg encoder in this build"));
}

} // namespace io_detail

Result<std::unique_ptr<AudioSource>> makeResamplingSource(std::unique_ptr<AudioSource> source, int outputRate) {
    if (outputRate == source->info().sampleRate)
        return source;
    return makeError(ErrorCode::InvalidArgument,
                     "sample-rate conversion (libsoxr) is done by the native engine only; the "
                     "WebAssembly engine keeps the input's rate");
}

} // namespace quack
