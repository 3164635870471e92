// The S3 adapter beyond the shared contract: virtual-host addressing and CORS against s3rver,
// and how it fails. Failures a real S3 server cannot be made to produce on demand (503 then
// success, throttling, a full bucket, a refused signature, a part rejected mid-upload) come from
// FaultServer: a loopback HTTP server in this file that answers a script. It stands in for the
// store's failure modes only, and records what the adapter sent (signed headers, the abort).
#include "s3_test_env.h"

#include "service/adapters/s3_blob_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

namespace quack::service {
namespace {

using namespace s3test;

// ---------------------------------------------------------------------------------- FaultServer

struct Scripted {
    int status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct Received {
    std::string requestLine; ///< "PUT /bucket/key?partNumber=2&uploadId=u HTTP/1.1"
    std::string headers;     ///< raw header block
    std::string body;
};

/// Answers each request with the next scripted response (the last one repeats), one request
/// per connection (Connection: close).
class FaultServer {
  public:
    explicit FaultServer(std::vector<Scripted> script) : script_(std::move(script)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        ::listen(fd_, 16);
        thread_ = std::thread([this] { loop(); });
    }
    ~FaultServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<Received> received() {
        std::lock_guard lock(mutex_);
        return received_;
    }

  private:
    void loop() {
        while (!stop_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0)
                return;
            serve(c);
            ::close(c);
        }
    }
    void serve(int c) {
        std::string in;
        char buf[65536];
        std::size_t headerEnd = std::string::npos;
        while (headerEnd == std::string::npos) {
            const ssize_t r = ::recv(c, buf, sizeof buf, 0);
            if (r <= 0)
                return;
            in.append(buf, static_cast<std::size_t>(r));
            headerEnd = in.find("\r\n\r\n");
        }
        Received req;
        req.requestLine = in.substr(0, in.find("\r\n"));
        req.headers = in.substr(0, headerEnd);
        std::string lower = req.headers;
        for (auto& ch : lower)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::size_t length = 0;
        if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos)
            length = std::stoul(lower.substr(at + 17));
        if (lower.find("expect: 100-continue") != std::string::npos) {
            const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
            (void)!::send(c, cont.data(), cont.size(), MSG_NOSIGNAL);
        }
        req.body = in.substr(headerEnd + 4);
        while (req.body.size() < length) {
            const ssize_t r = ::recv(c, buf, sizeof buf, 0);
            if (r <= 0)
                break;
            req.body.append(buf, static_cast<std::size_t>(r));
        }
        Scripted s;
        {
            std::lock_guard lock(mutex_);
            s = script_[std::min(received_.size(), script_.size() - 1)];
            received_.push_back(req);
        }
        std::string out = "HTTP/1.1 " + std::to_string(s.status) + " X\r\nConnection: close\r\n";
        for (const auto& [k, v] : s.headers)
            out += k + ": " + v + "\r\n";
        const bool head = req.requestLine.rfind("HEAD ", 0) == 0;
        const bool sized = std::any_of(s.headers.begin(), s.headers.end(),
                                       [](const auto& h) { return h.first == "Content-Length"; });
        if (!sized)
            out += "Content-Length: " + std::to_string(head ? 0 : s.body.size()) + "\r\n";
        out += "\r\n";
        if (!head)
            out += s.body;
        (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }

    std::vector<Scripted> script_;
    std::vector<Received> received_;
    std::mutex mutex_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

S3Config faultConfig(const std::string& endpoint) {
    S3Config c;
    c.endpoint = endpoint;
    c.bucket = "quack-test";
    c.accessKeyId = "AKIDTEST";
    c.secretAccessKey = "do-not-print-this-secret";
    c.pathStyle = true;
    c.maxAttempts = 3;
    c.retryBaseDelayMs = 5;
    c.partSizeBytes = 1000;
    return c;
}

std::unique_ptr<S3BlobStore> storeAt(const S3Config& c) {
    auto s = S3BlobStore::create(c);
    EXPECT_TRUE(s.ok());
    return s ? std::move(s.value()) : nullptr;
}

Scripted s3Error(int status, const std::string& code) {
    return {status, "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>", {}};
}

TEST(S3BlobStore, RetriesA503ThenSucceeds) {
    FaultServer server({s3Error(503, "ServiceUnavailable"), s3Error(503, "SlowDown"),
                        {200, "", {{"Content-Length", "42"}, {"Content-Type", "audio/wav"}}}});
    auto store = storeAt(faultConfig(server.endpoint()));
    auto st = store->stat("uploads/a");
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_TRUE(st->has_value());
    EXPECT_EQ((*st)->size, 42);
    EXPECT_EQ(server.received().size(), 3u);
}

TEST(S3BlobStore, ATruncatedDownloadIsRetriedFromTheStart) {
    // The first answer promises 100 bytes and the connection drops after 10.
    FaultServer server({{200, "0123456789", {{"Content-Length", "100"}}},
                        {200, std::string(100, 'k'), {}}});
    auto store = storeAt(faultConfig(server.endpoint()));
    TempDir dir;
    const std::string local = dir.file("copy");
    ASSERT_TRUE(store->fetchToFile("uploads/a", local).ok());
    EXPECT_EQ(readFile(local), std::string(100, 'k')) << "the retry must not append to the partial copy";
    EXPECT_EQ(server.received().size(), 2u);
}

TEST(S3BlobStore, GivesUpAfterMaxAttemptsAsUnavailable) {
    FaultServer server({s3Error(503, "SlowDown")});
    auto store = storeAt(faultConfig(server.endpoint()));
    auto listed = store->list("uploads/");
    ASSERT_FALSE(listed.ok());
    EXPECT_EQ(listed.error().code, ApiErrorCode::Unavailable);
    EXPECT_TRUE(listed.error().retryable());
    EXPECT_NE(listed.error().message.find("SlowDown"), std::string::npos) << listed.error().message;
    EXPECT_EQ(server.received().size(), 3u) << "exactly maxAttempts tries";
}

TEST(S3BlobStore, AFullBucketIsAClearErrorAndNotHammered) {
    for (const auto& answer : {s3Error(507, "InsufficientStorage"), s3Error(403, "QuotaExceeded")}) {
        FaultServer server({answer});
        auto store = storeAt(faultConfig(server.endpoint()));
        TempDir dir;
        writeFile(dir.file("f"), "abc");
        const auto put = store->putFromFile("masters/j-1.wav", dir.file("f"), "audio/wav");
        ASSERT_FALSE(put.ok());
        EXPECT_EQ(put.error().code, ApiErrorCode::Unavailable);
        EXPECT_NE(put.error().message.find("object storage is full"), std::string::npos) << put.error().message;
        EXPECT_EQ(server.received().size(), 1u) << "a full bucket is not retried at once";
    }
}

TEST(S3BlobStore, EntityTooLargeAndRefusedCredentials) {
    {
        FaultServer server({s3Error(400, "EntityTooLarge")});
        auto store = storeAt(faultConfig(server.endpoint()));
        TempDir dir;
        writeFile(dir.file("f"), "abc");
        const auto put = store->putFromFile("masters/j-1.wav", dir.file("f"), "audio/wav");
        ASSERT_FALSE(put.ok());
        EXPECT_EQ(put.error().code, ApiErrorCode::PayloadTooLarge);
    }
    {
        FaultServer server({s3Error(403, "SignatureDoesNotMatch")});
        auto store = storeAt(faultConfig(server.endpoint()));
        auto st = store->readPrefix("uploads/a", 16);
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().code, ApiErrorCode::Internal);
        EXPECT_NE(st.error().message.find("refused the credentials (SignatureDoesNotMatch)"), std::string::npos);
        EXPECT_EQ(st.error().message.find("do-not-print-this-secret"), std::string::npos);
        EXPECT_EQ(server.received().size(), 1u);
    }
}

TEST(S3BlobStore, EveryRequestIsSignedWithItsPayloadHash) {
    FaultServer server({{200, "", {{"ETag", "\"e\""}}}});
    auto store = storeAt(faultConfig(server.endpoint()));
    TempDir dir;
    writeFile(dir.file("f"), "Welcome to Amazon S3.");
    ASSERT_TRUE(store->putFromFile("uploads/x", dir.file("f"), "audio/wav").ok());
    const auto got = server.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].requestLine, "PUT /quack-test/uploads/x HTTP/1.1");
    EXPECT_EQ(got[0].body, "Welcome to Amazon S3.");
    // R2 requires x-amz-content-sha256 on every header-signed request; ours is the body's hash.
    EXPECT_NE(got[0].headers.find("x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
              std::string::npos) << got[0].headers;
    EXPECT_NE(got[0].headers.find("Credential=AKIDTEST/"), std::string::npos);
    EXPECT_NE(got[0].headers.find("/auto/s3/aws4_request,SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,"),
              std::string::npos) << got[0].headers;
    EXPECT_EQ(got[0].headers.find("do-not-print-this-secret"), std::string::npos);
}

TEST(S3BlobStore, AFailedMultipartUploadIsAborted) {
    const std::string created = "<InitiateMultipartUploadResult><Bucket>quack-test</Bucket><Key>masters/big</Key>"
                                "<UploadId>up&amp;1</UploadId></InitiateMultipartUploadResult>";
    FaultServer server({{200, created, {}}, {200, "", {{"ETag", "\"p1\""}}}, s3Error(400, "InvalidPart"),
                        {204, "", {}}});
    auto store = storeAt(faultConfig(server.endpoint())); // parts of 1000 bytes
    TempDir dir;
    writeFile(dir.file("big"), std::string(2500, 'x'));
    const auto put = store->putFromFile("masters/big", dir.file("big"), "audio/wav");
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().code, ApiErrorCode::Internal);
    const auto got = server.received();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].requestLine, "POST /quack-test/masters/big?uploads= HTTP/1.1");
    EXPECT_EQ(got[1].requestLine, "PUT /quack-test/masters/big?partNumber=1&uploadId=up%261 HTTP/1.1");
    EXPECT_EQ(got[1].body.size(), 1000u);
    EXPECT_EQ(got[2].requestLine, "PUT /quack-test/masters/big?partNumber=2&uploadId=up%261 HTTP/1.1");
    EXPECT_EQ(got[3].requestLine, "DELETE /quack-test/masters/big?uploadId=up%261 HTTP/1.1") << "aborted";
}

TEST(S3BlobStore, MultipartCompletesWithEveryPartInOrder) {
    const std::string created = "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>";
    FaultServer server({{200, created, {}}, {200, "", {{"ETag", "\"a\""}}}, {200, "", {{"ETag", "\"b\""}}},
                        {200, "", {{"ETag", "\"c\""}}}, {200, "<CompleteMultipartUploadResult/>", {}}});
    auto store = storeAt(faultConfig(server.endpoint()));
    TempDir dir;
    writeFile(dir.file("big"), std::string(2500, 'y'));
    ASSERT_TRUE(store->putFromFile("masters/big", dir.file("big"), "audio/wav").ok());
    const auto got = server.received();
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[3].body.size(), 500u) << "the last part is the remainder";
    EXPECT_EQ(got[4].requestLine, "POST /quack-test/masters/big?uploadId=u HTTP/1.1");
    EXPECT_EQ(got[4].body, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
                           "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part>"
                           "<Part><PartNumber>3</PartNumber><ETag>&quot;c&quot;</ETag></Part></CompleteMultipartUpload>");
}

TEST(S3BlobStore, AnErrorInsideA200CompleteIsAFailure) {
    const std::string created = "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>";
    FaultServer server({{200, created, {}}, {200, "", {{"ETag", "\"a\""}}}, {200, "", {{"ETag", "\"b\""}}},
                        {200, "<Error><Code>InvalidPart</Code></Error>", {}}, {204, "", {}}});
    auto store = storeAt(faultConfig(server.endpoint()));
    TempDir dir;
    writeFile(dir.file("big"), std::string(1500, 'z'));
    const auto put = store->putFromFile("masters/big", dir.file("big"), "audio/wav");
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.error().message.find("InvalidPart"), std::string::npos);
    EXPECT_EQ(server.received().back().requestLine, "DELETE /quack-test/masters/big?uploadId=u HTTP/1.1");
}

TEST(S3BlobStore, LifecycleBackstopFollowsTheRetentionPolicy) {
    // s3rver does not implement lifecycle rules, so the request is checked as sent.
    FaultServer server({{200, "", {}}});
    auto store = storeAt(faultConfig(server.endpoint()));
    RetentionPolicy retention; // 24 h unused upload, 7 days master
    ASSERT_TRUE(store->applyLifecycleBackstop(retention).ok());
    const auto got = server.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].requestLine, "PUT /quack-test?lifecycle= HTTP/1.1");
    EXPECT_NE(got[0].headers.find("Content-MD5: "), std::string::npos) << "S3 requires it on PUT ?lifecycle";
    EXPECT_NE(got[0].body.find("<Prefix>uploads/</Prefix></Filter><Expiration><Days>2</Days>"), std::string::npos);
    EXPECT_NE(got[0].body.find("<Prefix>masters/</Prefix></Filter><Expiration><Days>8</Days>"), std::string::npos);
    EXPECT_NE(got[0].body.find("<DaysAfterInitiation>1</DaysAfterInitiation>"), std::string::npos);
    retention.masterSeconds = 7 * 86400 + 1; // a second over 7 days rounds up to 8, plus 1
    EXPECT_NE(S3BlobStore::lifecycleBackstopXml(retention).find("<Prefix>masters/</Prefix></Filter><Expiration><Days>9<"),
              std::string::npos);
}

TEST(S3BlobStore, ConfigurationIsChecked) {
    S3Config c = faultConfig("http://127.0.0.1:9");
    EXPECT_TRUE(S3BlobStore::create(c).ok());
    for (const char* bad : {"ftp://x", "127.0.0.1:9000", "http://host/path", "https://"}) {
        c.endpoint = bad;
        auto s = S3BlobStore::create(c);
        ASSERT_FALSE(s.ok()) << bad;
        EXPECT_EQ(s.error().code, ApiErrorCode::ValidationFailed);
        EXPECT_NE(s.error().message.find("s3_endpoint"), std::string::npos);
    }
    c = faultConfig("http://127.0.0.1:9");
    c.bucket = "Bad_Bucket";
    EXPECT_FALSE(S3BlobStore::create(c).ok());
    c = faultConfig("http://127.0.0.1:9");
    c.secretAccessKey.clear();
    auto s = S3BlobStore::create(c);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("s3_secret_access_key"), std::string::npos);
}

TEST(S3BlobStore, SettingsComeFromTheEnvironment) {
    const std::vector<std::pair<const char*, const char*>> env = {
        {"QUACK_S3_ENDPOINT", "https://acct.r2.cloudflarestorage.com"}, {"QUACK_S3_BUCKET", "quack-audio"},
        {"QUACK_S3_ACCESS_KEY_ID", "AKID"}, {"QUACK_S3_SECRET_ACCESS_KEY", "sekrit"},
        {"QUACK_S3_PATH_STYLE", "true"}};
    for (const auto& [k, v] : env)
        ::setenv(k, v, 1);
    auto c = loadConfig("");
    ASSERT_TRUE(c.ok()) << c.error().message;
    const S3Config s3 = s3ConfigFrom(*c);
    EXPECT_EQ(s3.endpoint, "https://acct.r2.cloudflarestorage.com");
    EXPECT_EQ(s3.bucket, "quack-audio");
    EXPECT_EQ(s3.region, "auto") << "R2's region by default";
    EXPECT_EQ(s3.accessKeyId, "AKID");
    EXPECT_EQ(s3.secretAccessKey, "sekrit");
    EXPECT_TRUE(s3.pathStyle);
    EXPECT_EQ(s3.partSizeBytes, 64LL << 20);
    ::unsetenv("QUACK_S3_BUCKET");
    auto missing = loadConfig("");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("s3_bucket"), std::string::npos);
    ::setenv("QUACK_S3_BUCKET", "quack-audio", 1);
    ::setenv("QUACK_S3_PART_SIZE_BYTES", "1000", 1);
    auto small = loadConfig("");
    ASSERT_FALSE(small.ok());
    EXPECT_NE(small.error().message.find("s3_part_size_bytes"), std::string::npos);
    ::unsetenv("QUACK_S3_PART_SIZE_BYTES");
    for (const auto& [k, v] : env)
        ::unsetenv(k);
}

TEST(S3BlobStore, PresignedUrlsHaveTheRightShape) {
    S3Config c = faultConfig("https://acct.r2.cloudflarestorage.com");
    c.pathStyle = false;
    auto clock = std::make_shared<ManualClock>(1'800'000'000);
    auto s = S3BlobStore::create(c, clock);
    ASSERT_TRUE(s.ok());
    auto& store = **s;
    EXPECT_EQ(store.publicOrigin(), "https://quack-test.acct.r2.cloudflarestorage.com");
    auto put = store.presignPut("uploads/upl_1", 1234, "audio/flac", 1'800'000'900);
    ASSERT_TRUE(put.ok());
    EXPECT_EQ(put->url.rfind("https://quack-test.acct.r2.cloudflarestorage.com/uploads/upl_1?", 0), 0u) << put->url;
    EXPECT_NE(put->url.find("X-Amz-Expires=900&"), std::string::npos);
    EXPECT_NE(put->url.find("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&"), std::string::npos);
    EXPECT_NE(put->url.find("%2Fauto%2Fs3%2Faws4_request"), std::string::npos);
    EXPECT_EQ(put->expiresAt, 1'800'000'900);
    ASSERT_EQ(put->headers.size(), 1u);
    EXPECT_EQ(put->headers[0], (std::pair<std::string, std::string>{"Content-Type", "audio/flac"}));
    // Beyond S3's 7-day limit the URL is capped, and says so.
    auto longGet = store.presignGet("masters/j-1.wav", "a \"quoted\" name\n.wav", 1'800'000'000 + 30 * 86400);
    ASSERT_TRUE(longGet.ok());
    EXPECT_EQ(longGet->expiresAt, 1'800'000'000 + 7 * 86400);
    EXPECT_NE(longGet->url.find("X-Amz-Expires=604800&"), std::string::npos);
    EXPECT_NE(longGet->url.find("response-content-disposition=attachment%3B%20filename%3D%22a%20_quoted_%20name_.wav%22"),
              std::string::npos) << longGet->url;
}

// ---------------------------------------------------------------------------------- s3rver

class S3rverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (S3Server::disabled()) {
            GTEST_SKIP() << "QUACK_TEST_S3=off";
        }
        ASSERT_TRUE(S3Server::instance().error().empty()) << S3Server::instance().error();
        endpoint_ = S3Server::instance().endpoint();
        port_ = endpoint_.substr(endpoint_.rfind(':') + 1);
    }
    S3Config config() const {
        S3Config c;
        c.endpoint = endpoint_;
        c.bucket = "quack-test";
        c.accessKeyId = "S3RVER";
        c.secretAccessKey = "S3RVER";
        c.pathStyle = true;
        c.retryBaseDelayMs = 10;
        return c;
    }
    std::string endpoint_, port_;
};

TEST_F(S3rverTest, VirtualHostStyle) {
    // s3rver takes the bucket from a Host of the form <bucket>.s3.amazonaws.com; the name is
    // mapped to loopback (no network).
    S3Config c = config();
    c.endpoint = "http://s3.amazonaws.com:" + port_;
    c.pathStyle = false;
    const std::string host = "quack-test.s3.amazonaws.com:" + port_;
    c.resolve = {host + ":127.0.0.1"};
    auto store = storeAt(c);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->publicOrigin(), "http://" + host);
    TempDir dir;
    writeFile(dir.file("f"), "virtual host bytes");
    ASSERT_TRUE(store->putFromFile("vhost/a.wav", dir.file("f"), "audio/wav").ok());
    auto listed = store->list("vhost/");
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    EXPECT_EQ(*listed, std::vector<std::string>{"vhost/a.wav"});
    auto url = store->presignGet("vhost/a.wav", "a.wav", static_cast<UnixSeconds>(std::time(nullptr)) + 300);
    ASSERT_TRUE(url.ok());
    EXPECT_EQ(url->url.rfind("http://" + host + "/vhost/a.wav?", 0), 0u);
    const auto got = http("GET", url->url, "", {}, c.resolve);
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.body, "virtual host bytes");
    // The same object through path style: one bucket, two addressings.
    auto path = storeAt(config());
    auto st = path->stat("vhost/a.wav");
    ASSERT_TRUE(st.ok() && st->has_value());
    EXPECT_EQ((*st)->size, 18);
    ASSERT_TRUE(store->remove("vhost/a.wav").ok());
}

TEST_F(S3rverTest, MegabyteBodiesGoThroughExpectContinue) {
    // Above 1 MiB libcurl sends "Expect: 100-continue" (as it will for 64 MiB parts on R2).
    std::string body(3 << 20, '\0');
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>((i * 2654435761u) >> 24);
    TempDir dir;
    writeFile(dir.file("big"), body);
    for (const std::int64_t part : {std::int64_t{8} << 20, std::int64_t{1} << 20}) { // single PUT, 3 parts
        S3Config c = config();
        c.partSizeBytes = part;
        auto store = storeAt(c);
        const std::string key = "big/" + std::to_string(part);
        ASSERT_TRUE(store->putFromFile(key, dir.file("big"), "audio/wav").ok()) << part;
        ASSERT_TRUE(store->fetchToFile(key, dir.file("back")).ok());
        EXPECT_EQ(readFile(dir.file("back")), body) << part;
        ASSERT_TRUE(store->remove(key).ok());
    }
}

TEST_F(S3rverTest, CorsLetsTheWebAppOriginPutAndGet) {
    auto store = storeAt(config());
    ASSERT_TRUE(store->applyCors({"https://app.example"}).ok());
    auto url = store->presignPut("cors/x", 3, "audio/wav", static_cast<UnixSeconds>(std::time(nullptr)) + 300);
    ASSERT_TRUE(url.ok());
    // The browser's preflight for a PUT with Content-Type.
    const auto ok = http("OPTIONS", url->url, "",
                         {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "PUT"},
                          {"Access-Control-Request-Headers", "content-type"}});
    EXPECT_EQ(ok.status, 200);
    // S3 and R2 echo the matched origin; s3rver answers "*" for any matched rule. Either way
    // the rule matched, which the refused origin below shows is not a given.
    EXPECT_EQ(ok.headers.count("access-control-allow-origin"), 1u);
    EXPECT_NE(ok.headers.count("access-control-allow-methods") ? ok.headers.at("access-control-allow-methods") : "",
              "");
    EXPECT_NE(ok.headers.at("access-control-allow-methods").find("PUT"), std::string::npos);
    EXPECT_EQ(ok.headers.count("access-control-allow-headers") ? ok.headers.at("access-control-allow-headers") : "",
              "content-type");
    const auto other = http("OPTIONS", url->url, "",
                            {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "PUT"}});
    EXPECT_EQ(other.status, 403);
    EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
}

TEST_F(S3rverTest, StartUpCheckNamesAMissingBucket) {
    auto store = storeAt(config());
    EXPECT_TRUE(store->checkBucket().ok());
    S3Config c = config();
    c.bucket = "no-such-bucket";
    auto missing = storeAt(c);
    const auto st = missing->checkBucket();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ApiErrorCode::Internal);
    EXPECT_NE(st.error().message.find("bucket 'no-such-bucket' does not exist"), std::string::npos);
    auto put = missing->list("");
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.error().message.find("does not exist"), std::string::npos) << put.error().message;
}

} // namespace
} // namespace quack::service
