#include "service/http/cookies.h"

namespace quack::service::http {

namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::string attributes(bool secure) {
    return std::string("; Path=/; HttpOnly; SameSite=Lax") + (secure ? "; Secure" : "");
}
} // namespace

std::optional<std::string> cookieValue(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        auto pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name)
            continue;
        auto value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        return std::string(value);
    }
    return std::nullopt;
}

std::string sessionSetCookie(std::string_view token, std::int64_t maxAgeSeconds, bool secure) {
    return std::string(kSessionCookie) + "=" + std::string(token) +
           "; Max-Age=" + std::to_string(maxAgeSeconds < 0 ? 0 : maxAgeSeconds) + attributes(secure);
}

std::string clearSessionSetCookie(bool secure) {
    return std::string(kSessionCookie) + "=; Max-Age=0" + attributes(secure);
}

} // namespace quack::service::http
