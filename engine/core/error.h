#pragma once
/// Expected failures as values (DuckDB / cpp-httplib style). Every ErrorCode has one stable
/// string id, one CLI exit code and one HTTP status, defined in one table (error.cpp).
/// Bugs are asserts, not errors.
#include "engine/core/result.h"

#include <cassert>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace quack {

enum class ErrorCode {
    // usage and parameters
    InvalidArgument,      ///< a parameter is out of range or malformed
    // input files
    FileNotFound,         ///< the input path does not exist
    ReadFailed,           ///< the input exists but cannot be read
    EmptyFile,            ///< the input has zero bytes
    UnsupportedFormat,    ///< not an audio format we decode
    FormatMismatch,       ///< the content's format contradicts the file extension
    CorruptFile,          ///< the header or stream is damaged or truncated
    NoAudio,              ///< a valid container with zero frames
    TooManyChannels,      ///< more than kMaxChannels channels
    UnsupportedSampleRate,///< outside [kMinSampleRate, kMaxSampleRate]
    TooLong,              ///< longer than kMaxDurationSeconds
    InvalidSamples,       ///< NaN or infinite samples
    // output
    UnsupportedOutputFormat, ///< the output extension/format is not one we write
    WriteFailed,          ///< the output cannot be written
    // processing
    TargetUnreachable,    ///< the loudness/ceiling pair cannot be met
    // resources (limits the caller configured: chain/limits.h)
    ResourceLimit,        ///< decoded size, temporary space or time over the configured limit
    InsufficientStorage,  ///< the temporary or output disk lacks the space the job needs
    Cancelled,            ///< the caller cancelled the operation
    Internal,             ///< an unexpected failure inside the engine (a bug)
};

/// Everything known about one code, from the single table in error.cpp.
struct ErrorInfo {
    ErrorCode code;
    std::string_view id; ///< stable snake_case id, e.g. "corrupt_file"
    int exitCode;        ///< CLI exit status
    int httpStatus;      ///< HTTP status the service maps it to
    /// The same request may succeed when tried again (I/O trouble or a bug's transient
    /// trigger), so a worker retries it; false for anything about the input or the settings.
    bool retryable;
};

const ErrorInfo& errorInfo(ErrorCode code);
/// All codes, in table order (for docs and tests).
std::span<const ErrorInfo> allErrorInfos();

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message; ///< human-readable, safe to show the user

    std::string_view id() const { return errorInfo(code).id; }
};

/// Result of an operation with no value.
using Status = BasicStatus<Error>;

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

} // namespace quack
