#include "engine/core/error.h"

#include <array>

namespace quack {
namespace {

// The one table. Exit codes: 2 usage, 3 input cannot be read, 4 input is not usable audio,
// 5 output cannot be written, 6 processing target impossible, 7 over a configured resource
// limit, 8 cancelled, 70 internal (EX_SOFTWARE). HTTP: resource_limit is 413 (RFC 9110
// 15.5.14: the content is larger than the server is willing to process, here once decoded);
// insufficient_storage 507 (RFC 4918 11.5; a server condition, worth retrying later);
// cancelled 409 (the job's state changed under the request).
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
    // Over a limit: the same input fails the same way. Out of disk: a server condition that
    // may clear, so a worker retries. Cancelled: the caller asked; retrying would undo that.
    ErrorInfo{ErrorCode::ResourceLimit, "resource_limit", 7, 413, false},
    ErrorInfo{ErrorCode::InsufficientStorage, "insufficient_storage", 5, 507, true},
    ErrorInfo{ErrorCode::Cancelled, "cancelled", 8, 409, false},
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
