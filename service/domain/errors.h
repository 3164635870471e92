#pragma once
/// Service errors: one JSON shape {error: {code, message}}, stable codes, one HTTP status each,
/// defined in one table (errors.cpp). Engine errors map through the engine's own table
/// (quack::errorInfo), so an engine code keeps its id and status in the API.
#include "engine/core/error.h"

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

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
    int httpStatus() const;
};

ApiError apiError(ApiErrorCode code, std::string message);
/// Maps an engine error (bad audio file, ...) keeping its stable id and HTTP status.
ApiError fromEngine(const quack::Error& error);

/// A value or an ApiError (same shape as quack::Result).
template <typename T> class [[nodiscard]] ApiResult {
  public:
    ApiResult(T value) : v_(std::move(value)) {}
    ApiResult(ApiError error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const ApiError& error() const { assert(!ok()); return std::get<1>(v_); }

  private:
    std::variant<T, ApiError> v_;
};

/// Success or an ApiError.
struct [[nodiscard]] ApiStatus {
    std::optional<ApiError> error;
    bool ok() const { return !error.has_value(); }
    explicit operator bool() const { return ok(); }
};

} // namespace quack::service
