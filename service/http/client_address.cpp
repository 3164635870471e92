#include "service/http/client_address.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

namespace quack::service::http {
namespace {

struct Ip {
    std::array<unsigned char, 16> bytes{};
    int bits = 0; ///< 32 or 128
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::optional<Ip> parseIp(std::string_view text) {
    text = trim(text);
    // "[v6]:port" or "v4:port" forms some proxies send.
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        text = text.substr(1, close - 1);
    } else if (text.find(':') != std::string_view::npos && text.find(':') == text.rfind(':') &&
               text.find('.') != std::string_view::npos) {
        text = text.substr(0, text.find(':'));
    }
    if (text.empty() || text.size() > 45)
        return std::nullopt;
    const std::string s(text);
    Ip ip;
    if (::inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        ip.bits = 32;
        return ip;
    }
    if (::inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        ip.bits = 128;
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
        static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (std::memcmp(ip.bytes.data(), kMapped, 12) == 0) {
            std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
            std::memset(ip.bytes.data() + 4, 0, 12);
            ip.bits = 32;
        }
        return ip;
    }
    return std::nullopt;
}

bool inNetwork(const Ip& ip, std::string_view network) {
    const auto slash = network.find('/');
    auto base = parseIp(network.substr(0, slash));
    if (!base || base->bits != ip.bits)
        return false;
    int prefix = base->bits;
    if (slash != std::string_view::npos) {
        const auto p = network.substr(slash + 1);
        if (std::from_chars(p.data(), p.data() + p.size(), prefix).ec != std::errc() || prefix < 0 ||
            prefix > base->bits)
            return false;
    }
    for (int bit = 0; bit < prefix; ++bit) {
        const unsigned mask = 0x80u >> (bit % 8);
        if ((ip.bytes[static_cast<std::size_t>(bit / 8)] & mask) != (base->bytes[static_cast<std::size_t>(bit / 8)] & mask))
            return false;
    }
    return true;
}

} // namespace

bool inAnyNetwork(std::string_view address, const std::vector<std::string>& networks) {
    const auto ip = parseIp(address);
    if (!ip)
        return false;
    for (const auto& n : networks)
        if (inNetwork(*ip, n))
            return true;
    return false;
}

std::string resolveClientAddress(std::string_view peer, std::optional<std::string_view> forwardedFor,
                                 const std::vector<std::string>& trustedProxies) {
    if (!forwardedFor || trustedProxies.empty() || !inAnyNetwork(peer, trustedProxies))
        return std::string(peer);
    // Right to left: skip our own proxies; the first other hop is the client as our proxies saw it.
    std::string_view rest = *forwardedFor;
    while (!rest.empty()) {
        const auto comma = rest.rfind(',');
        const auto hop = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        if (hop.empty())
            continue;
        if (!parseIp(hop))
            return std::string(peer); // garbage in the chain: do not trust any of it
        if (!inAnyNetwork(hop, trustedProxies))
            return std::string(trim(hop));
    }
    return std::string(peer); // every hop is a proxy of ours
}

} // namespace quack::service::http
