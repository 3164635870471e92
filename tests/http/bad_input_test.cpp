// Refusals through the real server: every one with its documented status and error code, and
// nothing stored when an upload is refused.
#include "tests/http/fixture.h"

namespace quack::test {
namespace {

/// A valid little WAV header + silence: enough for the type sniffer, never mastered here.
std::string tinyWav(std::size_t bytes) {
    std::string s = "RIFF";
    s += std::string("\x24\x00\x00\x00", 4);
    s += "WAVEfmt ";
    s.resize(bytes, '\0');
    return s;
}

struct SignedPut {
    std::string uploadId, url;
    std::vector<std::pair<std::string, std::string>> headers;
};

class BadInput : public ServiceFixture {
  protected:
    SignedPut slot(HttpClient& c, std::int64_t size, const std::string& type = "audio/wav") {
        auto r = c.post("/api/v1/uploads", {{"filename", "mix.wav"}, {"size", size}, {"content_type", type}});
        EXPECT_EQ(r.status, 201) << r.body;
        SignedPut s;
        const auto j = r.json();
        s.uploadId = j["upload_id"].get<std::string>();
        s.url = j["url"].get<std::string>();
        for (auto& [k, v] : j["headers"].items())
            s.headers.emplace_back(k, v.get<std::string>());
        return s;
    }
    bool stored(const std::string& uploadId) { return blobs().stat("uploads/" + uploadId).value().has_value(); }
};

TEST_F(BadInput, OversizedUploadRefusedBeforeReading) {
    auto c = client();
    signUp(c, "a@example.com");
    auto s = slot(c, 1000);
    // Content-Length over the grant: 413 from the headers alone (we send only 100 bytes of 1 GiB).
    auto r = c.putDeclared(s.url, 1ULL << 30, tinyWav(100), {{"Content-Type", "audio/wav"}});
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.errorCode(), "payload_too_large");
    EXPECT_FALSE(stored(s.uploadId));
    // A body that is longer than declared but sent whole: still 413, nothing stored.
    auto r2 = c.putBytes(s.url, tinyWav(5000), s.headers);
    EXPECT_EQ(r2.status, 413);
    EXPECT_FALSE(stored(s.uploadId));
    // Declaring more than the service accepts at all.
    auto big = c.post("/api/v1/uploads", {{"filename", "x.wav"}, {"size", config_.maxUploadBytes + 1}, {"content_type", "audio/wav"}});
    EXPECT_EQ(big.status, 413) << big.body;
}

TEST_F(BadInput, WrongTypeUploadRefused) {
    auto c = client();
    signUp(c, "a@example.com");
    auto s = slot(c, 1000);
    // Declared audio/wav but the bytes are text: the sniffer refuses on the first chunk.
    auto text = c.putBytes(s.url, std::string(1000, 'x'), s.headers);
    EXPECT_EQ(text.status, 415) << text.body;
    EXPECT_EQ(text.errorCode(), "unsupported_media_type");
    EXPECT_FALSE(stored(s.uploadId));
    // Real WAV bytes but another Content-Type than the one signed.
    auto other = c.putBytes(s.url, tinyWav(1000), {{"Content-Type", "text/plain"}});
    EXPECT_EQ(other.status, 415);
    EXPECT_FALSE(stored(s.uploadId));
    // A type that is not audio at all cannot even get a slot.
    auto pdf = c.post("/api/v1/uploads", {{"filename", "x.pdf"}, {"size", 1000}, {"content_type", "application/pdf"}});
    EXPECT_EQ(pdf.status, 415) << pdf.body;
    // The slot still works with the right bytes.
    EXPECT_EQ(c.putBytes(s.url, tinyWav(1000), s.headers).status, 200);
    EXPECT_TRUE(stored(s.uploadId));
}

TEST_F(BadInput, ExpiredAndForgedUrls) {
    auto c = client();
    signUp(c, "a@example.com");
    auto s = slot(c, 1000);
    auto forged = s.url;
    const auto sig = forged.find("sig=");
    ASSERT_NE(sig, std::string::npos);
    forged[sig + 4] = forged[sig + 4] == '0' ? '1' : '0';
    auto f = c.putBytes(forged, tinyWav(1000), s.headers);
    EXPECT_EQ(f.status, 403);
    EXPECT_EQ(f.errorCode(), "invalid_signature");
    auto unsignedUrl = c.putBytes(s.url.substr(0, s.url.find('?')), tinyWav(1000), s.headers);
    EXPECT_EQ(unsignedUrl.status, 403);
    // A PUT URL is not a GET URL.
    EXPECT_EQ(c.get(s.url).status, 403);
    clock_->advance(config_.retention.uploadUrlSeconds + 1);
    auto late = c.putBytes(s.url, tinyWav(1000), s.headers);
    EXPECT_EQ(late.status, 410);
    EXPECT_EQ(late.errorCode(), "url_expired");
    EXPECT_FALSE(stored(s.uploadId));
}

TEST_F(BadInput, JsonBodiesAndJobSettings) {
    auto c = client();
    signUp(c, "a@example.com");
    auto malformed = c.request("POST", "/api/v1/uploads", "{\"filename\": ");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(malformed.errorCode(), "malformed_request");
    auto notObject = c.request("POST", "/api/v1/jobs", "[1,2]");
    EXPECT_EQ(notObject.status, 400);
    auto missing = c.post("/api/v1/uploads", {{"filename", "x.wav"}, {"content_type", "audio/wav"}});
    EXPECT_EQ(missing.status, 422);
    EXPECT_EQ(missing.errorCode(), "validation_failed");
    auto tooBig = c.request("POST", "/api/v1/uploads", "{\"filename\":\"" + std::string(70 * 1024, 'a') + "\"}");
    EXPECT_EQ(tooBig.status, 413);

    auto s = slot(c, 1000);
    ASSERT_EQ(c.putBytes(s.url, tinyWav(1000), s.headers).status, 200);
    auto preset = c.post("/api/v1/jobs", {{"upload_id", s.uploadId}, {"preset", "deafening"}});
    EXPECT_EQ(preset.status, 422);
    EXPECT_EQ(preset.errorCode(), "unknown_preset");
    auto range = c.post("/api/v1/jobs", {{"upload_id", s.uploadId}, {"target_lufs", 3.0}, {"ceiling_dbtp", -1.0}});
    EXPECT_EQ(range.status, 422);
    auto noUpload = c.post("/api/v1/jobs", {{"upload_id", "upl_doesnotexist"}, {"preset", "streaming"}});
    EXPECT_EQ(noUpload.status, 404);
}

TEST_F(BadInput, OtherUsersSeeNothing) {
    auto alice = client(), mallory = client();
    signUp(alice, "alice@example.com");
    signUp(mallory, "mallory@example.com");
    auto s = slot(alice, 1000);
    ASSERT_EQ(alice.putBytes(s.url, tinyWav(1000), s.headers).status, 200);
    // Mallory cannot start a job on Alice's upload (404, not 403: no existence oracle).
    auto steal = mallory.post("/api/v1/jobs", {{"upload_id", s.uploadId}, {"preset", "streaming"}});
    EXPECT_EQ(steal.status, 404);
    EXPECT_EQ(steal.errorCode(), "not_found");
    auto job = alice.post("/api/v1/jobs", {{"upload_id", s.uploadId}, {"preset", "streaming"}});
    ASSERT_EQ(job.status, 202) << job.body;
    const auto jobId = job.json()["job"]["id"].get<std::string>();
    EXPECT_EQ(mallory.get("/api/v1/jobs/" + jobId).status, 404);
    EXPECT_EQ(mallory.request("DELETE", "/api/v1/jobs/" + jobId).status, 404);
    EXPECT_EQ(mallory.jobEvents("/api/v1/jobs/" + jobId + "/events").first, 404);
    EXPECT_TRUE(mallory.get("/api/v1/jobs").json()["jobs"].empty());
    // Alice's job is intact.
    EXPECT_EQ(alice.get("/api/v1/jobs/" + jobId).status, 200);
}

TEST_F(BadInput, DownloadUrlIsACapabilityOnlyWithItsSignature) {
    auto alice = client(), mallory = client();
    signUp(alice, "alice@example.com");
    signUp(mallory, "mallory@example.com");
    const auto path = dir_ / "short.wav";
    writeMusicWav(path.string(), 3.0);
    const auto id = upload(alice, readFile(path.string()));
    auto job = alice.post("/api/v1/jobs", {{"upload_id", id}, {"preset", "loud"}});
    ASSERT_EQ(job.status, 202);
    const auto jobId = job.json()["job"]["id"].get<std::string>();
    ASSERT_EQ(alice.jobEvents("/api/v1/jobs/" + jobId + "/events").second.back()["status"], "done");
    const auto url = alice.get("/api/v1/jobs/" + jobId).json()["job"]["download"]["url"].get<std::string>();
    // Whoever holds the signed URL can download (like S3); without the exact signature, nobody.
    EXPECT_EQ(mallory.get(url).status, 200);
    auto forged = url;
    forged.back() = forged.back() == 'a' ? 'b' : 'a';
    EXPECT_EQ(mallory.get(forged).status, 403);
    const auto stored = db().jobById(jobId).value();
    ASSERT_TRUE(stored.has_value());
    // Guessing a key without any signature: 403 as well.
    EXPECT_EQ(mallory.get("/blob/" + stored->outputBlobKey).status, 403);
}

TEST_F(BadInput, CsrfAndAuthentication) {
    auto c = client();
    signUp(c, "a@example.com");
    auto evil = c;
    evil.origin = "http://evil.example";
    auto cross = evil.post("/api/v1/uploads", {{"filename", "x.wav"}, {"size", 1000}, {"content_type", "audio/wav"}});
    EXPECT_EQ(cross.status, 403);
    EXPECT_EQ(cross.errorCode(), "forbidden");
    auto noOrigin = c;
    noOrigin.origin.clear();
    EXPECT_EQ(noOrigin.request("POST", "/api/v1/auth/logout").status, 403);
    auto site = c.request("POST", "/api/v1/auth/logout", "", {{"Sec-Fetch-Site", "cross-site"}});
    EXPECT_EQ(site.status, 403);
    auto form = c.request("POST", "/api/v1/uploads", "filename=x", {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(form.status, 415);
    // None of these logged the user out.
    EXPECT_EQ(c.get("/api/v1/me").status, 200);

    auto anon = client();
    for (const auto& path : {"/api/v1/me", "/api/v1/jobs", "/api/v1/jobs/job_x", "/api/v1/jobs/job_x/events"}) {
        auto r = anon.get(path);
        EXPECT_EQ(r.status, 401) << path;
        EXPECT_EQ(r.errorCode(), "unauthenticated") << path;
    }
    anon.cookie = "forged-token-value";
    EXPECT_EQ(anon.get("/api/v1/me").status, 401);
}

TEST_F(BadInput, LoginRateLimit) {
    auto c = client();
    signUp(c, "a@example.com");
    int last = 0;
    for (int i = 0; i < config_.loginAttemptsPerWindow; ++i) {
        last = c.post("/api/v1/auth/login", {{"email", "a@example.com"}, {"password", "wrong password!"}}).status;
        EXPECT_EQ(last, 401);
    }
    auto limited = c.post("/api/v1/auth/login", {{"email", "a@example.com"}, {"password", "correct horse battery"}});
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.errorCode(), "rate_limited");
    clock_->advance(config_.loginWindowSeconds + 1);
    EXPECT_EQ(c.post("/api/v1/auth/login", {{"email", "a@example.com"}, {"password", "correct horse battery"}}).status, 200);
}

TEST_F(BadInput, HttpLimitsAndStaticFiles) {
    auto c = client();
    auto huge = c.raw("GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') +
                      "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(huge.rfind("HTTP/1.1 431", 0), 0u) << huge.substr(0, 40);
    auto garbage = c.raw("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage.substr(0, 40);
    // Keep-alive: two requests on one connection.
    auto two = c.raw("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(two.find("HTTP/1.1 200", 10), std::string::npos);

    auto index = c.get("/");
    EXPECT_EQ(index.status, 200);
    EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(index.body.find("QuackTracks"), std::string::npos);
    auto js = c.get("/assets/app-1234.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_NE(js.header("cache-control").find("immutable"), std::string::npos);
    EXPECT_EQ(js.header("content-encoding"), ""); // the client asked for no encoding
    // The build's brotli copy, for a client that takes br; same type, Vary for caches.
    std::ofstream(dir_ / "web" / "assets" / "app-1234.js.br") << "BROTLI";
    auto br = c.request("GET", "/assets/app-1234.js", "", {{"Accept-Encoding", "gzip, deflate, br"}});
    EXPECT_EQ(br.status, 200);
    EXPECT_EQ(br.header("content-encoding"), "br");
    EXPECT_EQ(br.body, "BROTLI");
    EXPECT_EQ(br.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(br.header("vary"), "Accept-Encoding");
    // App routes fall back to index.html; lost assets and API routes do not.
    auto route = c.get("/jobs/job_123");
    EXPECT_EQ(route.status, 200);
    EXPECT_NE(route.body.find("QuackTracks"), std::string::npos);
    EXPECT_EQ(c.get("/assets/missing.js").status, 404);
    EXPECT_EQ(c.get("/api/v1/missing").status, 404);
    // No way out of the web root.
    for (const auto& p : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/..%5csecret.txt"}) {
        auto r = c.get(p);
        EXPECT_NE(r.status, 200) << p;
        EXPECT_EQ(r.body.find("outside the web root"), std::string::npos) << p;
    }
}

} // namespace
} // namespace quack::test
