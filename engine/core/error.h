#pragma once
/// Expected failures as values (DuckDB / cpp-httplib style). Every ErrorCode has one stable
/// string id, one CLI exit code and one HTTP status, defined in one table (error.cpp).
/// Bugs are asserts, not errors.
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
    Internal,             ///< an unexpected failure inside the engine (a bug)
};

/// Everything known about one code, from the single table in error.cpp.
struct ErrorInfo {
    ErrorCode code;
    std::string_view id; ///< stable snake_case id, e.g. "corrupt_file"
    int exitCode;        ///< CLI exit status
    int httpStatus;      ///< HTTP status the service maps it to
};

const ErrorInfo& errorInfo(ErrorCode code);
/// All codes, in table order (for docs and tests).
std::span<const ErrorInfo> allErrorInfos();

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message; ///< human-readable, safe to show the user

    std::string_view id() const { return errorInfo(code).id; }
};

/// A value or an Error. Small stand-in for std::expected (C++23).
template <typename T> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const Error& error() const { assert(!ok()); return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

/// Result of an operation with no value.
class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Error error) : error_(std::move(error)) {}
    static Status success() { return {}; }
    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { assert(!ok()); return *error_; }

  private:
    std::optional<Error> error_;
};

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

} // namespace quack
