// An open event stream must not outlive its session (issue 9, finding 11): it kept sending
// fresh signed download URLs after sign-out.
#include "fixture.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

namespace quack::test {
namespace {

/// A WAV head and silence: enough for the sniffer; this job is never mastered.
std::string headOnlyWav(std::size_t bytes) {
    std::string s = "RIFF";
    s += std::string("\x24\x00\x00\x00", 4);
    s += "WAVEfmt ";
    s.resize(bytes, '\0');
    return s;
}

class SessionStream : public ServiceFixture {
  protected:
    SessionStream() { config_.workers = 0; } // the job stays queued: the stream stays open
};

TEST_F(SessionStream, EndsSoonAfterSignOut) {
    auto alice = client();
    signUp(alice, "alice@example.com");
    const auto id = upload(alice, headOnlyWav(2000));
    auto job = alice.post("/api/v1/jobs", {{"upload_id", id}, {"preset", "streaming"}});
    ASSERT_EQ(job.status, 202) << job.body;
    const auto jobId = job.json()["job"]["id"].get<std::string>();
    auto listener = alice; // same cookie, its own connection
    auto stream = std::async(std::launch::async,
                             [&] { return listener.jobEvents("/api/v1/jobs/" + jobId + "/events"); });
    // The stream is open and has sent the queued job.
    EXPECT_EQ(stream.wait_for(std::chrono::milliseconds(600)), std::future_status::timeout);
    ASSERT_EQ(alice.post("/api/v1/auth/logout", nlohmann::json::object()).status, 204);
    // Polled every 250 ms: it must end within a few polls (2 s leaves room for a loaded CI).
    ASSERT_EQ(stream.wait_for(std::chrono::seconds(2)), std::future_status::ready);
    const auto [status, events] = stream.get();
    EXPECT_EQ(status, 200);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front()["status"], "queued");
}

} // namespace
} // namespace quack::test

namespace quack::test {
namespace {

class HttpFraming : public ServiceFixture {};

TEST_F(HttpFraming, RefusesSmugglingShapes) {
    auto c = client();
    // RFC 9112 6.3: a Transfer-Encoding other than a final "chunked" alone is refused.
    const auto te = c.raw("POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n"
                          "Content-Type: application/json\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(te.rfind("HTTP/1.1 400", 0), 0u) << te.substr(0, 80);
    // RFC 9112 3.2: an HTTP/1.1 request without Host is refused.
    const auto noHost = c.raw("GET /api/v1/health HTTP/1.1\r\n\r\n");
    EXPECT_EQ(noHost.rfind("HTTP/1.1 400", 0), 0u) << noHost.substr(0, 80);
    // The ordinary forms still work.
    const auto ok = c.raw("GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok.substr(0, 80);
}

} // namespace
} // namespace quack::test
