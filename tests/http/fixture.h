#pragma once
// A real service on an ephemeral loopback port, in-process, with a manual clock: database and
// blobs in a fresh temporary directory per test.
#include "service/host/service_host.h"
#include "tests/http/client.h"
#include "tests/http/test_audio.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

namespace quack::test {

inline std::filesystem::path makeTempDir(const std::string& tag) {
    std::random_device rd;
    auto dir = std::filesystem::temp_directory_path() /
               ("quack-http-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    return dir;
}

class ServiceFixture : public ::testing::Test {
  protected:
    /// Tests tune config_ in their constructor or before calling startHost().
    ServiceFixture() {
        dir_ = makeTempDir("e2e");
        config_.dataDir = (dir_ / "data").string();
        config_.port = 0;
        config_.workers = 1;
        // libsodium's minimums: the cost of Argon2id is not under test here, speed is.
        config_.passwordHashMemoryBytes = 8192;
        config_.passwordHashOpsLimit = 1;
        config_.webRoot = (dir_ / "web").string();
        std::filesystem::create_directories(dir_ / "web" / "assets");
        std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>QuackTracks</title>";
        std::ofstream(dir_ / "web" / "assets" / "app-1234.js") << "console.log('quack');";
        std::ofstream(dir_ / "secret.txt") << "outside the web root";
        clock_ = std::make_shared<service::ManualClock>(static_cast<service::UnixSeconds>(std::time(nullptr)));
    }
    ~ServiceFixture() override {
        host_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    void startHost() {
        service::http::HostOptions options;
        options.runSweeper = false;
        options.workerPollMs = 20;
        auto host = service::http::ServiceHost::start(config_, clock_, options);
        ASSERT_TRUE(host.ok()) << host.error().message;
        host_ = std::move(host).value();
    }
    void SetUp() override { startHost(); }

    HttpClient client() const { return HttpClient(host_->port()); }
    service::Database& db() const { return host_->services().db(); }
    service::BlobStore& blobs() const { return host_->services().blobs(); }

    /// Registers and signs in; the client keeps the session cookie.
    void signUp(HttpClient& c, const std::string& email) const {
        auto r = c.post("/api/v1/auth/register", {{"email", email}, {"password", "correct horse battery"}, {"name", "Test"}});
        ASSERT_EQ(r.status, 201) << r.body;
        ASSERT_FALSE(c.cookie.empty());
    }

    /// POST /uploads then PUT the bytes to the signed URL. Returns the upload id.
    std::string upload(HttpClient& c, const std::string& bytes, const std::string& filename = "mix.wav",
                       const std::string& type = "audio/wav") const {
        auto r = c.post("/api/v1/uploads", {{"filename", filename}, {"size", bytes.size()}, {"content_type", type}});
        EXPECT_EQ(r.status, 201) << r.body;
        const auto j = r.json();
        std::vector<std::pair<std::string, std::string>> headers;
        for (auto& [k, v] : j["headers"].items())
            headers.emplace_back(k, v.get<std::string>());
        auto put = c.putBytes(j["url"].get<std::string>(), bytes, headers);
        EXPECT_EQ(put.status, 200) << put.body;
        return j["upload_id"].get<std::string>();
    }

    std::filesystem::path dir_;
    service::ServiceConfig config_;
    std::shared_ptr<service::ManualClock> clock_;
    std::unique_ptr<service::http::ServiceHost> host_;
};

} // namespace quack::test
