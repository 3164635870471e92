#pragma once
/// AWS Signature Version 4 for S3-compatible stores (AWS S3, Cloudflare R2, MinIO), our own:
/// Debian packages no AWS SDK, and the algorithm is a page of hashing (see
/// docs/decisions/0008-s3-storage.md). Pure functions, no I/O; HMAC-SHA256 and SHA-256 from
/// libsodium.
///
/// Canonical request (AWS "Signature Calculations for the Authorization Header"):
///   METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n \n SignedHeaders \n PayloadHash
/// - CanonicalURI: the path with each byte outside RFC 3986's unreserved set percent-encoded
///   once (upper-case hex), '/' kept. S3 does not normalise the path ("a//b" stays).
/// - CanonicalQuery: name=value pairs, both encoded (including '/'), sorted by encoded name then
///   value; a parameter without a value is "name=".
/// - CanonicalHeaders: lower-case name ':' value trimmed, inner runs of spaces collapsed to one,
///   sorted by name, each line ending in '\n'; repeated names joined with ','.
/// Signing key = HMAC("AWS4" + secret, yyyymmdd) -> region -> service -> "aws4_request".
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quack::service::sigv4 {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
    std::string accessKeyId;
    std::string secretAccessKey; ///< never logged, never part of an error message
};

/// Where and how a request is signed. R2 takes region "auto".
struct Scope {
    std::string region = "auto";
    std::string service = "s3";
};

/// One request to sign. Everything is given decoded; the signer encodes.
struct Request {
    std::string method;  ///< "GET", "PUT", ...
    std::string host;    ///< Host header value: "bucket.s3.example.com" or "127.0.0.1:4568"
    std::string path;    ///< decoded absolute path, e.g. "/bucket/uploads/upl_1"
    Params query;        ///< decoded name/value pairs; a value may be empty
    Params headers;      ///< further headers to sign (any case), e.g. Range, Content-Type
};

/// SHA-256 of the empty string, and the literal S3 accepts for a payload it does not check.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
/// R2 and S3 accept at most 7 days for a presigned URL (X-Amz-Expires).
inline constexpr std::int64_t kMaxPresignSeconds = 7 * 24 * 3600;

std::string toHex(std::string_view bytes);              ///< lower-case hex
std::string sha256Hex(std::string_view data);            ///< lower-case hex of SHA-256(data)
std::string hmacSha256(std::string_view key, std::string_view message); ///< 32 raw bytes
/// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (upper-case hex); '/' too unless
/// keepSlash.
std::string uriEncode(std::string_view s, bool keepSlash = false);
/// "20130524T000000Z" for a Unix time (UTC).
std::string amzDate(std::int64_t unixSeconds);

std::string canonicalQuery(const Params& query);
/// Lower-case names, sorted, joined by ';' (the SignedHeaders value) for the given headers.
std::string signedHeaderNames(const Params& headers);
/// The whole canonical request for `headers` (which must include host).
std::string canonicalRequest(std::string_view method, std::string_view path, const Params& query,
                             const Params& headers, std::string_view payloadHash);
/// HMAC chain of the signing key (raw bytes); date is yyyymmdd.
std::string signingKey(std::string_view secret, std::string_view date, const Scope& scope);

struct Signature {
    std::string canonicalRequest;
    std::string stringToSign;
    std::string signature; ///< lower-case hex
};

/// Header authentication. The returned headers are what to send besides request.headers:
/// x-amz-date, x-amz-content-sha256 (always: R2 requires it) and Authorization. Host is signed
/// but not returned (the HTTP client sends it from the URL; it must equal request.host).
struct HeaderAuth {
    Params headers;
    Signature detail;
};
HeaderAuth signHeaders(const Request& request, const Credentials& credentials, const Scope& scope,
                       std::string_view payloadHash, std::int64_t now);

/// Query authentication (a presigned URL). `query` is the full encoded query string to put after
/// '?': request.query plus X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and
/// -Signature. request.headers are signed (e.g. content-length, content-type for a PUT): the
/// holder must send exactly those values. The payload is UNSIGNED-PAYLOAD.
/// expiresSeconds must be in [1, kMaxPresignSeconds] (asserted).
struct QueryAuth {
    std::string query;
    Signature detail;
};
QueryAuth presign(const Request& request, const Credentials& credentials, const Scope& scope,
                  std::int64_t now, std::int64_t expiresSeconds);

} // namespace quack::service::sigv4
