#include "service/adapters/sigv4.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <ctime>

namespace quack::service::sigv4 {
namespace {

/// libsodium's hashes need no initialisation, but sodium_init() picks the fastest
/// implementation and is required before any other use; calling it once here is harmless.
[[maybe_unused]] const int kSodiumReady = sodium_init();

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Trims and collapses inner runs of spaces/tabs to one space (the canonical header value).
std::string canonicalValue(std::string_view v) {
    std::string out;
    bool space = false;
    for (const char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += c;
    }
    return out;
}

/// Lower-cased, sorted headers with repeated names joined by ','.
std::vector<std::pair<std::string, std::string>> normalised(const Params& headers) {
    std::vector<std::pair<std::string, std::string>> h;
    h.reserve(headers.size());
    for (const auto& [name, value] : headers)
        h.emplace_back(lower(name), canonicalValue(value));
    std::stable_sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& e : h) {
        if (!out.empty() && out.back().first == e.first)
            out.back().second.append(",").append(e.second);
        else
            out.push_back(std::move(e));
    }
    return out;
}

std::string credentialScope(std::string_view date, const Scope& scope) {
    std::string s(date);
    s.append("/").append(scope.region).append("/").append(scope.service).append("/aws4_request");
    return s;
}

Signature finish(std::string canonical, std::string_view stamp, const Credentials& credentials,
                 const Scope& scope) {
    Signature sig;
    const std::string_view date = stamp.substr(0, 8);
    sig.stringToSign.append("AWS4-HMAC-SHA256\n").append(stamp).append("\n");
    sig.stringToSign.append(credentialScope(date, scope)).append("\n").append(sha256Hex(canonical));
    sig.canonicalRequest = std::move(canonical);
    sig.signature = toHex(hmacSha256(signingKey(credentials.secretAccessKey, date, scope), sig.stringToSign));
    return sig;
}

} // namespace

std::string toHex(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    return out;
}

std::string sha256Hex(std::string_view data) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return toHex({reinterpret_cast<const char*>(digest.data()), digest.size()});
}

std::string hmacSha256(std::string_view key, std::string_view message) {
    // The _init form takes a key of any length (HMAC hashes a key longer than the block).
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
    std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
    sodium_memzero(&state, sizeof state);
    return mac;
}

std::string uriEncode(std::string_view s, bool keepSlash) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keepSlash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    }
    return out;
}

std::string amzDate(std::int64_t unixSeconds) {
    const auto t = static_cast<std::time_t>(unixSeconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 17> buf{};
    std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
    return buf.data();
}

std::string canonicalQuery(const Params& query) {
    std::vector<std::pair<std::string, std::string>> enc;
    enc.reserve(query.size());
    for (const auto& [name, value] : query)
        enc.emplace_back(uriEncode(name), uriEncode(value));
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [name, value] : enc) {
        if (!out.empty())
            out += '&';
        out.append(name).append("=").append(value);
    }
    return out;
}

std::string signedHeaderNames(const Params& headers) {
    std::string out;
    for (const auto& [name, value] : normalised(headers)) {
        if (!out.empty())
            out += ';';
        out += name;
    }
    return out;
}

std::string canonicalRequest(std::string_view method, std::string_view path, const Params& query,
                             const Params& headers, std::string_view payloadHash) {
    std::string out(method);
    out.append("\n").append(uriEncode(path.empty() ? "/" : path, true)).append("\n");
    out.append(canonicalQuery(query)).append("\n");
    const auto h = normalised(headers);
    for (const auto& [name, value] : h)
        out.append(name).append(":").append(value).append("\n");
    out.append("\n").append(signedHeaderNames(headers)).append("\n").append(payloadHash);
    return out;
}

std::string signingKey(std::string_view secret, std::string_view date, const Scope& scope) {
    std::string key = "AWS4";
    key.append(secret);
    std::string k = hmacSha256(key, date);
    sodium_memzero(key.data(), key.size());
    k = hmacSha256(k, scope.region);
    k = hmacSha256(k, scope.service);
    return hmacSha256(k, "aws4_request");
}

HeaderAuth signHeaders(const Request& request, const Credentials& credentials, const Scope& scope,
                       std::string_view payloadHash, std::int64_t now) {
    const std::string stamp = amzDate(now);
    HeaderAuth auth;
    auth.headers = {{"x-amz-content-sha256", std::string(payloadHash)}, {"x-amz-date", stamp}};
    Params all = request.headers;
    all.emplace_back("host", request.host);
    all.insert(all.end(), auth.headers.begin(), auth.headers.end());
    auth.detail = finish(canonicalRequest(request.method, request.path, request.query, all, payloadHash),
                         stamp, credentials, scope);
    std::string value = "AWS4-HMAC-SHA256 Credential=";
    value.append(credentials.accessKeyId).append("/").append(credentialScope(stamp.substr(0, 8), scope));
    value.append(",SignedHeaders=").append(signedHeaderNames(all));
    value.append(",Signature=").append(auth.detail.signature);
    auth.headers.emplace_back("Authorization", std::move(value));
    return auth;
}

QueryAuth presign(const Request& request, const Credentials& credentials, const Scope& scope,
                  std::int64_t now, std::int64_t expiresSeconds) {
    assert(expiresSeconds >= 1 && expiresSeconds <= kMaxPresignSeconds);
    const std::string stamp = amzDate(now);
    Params headers = request.headers;
    headers.emplace_back("host", request.host);
    Params query = request.query;
    query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    query.emplace_back("X-Amz-Credential",
                       credentials.accessKeyId + "/" + credentialScope(stamp.substr(0, 8), scope));
    query.emplace_back("X-Amz-Date", stamp);
    query.emplace_back("X-Amz-Expires", std::to_string(expiresSeconds));
    query.emplace_back("X-Amz-SignedHeaders", signedHeaderNames(headers));
    QueryAuth auth;
    auth.detail = finish(canonicalRequest(request.method, request.path, query, headers, kUnsignedPayload),
                         stamp, credentials, scope);
    auth.query = canonicalQuery(query) + "&X-Amz-Signature=" + auth.detail.signature;
    return auth;
}

} // namespace quack::service::sigv4
