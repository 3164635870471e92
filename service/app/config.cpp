#include "service/app/config.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <utility>

namespace quack::service {
namespace {

using Json = nlohmann::json;

ApiError invalid(const std::string& key, const std::string& why) {
    return apiError(ApiErrorCode::ValidationFailed, "config: " + key + " " + why);
}

// One row per setting: the JSON key (snake_case); the environment variable is QUACK_ + the
// key upper-cased. Each row parses from JSON and from a string (environment).
struct Field {
    const char* key;
    std::function<ApiStatus(ServiceConfig&, const Json&)> fromJson;
};

ApiStatus setInt64(std::int64_t& out, const Json& v, const char* key) {
    if (v.is_number_integer()) {
        out = v.get<std::int64_t>();
        return {};
    }
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        std::int64_t x = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
            out = x;
            return {};
        }
    }
    return {invalid(key, "must be an integer")};
}

ApiStatus setInt(int& out, const Json& v, const char* key) {
    std::int64_t x = 0;
    if (auto s = setInt64(x, v, key); !s)
        return s;
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
        return {invalid(key, "is out of range")};
    out = static_cast<int>(x);
    return {};
}

ApiStatus setString(std::string& out, const Json& v, const char* key) {
    if (!v.is_string())
        return {invalid(key, "must be a string")};
    out = v.get<std::string>();
    return {};
}

ApiStatus setBool(bool& out, const Json& v, const char* key) {
    if (v.is_boolean()) {
        out = v.get<bool>();
        return {};
    }
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s == "1" || s == "true") {
            out = true;
            return {};
        }
        if (s == "0" || s == "false") {
            out = false;
            return {};
        }
    }
    return {invalid(key, "must be true or false")};
}

ApiStatus setList(std::vector<std::string>& out, const Json& v, const char* key) {
    out.clear();
    if (v.is_array()) {
        for (const auto& e : v) {
            if (!e.is_string())
                return {invalid(key, "must be a list of strings")};
            out.push_back(e.get<std::string>());
        }
        return {};
    }
    if (v.is_string()) { // environment: comma-separated
        std::stringstream ss(v.get<std::string>());
        std::string item;
        while (std::getline(ss, item, ','))
            if (!item.empty())
                out.push_back(item);
        return {};
    }
    return {invalid(key, "must be a list of strings")};
}

#define QUACK_I64(k, member) Field{k, [](ServiceConfig& c, const Json& v) { return setInt64(c.member, v, k); }}
#define QUACK_INT(k, member) Field{k, [](ServiceConfig& c, const Json& v) { return setInt(c.member, v, k); }}
#define QUACK_STR(k, member) Field{k, [](ServiceConfig& c, const Json& v) { return setString(c.member, v, k); }}

const std::vector<Field>& fields() {
    static const std::vector<Field> kFields = {
        QUACK_STR("bind_address", bindAddress),
        QUACK_INT("port", port),
        QUACK_STR("data_dir", dataDir),
        QUACK_STR("database_url", databaseUrl),
        QUACK_STR("public_base_url", publicBaseUrl),
        Field{"allowed_origins", [](ServiceConfig& c, const Json& v) { return setList(c.allowedOrigins, v, "allowed_origins"); }},
        QUACK_STR("web_root", webRoot),
        Field{"secure_cookies", [](ServiceConfig& c, const Json& v) { return setBool(c.secureCookies, v, "secure_cookies"); }},
        QUACK_INT("workers", workers),
        QUACK_I64("max_upload_bytes", maxUploadBytes),
        QUACK_I64("lease_seconds", leaseSeconds),
        QUACK_INT("max_attempts", maxAttempts),
        QUACK_I64("session_seconds", sessionSeconds),
        QUACK_I64("session_idle_seconds", sessionIdleSeconds),
        QUACK_INT("login_attempts_per_window", loginAttemptsPerWindow),
        QUACK_INT("login_attempts_per_address", loginAttemptsPerAddress),
        QUACK_I64("login_window_seconds", loginWindowSeconds),
        QUACK_INT("registrations_per_hour", registrationsPerHour),
        Field{"trusted_proxies", [](ServiceConfig& c, const Json& v) { return setList(c.trustedProxies, v, "trusted_proxies"); }},
        QUACK_I64("password_hash_memory_bytes", passwordHashMemoryBytes),
        QUACK_I64("password_hash_ops_limit", passwordHashOpsLimit),
        QUACK_INT("max_concurrent_hashes", maxConcurrentHashes),
        QUACK_INT("max_queued_hashes", maxQueuedHashes),
        QUACK_I64("max_job_audio_seconds", maxJobAudioSeconds),
        QUACK_I64("max_job_decoded_samples", maxJobDecodedSamples),
        QUACK_I64("max_job_decoded_samples_per_input_byte", maxJobDecodedSamplesPerInputByte),
        QUACK_I64("max_job_temp_bytes", maxJobTempBytes),
        QUACK_I64("max_job_cpu_seconds", maxJobCpuSeconds),
        QUACK_I64("max_job_wall_seconds", maxJobWallSeconds),
        QUACK_I64("min_free_temp_bytes", minFreeTempBytes),
        QUACK_I64("unused_upload_retention_seconds", retention.unusedUploadSeconds),
        QUACK_I64("master_retention_seconds", retention.masterSeconds),
        QUACK_I64("upload_url_seconds", retention.uploadUrlSeconds),
        QUACK_I64("download_url_seconds", retention.downloadUrlSeconds),
        QUACK_I64("sweep_interval_seconds", retention.sweepIntervalSeconds),
        QUACK_STR("s3_endpoint", s3Endpoint),
        QUACK_STR("s3_bucket", s3Bucket),
        QUACK_STR("s3_region", s3Region),
        QUACK_STR("s3_access_key_id", s3AccessKeyId),
        QUACK_STR("s3_secret_access_key", s3SecretAccessKey),
        Field{"s3_path_style", [](ServiceConfig& c, const Json& v) { return setBool(c.s3PathStyle, v, "s3_path_style"); }},
        QUACK_I64("s3_part_size_bytes", s3PartSizeBytes),
    };
    return kFields;
}

#undef QUACK_I64
#undef QUACK_INT
#undef QUACK_STR

std::string envName(const char* key) {
    std::string name = "QUACK_";
    for (const char* p = key; *p; ++p)
        name += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
    return name;
}

ApiStatus validate(const ServiceConfig& c) {
    if (c.port < 0 || c.port > 65535)
        return {invalid("port", "must be 0..65535")};
    if (c.dataDir.empty())
        return {invalid("data_dir", "must not be empty")};
    if (!c.databaseUrl.empty() && c.databaseUrl.rfind("postgresql://", 0) != 0 &&
        c.databaseUrl.rfind("postgres://", 0) != 0) // the value is not echoed: it has a password
        return {invalid("database_url", "must be a postgresql:// URL (or empty for SQLite)")};
    if (c.workers < 0 || c.workers > 64)
        return {invalid("workers", "must be 0..64")};
    if (c.maxUploadBytes < 1024)
        return {invalid("max_upload_bytes", "must be at least 1024")};
    if (c.leaseSeconds < 4)
        return {invalid("lease_seconds", "must be at least 4 (heartbeats every lease/4 s)")};
    if (c.maxAttempts < 1 || c.maxAttempts > 20)
        return {invalid("max_attempts", "must be 1..20")};
    if (c.sessionSeconds < 60)
        return {invalid("session_seconds", "must be at least 60")};
    if (c.sessionIdleSeconds < 60)
        return {invalid("session_idle_seconds", "must be at least 60")};
    if (c.loginAttemptsPerWindow < 1)
        return {invalid("login_attempts_per_window", "must be at least 1")};
    if (c.loginAttemptsPerAddress < 1)
        return {invalid("login_attempts_per_address", "must be at least 1")};
    if (c.registrationsPerHour < 1)
        return {invalid("registrations_per_hour", "must be at least 1")};
    if (c.loginWindowSeconds < 1)
        return {invalid("login_window_seconds", "must be at least 1")};
    if (c.passwordHashMemoryBytes < static_cast<std::int64_t>(crypto_pwhash_MEMLIMIT_MIN) ||
        c.passwordHashMemoryBytes > (1LL << 32))
        return {invalid("password_hash_memory_bytes", "is outside libsodium's range")};
    if (c.passwordHashOpsLimit < static_cast<std::int64_t>(crypto_pwhash_OPSLIMIT_MIN) ||
        c.passwordHashOpsLimit > 64)
        return {invalid("password_hash_ops_limit", "is outside 1..64")};
    if (c.maxConcurrentHashes < 1)
        return {invalid("max_concurrent_hashes", "must be at least 1")};
    for (const auto& [key, value] :
         {std::pair{"max_job_audio_seconds", c.maxJobAudioSeconds}, {"max_job_decoded_samples", c.maxJobDecodedSamples},
          {"max_job_decoded_samples_per_input_byte", c.maxJobDecodedSamplesPerInputByte},
          {"max_job_temp_bytes", c.maxJobTempBytes}, {"max_job_cpu_seconds", c.maxJobCpuSeconds},
          {"max_job_wall_seconds", c.maxJobWallSeconds}, {"min_free_temp_bytes", c.minFreeTempBytes}})
        if (value < 0)
            return {invalid(key, "must be 0 (no limit) or positive")};
    const auto& r = c.retention;
    if (r.unusedUploadSeconds < 1)
        return {invalid("unused_upload_retention_seconds", "must be positive")};
    if (r.masterSeconds < 1)
        return {invalid("master_retention_seconds", "must be positive")};
    if (r.uploadUrlSeconds < 1 || r.uploadUrlSeconds > r.unusedUploadSeconds)
        return {invalid("upload_url_seconds", "must be positive and at most the unused upload retention")};
    if (r.downloadUrlSeconds < 1)
        return {invalid("download_url_seconds", "must be positive")};
    if (r.sweepIntervalSeconds < 1)
        return {invalid("sweep_interval_seconds", "must be positive")};
    if (!c.s3Endpoint.empty()) {
        if (c.s3Endpoint.rfind("https://", 0) != 0 && c.s3Endpoint.rfind("http://", 0) != 0)
            return {invalid("s3_endpoint", "must start with https:// or http://")};
        if (c.s3Bucket.empty())
            return {invalid("s3_bucket", "must be set with s3_endpoint")};
        if (c.s3AccessKeyId.empty() || c.s3SecretAccessKey.empty())
            return {invalid("s3_access_key_id/s3_secret_access_key", "must be set with s3_endpoint")};
        if (c.s3Region.empty())
            return {invalid("s3_region", "must not be empty (R2: auto)")};
        // S3 and R2 refuse parts under 5 MiB (all but the last) and allow 10,000 parts.
        if (c.s3PartSizeBytes < (5LL << 20) || c.s3PartSizeBytes > (5LL << 30))
            return {invalid("s3_part_size_bytes", "must be 5 MiB..5 GiB")};
    }
    return {};
}

} // namespace

ApiResult<ServiceConfig> loadConfig(const std::string& path) {
    ServiceConfig config;
    if (!path.empty()) {
        std::ifstream in(path);
        if (!in)
            return apiError(ApiErrorCode::ValidationFailed, "config: cannot read the config file");
        Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object())
            return apiError(ApiErrorCode::ValidationFailed, "config: the file is not a JSON object");
        for (const auto& [key, value] : j.items()) {
            bool known = false;
            for (const auto& f : fields())
                if (key == f.key) {
                    known = true;
                    if (auto s = f.fromJson(config, value); !s)
                        return s.error();
                }
            if (!known) // a typo must not silently leave a default (e.g. a retention period)
                return invalid(key, "is not a known setting");
        }
    }
    for (const auto& f : fields())
        if (const char* v = std::getenv(envName(f.key).c_str()))
            if (auto s = f.fromJson(config, Json(std::string(v))); !s)
                return s.error();
    if (auto s = validate(config); !s)
        return s.error();
    return config;
}

} // namespace quack::service
