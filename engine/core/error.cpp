#include "engine/core/error.h"

#include <array>

namespace quack {
namespace {

// The one table. Exit codes: 2 usage, 3 input cannot be read, 4 input is not usable audio,
// 5 output cannot be written, 6 processing target impossible, 70 internal (EX_SOFTWARE).
constexpr std::array kTable = {
    ErrorInfo{ErrorCode::InvalidArgument, "invalid_argument", 2, 400, false},
    ErrorInfo{ErrorCode::FileNotFound, "file_not_found", 3, 404, false},
    ErrorInfo{ErrorCode::ReadFailed, "read_failed", 3, 500, true},
    ErrorInfo{ErrorCode::EmptyFile, "empty_file", 4, 422, false},
    ErrorInfo{ErrorCode::UnsupportedFormat, "unsupported_format", 4, 415, false},
    ErrorInfo{ErrorCode::FormatMismatch, "format_mismatch", 4, 415, false},
    ErrorInfo{ErrorCode::CorruptFile, "corrupt_file", 4, 422, false},
    ErrorInfo{ErrorCode::NoAudio, "no_audio", 4, 422, false},
    ErrorInfo{ErrorCode::TooManyChannels, "too_many_channels", 4, 422, false},
    ErrorInfo{ErrorCode::UnsupportedSampleRate, "unsupported_sample_rate", 4, 422, false},
    ErrorInfo{ErrorCode::TooLong, "too_long", 4, 422, false},
    ErrorInfo{ErrorCode::InvalidSamples, "invalid_samples", 4, 422, false},
    ErrorInfo{ErrorCode::UnsupportedOutputFormat, "unsupported_output_format", 2, 400, false},
    ErrorInfo{ErrorCode::WriteFailed, "write_failed", 5, 500, true},
    ErrorInfo{ErrorCode::TargetUnreachable, "target_unreachable", 6, 422, false},
    ErrorInfo{ErrorCode::Internal, "internal", 70, 500, true},
};

} // namespace

const ErrorInfo& errorInfo(ErrorCode code) {
    for (const auto& info : kTable)
        if (info.code == code)
            return info;
    assert(false && "every ErrorCode is in kTable");
    return kTable.back();
}

std::span<const ErrorInfo> allErrorInfos() { return {kTable.data(), kTable.size()}; }

} // namespace quack
