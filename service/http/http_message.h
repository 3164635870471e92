#pragma once
/// The HTTP layer's own request/response values, free of Boost.Beast so routes, policies and
/// their tests compile without it (Beast lives in server.cpp only).
#include "service/domain/errors.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quack::service::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// A request as the routes see it. Header names are lower-case.
struct HttpRequest {
    std::string method;        ///< "GET", "POST", ...
    std::string path;          ///< the target up to '?', percent-encoded as received
    std::string query;         ///< after '?', without it
    HeaderList headers;
    std::string body;          ///< JSON bodies only (<= 64 KiB); empty for streamed routes
    bool hasBody = false;      ///< Content-Length > 0 or chunked
    std::string clientAddress; ///< from the socket (for rate limiting; never logged in full)

    /// First header of that (lower-case) name, or nullopt.
    std::optional<std::string_view> header(std::string_view lowerName) const;
};

struct HttpResponse {
    int status = 200;
    HeaderList headers;
    std::string body;
    /// For the access log: the route pattern that handled it ("/api/v1/jobs/{id}").
    std::string route;
};

/// `{"error":{"code","message"}}` with the error's status.
HttpResponse errorResponse(const ApiError& error);
HttpResponse jsonResponse(int status, const nlohmann::json& body);

/// ISO 8601 UTC ("2026-11-27T14:03:00Z").
std::string isoTime(std::int64_t unixSeconds);

/// One access-log line: no cookies, bodies, query strings, emails or addresses.
struct AccessLogEntry {
    std::string_view method;
    std::string_view route;  ///< pattern, e.g. "/api/v1/jobs/{id}", "/blob/{key}", "static"
    int status = 0;
    double durationMs = 0.0;
    std::uint64_t bytesSent = 0;
};
using AccessLog = std::function<void(const AccessLogEntry&)>;

} // namespace quack::service::http
