#include "service/domain/errors.h"

#include <array>
#include <cassert>
#include <utility>

namespace quack::service {
namespace {

// The one table of service errors (docs/api.md and `quacktracks errors` print it). Exit codes
// follow sysexits.h where one fits: 2 usage, 3 not found, 6 conflict (the state does not allow
// it), 69 unavailable, 70 internal, 75 temporary failure, 77 permission denied.
constexpr std::array kTable = {
    ApiErrorInfo{ApiErrorCode::BadRequest, "malformed_request", 400, 2, false},
    ApiErrorInfo{ApiErrorCode::ValidationFailed, "validation_failed", 422, 2, false},
    ApiErrorInfo{ApiErrorCode::UnknownPreset, "unknown_preset", 422, 2, false},
    ApiErrorInfo{ApiErrorCode::Unauthenticated, "unauthenticated", 401, 77, false},
    ApiErrorInfo{ApiErrorCode::InvalidCredentials, "invalid_credentials", 401, 77, false},
    ApiErrorInfo{ApiErrorCode::Forbidden, "forbidden", 403, 77, false},
    ApiErrorInfo{ApiErrorCode::InvalidSignature, "invalid_signature", 403, 77, false},
    ApiErrorInfo{ApiErrorCode::UrlExpired, "url_expired", 410, 77, false},
    ApiErrorInfo{ApiErrorCode::NotFound, "not_found", 404, 3, false},
    ApiErrorInfo{ApiErrorCode::EmailTaken, "email_taken", 409, 6, false},
    ApiErrorInfo{ApiErrorCode::Conflict, "conflict", 409, 6, false},
    ApiErrorInfo{ApiErrorCode::Gone, "gone", 410, 3, false},
    ApiErrorInfo{ApiErrorCode::PayloadTooLarge, "payload_too_large", 413, 4, false},
    ApiErrorInfo{ApiErrorCode::UnsupportedMediaType, "unsupported_media_type", 415, 4, false},
    ApiErrorInfo{ApiErrorCode::RateLimited, "rate_limited", 429, 75, true},
    ApiErrorInfo{ApiErrorCode::Internal, "internal_error", 500, 70, false},
    ApiErrorInfo{ApiErrorCode::Unavailable, "unavailable", 503, 69, true},
};

// The service class of each engine code (its id, status and exit code stay the engine's):
// codes about the request or the file are the user's to fix, I/O and bugs are ours.
constexpr std::array<std::pair<quack::ErrorCode, ApiErrorCode>, 10> kEngineClass = {{
    {quack::ErrorCode::InvalidArgument, ApiErrorCode::ValidationFailed},
    {quack::ErrorCode::UnsupportedOutputFormat, ApiErrorCode::ValidationFailed},
    {quack::ErrorCode::ReadFailed, ApiErrorCode::Internal},
    {quack::ErrorCode::WriteFailed, ApiErrorCode::Internal},
    {quack::ErrorCode::Internal, ApiErrorCode::Internal},
    {quack::ErrorCode::FileNotFound, ApiErrorCode::NotFound},
    {quack::ErrorCode::UnsupportedFormat, ApiErrorCode::UnsupportedMediaType},
    // Over this server's per-job limits (issue 9): too large once decoded, like an upload over
    // max_upload_bytes; out of disk is ours and passes; a cancel is a state change.
    {quack::ErrorCode::ResourceLimit, ApiErrorCode::PayloadTooLarge},
    {quack::ErrorCode::InsufficientStorage, ApiErrorCode::Unavailable},
    {quack::ErrorCode::Cancelled, ApiErrorCode::Conflict},
}};

ApiErrorCode classOfEngine(quack::ErrorCode code) {
    for (const auto& [engine, api] : kEngineClass)
        if (engine == code)
            return api;
    if (code == quack::ErrorCode::FormatMismatch)
        return ApiErrorCode::UnsupportedMediaType;
    return ApiErrorCode::ValidationFailed; // the file is not usable audio
}

const quack::ErrorInfo* engineInfo(std::string_view id) {
    for (const auto& e : quack::allErrorInfos())
        if (e.id == id)
            return &e;
    return nullptr;
}

} // namespace

const ApiErrorInfo& apiErrorInfo(ApiErrorCode code) {
    for (const auto& i : kTable)
        if (i.code == code)
            return i;
    assert(false && "every ApiErrorCode is in kTable");
    return kTable.back();
}

std::span<const ApiErrorInfo> allApiErrorInfos() { return {kTable.data(), kTable.size()}; }

std::string_view ApiError::id() const {
    if (!engineId.empty())
        return engineId;
    return apiErrorInfo(code).id;
}

int ApiError::httpStatus() const {
    if (const auto* e = engineInfo(engineId))
        return e->httpStatus;
    return apiErrorInfo(code).httpStatus;
}

int ApiError::exitCode() const {
    if (const auto* e = engineInfo(engineId))
        return e->exitCode;
    return apiErrorInfo(code).exitCode;
}

bool ApiError::retryable() const {
    if (const auto* e = engineInfo(engineId))
        return e->retryable;
    return apiErrorInfo(code).retryable;
}

ApiError apiError(ApiErrorCode code, std::string message) {
    return ApiError{code, std::move(message), {}};
}

ApiError fromEngine(const quack::Error& error) {
    return ApiError{classOfEngine(error.code), error.message, std::string(error.id())};
}

} // namespace quack::service
