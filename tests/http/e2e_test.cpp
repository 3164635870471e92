// The whole service through a real server on loopback: accounts, signed-URL upload, job,
// server-sent events, download, loudness of the master, retention with the clock advanced.
#include "tests/http/fixture.h"

#include <cmath>

namespace quack::test {
namespace {

/// A 10 s music-like mix, written once per test binary.
const std::string& mixBytes() {
    static const std::string bytes = [] {
        const auto path = makeTempDir("mix") / "mix.wav";
        writeMusicWav(path.string(), 10.0);
        auto b = readFile(path.string());
        std::filesystem::remove_all(path.parent_path());
        return b;
    }();
    return bytes;
}

class E2E : public ServiceFixture {};

TEST_F(E2E, HealthPresetsAndOpenApi) {
    auto c = client();
    auto health = c.get("/api/v1/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.json()["status"], "ok");
    EXPECT_EQ(health.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(health.header("x-frame-options"), "DENY");
    EXPECT_EQ(health.header("referrer-policy"), "no-referrer");
    EXPECT_NE(health.header("content-security-policy").find("default-src 'self'"), std::string::npos);

    auto presets = c.get("/api/v1/presets").json();
    ASSERT_TRUE(presets.is_object());
    bool streaming = false;
    for (const auto& p : presets["presets"])
        streaming = streaming || (p["id"] == "streaming" && p["target_lufs"] == -14.0 && p["ceiling_dbtp"] == -1.0);
    EXPECT_TRUE(streaming);
    EXPECT_EQ(presets["styles"].size(), 3u);
    EXPECT_EQ(presets["intensities"].size(), 3u);
    EXPECT_EQ(presets["formats"].size(), 9u); // wav16/24/32f, flac16/24, mp3, vorbis, opus, aac

    // The OpenAPI document is valid JSON, 3.1, and names every route of docs/api.md.
    auto doc = c.get("/api/v1/openapi.json").json();
    ASSERT_TRUE(doc.is_object());
    EXPECT_EQ(doc["openapi"], "3.1.0");
    for (const char* path : {"/api/v1/health", "/api/v1/openapi.json", "/api/v1/presets", "/api/v1/auth/register",
                             "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/me", "/api/v1/uploads",
                             "/api/v1/jobs", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/events", "/api/v1/me/export"})
        EXPECT_TRUE(doc["paths"].contains(path)) << path;
    EXPECT_TRUE(doc["paths"]["/api/v1/me"].contains("patch"));
    EXPECT_TRUE(doc["paths"]["/api/v1/me"].contains("delete"));

    auto unknown = c.get("/api/v1/nope");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.errorCode(), "not_found");
}

TEST_F(E2E, MasterFollowDownloadAndRetention) {
    auto c = client();
    signUp(c, "Alice@Example.com");
    auto me = c.get("/api/v1/me");
    ASSERT_EQ(me.status, 200);
    EXPECT_EQ(me.json()["user"]["email"], "alice@example.com");

    const auto uploadId = upload(c, mixBytes());
    auto created = c.post("/api/v1/jobs", {{"upload_id", uploadId}, {"preset", "streaming"}});
    ASSERT_EQ(created.status, 202) << created.body;
    const auto jobId = created.json()["job"]["id"].get<std::string>();
    EXPECT_EQ(created.json()["job"]["settings"]["target_lufs"], -14.0);

    // Server-sent events until the terminal status; progress never goes backwards.
    auto [status, events] = c.jobEvents("/api/v1/jobs/" + jobId + "/events");
    ASSERT_EQ(status, 200);
    ASSERT_FALSE(events.empty());
    double progress = -1.0;
    for (const auto& e : events) {
        if (e["status"] == "processing" || e["status"] == "done") {
            EXPECT_GE(e["progress"].get<double>(), progress);
            progress = e["progress"].get<double>();
        }
    }
    ASSERT_EQ(events.back()["status"], "done") << events.back().dump();

    auto job = c.get("/api/v1/jobs/" + jobId).json()["job"];
    ASSERT_TRUE(job["download"].is_object()) << job.dump();
    EXPECT_NEAR(job["usage"]["audio_seconds"].get<double>(), 10.0, 0.01);
    const auto url = job["download"]["url"].get<std::string>();
    auto master = c.get(url);
    ASSERT_EQ(master.status, 200);
    EXPECT_EQ(master.header("content-disposition").rfind("attachment;", 0), 0u) << master.header("content-disposition");

    const auto masterPath = dir_ / "master.wav";
    std::ofstream(masterPath, std::ios::binary) << master.body;
    const auto m = measureFile(masterPath.string());
    // The engine lands within 0.04 LU of the target on real music (docs/benchmarks.md);
    // libebur128 is an independent BS.1770-4 meter whose gating can differ by a few
    // hundredths; 24-bit quantisation and dither are far below that. 0.2 LU catches any real
    // gain error (a wrong preset is >= 2 LU away) without flaking.
    EXPECT_NEAR(m.integratedLufs, -14.0, 0.2);
    // Ceiling -1 dBTP; libebur128 oversamples 4x (the engine more), so allow 0.1 dB of
    // inter-sample peak it may estimate differently.
    EXPECT_LE(m.truePeakDbtp, -1.0 + 0.1);
    EXPECT_NEAR(m.seconds, 10.0, 0.01);
    EXPECT_NEAR(job["report"]["after"]["integrated_lufs"].get<double>(), m.integratedLufs, 0.2);

    // Retention: the original is gone as soon as the job finished.
    EXPECT_FALSE(blobs().stat("uploads/" + uploadId).value().has_value());
    // The master stays 7 days, then the sweeper deletes it and the job shows expired.
    clock_->advance(7 * 24 * 3600 - 60);
    service::sweepOnce(db(), blobs(), *clock_, config_);
    job = c.get("/api/v1/jobs/" + jobId).json()["job"];
    EXPECT_EQ(job["status"], "done");
    const auto lateUrl = job["download"]["url"].get<std::string>();
    EXPECT_EQ(c.get(lateUrl).status, 200);
    clock_->advance(61);
    const auto report = service::sweepOnce(db(), blobs(), *clock_, config_);
    EXPECT_EQ(report.mastersExpired, 1);
    job = c.get("/api/v1/jobs/" + jobId).json()["job"];
    EXPECT_EQ(job["status"], "expired");
    EXPECT_TRUE(job["download"].is_null());
    auto late = c.get(lateUrl);
    EXPECT_EQ(late.status, 410) << late.body;
    const auto stored = db().jobById(jobId).value();
    ASSERT_TRUE(stored.has_value());
    EXPECT_FALSE(stored->outputBlobKey.empty());
    EXPECT_FALSE(blobs().stat(stored->outputBlobKey).value().has_value());

    // Metadata outlives the files: the list still shows the job, newest first.
    auto list = c.get("/api/v1/jobs").json()["jobs"];
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["id"], jobId);

    // An EventSource reconnecting after the terminal event is told to stop (204).
    auto again = c.request("GET", "/api/v1/jobs/" + jobId + "/events", "", {{"Last-Event-ID", "expired"}});
    EXPECT_EQ(again.status, 204);
}

TEST_F(E2E, DeleteRemovesFilesAndLogoutEndsSession) {
    auto c = client();
    signUp(c, "bob@example.com");
    const auto uploadId = upload(c, mixBytes());
    auto created = c.post("/api/v1/jobs", {{"upload_id", uploadId}, {"target_lufs", -16.0}, {"ceiling_dbtp", -2.0},
                                           {"format", "flac24"}, {"style", "warm"}, {"intensity", "low"}});
    ASSERT_EQ(created.status, 202) << created.body;
    const auto jobId = created.json()["job"]["id"].get<std::string>();
    auto [status, events] = c.jobEvents("/api/v1/jobs/" + jobId + "/events");
    ASSERT_EQ(status, 200);
    ASSERT_EQ(events.back()["status"], "done");
    const auto url = c.get("/api/v1/jobs/" + jobId).json()["job"]["download"]["url"].get<std::string>();
    auto flac = c.get(url);
    ASSERT_EQ(flac.status, 200);
    EXPECT_EQ(flac.body.substr(0, 4), "fLaC");

    auto del = c.request("DELETE", "/api/v1/jobs/" + jobId);
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(del.json()["job"]["status"], "deleted");
    EXPECT_EQ(c.get(url).status, 410);

    auto out = c.request("POST", "/api/v1/auth/logout");
    EXPECT_EQ(out.status, 204);
    EXPECT_TRUE(c.cookie.empty());
    auto me = c.get("/api/v1/me");
    EXPECT_EQ(me.status, 401);
    EXPECT_EQ(me.errorCode(), "unauthenticated");
}

TEST_F(E2E, SessionCookieAttributes) {
    auto c = client();
    auto r = c.post("/api/v1/auth/register", {{"email", "c@example.com"}, {"password", "correct horse battery"}, {"name", "C"}});
    ASSERT_EQ(r.status, 201);
    const auto set = r.header("set-cookie");
    EXPECT_NE(set.find("HttpOnly"), std::string::npos);
    EXPECT_NE(set.find("SameSite=Lax"), std::string::npos);
    EXPECT_NE(set.find("Path=/"), std::string::npos);
    EXPECT_EQ(set.find("Secure"), std::string::npos); // plain HTTP in tests (secureCookies off)
    // 256-bit token in base64url: 43 characters.
    EXPECT_GE(c.cookie.size(), 43u);
    auto login = c.post("/api/v1/auth/login", {{"email", "c@example.com"}, {"password", "correct horse battery"}});
    EXPECT_EQ(login.status, 200);
}

} // namespace
} // namespace quack::test

namespace quack::test {

// Privacy rights (policy section 9) over HTTP: access/portability (export), correction
// (name), deletion (account, with re-authentication). Another user is untouched.
TEST_F(E2E, ExportCorrectAndDeleteAccount) {
    auto c = client();
    signUp(c, "carol@example.com");
    auto other = client();
    signUp(other, "dave@example.com");
    const auto uploadId = upload(c, mixBytes());
    auto created = c.post("/api/v1/jobs", {{"upload_id", uploadId}, {"preset", "podcast"}});
    ASSERT_EQ(created.status, 202) << created.body;
    const auto jobId = created.json()["job"]["id"].get<std::string>();
    auto [status, events] = c.jobEvents("/api/v1/jobs/" + jobId + "/events");
    ASSERT_EQ(status, 200);
    ASSERT_EQ(events.back()["status"], "done");
    const auto url = c.get("/api/v1/jobs/" + jobId).json()["job"]["download"]["url"].get<std::string>();

    auto renamed = c.request("PATCH", "/api/v1/me", nlohmann::json{{"name", "Carol M."}}.dump());
    ASSERT_EQ(renamed.status, 200) << renamed.body;
    EXPECT_EQ(renamed.json()["user"]["name"], "Carol M.");

    auto exported = c.get("/api/v1/me/export");
    ASSERT_EQ(exported.status, 200) << exported.body;
    const auto x = exported.json();
    EXPECT_EQ(x["user"]["email"], "carol@example.com");
    ASSERT_EQ(x["jobs"].size(), 1u);
    EXPECT_EQ(x["jobs"][0]["id"], jobId);
    // Nothing secret in an export: no password hash, no session token material.
    EXPECT_EQ(exported.body.find("argon2"), std::string::npos);
    EXPECT_EQ(exported.body.find("password"), std::string::npos);

    // Deletion needs the password again; a wrong one changes nothing.
    auto wrong = c.request("DELETE", "/api/v1/me", nlohmann::json{{"password", "not my password"}}.dump());
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    EXPECT_EQ(c.get(url).status, 200);
    auto gone = c.request("DELETE", "/api/v1/me", nlohmann::json{{"password", "correct horse battery"}}.dump());
    ASSERT_EQ(gone.status, 204) << gone.body;
    EXPECT_EQ(c.get("/api/v1/me").status, 401);
    EXPECT_EQ(c.get(url).status, 410); // the master's bytes are gone
    auto login = c.post("/api/v1/auth/login", {{"email", "carol@example.com"}, {"password", "correct horse battery"}});
    EXPECT_EQ(login.status, 401);
    EXPECT_EQ(other.get("/api/v1/me").status, 200);
}

} // namespace quack::test
