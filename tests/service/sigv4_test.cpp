// Our SigV4 signer (service/adapters/sigv4.h) against AWS's published examples and,
// differentially, against npm aws4 (an independent implementation) on random requests.
// s3rver does not verify signatures, so these tests are what proves the signer right.
#include "service/adapters/sigv4.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

namespace quack::service {
namespace {

using sigv4::Params;

// The credentials, time and host of every example in AWS's S3 documentation ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single Chunk" and
// "Authenticating Requests: Using Query Parameters").
const sigv4::Credentials kAws{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
const sigv4::Scope kUsEast1{"us-east-1", "s3"};
constexpr std::int64_t k20130524 = 1369353600; // 2013-05-24T00:00:00Z
const std::string kHost = "examplebucket.s3.amazonaws.com";

std::string headerValue(const Params& h, const std::string& name) {
    for (const auto& [k, v] : h)
        if (k == name)
            return v;
    return "";
}

TEST(SigV4, HelpersMatchTheirDefinitions) {
    EXPECT_EQ(sigv4::sha256Hex(""), sigv4::kEmptySha256);
    EXPECT_EQ(sigv4::sha256Hex("Welcome to Amazon S3."),
              "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    EXPECT_EQ(sigv4::amzDate(k20130524), "20130524T000000Z");
    EXPECT_EQ(sigv4::amzDate(1'800'000'000), "20270115T080000Z");
    EXPECT_EQ(sigv4::uriEncode("a b/c+d=~_.-é"), "a%20b%2Fc%2Bd%3D~_.-%C3%A9");
    EXPECT_EQ(sigv4::uriEncode("/test$file.text", true), "/test%24file.text");
    // Sorted by encoded name; a bare parameter is "name="; '/' in a value is encoded.
    EXPECT_EQ(sigv4::canonicalQuery({{"prefix", "a/b"}, {"list-type", "2"}, {"uploads", ""}}),
              "list-type=2&prefix=a%2Fb&uploads=");
}

// AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
TEST(SigV4, SigningKeyMatchesTheAwsDerivationExample) {
    EXPECT_EQ(sigv4::toHex(sigv4::signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                             {"us-east-1", "iam"})),
              "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, GetObjectWithRange) {
    sigv4::Request r{"GET", kHost, "/test.txt", {}, {{"Range", "bytes=0-9"}}};
    const auto auth = sigv4::signHeaders(r, kAws, kUsEast1, sigv4::kEmptySha256, k20130524);
    EXPECT_EQ(auth.detail.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    EXPECT_EQ(headerValue(auth.headers, "Authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    EXPECT_EQ(headerValue(auth.headers, "x-amz-content-sha256"), sigv4::kEmptySha256);
    EXPECT_EQ(headerValue(auth.headers, "x-amz-date"), "20130524T000000Z");
}

TEST(SigV4, PutObjectWithAReservedCharacterInTheKey) {
    sigv4::Request r{"PUT", kHost, "/test$file.text", {},
                     {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}}};
    const auto auth = sigv4::signHeaders(r, kAws, kUsEast1, sigv4::sha256Hex("Welcome to Amazon S3."), k20130524);
    EXPECT_EQ(auth.detail.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    EXPECT_NE(auth.detail.canonicalRequest.find("PUT\n/test%24file.text\n\n"), std::string::npos);
}

TEST(SigV4, GetBucketLifecycleWithAValuelessParameter) {
    sigv4::Request r{"GET", kHost, "/", {{"lifecycle", ""}}, {}};
    const auto auth = sigv4::signHeaders(r, kAws, kUsEast1, sigv4::kEmptySha256, k20130524);
    EXPECT_EQ(auth.detail.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsSortsTheQuery) {
    // Given out of order on purpose: the canonical query is sorted.
    sigv4::Request r{"GET", kHost, "/", {{"prefix", "J"}, {"max-keys", "2"}}, {}};
    const auto auth = sigv4::signHeaders(r, kAws, kUsEast1, sigv4::kEmptySha256, k20130524);
    EXPECT_EQ(auth.detail.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, PresignedGet) {
    sigv4::Request r{"GET", kHost, "/test.txt", {}, {}};
    const auto auth = sigv4::presign(r, kAws, kUsEast1, k20130524, 86400);
    EXPECT_EQ(auth.detail.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    EXPECT_EQ(auth.query,
              "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
              "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
              "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// What the S3 store relies on for the size and type bound of a browser upload (s3rver cannot
// check it): the presigned PUT signs content-length and content-type, so a client that sends
// another length or type presents a different canonical request and S3/R2 reject it.
TEST(SigV4, PresignedPutSignsLengthAndType) {
    sigv4::Request r{"PUT", "acct.r2.cloudflarestorage.com", "/bucket/uploads/upl_1", {},
                     {{"content-length", "1000"}, {"content-type", "audio/wav"}}};
    const sigv4::Scope r2{"auto", "s3"};
    const auto a = sigv4::presign(r, kAws, r2, k20130524, 900);
    EXPECT_NE(a.query.find("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), std::string::npos);
    EXPECT_NE(a.query.find("%2Fauto%2Fs3%2Faws4_request"), std::string::npos);
    EXPECT_NE(a.detail.canonicalRequest.find("content-length:1000\ncontent-type:audio/wav\nhost:"),
              std::string::npos);
    r.headers[0].second = "1001";
    EXPECT_NE(sigv4::presign(r, kAws, r2, k20130524, 900).detail.signature, a.detail.signature);
    r.headers[0].second = "1000";
    r.headers[1].second = "text/html";
    EXPECT_NE(sigv4::presign(r, kAws, r2, k20130524, 900).detail.signature, a.detail.signature);
}

// ---------------------------------------------------------------------------------- aws4

/// Random printable text from an alphabet that includes every class the encoder treats
/// differently: unreserved, reserved, '%', '+', '/', space and multi-byte UTF-8.
std::string randomText(std::mt19937& rng, int minLen, int maxLen, bool allowSlash) {
    static const std::vector<std::string> kPieces = {
        "a", "Z", "0", "9", "-", "_", ".", "~", " ", "!", "$", "&", "'", "(", ")", "*", "+", ",",
        ";", "=", ":", "@", "%", "?", "#", "[", "]", "\"", "<", ">", "é", "音", "🦆", "/"};
    std::uniform_int_distribution<int> len(minLen, maxLen);
    std::uniform_int_distribution<std::size_t> pick(0, kPieces.size() - (allowSlash ? 1 : 2));
    std::string s;
    for (int n = len(rng); n > 0; --n)
        s += kPieces[pick(rng)];
    return s;
}

TEST(SigV4, AgreesWithNpmAws4OnRandomRequests) {
    const std::string env = std::string(QUACK_SOURCE_DIR) + "/tests/env";
    if (!std::filesystem::exists(env + "/node_modules/aws4")) {
        if (const char* s3 = std::getenv("QUACK_TEST_S3"); s3 && std::string(s3) == "off")
            GTEST_SKIP() << "QUACK_TEST_S3=off";
        FAIL() << "tests/env/node_modules is missing: run `make test-env` (npm ci in tests/env)";
    }
    std::mt19937 rng(20261207); // fixed seed: a failure reproduces
    std::uniform_int_distribution<int> coin(0, 1);
    const std::vector<std::string> methods = {"GET", "PUT", "HEAD", "DELETE", "POST"};
    const std::vector<std::string> regions = {"auto", "us-east-1", "eu-central-1"};
    constexpr int kCases = 300;
    nlohmann::json requests = nlohmann::json::array();
    std::vector<std::string> ours;
    std::vector<std::string> oursHeaders;
    for (int i = 0; i < kCases; ++i) {
        sigv4::Request r;
        r.method = methods[static_cast<std::size_t>(i) % methods.size()];
        r.host = coin(rng) ? std::string("bucket-").append(std::to_string(i)).append(".acct.r2.cloudflarestorage.com")
                           : std::string("127.0.0.1:").append(std::to_string(1024 + i));
        r.path = std::string("/").append(randomText(rng, 0, 24, true));
        std::set<std::string> names;
        for (int q = std::uniform_int_distribution<int>(0, 4)(rng); q > 0; --q) {
            std::string name = std::string("q").append(randomText(rng, 0, 6, true));
            if (names.insert(name).second)
                r.query.emplace_back(name, coin(rng) ? randomText(rng, 0, 12, true) : "");
        }
        std::set<std::string> hnames;
        for (int h = std::uniform_int_distribution<int>(0, 4)(rng); h > 0; --h) {
            std::string name = std::string(coin(rng) ? "X-Amz-Meta-" : "x-test-") + std::to_string(h);
            std::string value = std::string("  v").append(randomText(rng, 0, 10, true)).append("  two   spaces ");
            if (hnames.insert(name).second)
                r.headers.emplace_back(name, value);
        }
        if (coin(rng))
            r.headers.emplace_back("Range", "bytes=0-" + std::to_string(i));
        const bool presign = coin(rng) != 0;
        const sigv4::Scope scope{regions[static_cast<std::size_t>(i) % regions.size()], "s3"};
        const sigv4::Credentials cred{std::string("AK").append(std::to_string(i)),
                                      std::string("secret/").append(randomText(rng, 8, 40, true))};
        const std::int64_t now = 1'600'000'000 + i * 86'413;
        const std::int64_t expires = 1 + i * 2000;
        const std::string payload = coin(rng) ? std::string(sigv4::kUnsignedPayload) : sigv4::sha256Hex(r.path);
        sigv4::Signature sig;
        if (presign) {
            sig = sigv4::presign(r, cred, scope, now, expires).detail;
        } else {
            sig = sigv4::signHeaders(r, cred, scope, payload, now).detail;
        }
        ours.push_back(sig.signature);
        nlohmann::json jq = nlohmann::json::array(), jh = nlohmann::json::array();
        for (const auto& [k, v] : r.query)
            jq.push_back({k, v});
        for (const auto& [k, v] : r.headers)
            jh.push_back({k, v});
        requests.push_back({{"method", r.method}, {"host", r.host}, {"path", sigv4::uriEncode(r.path, true)},
                            {"query", jq}, {"headers", jh}, {"region", scope.region},
                            {"accessKeyId", cred.accessKeyId}, {"secretAccessKey", cred.secretAccessKey},
                            {"amzDate", sigv4::amzDate(now)}, {"payloadHash", payload},
                            {"presign", presign}, {"expires", expires}});
        oursHeaders.push_back(sig.canonicalRequest);
    }
    std::string dir = (std::filesystem::temp_directory_path() / "quack-aws4-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    const std::string in = dir + "/in.json", out = dir + "/out.json";
    std::ofstream(in) << requests.dump();
    const std::string cmd = "node '" + env + "/aws4-sign.js' < '" + in + "' > '" + out + "'";
    const int rc = std::system(cmd.c_str());
    ASSERT_EQ(rc, 0) << cmd;
    std::ifstream f(out);
    const auto theirs = nlohmann::json::parse(f);
    std::filesystem::remove_all(dir);
    ASSERT_EQ(theirs.size(), ours.size());
    int agree = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        EXPECT_EQ(theirs[i]["signature"].get<std::string>(), ours[i])
            << "case " << i << "\nours:\n" << oursHeaders[i] << "\naws4:\n" << theirs[i]["canonical"].get<std::string>();
        agree += theirs[i]["signature"].get<std::string>() == ours[i];
    }
    EXPECT_EQ(agree, kCases);
}

} // namespace
} // namespace quack::service
