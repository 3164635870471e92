#pragma once
/// The client's address for rate limits behind reverse proxies. X-Forwarded-For is believed
/// only when the socket peer is a configured trusted proxy, and then the right-most address in
/// it that is not itself a trusted proxy is the client (anything left of it could be forged by
/// the client). The full address exists only in memory (rate limits); it is never stored.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quack::service::http {

/// True if address (IPv4 or IPv6 text) is one of the entries: exact addresses or CIDR blocks
/// ("10.0.0.0/8", "fd00::/8"). Malformed entries match nothing.
bool inAnyNetwork(std::string_view address, const std::vector<std::string>& networks);

/// peer: the socket's address; forwardedFor: the X-Forwarded-For header(s), comma-joined.
std::string resolveClientAddress(std::string_view peer, std::optional<std::string_view> forwardedFor,
                                 const std::vector<std::string>& trustedProxies);

} // namespace quack::service::http
