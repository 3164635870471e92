#pragma once
// Test support for the S3 adapter: a real S3-protocol server (npm s3rver via tests/env/s3.sh),
// one per test process, started on first use and stopped at exit; a small libcurl client that
// uses presigned URLs the way a browser does; temp files.
#include <curl/curl.h>
#include <sodium.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace quack::service::s3test {

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "quack-blob-XXXXXX").string();
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string randomTag() {
    unsigned char r[6];
    randombytes_buf(r, sizeof r);
    std::string s;
    for (unsigned char c : r)
        s += "0123456789abcdefghijklmnopqrstuv"[c & 31];
    return s;
}

inline void writeFile(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}

inline std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---------------------------------------------------------------------------------- s3rver

/// One s3rver per test process, started on first use by tests/env/s3.sh and stopped when the
/// process ends (and by s3rver itself when this process dies: QUACK_S3_WATCH_PID).
class S3Server {
  public:
    static S3Server& instance() {
        if (!slot())
            slot().reset(new S3Server);
        return *slot();
    }
    /// Stops the server if this process started one.
    static void shutdown() {
        if (slot())
            slot()->stop();
    }
    /// Empty when QUACK_TEST_S3=off; fails the test (via error()) when it cannot start.
    const std::string& endpoint() const { return endpoint_; }
    const std::string& error() const { return error_; }
    static bool disabled() {
        const char* v = std::getenv("QUACK_TEST_S3");
        return v && std::string(v) == "off";
    }
    ~S3Server() { stop(); }
    void stop() {
        if (!state_.empty()) {
            const std::string cmd = "bash '" + script() + "' stop '" + state_ + "'";
            [[maybe_unused]] const int rc = std::system(cmd.c_str());
            state_.clear();
        }
    }

  private:
    static std::unique_ptr<S3Server>& slot() {
        static std::unique_ptr<S3Server> s;
        return s;
    }
    static std::string script() { return std::string(QUACK_SOURCE_DIR) + "/tests/env/s3.sh"; }
    S3Server() {
        if (disabled())
            return;
        std::string tmpl = (std::filesystem::temp_directory_path() / "quack-s3rver-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) {
            error_ = "cannot make a temp dir";
            return;
        }
        state_ = tmpl;
        const std::string cmd = "QUACK_S3_WATCH_PID=" + std::to_string(::getpid()) + " bash '" + script() +
                                "' start '" + state_ + "' quack-test > '" + state_ + ".out' 2>&1";
        const int rc = std::system(cmd.c_str());
        const std::string out = readFile(state_ + ".out");
        std::remove((state_ + ".out").c_str());
        if (rc != 0) {
            error_ = "tests/env/s3.sh could not start s3rver (set QUACK_TEST_S3=off to skip): " + out;
            return;
        }
        endpoint_ = out.substr(0, out.find('\n'));
    }
    std::string state_, endpoint_, error_;
};

/// Deletes the test's server at exit even when gtest exits through its own path.
class S3ServerEnvironment : public ::testing::Environment {
  public:
    void TearDown() override { S3Server::shutdown(); }
};
inline const auto* const kS3Env = ::testing::AddGlobalTestEnvironment(new S3ServerEnvironment);

// ---------------------------------------------------------------------------------- HTTP client

struct HttpResult {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers; ///< lower-case names
};

inline std::size_t collect(char* d, std::size_t s, std::size_t n, void* u) {
    static_cast<std::string*>(u)->append(d, s * n);
    return s * n;
}
inline std::size_t collectHeader(char* d, std::size_t s, std::size_t n, void* u) {
    std::string line(d, s * n);
    const auto c = line.find(':');
    if (c != std::string::npos) {
        std::string name = line.substr(0, c);
        for (auto& ch : name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string v = line.substr(c + 1);
        v.erase(0, v.find_first_not_of(' '));
        v.erase(v.find_last_not_of("\r\n ") + 1);
        (*static_cast<std::map<std::string, std::string>*>(u))[name] = v;
    }
    return s * n;
}

/// A real HTTP request with libcurl, as a browser would send to a presigned URL.
inline HttpResult http(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::pair<std::string, std::string>>& headers,
                const std::vector<std::string>& resolve = {}) {
    HttpResult r;
    CURL* c = curl_easy_init();
    curl_slist* list = nullptr;
    for (const auto& [k, v] : headers)
        list = curl_slist_append(list, (k + ": " + v).c_str());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "PUT") {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collectHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_slist* res = nullptr;
    for (const auto& e : resolve)
        res = curl_slist_append(res, e.c_str());
    if (res)
        curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_slist_free_all(res);
    curl_easy_cleanup(c);
    return r;
}

} // namespace quack::service::s3test
