#include "service/adapters/s3_blob_store.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

namespace quack::service {
namespace {

using sigv4::Params;

/// S3 answers errors as small XML documents; more than this is not an error body.
constexpr std::size_t kMaxXmlBytes = 4 << 20;

void curlGlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool validKey(std::string_view key) {
    if (key.empty() || key.size() > 1024 || key.front() == '/')
        return false;
    for (const char c : key)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-'))
            return false;
    return key.find("..") == std::string_view::npos && key.find("//") == std::string_view::npos;
}

std::string xmlUnescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        const auto semi = s.find(';', i);
        if (semi == std::string_view::npos) {
            out += s[i];
            continue;
        }
        const std::string_view ent = s.substr(i + 1, semi - i - 1);
        if (ent == "amp") out += '&';
        else if (ent == "lt") out += '<';
        else if (ent == "gt") out += '>';
        else if (ent == "quot") out += '"';
        else if (ent == "apos") out += '\'';
        else if (!ent.empty() && ent[0] == '#') {
            const bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
            const unsigned long cp = std::strtoul(std::string(ent.substr(hex ? 2 : 1)).c_str(), nullptr, hex ? 16 : 10);
            if (cp < 0x80) {
                out += static_cast<char>(cp);
            } else if (cp < 0x800) {
                out += static_cast<char>(0xC0 | (cp >> 6));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out += static_cast<char>(0xE0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else {
                out += static_cast<char>(0xF0 | (cp >> 18));
                out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            }
        } else {
            out.append(s.substr(i, semi - i + 1));
        }
        i = semi;
    }
    return out;
}

std::string xmlEscape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c;
        }
    }
    return out;
}

/// Text of every <tag>...</tag> element, in order. S3's answers are flat, attribute-free
/// documents whose element names do not nest into themselves, so this is all the parsing needed.
std::vector<std::string> xmlAll(std::string_view xml, std::string_view tag) {
    std::vector<std::string> out;
    const std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
    std::size_t pos = 0;
    while ((pos = xml.find(open, pos)) != std::string_view::npos) {
        const auto start = pos + open.size();
        const auto end = xml.find(close, start);
        if (end == std::string_view::npos)
            break;
        out.push_back(xmlUnescape(xml.substr(start, end - start)));
        pos = end + close.size();
    }
    return out;
}

std::string xmlFirst(std::string_view xml, std::string_view tag) {
    auto all = xmlAll(xml, tag);
    return all.empty() ? std::string() : all.front();
}

std::string base64(const unsigned char* p, std::size_t n) {
    std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

/// Content-MD5 (base64), which S3 requires on PutBucketCors. MD5 only as S3's integrity check.
std::string contentMd5(std::string_view body) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
    return base64(md, len);
}

/// SHA-256 (hex) of length bytes of fd from offset. False on a read error.
bool sha256OfRange(int fd, std::int64_t offset, std::int64_t length, std::string& hex) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    std::vector<unsigned char> buf(1 << 20);
    while (length > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::int64_t>(length, static_cast<std::int64_t>(buf.size())));
        const ssize_t r = ::pread(fd, buf.data(), want, offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        crypto_hash_sha256_update(&st, buf.data(), static_cast<unsigned long long>(r));
        offset += r;
        length -= r;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    hex = sigv4::toHex({reinterpret_cast<const char*>(digest), sizeof digest});
    return true;
}

/// A download name safe inside filename="...": printable ASCII without quotes or backslashes.
std::string safeFilename(std::string_view name) {
    std::string out;
    for (const char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') ? '_' : ch;
    }
    return out.empty() ? "download" : out;
}

bool validBucket(std::string_view b) {
    if (b.size() < 3 || b.size() > 63)
        return false;
    for (const char c : b)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

// ------------------------------------------------------------------------------ HTTP

/// Where a request body comes from: nothing, a string, or a range of a file.
struct Body {
    std::string text;
    int fd = -1;
    std::int64_t offset = 0;
    std::int64_t length = 0;
    std::int64_t sent = 0;
};

/// Where a 2xx response body goes: a string (capped), or a file. Error bodies always go to
/// the string (capped at kMaxXmlBytes).
struct Sink {
    std::size_t cap = kMaxXmlBytes;
    int fd = -1;
    std::int64_t written = 0;
    bool ioError = false;
    bool capped = false; ///< stopped on purpose at cap (a prefix read)
};

struct Response {
    CURLcode curl = CURLE_OK;
    long status = 0;
    std::string body;          ///< small bodies and every error body
    Params headers;            ///< lower-case names
    Sink sink;
    std::string s3Code() const { return xmlFirst(body, "Code"); }
};

struct Transfer {
    Body* body = nullptr;
    Response* response = nullptr;
    CURL* curl = nullptr;
};

std::size_t readBody(char* out, std::size_t size, std::size_t n, void* user) {
    auto* b = static_cast<Body*>(user);
    const std::size_t room = size * n;
    if (b->fd < 0) {
        const auto left = b->text.size() - static_cast<std::size_t>(b->sent);
        const auto k = std::min(room, left);
        std::memcpy(out, b->text.data() + b->sent, k);
        b->sent += static_cast<std::int64_t>(k);
        return k;
    }
    const auto left = b->length - b->sent;
    const auto want = static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(room)));
    if (want == 0)
        return 0;
    for (;;) {
        const ssize_t r = ::pread(b->fd, out, want, b->offset + b->sent);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return CURL_READFUNC_ABORT; // the file shrank or cannot be read
        b->sent += r;
        return static_cast<std::size_t>(r);
    }
}

std::size_t writeBody(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    Sink& s = t->response->sink;
    if (status >= 200 && status < 300 && s.fd >= 0) {
        std::size_t done = 0;
        while (done < len) {
            const ssize_t w = ::write(s.fd, data + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                s.ioError = true;
                return 0;
            }
            done += static_cast<std::size_t>(w);
        }
        s.written += static_cast<std::int64_t>(len);
        return len;
    }
    std::string& b = t->response->body;
    const std::size_t cap = (status >= 200 && status < 300) ? s.cap : kMaxXmlBytes;
    const std::size_t k = std::min(len, cap - std::min(cap, b.size()));
    b.append(data, k);
    if (k < len) {
        s.capped = true;
        return 0; // enough: stop the transfer (a prefix read, or an oversized error body)
    }
    return len;
}

std::size_t headerLine(char* data, std::size_t size, std::size_t n, void* user) {
    auto* r = static_cast<Response*>(user);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) { // a new response (after 100 Continue or a redirect)
        r->headers.clear();
        return size * n;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
            v.remove_prefix(1);
        while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
            v.remove_suffix(1);
        r->headers.emplace_back(std::move(name), std::string(v));
    }
    return size * n;
}

std::string header(const Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (k == name)
            return v;
    return "";
}

struct Failure {
    ApiError error;
    bool retry = false;
};

bool isTransportOutage(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

} // namespace

// ------------------------------------------------------------------------------ the store

struct S3BlobStore::Impl {
    struct Call {
        std::string method;
        std::string key;       ///< object key, or empty for the bucket itself
        Params query;
        Params headers;        ///< signed and sent
        std::string payloadHash = std::string(sigv4::kEmptySha256);
        Body body;
        bool hasBody = false;
        bool head = false;     ///< HEAD: no response body
        int sinkFd = -1;
        std::size_t sinkCap = kMaxXmlBytes;
        bool streaming = false; ///< large transfer: no overall timeout, a low-speed limit instead
        long alsoOk = 0;        ///< a non-2xx status that is an answer here (416 for an empty object)
    };

    static std::string host(const S3BlobStore& s) {
        return s.config_.pathStyle ? s.endpoint_.hostPort : s.config_.bucket + "." + s.endpoint_.hostPort;
    }
    static std::string path(const S3BlobStore& s, const std::string& key) {
        if (s.config_.pathStyle)
            return "/" + s.config_.bucket + (key.empty() ? "" : "/" + key);
        return "/" + key;
    }
    static std::string origin(const S3BlobStore& s) {
        return std::string(s.endpoint_.https ? "https://" : "http://") + host(s);
    }

    /// One try: sign with the current time, perform.
    static Response performOnce(const S3BlobStore& s, Call& c) {
        curlGlobalInit();
        Response r;
        r.sink.fd = c.sinkFd;
        r.sink.cap = c.sinkCap;
        CURL* curl = curl_easy_init();
        if (!curl) {
            r.curl = CURLE_OUT_OF_MEMORY;
            return r;
        }
        sigv4::Request req{c.method, host(s), path(s, c.key), c.query, c.headers};
        const auto auth = sigv4::signHeaders(req, {s.config_.accessKeyId, s.config_.secretAccessKey},
                                             {s.config_.region, "s3"}, c.payloadHash, s.clock_->now());
        std::string url = origin(s) + sigv4::uriEncode(req.path, true);
        if (!c.query.empty())
            url += "?" + sigv4::canonicalQuery(c.query);
        curl_slist* list = nullptr;
        auto add = [&](const std::string& k, const std::string& v) {
            list = curl_slist_append(list, (k + ": " + v).c_str());
        };
        for (const auto& [k, v] : c.headers)
            add(k, v);
        for (const auto& [k, v] : auth.headers)
            add(k, v);
        const bool typed = std::any_of(c.headers.begin(), c.headers.end(),
                                       [](const auto& h) { return h.first == "Content-Type"; });
        if (c.method == "POST" && !typed)
            list = curl_slist_append(list, "Content-Type:"); // no form type on a bodiless POST
        curl_slist* resolve = nullptr;
        for (const auto& e : s.config_.resolve)
            resolve = curl_slist_append(resolve, e.c_str());

        Transfer t{&c.body, &r, curl};
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
        if (resolve)
            curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.config_.connectTimeoutMs));
        if (c.streaming) {
            // Large objects: no total time limit, but a stalled transfer (< 1 KiB/s for 60 s)
            // counts as an outage.
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
        } else {
            curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
        }
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, headerLine);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, writeBody);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
        if (c.head) {
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        } else if (c.method == "PUT") {
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, readBody);
            curl_easy_setopt(curl, CURLOPT_READDATA, &c.body);
            const auto size = c.body.fd >= 0 ? c.body.length : static_cast<std::int64_t>(c.body.text.size());
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
        } else if (c.method == "POST") {
            curl_easy_setopt(curl, CURLOPT_POST, 1L);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c.body.text.data());
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.text.size()));
        } else if (c.method != "GET") {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c.method.c_str());
        }
        c.body.sent = 0;
        r.curl = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
        if (r.curl == CURLE_WRITE_ERROR && r.sink.capped && !r.sink.ioError)
            r.curl = CURLE_OK; // we stopped reading on purpose
        curl_slist_free_all(list);
        curl_slist_free_all(resolve);
        curl_easy_cleanup(curl);
        return r;
    }

    /// Classifies a finished try: nullopt = success.
    static std::optional<Failure> classify(const S3BlobStore& s, const Response& r, long alsoOk) {
        if (r.sink.ioError)
            return Failure{apiError(ApiErrorCode::Internal, "cannot write the local copy of the file"), false};
        if (r.curl != CURLE_OK) {
            std::string why = curl_easy_strerror(r.curl);
            if (isTransportOutage(r.curl))
                return Failure{apiError(ApiErrorCode::Unavailable, "object storage at " + s.endpoint_.hostPort +
                                                                       " is unreachable (" + why + ")"),
                               true};
            return Failure{apiError(ApiErrorCode::Internal, "object storage request failed (" + why + ")"), false};
        }
        if ((r.status >= 200 && r.status < 300) || (alsoOk != 0 && r.status == alsoOk))
            return std::nullopt;
        const std::string code = r.s3Code();
        const std::string tag = code.empty() ? "HTTP " + std::to_string(r.status) : code;
        if (r.status == 503 || r.status == 500 || r.status == 502 || r.status == 504 || r.status == 429 ||
            code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" || code == "ServiceUnavailable")
            return Failure{apiError(ApiErrorCode::Unavailable, "object storage is busy or failing (" + tag + ")"), true};
        if (r.status == 507 || code == "QuotaExceeded" || code == "InsufficientStorage" ||
            code == "StorageQuotaExceeded")
            return Failure{apiError(ApiErrorCode::Unavailable, "object storage is full (" + tag + ")"), false};
        if (code == "EntityTooLarge" || r.status == 413)
            return Failure{apiError(ApiErrorCode::PayloadTooLarge, "the file is too large for object storage (" + tag + ")"), false};
        if (code == "NoSuchBucket")
            return Failure{apiError(ApiErrorCode::Internal, "object storage bucket '" + s.config_.bucket + "' does not exist"), false};
        if (r.status == 404 || code == "NoSuchKey")
            return Failure{apiError(ApiErrorCode::NotFound, "the file is gone"), false};
        if (r.status == 401 || r.status == 403)
            return Failure{apiError(ApiErrorCode::Internal, "object storage refused the credentials (" + tag + ")"), false};
        return Failure{apiError(ApiErrorCode::Internal, "object storage answered " + std::to_string(r.status) +
                                                           (code.empty() ? "" : " " + code)),
                       false};
    }

    /// Runs a call with bounded retries. onRetry runs before each new try (reset a sink).
    static ApiResult<Response> perform(const S3BlobStore& s, Call& c,
                                       const std::function<void()>& onRetry = {}) {
        const int attempts = std::max(1, s.config_.maxAttempts);
        std::optional<Failure> last;
        for (int i = 0; i < attempts; ++i) {
            if (i > 0) {
                const auto base = static_cast<std::uint32_t>(s.config_.retryBaseDelayMs) << std::min(i - 1, 10);
                const auto delay = base + randombytes_uniform(base + 1);
                std::this_thread::sleep_for(std::chrono::milliseconds(delay));
                if (onRetry)
                    onRetry();
            }
            Response r = performOnce(s, c);
            last = classify(s, r, c.alsoOk);
            if (!last)
                return r;
            if (!last->retry)
                break;
        }
        return last->error;
    }
};

namespace {
ApiStatus toStatus(const ApiResult<Response>& r) {
    if (r)
        return {};
    return {r.error()};
}
} // namespace

S3Config s3ConfigFrom(const ServiceConfig& config) {
    S3Config c;
    c.endpoint = config.s3Endpoint;
    c.bucket = config.s3Bucket;
    c.region = config.s3Region;
    c.accessKeyId = config.s3AccessKeyId;
    c.secretAccessKey = config.s3SecretAccessKey;
    c.pathStyle = config.s3PathStyle;
    c.partSizeBytes = config.s3PartSizeBytes;
    return c;
}

S3BlobStore::S3BlobStore(S3Config config, Endpoint endpoint, std::shared_ptr<Clock> clock)
    : config_(std::move(config)), endpoint_(std::move(endpoint)), clock_(std::move(clock)) {}

ApiResult<std::unique_ptr<S3BlobStore>> S3BlobStore::create(S3Config config, std::shared_ptr<Clock> clock) {
    if (sodium_init() < 0)
        return apiError(ApiErrorCode::Internal, "libsodium failed to initialise");
    auto bad = [](const std::string& key, const std::string& why) {
        return apiError(ApiErrorCode::ValidationFailed, "config: " + key + " " + why);
    };
    Endpoint ep;
    std::string_view e = config.endpoint;
    if (e.rfind("https://", 0) == 0) {
        ep.https = true;
        e.remove_prefix(8);
    } else if (e.rfind("http://", 0) == 0) {
        ep.https = false;
        e.remove_prefix(7);
    } else {
        return bad("s3_endpoint", "must start with https:// or http://");
    }
    while (!e.empty() && e.back() == '/')
        e.remove_suffix(1);
    if (e.empty() || e.find_first_of("/?#@ ") != std::string_view::npos)
        return bad("s3_endpoint", "must be scheme://host[:port] without a path");
    ep.hostPort = std::string(e);
    const auto colon = e.rfind(':');
    ep.host = std::string(colon == std::string_view::npos || e.back() == ']' ? e : e.substr(0, colon));
    if (!validBucket(config.bucket))
        return bad("s3_bucket", "must be 3-63 characters of a-z, 0-9, '-' and '.'");
    if (config.accessKeyId.empty() || config.secretAccessKey.empty())
        return bad("s3_access_key_id/s3_secret_access_key", "must be set");
    if (config.region.empty())
        return bad("s3_region", "must not be empty (R2: auto)");
    if (config.partSizeBytes < 1)
        return bad("s3_part_size_bytes", "must be positive");
    if (!clock)
        clock = systemClock();
    return std::unique_ptr<S3BlobStore>(new S3BlobStore(std::move(config), std::move(ep), std::move(clock)));
}

std::string S3BlobStore::publicOrigin() const { return Impl::origin(*this); }

ApiResult<SignedUrl> S3BlobStore::presignPut(const std::string& key, std::int64_t maxBytes,
                                             const std::string& contentType, UnixSeconds expiresAt) {
    if (!validKey(key))
        return apiError(ApiErrorCode::Internal, "invalid object key");
    if (maxBytes < 0 || contentType.find_first_of("\r\n") != std::string::npos)
        return apiError(ApiErrorCode::ValidationFailed, "invalid upload size or content type");
    const UnixSeconds now = clock_->now();
    const std::int64_t seconds = std::clamp<std::int64_t>(expiresAt - now, 1, sigv4::kMaxPresignSeconds);
    sigv4::Request req{"PUT", Impl::host(*this), Impl::path(*this, key), {},
                       {{"content-length", std::to_string(maxBytes)}, {"content-type", contentType}}};
    const auto auth = sigv4::presign(req, {config_.accessKeyId, config_.secretAccessKey},
                                     {config_.region, "s3"}, now, seconds);
    SignedUrl url;
    url.method = "PUT";
    url.url = publicOrigin() + sigv4::uriEncode(req.path, true) + "?" + auth.query;
    url.headers = {{"Content-Type", contentType}};
    url.expiresAt = now + seconds;
    return url;
}

ApiResult<SignedUrl> S3BlobStore::presignGet(const std::string& key, const std::string& downloadName,
                                             UnixSeconds expiresAt) {
    if (!validKey(key))
        return apiError(ApiErrorCode::Internal, "invalid object key");
    const UnixSeconds now = clock_->now();
    const std::int64_t seconds = std::clamp<std::int64_t>(expiresAt - now, 1, sigv4::kMaxPresignSeconds);
    sigv4::Request req{"GET", Impl::host(*this), Impl::path(*this, key),
                       {{"response-content-disposition", "attachment; filename=\"" + safeFilename(downloadName) + "\""}},
                       {}};
    const auto auth = sigv4::presign(req, {config_.accessKeyId, config_.secretAccessKey},
                                     {config_.region, "s3"}, now, seconds);
    SignedUrl url;
    url.method = "GET";
    url.url = publicOrigin() + sigv4::uriEncode(req.path, true) + "?" + auth.query;
    url.expiresAt = now + seconds;
    return url;
}

ApiResult<std::optional<BlobInfo>> S3BlobStore::stat(const std::string& key) {
    if (!validKey(key))
        return std::optional<BlobInfo>();
    Impl::Call c;
    c.method = "HEAD";
    c.head = true;
    c.key = key;
    auto r = Impl::perform(*this, c);
    if (!r) {
        if (r.error().code == ApiErrorCode::NotFound)
            return std::optional<BlobInfo>();
        return r.error();
    }
    BlobInfo info;
    const std::string len = header(*r, "content-length");
    info.size = len.empty() ? 0 : std::strtoll(len.c_str(), nullptr, 10);
    info.contentType = header(*r, "content-type");
    return std::optional<BlobInfo>(info);
}

ApiResult<std::string> S3BlobStore::readPrefix(const std::string& key, std::size_t maxBytes) {
    if (!validKey(key))
        return apiError(ApiErrorCode::NotFound, "the file is gone");
    if (maxBytes == 0) {
        auto st = stat(key);
        if (!st)
            return st.error();
        if (!st->has_value())
            return apiError(ApiErrorCode::NotFound, "the file is gone");
        return std::string();
    }
    Impl::Call c;
    c.method = "GET";
    c.key = key;
    c.headers = {{"Range", "bytes=0-" + std::to_string(maxBytes - 1)}};
    c.sinkCap = maxBytes; // a server that ignores Range is cut off at maxBytes
    c.alsoOk = 416;       // an empty object has no byte 0: S3 answers 416 InvalidRange
    auto r = Impl::perform(*this, c);
    if (!r)
        return r.error();
    if (r->status == 416)
        return std::string();
    return std::move(r->body);
}

ApiStatus S3BlobStore::fetchToFile(const std::string& key, const std::string& localPath) {
    if (!validKey(key))
        return {apiError(ApiErrorCode::NotFound, "the file is gone")};
    const int fd = ::open(localPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return {apiError(ApiErrorCode::Internal, "cannot create the local copy of the file")};
    Impl::Call c;
    c.method = "GET";
    c.key = key;
    c.sinkFd = fd;
    c.streaming = true;
    // A retry starts the file over; if that fails, the next try's writes fail and say so.
    auto r = Impl::perform(*this, c, [fd] { (void)!(::ftruncate(fd, 0) == 0 && ::lseek(fd, 0, SEEK_SET) == 0); });
    const bool closed = ::close(fd) == 0;
    if (!r || !closed) {
        ::unlink(localPath.c_str());
        if (!r)
            return {r.error()};
        return {apiError(ApiErrorCode::Internal, "cannot write the local copy of the file")};
    }
    return {};
}

ApiStatus S3BlobStore::putFromFile(const std::string& key, const std::string& localPath,
                                   const std::string& contentType) {
    if (!validKey(key))
        return {apiError(ApiErrorCode::Internal, "invalid object key")};
    const int fd = ::open(localPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return {apiError(ApiErrorCode::Internal, "cannot read the file to store")};
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0)
        return {apiError(ApiErrorCode::Internal, "cannot read the file to store")};
    const std::int64_t size = st.st_size;
    const std::string type = contentType.empty() ? "application/octet-stream" : contentType;

    if (size <= config_.partSizeBytes) {
        Impl::Call c;
        c.method = "PUT";
        c.key = key;
        c.headers = {{"Content-Type", type}};
        c.body.fd = fd;
        c.body.length = size;
        c.hasBody = true;
        c.streaming = true;
        if (!sha256OfRange(fd, 0, size, c.payloadHash))
            return {apiError(ApiErrorCode::Internal, "cannot read the file to store")};
        return toStatus(Impl::perform(*this, c));
    }

    // Multipart: create, upload parts, complete; abort on any failure.
    Impl::Call create;
    create.method = "POST";
    create.key = key;
    create.query = {{"uploads", ""}};
    create.headers = {{"Content-Type", type}};
    auto created = Impl::perform(*this, create);
    if (!created)
        return {created.error()};
    const std::string uploadId = xmlFirst(created->body, "UploadId");
    if (uploadId.empty())
        return {apiError(ApiErrorCode::Internal, "object storage did not start the multipart upload")};
    auto abort = [&](ApiError why) -> ApiStatus {
        Impl::Call a;
        a.method = "DELETE";
        a.key = key;
        a.query = {{"uploadId", uploadId}};
        (void)Impl::perform(*this, a); // best effort: a lifecycle rule removes stale uploads too
        return {std::move(why)};
    };
    std::string complete = "<CompleteMultipartUpload>";
    int part = 1;
    for (std::int64_t off = 0; off < size; off += config_.partSizeBytes, ++part) {
        Impl::Call p;
        p.method = "PUT";
        p.key = key;
        p.query = {{"partNumber", std::to_string(part)}, {"uploadId", uploadId}};
        p.body.fd = fd;
        p.body.offset = off;
        p.body.length = std::min(config_.partSizeBytes, size - off);
        p.hasBody = true;
        p.streaming = true;
        if (!sha256OfRange(fd, off, p.body.length, p.payloadHash))
            return abort(apiError(ApiErrorCode::Internal, "cannot read the file to store"));
        auto r = Impl::perform(*this, p);
        if (!r)
            return abort(r.error());
        const std::string etag = header(*r, "etag");
        if (etag.empty())
            return abort(apiError(ApiErrorCode::Internal, "object storage did not acknowledge a part"));
        complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + xmlEscape(etag) +
                    "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    Impl::Call done;
    done.method = "POST";
    done.key = key;
    done.query = {{"uploadId", uploadId}};
    done.headers = {{"Content-Type", "application/xml"}};
    done.body.text = complete;
    done.hasBody = true;
    done.payloadHash = sigv4::sha256Hex(complete);
    auto r = Impl::perform(*this, done);
    if (!r)
        return abort(r.error());
    // CompleteMultipartUpload can fail after its 200 status line: the error is in the body.
    if (r->body.find("<Error>") != std::string::npos) {
        const std::string code = xmlFirst(r->body, "Code");
        return abort(apiError(code == "InternalError" || code == "SlowDown" ? ApiErrorCode::Unavailable
                                                                            : ApiErrorCode::Internal,
                              "object storage could not complete the upload (" + code + ")"));
    }
    return {};
}

ApiStatus S3BlobStore::remove(const std::string& key) {
    if (!validKey(key))
        return {apiError(ApiErrorCode::Internal, "invalid object key")};
    Impl::Call c;
    c.method = "DELETE";
    c.key = key;
    auto r = Impl::perform(*this, c);
    if (!r && r.error().code == ApiErrorCode::NotFound)
        return {}; // already gone (S3 answers 204 anyway; some stores 404)
    return toStatus(r);
}

ApiResult<std::vector<std::string>> S3BlobStore::list(const std::string& prefix) {
    std::vector<std::string> keys;
    std::string token;
    for (;;) {
        Impl::Call c;
        c.method = "GET";
        c.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(config_.listPageSize)}};
        if (!token.empty())
            c.query.emplace_back("continuation-token", token);
        auto r = Impl::perform(*this, c);
        if (!r)
            return r.error();
        for (auto& k : xmlAll(r->body, "Key"))
            keys.push_back(std::move(k));
        token = xmlFirst(r->body, "NextContinuationToken");
        if (xmlFirst(r->body, "IsTruncated") != "true" || token.empty())
            break;
    }
    return keys;
}

namespace {

/// "2026-12-07T16:35:54.000Z" (S3's Initiated) as Unix seconds; nullopt if malformed.
std::optional<UnixSeconds> parseIsoUtc(const std::string& text) {
    std::tm tm{};
    if (text.size() < 19 || !strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
        return std::nullopt;
    return static_cast<UnixSeconds>(timegm(&tm));
}

} // namespace

ApiResult<int> S3BlobStore::sweepIncomplete(UnixSeconds startedBefore) {
    int aborted = 0;
    std::string keyMarker, uploadMarker;
    for (;;) {
        Impl::Call c;
        c.method = "GET";
        c.query = {{"uploads", ""}};
        if (!keyMarker.empty()) {
            c.query.emplace_back("key-marker", keyMarker);
            c.query.emplace_back("upload-id-marker", uploadMarker);
        }
        auto r = Impl::perform(*this, c);
        if (!r) {
            const auto& e = r.error();
            // A store that does not implement the listing: nothing we can do here; the bucket's
            // lifecycle rule (AbortIncompleteMultipartUpload) is the backstop.
            if (e.code == ApiErrorCode::NotFound || e.message.find("NotImplemented") != std::string::npos ||
                e.message.find("answered 501") != std::string::npos || e.message.find("answered 400") != std::string::npos)
                return aborted;
            return e;
        }
        for (const auto& upload : xmlAll(r->body, "Upload")) {
            const auto key = xmlFirst(upload, "Key");
            const auto id = xmlFirst(upload, "UploadId");
            const auto initiated = parseIsoUtc(xmlFirst(upload, "Initiated"));
            if (key.empty() || id.empty() || !initiated || *initiated >= startedBefore)
                continue;
            Impl::Call a;
            a.method = "DELETE";
            a.key = key;
            a.query = {{"uploadId", id}};
            if (Impl::perform(*this, a))
                ++aborted;
        }
        if (xmlFirst(r->body, "IsTruncated") != "true")
            break;
        keyMarker = xmlFirst(r->body, "NextKeyMarker");
        uploadMarker = xmlFirst(r->body, "NextUploadIdMarker");
        if (keyMarker.empty())
            break;
    }
    return aborted;
}

ApiStatus S3BlobStore::applyCors(const std::vector<std::string>& allowedOrigins, int maxAgeSeconds) {
    std::string xml = "<CORSConfiguration><CORSRule>";
    for (const auto& o : allowedOrigins)
        xml += "<AllowedOrigin>" + xmlEscape(o) + "</AllowedOrigin>";
    xml += "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>";
    xml += "<AllowedHeader>content-type</AllowedHeader><ExposeHeader>ETag</ExposeHeader>";
    xml += "<MaxAgeSeconds>" + std::to_string(maxAgeSeconds) + "</MaxAgeSeconds></CORSRule></CORSConfiguration>";
    Impl::Call c;
    c.method = "PUT";
    c.query = {{"cors", ""}};
    c.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", contentMd5(xml)}};
    c.body.text = xml;
    c.hasBody = true;
    c.payloadHash = sigv4::sha256Hex(xml);
    return toStatus(Impl::perform(*this, c));
}

std::string S3BlobStore::lifecycleBackstopXml(const RetentionPolicy& retention) {
    // Whole days, rounded up, plus one day of margin: never earlier than the service deletes.
    auto days = [](std::int64_t seconds) { return std::to_string((seconds + 86399) / 86400 + 1); };
    auto expire = [](const std::string& id, const std::string& prefix, const std::string& d) {
        return "<Rule><ID>" + id + "</ID><Status>Enabled</Status><Filter><Prefix>" + prefix +
               "</Prefix></Filter><Expiration><Days>" + d + "</Days></Expiration></Rule>";
    };
    return "<LifecycleConfiguration>" + expire("quack-uploads-backstop", "uploads/", days(retention.unusedUploadSeconds)) +
           expire("quack-masters-backstop", "masters/", days(retention.masterSeconds)) +
           "<Rule><ID>quack-abort-multipart</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter>"
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";
}

ApiStatus S3BlobStore::applyLifecycleBackstop(const RetentionPolicy& retention) {
    const std::string xml = lifecycleBackstopXml(retention);
    Impl::Call c;
    c.method = "PUT";
    c.query = {{"lifecycle", ""}};
    c.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", contentMd5(xml)}};
    c.body.text = xml;
    c.hasBody = true;
    c.payloadHash = sigv4::sha256Hex(xml);
    return toStatus(Impl::perform(*this, c));
}

ApiStatus S3BlobStore::checkBucket() {
    Impl::Call c;
    c.method = "HEAD";
    c.head = true;
    auto r = Impl::perform(*this, c);
    if (!r && r.error().code == ApiErrorCode::NotFound)
        return {apiError(ApiErrorCode::Internal, "object storage bucket '" + config_.bucket + "' does not exist")};
    return toStatus(r);
}

} // namespace quack::service
