#pragma once
/// The session cookie: `qt_session`, HttpOnly (no script can read it), SameSite=Lax (not sent on
/// cross-site POSTs), Path=/, Secure behind TLS.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quack::service::http {

inline constexpr std::string_view kSessionCookie = "qt_session";

/// The value of cookie `name` in a Cookie header ("a=1; qt_session=xyz"), or nullopt.
/// Surrounding double quotes are removed (RFC 6265 section 4.1.1 allows them).
std::optional<std::string> cookieValue(std::string_view cookieHeader, std::string_view name);

/// Set-Cookie value for a new session living maxAgeSeconds.
std::string sessionSetCookie(std::string_view token, std::int64_t maxAgeSeconds, bool secure);
/// Set-Cookie value that deletes the session cookie.
std::string clearSessionSetCookie(bool secure);

} // namespace quack::service::http
