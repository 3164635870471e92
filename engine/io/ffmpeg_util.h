#pragma once
/// Private helpers shared by the FFmpeg-based encoder and decoder of the io component.
extern "C" {
#include <libavutil/error.h>
}

#include <string>

namespace quack::io_detail {

/// Silences FFmpeg's logging, once per process: av_log prints to stderr by default, and library
/// code must not print. Errors still reach us as return codes, which we map to ErrorCodes.
void ensureFfmpegQuiet();

/// av_strerror() as a string.
inline std::string ffmpegError(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

} // namespace quack::io_detail
