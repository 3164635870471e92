#pragma once
/// Service errors: one JSON shape {error: {code, message}}, stable codes, one HTTP status each,
/// defined in one table (errors.cpp). Engine errors map through the engine's own table
/// (quack::errorInfo), so an engine code keeps its id and status in the API.
#include "engine/core/error.h"

#include <span>
#include <string>
#include <string_view>

namespace quack::service {

enum class ApiErrorCode {
    BadRequest,          ///< 400 malformed_request: body is not valid JSON / wrong shape
    ValidationFailed,    ///< 422 validation_failed: a field is missing or out of range
    UnknownPreset,       ///< 422 unknown_preset
    Unauthenticated,     ///< 401 unauthenticated: no or expired session
    InvalidCredentials,  ///< 401 invalid_credentials
    Forbidden,           ///< 403 forbidden: CSRF / origin check failed
    InvalidSignature,    ///< 403 invalid_signature: signed URL forged or tampered
    UrlExpired,          ///< 410 url_expired: signed URL past its expiry
    NotFound,            ///< 404 not_found: missing OR owned by someone else
    EmailTaken,          ///< 409 email_taken
    Conflict,            ///< 409 conflict: e.g. upload already used, not yet uploaded
    Gone,                ///< 410 gone: the file was deleted (expired / user deleted)
    PayloadTooLarge,     ///< 413 payload_too_large
    UnsupportedMediaType,///< 415 unsupported_media_type
    RateLimited,         ///< 429 rate_limited
    Internal,            ///< 500 internal_error
    Unavailable,         ///< 503 unavailable
};

struct ApiError {
    ApiErrorCode code = ApiErrorCode::Internal;
    std::string message; ///< safe to show the user; never contains secrets or personal data
    /// Engine error id when the error came from the engine (e.g. "corrupt_file"), else empty.
    std::string engineId;

    std::string_view id() const;  ///< stable snake_case code, engineId if set
    int httpStatus() const;       ///< the engine's status for an engine error, else the table's
    int exitCode() const;         ///< likewise, for the command line
    bool retryable() const;
};

ApiError apiError(ApiErrorCode code, std::string message);
/// Maps an engine error (bad audio file, ...) keeping its stable id and HTTP status.
ApiError fromEngine(const quack::Error& error);

/// A value or an ApiError: the engine's Result template with the service's error type.
template <typename T> using ApiResult = quack::Result<T, ApiError>;
/// Success or an ApiError.
using ApiStatus = quack::BasicStatus<ApiError>;

/// Everything known about one service error code, from the single table in errors.cpp.
struct ApiErrorInfo {
    ApiErrorCode code;
    std::string_view id; ///< stable snake_case id
    int httpStatus;
    int exitCode;        ///< what the command line (serve, worker, admin) exits with
    bool retryable;      ///< the same request may succeed later (busy, rate limited)
};
const ApiErrorInfo& apiErrorInfo(ApiErrorCode code);
/// All service codes, in table order (for docs, `quacktracks errors` and tests).
std::span<const ApiErrorInfo> allApiErrorInfos();

} // namespace quack::service
