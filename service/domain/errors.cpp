#include "service/domain/errors.h"

#include <array>

namespace quack::service {
namespace {

struct ApiErrorInfo {
    ApiErrorCode code;
    std::string_view id;
    int httpStatus;
};

// The one table of service errors (docs/api.md points here).
constexpr std::array kTable = {
    ApiErrorInfo{ApiErrorCode::BadRequest, "malformed_request", 400},
    ApiErrorInfo{ApiErrorCode::ValidationFailed, "validation_failed", 422},
    ApiErrorInfo{ApiErrorCode::UnknownPreset, "unknown_preset", 422},
    ApiErrorInfo{ApiErrorCode::Unauthenticated, "unauthenticated", 401},
    ApiErrorInfo{ApiErrorCode::InvalidCredentials, "invalid_credentials", 401},
    ApiErrorInfo{ApiErrorCode::Forbidden, "forbidden", 403},
    ApiErrorInfo{ApiErrorCode::InvalidSignature, "invalid_signature", 403},
    ApiErrorInfo{ApiErrorCode::UrlExpired, "url_expired", 410},
    ApiErrorInfo{ApiErrorCode::NotFound, "not_found", 404},
    ApiErrorInfo{ApiErrorCode::EmailTaken, "email_taken", 409},
    ApiErrorInfo{ApiErrorCode::Conflict, "conflict", 409},
    ApiErrorInfo{ApiErrorCode::Gone, "gone", 410},
    ApiErrorInfo{ApiErrorCode::PayloadTooLarge, "payload_too_large", 413},
    ApiErrorInfo{ApiErrorCode::UnsupportedMediaType, "unsupported_media_type", 415},
    ApiErrorInfo{ApiErrorCode::RateLimited, "rate_limited", 429},
    ApiErrorInfo{ApiErrorCode::Internal, "internal_error", 500},
    ApiErrorInfo{ApiErrorCode::Unavailable, "unavailable", 503},
};

const ApiErrorInfo& info(ApiErrorCode code) {
    for (const auto& i : kTable)
        if (i.code == code)
            return i;
    assert(false && "every ApiErrorCode is in kTable");
    return kTable.back();
}

// Engine codes that describe the user's request or file keep their own id and status; the
// engine's internal failures surface as our internal_error (same 500, stable service id).
ApiErrorCode codeForEngine(quack::ErrorCode code) {
    switch (code) {
    case quack::ErrorCode::InvalidArgument:
    case quack::ErrorCode::UnsupportedOutputFormat:
        return ApiErrorCode::ValidationFailed;
    case quack::ErrorCode::ReadFailed:
    case quack::ErrorCode::WriteFailed:
    case quack::ErrorCode::Internal:
        return ApiErrorCode::Internal;
    case quack::ErrorCode::FileNotFound:
        return ApiErrorCode::NotFound;
    case quack::ErrorCode::UnsupportedFormat:
    case quack::ErrorCode::FormatMismatch:
        return ApiErrorCode::UnsupportedMediaType;
    default:
        return ApiErrorCode::ValidationFailed;
    }
}

} // namespace

std::string_view ApiError::id() const {
    if (!engineId.empty())
        return engineId;
    return info(code).id;
}

int ApiError::httpStatus() const {
    if (!engineId.empty())
        for (const auto& e : quack::allErrorInfos())
            if (e.id == engineId)
                return e.httpStatus;
    return info(code).httpStatus;
}

ApiError apiError(ApiErrorCode code, std::string message) {
    return ApiError{code, std::move(message), {}};
}

ApiError fromEngine(const quack::Error& error) {
    return ApiError{codeForEngine(error.code), error.message, std::string(error.id())};
}

} // namespace quack::service
