// Pure pieces of the service: status names, the error table, audio sniffing, config loading,
// settings validation and the Job JSON shape of docs/api.md.
#include "service/app/config.h"
#include "service/app/mastering_service.h"
#include "service/domain/audio_sniff.h"
#include "service/domain/errors.h"
#include "service_test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace quack::service {
namespace {

using http::parseJobSettings;
using http::toJson;

TEST(ServiceDomain, StatusNamesRoundTrip) {
    for (auto s : {JobStatus::Queued, JobStatus::Processing, JobStatus::Done, JobStatus::Failed,
                   JobStatus::Expired, JobStatus::Deleted})
        EXPECT_EQ(jobStatusFromString(toString(s)), s);
    EXPECT_FALSE(jobStatusFromString("dead").has_value());
}

TEST(ServiceDomain, ErrorTableIdsAndStatuses) {
    const std::pair<ApiErrorCode, std::pair<const char*, int>> expected[] = {
        {ApiErrorCode::BadRequest, {"malformed_request", 400}},
        {ApiErrorCode::ValidationFailed, {"validation_failed", 422}},
        {ApiErrorCode::UnknownPreset, {"unknown_preset", 422}},
        {ApiErrorCode::Unauthenticated, {"unauthenticated", 401}},
        {ApiErrorCode::InvalidCredentials, {"invalid_credentials", 401}},
        {ApiErrorCode::Forbidden, {"forbidden", 403}},
        {ApiErrorCode::InvalidSignature, {"invalid_signature", 403}},
        {ApiErrorCode::UrlExpired, {"url_expired", 410}},
        {ApiErrorCode::NotFound, {"not_found", 404}},
        {ApiErrorCode::EmailTaken, {"email_taken", 409}},
        {ApiErrorCode::Conflict, {"conflict", 409}},
        {ApiErrorCode::Gone, {"gone", 410}},
        {ApiErrorCode::PayloadTooLarge, {"payload_too_large", 413}},
        {ApiErrorCode::UnsupportedMediaType, {"unsupported_media_type", 415}},
        {ApiErrorCode::RateLimited, {"rate_limited", 429}},
        {ApiErrorCode::Internal, {"internal_error", 500}},
        {ApiErrorCode::Unavailable, {"unavailable", 503}},
    };
    for (const auto& [code, idStatus] : expected) {
        const auto e = apiError(code, "x");
        EXPECT_EQ(e.id(), idStatus.first);
        EXPECT_EQ(e.httpStatus(), idStatus.second) << idStatus.first;
    }
}

TEST(ServiceDomain, EngineErrorsKeepTheirIdAndStatus) {
    for (const auto& info : quack::allErrorInfos()) {
        const auto e = fromEngine(quack::makeError(info.code, "m"));
        EXPECT_EQ(e.id(), info.id);
        EXPECT_EQ(e.httpStatus(), info.httpStatus) << info.id;
        EXPECT_EQ(e.message, "m");
    }
}

std::vector<unsigned char> head(const std::string& fixture) {
    auto bytes = test::readBytes(std::string(QUACK_SOURCE_DIR) + "/tests/fixtures/" + fixture);
    bytes.resize(std::min<std::size_t>(bytes.size(), kSniffBytes));
    return {bytes.begin(), bytes.end()};
}

TEST(ServiceDomain, SniffsEveryFixtureFormat) {
    for (const char* f : {"tone_44k1_mono_s16.wav", "tone_48k_stereo_s24.wav", "tone_44k1_stereo_s16.aiff",
                          "tone_48k_stereo_s24.flac", "tone_44k1_stereo.ogg", "tone_48k_stereo.opus",
                          "tone_44k1_stereo.mp3", "bad_flac_named.wav"})
        EXPECT_TRUE(looksLikeAudio(head(f))) << f;
    for (const char* f : {"bad_text.wav", "bad_empty.wav"})
        EXPECT_FALSE(looksLikeAudio(head(f))) << f;
    // An MPEG frame header without ID3 (MPEG-1 layer III, 128 kb/s, 44.1 kHz) and near misses.
    const unsigned char frame[] = {0xFF, 0xFB, 0x90, 0x64};
    EXPECT_TRUE(looksLikeAudio(frame));
    const unsigned char badRate[] = {0xFF, 0xFB, 0x9C, 0x64};  // sampling frequency 11 = reserved
    const unsigned char badLayer[] = {0xFF, 0xF9, 0x90, 0x64}; // layer 00 = reserved
    EXPECT_FALSE(looksLikeAudio(badRate));
    EXPECT_FALSE(looksLikeAudio(badLayer));
    const unsigned char riffNotWave[] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '};
    EXPECT_FALSE(looksLikeAudio(riffNotWave));
    const unsigned char html[] = {'<', 'h', 't', 'm', 'l', '>', ' ', ' ', ' ', ' ', ' ', ' '};
    EXPECT_FALSE(looksLikeAudio(html));
}

TEST(ServiceConfig, DefaultsAreOwaspAndPolicy) {
    const ServiceConfig c;
    EXPECT_EQ(c.passwordHashMemoryBytes, 19LL * 1024 * 1024);
    EXPECT_EQ(c.passwordHashOpsLimit, 2);
    EXPECT_EQ(c.retention.unusedUploadSeconds, 24 * 3600);
    EXPECT_EQ(c.retention.masterSeconds, 7 * 24 * 3600);
}

TEST(ServiceConfig, FileThenEnvironmentOverride) {
    test::TempDir dir;
    const auto path = dir.file("c.json");
    std::ofstream(path) << R"({"port": 9000, "data_dir": "/tmp/q", "master_retention_seconds": 3600,
                              "allowed_origins": ["https://a.example"]})";
    ::setenv("QUACK_PORT", "9100", 1);
    ::setenv("QUACK_UNUSED_UPLOAD_RETENTION_SECONDS", "7200", 1);
    auto c = loadConfig(path);
    ::unsetenv("QUACK_PORT");
    ::unsetenv("QUACK_UNUSED_UPLOAD_RETENTION_SECONDS");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->port, 9100);
    EXPECT_EQ(c->dataDir, "/tmp/q");
    EXPECT_EQ(c->retention.masterSeconds, 3600);
    EXPECT_EQ(c->retention.unusedUploadSeconds, 7200);
    ASSERT_EQ(c->allowedOrigins.size(), 1u);
}

TEST(ServiceConfig, RejectsUnknownKeysAndBadValues) {
    test::TempDir dir;
    const auto path = dir.file("c.json");
    std::ofstream(path) << R"({"master_retention_secs": 10})";
    auto c = loadConfig(path);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("master_retention_secs"), std::string::npos);
    std::ofstream(path) << R"({"port": 70000})";
    EXPECT_FALSE(loadConfig(path).ok());
    ::setenv("QUACK_LEASE_SECONDS", "abc", 1);
    auto e = loadConfig("");
    ::unsetenv("QUACK_LEASE_SECONDS");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().message.find("lease_seconds"), std::string::npos);
}

TEST(ServiceConfig, DatabaseUrlFromFileOrEnvironment) {
    EXPECT_TRUE(ServiceConfig{}.databaseUrl.empty()); // SQLite by default
    test::TempDir dir;
    const auto path = dir.file("c.json");
    std::ofstream(path) << R"({"database_url": "postgresql://q:pw@db.internal:5432/quack"})";
    auto f = loadConfig(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->databaseUrl, "postgresql://q:pw@db.internal:5432/quack");
    ::setenv("QUACK_DATABASE_URL", "postgres://q:other@10.0.0.2/quack", 1);
    auto e = loadConfig(path);
    ASSERT_TRUE(e.ok()) << e.error().message;
    EXPECT_EQ(e->databaseUrl, "postgres://q:other@10.0.0.2/quack");
    // not a PostgreSQL URL: refused, naming the key but not echoing the value (a password)
    ::setenv("QUACK_DATABASE_URL", "mysql://q:s3cret@host/db", 1);
    auto bad = loadConfig("");
    ::unsetenv("QUACK_DATABASE_URL");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("database_url"), std::string::npos);
    EXPECT_EQ(bad.error().message.find("s3cret"), std::string::npos);
}

TEST(ServiceSettings, PresetsCustomAndErrors) {
    auto p = parseJobSettings(nlohmann::json{{"preset", "podcast"}});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->preset, "podcast");
    EXPECT_DOUBLE_EQ(*p->targetLufs, -16.0);
    auto c = parseJobSettings(nlohmann::json{{"target_lufs", -12.5}, {"ceiling_dbtp", -1.5}, {"format", "flac24"}});
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->preset.has_value());
    EXPECT_DOUBLE_EQ(*c->targetLufs, -12.5);
    EXPECT_EQ(c->format, "flac24");
    EXPECT_EQ(parseJobSettings(nlohmann::json{{"format", "m4a"}})->format, "aac"); // stored canonical

    auto unknown = parseJobSettings(nlohmann::json{{"preset", "club"}});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().id(), "unknown_preset");
    for (const auto& bad : {nlohmann::json{{"target_lufs", -2.0}, {"ceiling_dbtp", -1.0}},
                            nlohmann::json{{"target_lufs", "loud"}}, nlohmann::json{{"style", "dark"}},
                            nlohmann::json{{"format", "wav8"}}, nlohmann::json{{"intensity", 3}}}) {
        auto r = parseJobSettings(bad);
        ASSERT_FALSE(r.ok()) << bad.dump();
        EXPECT_EQ(r.error().id(), "validation_failed") << bad.dump();
    }
    EXPECT_EQ(parseJobSettings(nlohmann::json::array()).error().id(), "malformed_request");
}

TEST(ServiceJson, JobShapeMatchesApiDoc) {
    Job j;
    j.id = "job_x";
    j.status = JobStatus::Done;
    j.settings.preset = "streaming";
    j.settings.targetLufs = -14.0;
    j.settings.ceilingDbtp = -1.0;
    j.createdAt = 1'795'788'180; // 2026-11-27T14:03:00Z
    j.finishedAt = j.createdAt + 60;
    j.reportJson = R"({"schema":"quacktracks.master.v1"})";
    j.usageAudioSeconds = 180.0;
    j.usageInputBytes = 31752044;
    JobView v{j, SignedUrl{"/blob/masters/job_x-1.wav?sig=1", "GET", {}, j.createdAt + 900}};
    const auto json = toJson(v);
    for (const char* key : {"id", "status", "progress", "stage", "original_filename", "settings", "created_at",
                            "started_at", "finished_at", "download", "download_expires_at", "deleted_at",
                            "report", "error", "usage"})
        EXPECT_TRUE(json.contains(key)) << key;
    EXPECT_EQ(json["created_at"], "2026-11-27T14:03:00Z");
    EXPECT_EQ(json["finished_at"], "2026-11-27T14:04:00Z");
    EXPECT_TRUE(json["started_at"].is_null());
    EXPECT_EQ(json["status"], "done");
    EXPECT_EQ(json["settings"]["target_lufs"], -14.0);
    EXPECT_EQ(json["report"]["schema"], "quacktracks.master.v1");
    EXPECT_EQ(json["download"]["expires_at"], "2026-11-27T14:18:00Z");
    EXPECT_EQ(json["usage"]["input_bytes"], 31752044);
    EXPECT_TRUE(json["error"].is_null());
}

} // namespace
} // namespace quack::service
