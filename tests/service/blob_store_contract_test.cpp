// The BlobStore contract: one suite, run against every adapter (local disk and S3 against a
// real S3-protocol server, npm s3rver, started by tests/env/s3.sh). What differs between the
// adapters is stated in the harness, not hidden: s3rver does not verify SigV4, so the size and
// type bounds of a presigned PUT are checked here only where the store enforces them itself
// (local disk); for S3 they are proven by the signer tests (sigv4_test.cpp).
#include "s3_test_env.h"
#include "service/adapters/local_blob_store.h"

#include "service/adapters/s3_blob_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <limits>
#include <set>

namespace quack::service {
namespace {

using namespace s3test;

/// Exactly n bytes that start like a 16-bit mono 44.1 kHz WAV (the local store sniffs uploads),
/// followed by a 441 Hz sine: distinct bytes throughout, so an offset error shows.
std::string audioBytes(std::size_t n) {
    auto le = [](std::string& s, std::uint32_t v, int bytes) {
        for (int i = 0; i < bytes; ++i)
            s += static_cast<char>((v >> (8 * i)) & 0xFF);
    };
    const auto data = static_cast<std::uint32_t>(n > 44 ? n - 44 : 0);
    std::string s = "RIFF";
    le(s, 36 + data, 4);
    s += "WAVEfmt ";
    le(s, 16, 4); le(s, 1, 2); le(s, 1, 2); le(s, 44100, 4); le(s, 88200, 4); le(s, 2, 2); le(s, 16, 2);
    s += "data";
    le(s, data, 4);
    for (std::size_t i = 0; s.size() < n; ++i) {
        const auto v = static_cast<std::int16_t>(8000.0 * std::sin(2.0 * M_PI * 441.0 * static_cast<double>(i) / 44100.0) +
                                                 static_cast<double>(i % 7));
        le(s, static_cast<std::uint16_t>(v), 2);
    }
    s.resize(n);
    return s;
}

// ---------------------------------------------------------------------------------- harnesses

/// One adapter under test, with what the contract needs around it.
class Harness {
  public:
    virtual ~Harness() = default;
    virtual BlobStore& store() = 0;
    /// Uses a presigned URL the way the browser does; returns the HTTP status.
    virtual HttpResult use(const SignedUrl& url, const std::string& body, const std::string& contentType) = 0;
    /// True when the store itself rejects a PUT outside the presigned size and type.
    virtual bool enforcesPresignedBounds() const = 0;
    /// The same adapter pointed at something that does not answer; nullptr if not applicable.
    virtual std::unique_ptr<BlobStore> unreachable() = 0;
};

S3Config s3TestConfig(const std::string& endpoint) {
    S3Config c;
    c.endpoint = endpoint;
    c.bucket = "quack-test";
    c.region = "auto";
    c.accessKeyId = "S3RVER"; // the account s3rver knows; it does not check the secret
    c.secretAccessKey = "S3RVER";
    c.pathStyle = true;
    c.partSizeBytes = 256 * 1024; // small parts so a 700 KB file goes multipart
    c.maxAttempts = 3;
    c.retryBaseDelayMs = 20;
    c.connectTimeoutMs = 2000;
    c.listPageSize = 2; // exercise ListObjectsV2 continuation with a handful of objects
    return c;
}

class S3Harness final : public Harness {
  public:
    explicit S3Harness(const std::string& endpoint) {
        auto s = S3BlobStore::create(s3TestConfig(endpoint));
        EXPECT_TRUE(s.ok()) << (s ? "" : s.error().message);
        if (s)
            store_ = std::move(s.value());
    }
    BlobStore& store() override { return *store_; }
    HttpResult use(const SignedUrl& url, const std::string& body, const std::string& contentType) override {
        std::vector<std::pair<std::string, std::string>> h;
        if (url.method == "PUT")
            h.emplace_back("Content-Type", contentType);
        return http(url.method, url.url, body, h);
    }
    bool enforcesPresignedBounds() const override { return false; } // s3rver skips SigV4
    std::unique_ptr<BlobStore> unreachable() override {
        // A port nobody listens on: bind one, learn its number, close it.
        auto c = s3TestConfig("http://127.0.0.1:" + std::to_string(closedPort()));
        auto s = S3BlobStore::create(c);
        return s ? std::unique_ptr<BlobStore>(std::move(s.value())) : nullptr;
    }
    static int closedPort() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        ::close(fd);
        return ntohs(a.sin_port);
    }

  private:
    std::unique_ptr<S3BlobStore> store_;
};

/// The local store on a temp dir. Its signed URLs are served by our HTTP layer; the harness runs
/// the same steps through the SignedUrlEndpoint port that server.cpp's /blob handler runs
/// (verify, Content-Type equal to the grant's, a size-bounded sniffing writer, commit; for GET,
/// the file the grant names), so what is under test is the store, not a second HTTP server.
class LocalHarness final : public Harness {
  public:
    LocalHarness() : store_(dir_.file("blobs"), std::string(32, 's')) {}
    BlobStore& store() override { return store_; }
    HttpResult use(const SignedUrl& url, const std::string& body, const std::string& contentType) override {
        const UnixSeconds now = static_cast<UnixSeconds>(std::time(nullptr));
        const bool put = url.method == "PUT";
        auto grant = store_.verify(put ? SignedUrlEndpoint::Access::Put : SignedUrlEndpoint::Access::Get, url.url, now);
        if (!grant)
            return HttpResult{grant.error().httpStatus(), grant.error().message, {}};
        if (!put) {
            const auto path = store_.pathOf(grant->key);
            if (!path)
                return HttpResult{410, "gone", {}};
            // The HTTP layer adds RFC 6266's filename* beside this (tests/http); the store's part
            // is the name the grant carries.
            return HttpResult{200, readFile(*path),
                              {{"content-disposition", "attachment; filename=\"" + grant->downloadName + "\""}}};
        }
        if (contentType != grant->contentType)
            return HttpResult{415, "another type than signed", {}};
        auto writer = store_.openWriter(grant.value());
        if (!writer)
            return HttpResult{writer.error().httpStatus(), writer.error().message, {}};
        if (auto st = (*writer)->write(body.data(), body.size()); !st)
            return HttpResult{st.error().httpStatus(), st.error().message, {}};
        if (auto st = (*writer)->commit(); !st)
            return HttpResult{st.error().httpStatus(), st.error().message, {}};
        return HttpResult{200, "", {}};
    }
    bool enforcesPresignedBounds() const override { return true; }
    std::unique_ptr<BlobStore> unreachable() override { return nullptr; } // no network in between

  private:
    TempDir dir_;
    LocalBlobStore store_;
};

struct Adapter {
    std::string name;
    std::function<std::unique_ptr<Harness>()> make; ///< nullptr result: skip (reason in skip)
    std::function<std::string()> skip;              ///< non-empty: skip reason
};

void PrintTo(const Adapter& a, std::ostream* os) { *os << a.name; }

std::vector<Adapter> adapters() {
    return {
        Adapter{"Local", [] { return std::unique_ptr<Harness>(std::make_unique<LocalHarness>()); },
                [] { return std::string(); }},
        Adapter{"S3",
                [] { return std::unique_ptr<Harness>(std::make_unique<S3Harness>(S3Server::instance().endpoint())); },
                [] { return S3Server::disabled() ? std::string("QUACK_TEST_S3=off") : std::string(); }},
    };
}

class BlobStoreContract : public ::testing::TestWithParam<Adapter> {
  protected:
    void SetUp() override {
        if (auto why = GetParam().skip(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        if (GetParam().name == "S3") {
            ASSERT_TRUE(S3Server::instance().error().empty()) << S3Server::instance().error();
        }
        harness_ = GetParam().make();
        ASSERT_TRUE(harness_);
        prefix_ = "t" + randomTag() + "/"; // each test its own key space (one server per process)
    }
    BlobStore& store() { return harness_->store(); }
    std::string key(const std::string& name) const { return prefix_ + name; }
    UnixSeconds inMinutes(int m) const {
        return static_cast<UnixSeconds>(std::time(nullptr)) + 60 * m;
    }

    std::unique_ptr<Harness> harness_;
    std::string prefix_;
    TempDir dir_;
};

TEST_P(BlobStoreContract, PresignedPutThenStatPrefixAndFetch) {
    const std::string body = audioBytes(10'000);
    auto url = store().presignPut(key("up"), static_cast<std::int64_t>(body.size()), "audio/wav", inMinutes(15));
    ASSERT_TRUE(url.ok()) << url.error().message;
    EXPECT_EQ(url->method, "PUT");
    const auto put = harness_->use(*url, body, "audio/wav");
    ASSERT_EQ(put.status, 200) << put.body;

    auto st = store().stat(key("up"));
    ASSERT_TRUE(st.ok() && st->has_value());
    EXPECT_EQ((*st)->size, 10'000);
    EXPECT_EQ((*st)->contentType, "audio/wav");

    auto head = store().readPrefix(key("up"), 12);
    ASSERT_TRUE(head.ok()) << head.error().message;
    EXPECT_EQ(*head, body.substr(0, 12));
    auto all = store().readPrefix(key("up"), 1 << 20); // more than there is: the whole object
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(*all, body);

    const std::string local = dir_.file("fetched");
    ASSERT_TRUE(store().fetchToFile(key("up"), local).ok());
    EXPECT_EQ(readFile(local), body);
}

TEST_P(BlobStoreContract, PresignedPutOutsideItsBoundsIsRejected) {
    if (!harness_->enforcesPresignedBounds()) {
        GTEST_SKIP() << "s3rver does not verify SigV4; SigV4.PresignedPutSignsLengthAndType covers S3";
    }
    const std::string body = audioBytes(5000);
    auto url = store().presignPut(key("bounded"), 4000, "audio/wav", inMinutes(15));
    ASSERT_TRUE(url.ok());
    EXPECT_GE(harness_->use(*url, body, "audio/wav").status, 400); // 1000 bytes too many
    auto url2 = store().presignPut(key("bounded"), 5000, "audio/wav", inMinutes(15));
    ASSERT_TRUE(url2.ok());
    EXPECT_GE(harness_->use(*url2, body, "text/html").status, 400); // another type
    auto st = store().stat(key("bounded"));
    ASSERT_TRUE(st.ok());
    EXPECT_FALSE(st->has_value()) << "a rejected upload must leave no object";
}

TEST_P(BlobStoreContract, PresignedGetServesAnAttachment) {
    const std::string body = audioBytes(3000);
    writeFile(dir_.file("m.wav"), body);
    ASSERT_TRUE(store().putFromFile(key("m.wav"), dir_.file("m.wav"), "audio/wav").ok());
    auto url = store().presignGet(key("m.wav"), "My Song (mastered).wav", inMinutes(15));
    ASSERT_TRUE(url.ok());
    EXPECT_EQ(url->method, "GET");
    const auto got = harness_->use(*url, "", "");
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(got.body, body);
    EXPECT_EQ(got.headers.at("content-disposition"), "attachment; filename=\"My Song (mastered).wav\"");
}

TEST_P(BlobStoreContract, PutFromFileSingleAndMultipart) {
    // 700 KB: one PUT for the local store, three parts of 256 KiB for S3 (s3TestConfig).
    for (const std::size_t size : {std::size_t{1}, std::size_t{700'001}}) {
        const std::string body = audioBytes(size);
        const std::string k = key("put-" + std::to_string(size));
        writeFile(dir_.file("src"), body);
        ASSERT_TRUE(store().putFromFile(k, dir_.file("src"), "audio/flac").ok()) << size;
        auto st = store().stat(k);
        ASSERT_TRUE(st.ok() && st->has_value());
        EXPECT_EQ((*st)->size, static_cast<std::int64_t>(size));
        const std::string out = dir_.file("out");
        ASSERT_TRUE(store().fetchToFile(k, out).ok());
        EXPECT_EQ(readFile(out), body) << size;
        std::remove(out.c_str());
    }
    auto listed = store().list(prefix_);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(std::set<std::string>(listed->begin(), listed->end()),
              (std::set<std::string>{key("put-1"), key("put-700001")}));
}

TEST_P(BlobStoreContract, ListByPrefixAndDeletionShowsInTheListing) {
    writeFile(dir_.file("f"), audioBytes(100));
    for (const char* name : {"uploads/a", "uploads/b", "uploads/c", "uploads/d", "uploads/e", "masters/x.wav"})
        ASSERT_TRUE(store().putFromFile(key(name), dir_.file("f"), "audio/wav").ok()) << name;
    auto uploads = store().list(key("uploads/"));
    ASSERT_TRUE(uploads.ok()) << uploads.error().message;
    EXPECT_EQ(std::set<std::string>(uploads->begin(), uploads->end()),
              (std::set<std::string>{key("uploads/a"), key("uploads/b"), key("uploads/c"), key("uploads/d"),
                                     key("uploads/e")}));
    ASSERT_TRUE(store().remove(key("uploads/c")).ok());
    ASSERT_TRUE(store().remove(key("uploads/c")).ok()) << "remove is idempotent";
    auto after = store().list(key("uploads/"));
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->size(), 4u);
    EXPECT_EQ(std::count(after->begin(), after->end(), key("uploads/c")), 0);
    auto st = store().stat(key("uploads/c"));
    ASSERT_TRUE(st.ok());
    EXPECT_FALSE(st->has_value());
    auto none = store().list(key("nothing/"));
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_P(BlobStoreContract, SweepingPartialWritesNeverTouchesCompleteObjects) {
    writeFile(dir_.file("f"), audioBytes(100));
    ASSERT_TRUE(store().putFromFile(key("uploads/kept"), dir_.file("f"), "audio/wav").ok());
    // A horizon far in the future: every partial write would qualify, complete objects never.
    auto swept = store().sweepIncomplete(std::numeric_limits<UnixSeconds>::max() / 2);
    ASSERT_TRUE(swept.ok()) << swept.error().message;
    EXPECT_GE(swept.value(), 0);
    auto st = store().stat(key("uploads/kept"));
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(st->has_value());
    EXPECT_EQ((*st)->size, 100);
    auto listed = store().list(key("uploads/"));
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(std::count(listed->begin(), listed->end(), key("uploads/kept")), 1);
}

TEST_P(BlobStoreContract, AMissingObject) {
    auto st = store().stat(key("gone"));
    ASSERT_TRUE(st.ok()) << "a missing object is an empty answer, not an error";
    EXPECT_FALSE(st->has_value());
    auto head = store().readPrefix(key("gone"), 16);
    ASSERT_FALSE(head.ok());
    EXPECT_EQ(head.error().code, ApiErrorCode::NotFound);
    const std::string local = dir_.file("never");
    const auto fetched = store().fetchToFile(key("gone"), local);
    ASSERT_FALSE(fetched.ok());
    EXPECT_EQ(fetched.error().code, ApiErrorCode::NotFound);
    EXPECT_FALSE(std::filesystem::exists(local)) << "no half file left behind";
    EXPECT_TRUE(store().remove(key("gone")).ok());
}

TEST_P(BlobStoreContract, AnUnreachableEndpointIsUnavailable) {
    auto dead = harness_->unreachable();
    if (!dead) {
        GTEST_SKIP() << "no network endpoint for this adapter";
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto st = dead->stat(key("x"));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ApiErrorCode::Unavailable);
    EXPECT_NE(st.error().message.find("unreachable"), std::string::npos) << st.error().message;
    EXPECT_EQ(st.error().message.find("S3RVER"), std::string::npos) << "no credential in messages";
    writeFile(dir_.file("f"), "x");
    const auto put = dead->putFromFile(key("x"), dir_.file("f"), "audio/wav");
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().code, ApiErrorCode::Unavailable);
    auto listed = dead->list("");
    ASSERT_FALSE(listed.ok());
    EXPECT_EQ(listed.error().code, ApiErrorCode::Unavailable);
    // Bounded retries: 3 tries with 20-40 ms then 40-80 ms of backoff, per call, on a refused
    // connection; 5 s is far above that and far below a hang.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

INSTANTIATE_TEST_SUITE_P(Adapters, BlobStoreContract, ::testing::ValuesIn(adapters()),
                         [](const ::testing::TestParamInfo<Adapter>& p) { return p.param.name; });

} // namespace
} // namespace quack::service
