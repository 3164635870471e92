#include "service/adapters/local_blob_store.h"

#include "service/domain/audio_sniff.h"

#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <vector>

namespace quack::service {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kSecretBytes = crypto_auth_hmacsha256_KEYBYTES; // 32

std::string toHex(const unsigned char* p, std::size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), p, n);
    out.resize(n * 2);
    return out;
}

// Query values are percent-encoded: everything outside RFC 3986's unreserved set.
std::string urlEncode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    }
    return out;
}

std::optional<std::string> urlDecode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size())
                return std::nullopt;
            unsigned v = 0;
            auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
            if (ec != std::errc() || p != s.data() + i + 3)
                return std::nullopt;
            out += static_cast<char>(v);
            i += 2;
        } else if (s[i] == '+') {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    return out;
}

bool parseInt64(std::string_view s, std::int64_t& out) {
    if (s.empty())
        return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::string contentTypeForKey(std::string_view key) {
    auto ends = [&](std::string_view ext) {
        return key.size() >= ext.size() && key.substr(key.size() - ext.size()) == ext;
    };
    if (ends(".wav"))
        return "audio/wav";
    if (ends(".flac"))
        return "audio/flac";
    if (ends(".mp3"))
        return "audio/mpeg";
    if (ends(".ogg") || ends(".opus"))
        return "audio/ogg";
    if (ends(".m4a"))
        return "audio/mp4";
    return "application/octet-stream";
}

/// fsync a directory so a rename or unlink inside it survives a crash.
void syncDir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

/// A unique hidden temp name next to `final` (same directory, so rename is atomic).
fs::path tempPathFor(const fs::path& final) {
    static std::atomic<unsigned> counter{0};
    std::array<unsigned char, 8> rnd{};
    randombytes_buf(rnd.data(), rnd.size());
    // Built with append: GCC 12 reports a false -Wrestrict on `"." + std::string`.
    std::string name;
    name.append(".").append(final.filename().string()).append(".").append(std::to_string(::getpid()));
    name.append("-").append(std::to_string(counter++)).append("-").append(toHex(rnd.data(), rnd.size()));
    name.append(".tmp");
    return final.parent_path() / name;
}

bool writeAll(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

/// Copies src to a new file dst (O_EXCL), fsynced. Streams in 1 MiB blocks.
bool copyFile(const fs::path& src, const fs::path& dst) {
    const int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return false;
    const int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        ::close(in);
        return false;
    }
    std::vector<char> buf(1 << 20);
    bool ok = true;
    for (;;) {
        const ssize_t r = ::read(in, buf.data(), buf.size());
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ok = false;
            break;
        }
        if (r == 0)
            break;
        if (!writeAll(out, buf.data(), static_cast<std::size_t>(r))) {
            ok = false;
            break;
        }
    }
    ok = ok && ::fsync(out) == 0;
    ok = (::close(out) == 0) && ok;
    ::close(in);
    if (!ok)
        ::unlink(dst.c_str());
    return ok;
}

/// The object's content type rides on its inode as an extended attribute, so it survives the
/// rename into place and needs no second file. A file system without user xattrs keeps none:
/// stat() then reports an empty type (completeUpload's sniff still checks the bytes).
constexpr const char* kTypeAttribute = "user.quacktracks.content_type";

void recordType(const fs::path& path, const std::string& contentType) {
    if (!contentType.empty())
        (void)::setxattr(path.c_str(), kTypeAttribute, contentType.data(), contentType.size(), 0);
}

std::string recordedType(const std::string& path) {
    std::array<char, 256> buf{};
    const ssize_t n = ::getxattr(path.c_str(), kTypeAttribute, buf.data(), buf.size());
    return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
}

class FileWriter final : public SignedUrlEndpoint::Writer {
  public:
    FileWriter(fs::path temp, fs::path final, int fd, std::int64_t maxBytes, std::string contentType)
        : temp_(std::move(temp)), final_(std::move(final)), fd_(fd), maxBytes_(maxBytes),
          contentType_(std::move(contentType)) {}
    ~FileWriter() override {
        if (fd_ >= 0)
            ::close(fd_);
        if (!committed_)
            ::unlink(temp_.c_str());
    }

    ApiStatus write(const char* data, std::size_t n) override {
        if (failed_)
            return {*failed_};
        if (static_cast<std::int64_t>(n) > maxBytes_ - written_)
            return fail(apiError(ApiErrorCode::PayloadTooLarge, "the upload is larger than declared"));
        // Sniff as soon as the head is complete, before writing more than a few bytes to disk.
        for (std::size_t i = 0; i < n && head_.size() < kSniffBytes; ++i)
            head_.push_back(static_cast<unsigned char>(data[i]));
        if (!sniffed_ && head_.size() >= kSniffBytes) {
            sniffed_ = true;
            if (!looksLikeAudio(head_))
                return fail(apiError(ApiErrorCode::UnsupportedMediaType,
                                     "the file is not a supported audio format (WAV, AIFF, FLAC, Ogg, MP3)"));
        }
        if (!writeAll(fd_, data, n))
            return fail(apiError(ApiErrorCode::Internal, "cannot store the upload"));
        written_ += static_cast<std::int64_t>(n);
        return {};
    }

    ApiStatus commit() override {
        if (failed_)
            return {*failed_};
        if (written_ == 0)
            return fail(apiError(ApiErrorCode::BadRequest, "the upload is empty"));
        if (!sniffed_ && !looksLikeAudio(head_))
            return fail(apiError(ApiErrorCode::UnsupportedMediaType,
                                 "the file is not a supported audio format (WAV, AIFF, FLAC, Ogg, MP3)"));
        recordType(temp_, contentType_);
        const bool synced = ::fsync(fd_) == 0;
        const bool closed = ::close(fd_) == 0;
        fd_ = -1;
        if (!synced || !closed || ::rename(temp_.c_str(), final_.c_str()) != 0)
            return fail(apiError(ApiErrorCode::Internal, "cannot store the upload"));
        committed_ = true;
        syncDir(final_.parent_path());
        return {};
    }

  private:
    ApiStatus fail(ApiError e) {
        failed_ = e;
        return {std::move(e)};
    }

    fs::path temp_, final_;
    int fd_;
    std::int64_t maxBytes_;
    std::string contentType_;
    std::int64_t written_ = 0;
    std::vector<unsigned char> head_;
    bool sniffed_ = false;
    bool committed_ = false;
    std::optional<ApiError> failed_;
};

} // namespace

LocalBlobStore::LocalBlobStore(std::string rootDir, std::string secretKey, std::string urlPrefix)
    : root_(std::move(rootDir)), secret_(std::move(secretKey)), prefix_(std::move(urlPrefix)) {
    assert(secret_.size() == kSecretBytes && "use loadOrCreateSecret");
    std::error_code ec;
    fs::create_directories(root_, ec);
}

ApiResult<std::string> LocalBlobStore::loadOrCreateSecret(const std::string& path) {
    if (sodium_init() < 0)
        return apiError(ApiErrorCode::Internal, "libsodium failed to initialise");
    for (int attempt = 0; attempt < 2; ++attempt) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            std::string key(kSecretBytes + 1, '\0');
            const ssize_t r = ::read(fd, key.data(), key.size());
            ::close(fd);
            if (r != static_cast<ssize_t>(kSecretBytes))
                return apiError(ApiErrorCode::Internal, "the signing secret file has the wrong size");
            key.resize(kSecretBytes);
            return key;
        }
        if (errno != ENOENT)
            return apiError(ApiErrorCode::Internal, "cannot read the signing secret file");
        // First use: create it exclusively with mode 0600; a concurrent creator wins and we re-read.
        std::string key(kSecretBytes, '\0');
        randombytes_buf(key.data(), key.size());
        const fs::path tmp = tempPathFor(path);
        const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
            return apiError(ApiErrorCode::Internal, "cannot create the signing secret file");
        const bool ok = writeAll(out, key.data(), key.size()) && ::fsync(out) == 0;
        ::close(out);
        // link() fails with EEXIST if another process created the secret first: use theirs.
        const bool linked = ok && ::link(tmp.c_str(), path.c_str()) == 0;
        ::unlink(tmp.c_str());
        if (linked) {
            syncDir(fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path());
            return key;
        }
        if (!ok)
            return apiError(ApiErrorCode::Internal, "cannot write the signing secret file");
    }
    return apiError(ApiErrorCode::Internal, "cannot create the signing secret file");
}

bool LocalBlobStore::validKey(std::string_view key) {
    if (key.empty() || key.size() > 200 || key.front() == '/' || key.back() == '/')
        return false;
    for (const char c : key)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-'))
            return false;
    if (key.find("..") != std::string_view::npos || key.find("//") != std::string_view::npos)
        return false;
    // No hidden segments: temp files are ".<name>...tmp".
    if (key.front() == '.' || key.find("/.") != std::string_view::npos)
        return false;
    return true;
}

std::string LocalBlobStore::sign(std::string_view method, std::string_view key, UnixSeconds expires,
                                 std::int64_t maxBytes, std::string_view contentType,
                                 std::string_view downloadName) const {
    // Fields separated by '\n', which none of them may contain (keys are validated; the content
    // type and name are checked at presign), so no two field tuples share a message.
    std::string msg;
    msg.append(method).append("\n").append(key).append("\n").append(std::to_string(expires));
    msg.append("\n").append(std::to_string(maxBytes)).append("\n").append(contentType);
    msg.append("\n").append(downloadName);
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
    crypto_auth_hmacsha256(mac.data(), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                           reinterpret_cast<const unsigned char*>(secret_.data()));
    return toHex(mac.data(), mac.size());
}

namespace {
std::string noNewlines(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r')
            c = ' ';
    return s;
}
} // namespace

ApiResult<SignedUrl> LocalBlobStore::presignPut(const std::string& key, std::int64_t maxBytes,
                                                const std::string& contentType, UnixSeconds expiresAt) {
    if (!validKey(key))
        return apiError(ApiErrorCode::Internal, "invalid object key");
    const std::string ct = noNewlines(contentType);
    SignedUrl url;
    url.method = "PUT";
    url.expiresAt = expiresAt;
    url.url = prefix_ + key + "?expires=" + std::to_string(expiresAt) + "&max=" + std::to_string(maxBytes) +
              "&ct=" + urlEncode(ct) + "&sig=" + sign("PUT", key, expiresAt, maxBytes, ct, "");
    url.headers = {{"Content-Type", ct}};
    return url;
}

ApiResult<SignedUrl> LocalBlobStore::presignGet(const std::string& key, const std::string& downloadName,
                                                UnixSeconds expiresAt) {
    if (!validKey(key))
        return apiError(ApiErrorCode::Internal, "invalid object key");
    const std::string dn = noNewlines(downloadName);
    SignedUrl url;
    url.method = "GET";
    url.expiresAt = expiresAt;
    url.url = prefix_ + key + "?expires=" + std::to_string(expiresAt) + "&dn=" + urlEncode(dn) +
              "&sig=" + sign("GET", key, expiresAt, 0, "", dn);
    return url;
}

ApiResult<SignedUrlEndpoint::Grant> LocalBlobStore::verify(Access access, std::string_view target,
                                                        UnixSeconds now) const {
    if (target.substr(0, prefix_.size()) != prefix_)
        return apiError(ApiErrorCode::NotFound, "not found");
    target.remove_prefix(prefix_.size());
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    if (!validKey(path))
        return apiError(ApiErrorCode::NotFound, "not found");

    std::optional<std::string> expires, maxBytes, ct, dn, sig;
    std::string_view rest = query;
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos)
            continue;
        const std::string_view name = pair.substr(0, eq);
        auto value = urlDecode(pair.substr(eq + 1));
        if (!value)
            return apiError(ApiErrorCode::InvalidSignature, "the URL is malformed");
        std::optional<std::string>* slot = name == "expires" ? &expires
                                           : name == "max"   ? &maxBytes
                                           : name == "ct"    ? &ct
                                           : name == "dn"    ? &dn
                                           : name == "sig"   ? &sig
                                                             : nullptr;
        if (slot) {
            if (slot->has_value()) // a repeated parameter could mean different things to different parsers
                return apiError(ApiErrorCode::InvalidSignature, "the URL is malformed");
            *slot = std::move(*value);
        }
    }
    std::int64_t exp = 0, max = 0;
    if (!sig || !expires || !parseInt64(*expires, exp))
        return apiError(ApiErrorCode::InvalidSignature, "the URL is not signed");
    if (maxBytes && !parseInt64(*maxBytes, max))
        return apiError(ApiErrorCode::InvalidSignature, "the URL is malformed");

    Grant grant;
    grant.key = std::string(path);
    std::string expected;
    if (access == Access::Put) {
        grant.maxBytes = max;
        grant.contentType = ct.value_or("");
        expected = sign("PUT", path, exp, max, grant.contentType, "");
    } else {
        grant.downloadName = dn.value_or("");
        grant.contentType = contentTypeForKey(path);
        expected = sign("GET", path, exp, 0, "", grant.downloadName);
    }
    if (sig->size() != expected.size() ||
        sodium_memcmp(sig->data(), expected.data(), expected.size()) != 0)
        return apiError(ApiErrorCode::InvalidSignature, "the URL's signature is not valid");
    if (now > exp)
        return apiError(ApiErrorCode::UrlExpired, "the URL has expired");
    return grant;
}

ApiResult<std::unique_ptr<SignedUrlEndpoint::Writer>> LocalBlobStore::openWriter(const Grant& grant) {
    if (!validKey(grant.key))
        return apiError(ApiErrorCode::NotFound, "not found");
    const fs::path final = fs::path(root_) / grant.key;
    std::error_code ec;
    if (fs::create_directories(final.parent_path(), ec))
        fs::permissions(final.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
    const fs::path temp = tempPathFor(final);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return apiError(ApiErrorCode::Internal, "cannot store the upload");
    return std::unique_ptr<Writer>(std::make_unique<FileWriter>(temp, final, fd, grant.maxBytes, grant.contentType));
}

std::optional<std::string> LocalBlobStore::pathOf(const std::string& key) const {
    if (!validKey(key))
        return std::nullopt;
    const fs::path p = fs::path(root_) / key;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
        return std::nullopt;
    return p.string();
}

ApiResult<std::optional<BlobInfo>> LocalBlobStore::stat(const std::string& key) {
    if (!validKey(key))
        return apiError(ApiErrorCode::Internal, "invalid object key");
    struct ::stat st {};
    const std::string p = (fs::path(root_) / key).string();
    if (::stat(p.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return std::optional<BlobInfo>();
        return apiError(ApiErrorCode::Internal, "cannot read the store");
    }
    if (!S_ISREG(st.st_mode))
        return std::optional<BlobInfo>();
    return std::optional<BlobInfo>(BlobInfo{static_cast<std::int64_t>(st.st_size), recordedType(p)});
}

ApiResult<std::string> LocalBlobStore::readPrefix(const std::string& key, std::size_t maxBytes) {
    auto p = pathOf(key);
    if (!p)
        return apiError(ApiErrorCode::NotFound, "the file is gone");
    const int fd = ::open(p->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return apiError(errno == ENOENT ? ApiErrorCode::NotFound : ApiErrorCode::Internal,
                        "cannot read the stored file");
    std::string out(maxBytes, '\0');
    std::size_t got = 0;
    while (got < maxBytes) {
        const ssize_t r = ::read(fd, out.data() + got, maxBytes - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += static_cast<std::size_t>(r);
    }
    ::close(fd);
    out.resize(got);
    return out;
}

ApiResult<std::vector<std::string>> LocalBlobStore::list(const std::string& prefix) {
    std::vector<std::string> keys;
    std::error_code ec;
    const fs::path root(root_);
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec))
            continue;
        const std::string name = it->path().filename().string();
        if (!name.empty() && name.front() == '.')
            continue; // a temp file of a write in progress (or of one killed mid-write)
        const std::string key = fs::relative(it->path(), root, ec).generic_string();
        if (!ec && validKey(key) && key.compare(0, prefix.size(), prefix) == 0)
            keys.push_back(key);
    }
    if (ec)
        return apiError(ApiErrorCode::Internal, "cannot list the store");
    std::sort(keys.begin(), keys.end());
    return keys;
}

ApiResult<int> LocalBlobStore::sweepIncomplete(UnixSeconds startedBefore) {
    int removed = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(fs::path(root_), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() < 5 || name.front() != '.' || name.compare(name.size() - 4, 4, ".tmp") != 0)
            continue;
        struct ::stat st {};
        if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime >= startedBefore)
            continue;
        if (::unlink(it->path().c_str()) == 0)
            ++removed;
    }
    if (ec)
        return apiError(ApiErrorCode::Internal, "cannot list the store");
    return removed;
}

ApiStatus LocalBlobStore::fetchToFile(const std::string& key, const std::string& localPath) {
    auto p = pathOf(key);
    if (!p)
        return {apiError(ApiErrorCode::NotFound, "the file is gone")};
    // A hard link costs nothing on the same file system; the caller unlinks its name after use.
    if (::link(p->c_str(), localPath.c_str()) == 0)
        return {};
    if (copyFile(*p, localPath))
        return {};
    return {apiError(ApiErrorCode::Internal, "cannot read the stored file")};
}

ApiStatus LocalBlobStore::putFromFile(const std::string& key, const std::string& localPath,
                                      const std::string& contentType) {
    if (!validKey(key))
        return {apiError(ApiErrorCode::Internal, "invalid object key")};
    const fs::path final = fs::path(root_) / key;
    std::error_code ec;
    if (fs::create_directories(final.parent_path(), ec))
        fs::permissions(final.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
    const fs::path temp = tempPathFor(final);
    // Link (or copy) to a temp name, then rename: the object appears complete or not at all.
    if (::link(localPath.c_str(), temp.c_str()) != 0 && !copyFile(localPath, temp))
        return {apiError(ApiErrorCode::Internal, "cannot store the file")};
    ::chmod(temp.c_str(), S_IRUSR | S_IWUSR); // owner only, whatever umask the engine wrote it with
    recordType(temp, contentType);
    if (::rename(temp.c_str(), final.c_str()) != 0) {
        ::unlink(temp.c_str());
        return {apiError(ApiErrorCode::Internal, "cannot store the file")};
    }
    syncDir(final.parent_path());
    return {};
}

ApiStatus LocalBlobStore::remove(const std::string& key) {
    if (!validKey(key))
        return {apiError(ApiErrorCode::Internal, "invalid object key")};
    const fs::path p = fs::path(root_) / key;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return {apiError(ApiErrorCode::Internal, "cannot delete the file")};
    syncDir(p.parent_path());
    return {};
}

} // namespace quack::service
