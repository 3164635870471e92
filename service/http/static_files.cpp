#include "service/http/static_files.h"

#include <array>
#include <filesystem>
#include <system_error>

namespace quack::service::http {

namespace fs = std::filesystem;

std::string_view mimeTypeFor(std::string_view filename) {
    struct Entry {
        std::string_view ext, type;
    };
    static constexpr std::array<Entry, 24> kTypes{{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".wasm", "application/wasm"},
        {".wav", "audio/wav"},
        {".flac", "audio/flac"},
        {".mp3", "audio/mpeg"},
        {".ogg", "audio/ogg"},
        {".opus", "audio/ogg"},
        {".xml", "application/xml"},
    }};
    const auto dot = filename.rfind('.');
    if (dot == std::string_view::npos || filename.find('/', dot) != std::string_view::npos)
        return "application/octet-stream";
    std::string ext(filename.substr(dot));
    for (auto& c : ext)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    for (const auto& e : kTypes)
        if (e.ext == ext)
            return e.type;
    return "application/octet-stream";
}

std::optional<std::string> percentDecode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size())
            return std::nullopt;
        const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        const char c = static_cast<char>(hi * 16 + lo);
        if (c == '\0')
            return std::nullopt;
        out.push_back(c);
        i += 2;
    }
    return out;
}

namespace {
bool isInside(const fs::path& root, const fs::path& p) {
    auto r = root.begin(), q = p.begin();
    for (; r != root.end(); ++r, ++q)
        if (q == p.end() || *r != *q)
            return false;
    return true;
}

std::optional<std::string> regularInside(const fs::path& root, const fs::path& candidate) {
    std::error_code ec;
    const auto real = fs::canonical(candidate, ec);
    if (ec || !isInside(root, real) || !fs::is_regular_file(real, ec))
        return std::nullopt;
    return real.string();
}
} // namespace

std::optional<StaticFile> resolveStaticFile(const std::string& rootDir, std::string_view urlPath) {
    std::error_code ec;
    const auto root = fs::canonical(rootDir, ec);
    if (ec || urlPath.empty() || urlPath.front() != '/')
        return std::nullopt;
    auto decoded = percentDecode(urlPath);
    if (!decoded || decoded->find('\\') != std::string::npos)
        return std::nullopt;
    fs::path rel;
    std::string_view rest(*decoded);
    std::string_view last;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const auto seg = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (seg.empty() || seg == ".")
            continue;
        if (seg == "..")
            return std::nullopt;
        rel /= std::string(seg);
        last = seg;
    }
    const auto candidate = root / rel;
    if (fs::is_directory(candidate, ec)) {
        if (auto f = regularInside(root, candidate / "index.html"))
            return StaticFile{*f, false};
        return std::nullopt;
    }
    if (auto f = regularInside(root, candidate))
        return StaticFile{*f, false};
    if (last.find('.') != std::string_view::npos)
        return std::nullopt;
    if (auto f = regularInside(root, root / "index.html"))
        return StaticFile{*f, true};
    return std::nullopt;
}

namespace {
/// Whether Accept-Encoding allows `coding` (RFC 9110 12.5.3): listed (or "*") with q > 0.
bool accepts(std::string_view header, std::string_view coding) {
    bool star = false;
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const auto semi = item.find(';');
        std::string_view name = item.substr(0, semi), params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
        auto trim = [](std::string_view v) {
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
                v.remove_prefix(1);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
                v.remove_suffix(1);
            return v;
        };
        name = trim(name);
        params = trim(params);
        // "q=0", "q=0.", "q=0.0", "q=0.00", "q=0.000": refused. Anything else (or no q): allowed.
        bool refused = false;
        if (params.size() >= 3 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
            const auto q = params.substr(2);
            refused = q[0] == '0' && q.find_first_not_of("0.", 1) == std::string_view::npos;
        }
        std::string lower(name);
        for (auto& c : lower)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        if (lower == coding)
            return !refused;
        if (lower == "*")
            star = !refused;
    }
    return star;
}
} // namespace

std::optional<EncodedFile> precompressedVariant(const std::string& path, std::string_view acceptEncoding) {
    std::error_code ec;
    for (const auto& [suffix, coding] : {std::pair<std::string_view, std::string_view>{".br", "br"}, {".gz", "gzip"}}) {
        if (!accepts(acceptEncoding, coding))
            continue;
        std::string candidate = path;
        candidate += suffix;
        if (fs::is_regular_file(candidate, ec))
            return EncodedFile{candidate, coding};
    }
    return std::nullopt;
}

const HeaderList& securityHeaders() {
    static const HeaderList kHeaders{
        {"Content-Security-Policy",
         "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: data:; "
         "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
         "form-action 'self'"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
    };
    return kHeaders;
}

} // namespace quack::service::http
