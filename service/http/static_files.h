#pragma once
/// The built web app: path resolution without directory traversal, MIME types, the security
/// headers every response carries.
#include "service/http/http_message.h"

#include <optional>
#include <string>
#include <string_view>

namespace quack::service::http {

/// Content-Type for a file name by extension; "application/octet-stream" if unknown.
std::string_view mimeTypeFor(std::string_view filename);

struct StaticFile {
    std::string path;      ///< absolute file path inside the root
    bool spaFallback = false; ///< index.html served for an app route
};

/// Maps a URL path ("/assets/app.js", percent-encoded) to a regular file under root.
/// Refuses (nullopt) anything that decodes to "..", a NUL, a backslash, or that resolves
/// (following symlinks) outside root. "/" and directories serve their index.html. A missing
/// path whose last segment has no '.' is an app route: index.html (SPA fallback); a missing
/// file with an extension stays missing, so a lost asset is a 404, not HTML parsed as script.
std::optional<StaticFile> resolveStaticFile(const std::string& root, std::string_view urlPath);

/// A precompressed copy of a static file that the client accepts: "<path>.br" when
/// Accept-Encoding allows br, else "<path>.gz" when it allows gzip (a q=0 refuses), provided
/// the copy exists beside the file (the web build writes them). nullopt: send the file as is.
struct EncodedFile {
    std::string path;
    std::string_view encoding; ///< "br" or "gzip"
};
std::optional<EncodedFile> precompressedVariant(const std::string& path, std::string_view acceptEncoding);

/// Percent-decodes a path; nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percentDecode(std::string_view s);

/// Headers on every response (API, blobs and the app): CSP (self only; blob:/data: for the
/// player's media and the spectra images), nosniff, no referrer, no framing.
const HeaderList& securityHeaders();

} // namespace quack::service::http
