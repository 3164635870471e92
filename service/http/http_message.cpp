#include "service/http/http_message.h"

#include <ctime>

namespace quack::service::http {

std::optional<std::string_view> HttpRequest::header(std::string_view lowerName) const {
    for (const auto& [name, value] : headers)
        if (name == lowerName)
            return std::string_view(value);
    return std::nullopt;
}

HttpResponse jsonResponse(int status, const nlohmann::json& body) {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    // API answers are per user: never cached by a shared cache or the browser.
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
}

HttpResponse errorResponse(const ApiError& error) {
    return jsonResponse(error.httpStatus(),
                        {{"error", {{"code", std::string(error.id())}, {"message", error.message}}}});
}

std::string isoTime(std::int64_t unixSeconds) {
    const auto t = static_cast<std::time_t>(unixSeconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace quack::service::http
