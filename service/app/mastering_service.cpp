#include "service/app/mastering_service.h"

#include "service/app/internal.h"

#include "engine/chain/intent.h"
#include "engine/io/audio_writer.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>

namespace quack::service {

// ---------------------------------------------------------------- helpers

namespace detail {

std::string randomId(std::string_view prefix) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::array<unsigned char, 22> rnd{};
    randombytes_buf(rnd.data(), rnd.size());
    std::string id(prefix);
    for (const unsigned char b : rnd)
        id += kAlphabet[b & 31u];
    return id;
}

std::string sha256Hex(std::string_view data) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> h{};
    crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string hex(h.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), h.data(), h.size());
    hex.resize(h.size() * 2);
    return hex;
}

std::string isoUtc(UnixSeconds t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf.data();
}

std::string masterKey(const Job& job, std::string_view extension) {
    return "masters/" + job.id + "-" + std::to_string(job.attempt) + "." + std::string(extension);
}

std::string scratchDir(const std::string& dataDir) {
    return (std::filesystem::path(dataDir) / "scratch").string();
}

} // namespace detail

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMinPasswordBytes = 10;
constexpr std::size_t kMaxPasswordBytes = 128;
constexpr std::size_t kMaxNameBytes = 100;
constexpr std::size_t kMaxEmailBytes = 254; // RFC 5321 path limit
constexpr std::size_t kMaxFilenameBytes = 200;
constexpr std::size_t kTokenBytes = 32;     // 256 bits
constexpr int kListLimit = 200;
/// Only write last_seen_at when it moved this much: a write per request would serialise reads.
constexpr std::int64_t kTouchSessionSeconds = 60;

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos)
        return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

bool hasControlChars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

std::string normaliseEmail(std::string_view raw) {
    std::string e = trim(raw);
    std::transform(e.begin(), e.end(), e.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    return e;
}

bool plausibleEmail(std::string_view e) {
    if (e.size() < 3 || e.size() > kMaxEmailBytes || hasControlChars(e) ||
        e.find(' ') != std::string_view::npos)
        return false;
    const auto at = e.find('@');
    if (at == std::string_view::npos || at == 0 || e.find('@', at + 1) != std::string_view::npos)
        return false;
    const auto domain = e.substr(at + 1);
    const auto dot = domain.find('.');
    return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size();
}

/// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string truncateUtf8(std::string s, std::size_t max) {
    if (s.size() <= max)
        return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u)
        --n;
    s.resize(n);
    return s;
}

std::string sanitiseFilename(std::string_view raw) {
    const auto slash = raw.find_last_of("/\\");
    std::string name = trim(slash == std::string_view::npos ? raw : raw.substr(slash + 1));
    std::string out;
    for (const char c : name)
        if (!(static_cast<unsigned char>(c) < 0x20 || c == 0x7F))
            out += c;
    out = truncateUtf8(trim(out), kMaxFilenameBytes);
    if (out.empty() || out == "." || out == "..")
        out = "upload";
    return out;
}

/// ASCII-only download name for Content-Disposition: "<stem>-master.<ext>".
std::string downloadName(const std::string& original, std::string_view extension) {
    std::string stem = std::filesystem::path(original).stem().string();
    std::string safe;
    for (const char c : stem) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.' || c == ' ';
        safe += ok ? c : '_';
    }
    safe = trim(safe);
    if (safe.empty())
        safe = "track";
    return truncateUtf8(safe, 100) + "-master." + std::string(extension);
}

constexpr std::array kAudioContentTypes = {
    "audio/wav",  "audio/x-wav",  "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac",
    "audio/mpeg", "audio/mp3",    "audio/aiff", "audio/x-aiff",   "audio/ogg",  "audio/opus",
    "application/ogg",
};

ApiError validation(std::string message) { return apiError(ApiErrorCode::ValidationFailed, std::move(message)); }

Json optTime(const std::optional<UnixSeconds>& t) {
    return t ? Json(detail::isoUtc(*t)) : Json(nullptr);
}

std::string base64Url(const unsigned char* p, std::size_t n) {
    std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::string extensionOf(const std::string& format) {
    auto f = quack::outputFormatFromName(format);
    return f ? std::string(quack::outputFormatInfo(*f).extension) : std::string("wav");
}

} // namespace

// ---------------------------------------------------------------- JSON views

nlohmann::json toJson(const UserProfile& p) {
    return {{"id", p.id}, {"email", p.email}, {"name", p.name}, {"created_at", detail::isoUtc(p.createdAt)}};
}

nlohmann::json toJson(const JobView& view) {
    const Job& j = view.job;
    Json settings = {{"preset", j.settings.preset ? Json(*j.settings.preset) : Json("custom")},
                     {"target_lufs", j.settings.targetLufs ? Json(*j.settings.targetLufs) : Json(nullptr)},
                     {"ceiling_dbtp", j.settings.ceilingDbtp ? Json(*j.settings.ceilingDbtp) : Json(nullptr)},
                     {"style", j.settings.style},
                     {"intensity", j.settings.intensity},
                     {"format", j.settings.format}};
    Json report = nullptr;
    if (j.reportJson) {
        report = Json::parse(*j.reportJson, nullptr, false);
        if (report.is_discarded())
            report = nullptr;
    }
    Json error = nullptr;
    if (j.errorCode && j.status == JobStatus::Failed)
        error = {{"code", *j.errorCode}, {"message", j.errorMessage.value_or("")}};
    Json download = nullptr;
    if (view.download)
        download = {{"url", view.download->url}, {"expires_at", detail::isoUtc(view.download->expiresAt)}};
    return {{"id", j.id},
            {"status", toString(j.status)},
            {"progress", j.progress},
            {"stage", j.stage},
            {"original_filename", j.originalFilename},
            {"settings", settings},
            {"created_at", detail::isoUtc(j.createdAt)},
            {"started_at", optTime(j.startedAt)},
            {"finished_at", optTime(j.finishedAt)},
            {"download", download},
            {"download_expires_at", optTime(j.downloadExpiresAt)},
            {"deleted_at", optTime(j.deletedAt)},
            {"report", report},
            {"error", error},
            {"usage", {{"audio_seconds", j.usageAudioSeconds}, {"input_bytes", j.usageInputBytes}}}};
}

ApiResult<JobSettings> parseJobSettings(const nlohmann::json& body) {
    if (!body.is_object())
        return apiError(ApiErrorCode::BadRequest, "the body must be a JSON object");
    auto optString = [&](const char* key, std::optional<std::string>& out) -> std::optional<ApiError> {
        if (!body.contains(key) || body[key].is_null())
            return std::nullopt;
        if (!body[key].is_string())
            return validation(std::string(key) + " must be a string");
        out = body[key].get<std::string>();
        return std::nullopt;
    };
    auto optNumber = [&](const char* key, std::optional<double>& out) -> std::optional<ApiError> {
        if (!body.contains(key) || body[key].is_null())
            return std::nullopt;
        if (!body[key].is_number())
            return validation(std::string(key) + " must be a number");
        out = body[key].get<double>();
        return std::nullopt;
    };
    std::optional<std::string> preset, style, intensity, format;
    std::optional<double> target, ceiling;
    for (auto e : {optString("preset", preset), optString("style", style), optString("intensity", intensity),
                   optString("format", format), optNumber("target_lufs", target),
                   optNumber("ceiling_dbtp", ceiling)})
        if (e)
            return *e;

    if (preset && !quack::findPreset(*preset)) {
        std::string names;
        for (const auto& p : quack::presets())
            names += (names.empty() ? "" : ", ") + std::string(p.name);
        return apiError(ApiErrorCode::UnknownPreset, "unknown preset '" + truncateUtf8(*preset, 40) +
                                                         "'; presets are " + names);
    }
    auto intent = quack::makeIntent(preset.value_or("streaming"), target, ceiling, style.value_or("balanced"),
                                    intensity.value_or("medium"));
    if (!intent)
        return validation(intent.error().message);
    auto outputFormat = quack::outputFormatFromName(format.value_or("wav24"));
    if (!outputFormat) // the engine's message names the formats it writes
        return validation(outputFormat.error().message);

    JobSettings s;
    // A preset with overrides is a custom target; the effective values are stored either way.
    if (intent->presetName != "custom")
        s.preset = intent->presetName;
    s.targetLufs = intent->targetLufs;
    s.ceilingDbtp = intent->ceilingDbtp;
    s.style = std::string(quack::styleName(intent->style));
    s.intensity = std::string(quack::intensityName(intent->intensity));
    s.format = std::string(quack::outputFormatInfo(*outputFormat).name); // canonical: "m4a" -> "aac"
    return s;
}

// ---------------------------------------------------------------- service state

struct MasteringService::State {
    // Login rate limiter: failure times per key in a sliding window. Keys are SHA-256 of
    // "e:"+email / "a:"+address so that memory holds no personal data in clear.
    std::mutex limiterMutex;
    std::map<std::string, std::deque<UnixSeconds>> failures;

    // Argon2id is memory-hard on purpose: cap concurrent hashes so a login burst cannot
    // exhaust memory or every core.
    std::mutex hashMutex;
    std::condition_variable hashCv;
    int hashesRunning = 0;

    std::once_flag dummyOnce;
    std::string dummyHash; // verified against when the email is unknown (equal timing)
};

MasteringService::MasteringService(ServiceConfig config, std::shared_ptr<Database> db,
                                   std::shared_ptr<BlobStore> blobs, std::shared_ptr<Clock> clock)
    : config_(std::move(config)), db_(std::move(db)), blobs_(std::move(blobs)), clock_(std::move(clock)),
      state_(std::make_shared<State>()) {
    [[maybe_unused]] const int rc = sodium_init();
    assert(rc >= 0 && "libsodium initialises");
}

namespace {

/// RAII slot in the hash concurrency cap.
class HashSlot {
  public:
    HashSlot(std::mutex& m, std::condition_variable& cv, int& running, int cap)
        : m_(m), cv_(cv), running_(running) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return running_ < cap; });
        ++running_;
    }
    ~HashSlot() {
        {
            std::lock_guard lock(m_);
            --running_;
        }
        cv_.notify_one();
    }
    HashSlot(const HashSlot&) = delete;
    HashSlot& operator=(const HashSlot&) = delete;

  private:
    std::mutex& m_;
    std::condition_variable& cv_;
    int& running_;
};

} // namespace

// The password-hash helpers live here as lambdas over State to keep the header small.
namespace {

std::optional<std::string> hashPassword(const ServiceConfig& c, const std::string& password) {
    std::array<char, crypto_pwhash_STRBYTES> out{};
    if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                          static_cast<unsigned long long>(c.passwordHashOpsLimit),
                          static_cast<std::size_t>(c.passwordHashMemoryBytes)) != 0)
        return std::nullopt; // out of memory
    return std::string(out.data());
}

bool verifyPassword(const std::string& hash, const std::string& password) {
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

} // namespace

ApiResult<UserProfile> MasteringService::registerUser(const RegisterRequest& request) {
    const std::string email = normaliseEmail(request.email);
    if (!plausibleEmail(email))
        return validation("email is not a valid address");
    if (request.password.size() < kMinPasswordBytes || request.password.size() > kMaxPasswordBytes)
        return validation("password must be 10 to 128 bytes long");
    const std::string name = trim(request.name);
    if (name.empty() || name.size() > kMaxNameBytes || hasControlChars(name))
        return validation("name must be 1 to 100 characters");
    if (db_->userByEmail(email))
        return apiError(ApiErrorCode::EmailTaken, "an account with this email already exists");

    std::optional<std::string> hash;
    {
        HashSlot slot(state_->hashMutex, state_->hashCv, state_->hashesRunning, config_.maxConcurrentHashes);
        hash = hashPassword(config_, request.password);
    }
    if (!hash)
        return apiError(ApiErrorCode::Unavailable, "the server is busy; try again");
    User user{detail::randomId("usr_"), email, name, *hash, clock_->now()};
    if (auto s = db_->insertUser(user); !s)
        return s.error();
    return UserProfile{user.id, user.email, user.name, user.createdAt};
}

namespace {

NewSession createSession(Database& db, const ServiceConfig& config, UnixSeconds now, const UserProfile& user) {
    std::array<unsigned char, kTokenBytes> raw{};
    randombytes_buf(raw.data(), raw.size());
    NewSession s;
    s.token = base64Url(raw.data(), raw.size());
    s.expiresAt = now + config.sessionSeconds;
    s.user = user;
    db.insertSession(Session{detail::sha256Hex(s.token), user.id, now, now, s.expiresAt});
    return s;
}

} // namespace

ApiResult<NewSession> MasteringService::registerAndLogin(const RegisterRequest& request) {
    auto user = registerUser(request);
    if (!user)
        return user.error();
    return createSession(*db_, config_, clock_->now(), user.value());
}

ApiResult<NewSession> MasteringService::login(const LoginRequest& request) {
    const std::string email = normaliseEmail(request.email);
    const UnixSeconds now = clock_->now();
    const std::string emailKey = detail::sha256Hex("e:" + email);
    const std::string addressKey = detail::sha256Hex("a:" + request.clientAddress);

    auto recentFailures = [&](const std::string& key) -> int {
        auto it = state_->failures.find(key);
        if (it == state_->failures.end())
            return 0;
        auto& q = it->second;
        while (!q.empty() && q.front() <= now - config_.loginWindowSeconds)
            q.pop_front();
        const int n = static_cast<int>(q.size());
        if (q.empty())
            state_->failures.erase(it);
        return n;
    };
    {
        std::lock_guard lock(state_->limiterMutex);
        if (recentFailures(emailKey) >= config_.loginAttemptsPerWindow ||
            (!request.clientAddress.empty() && recentFailures(addressKey) >= config_.loginAttemptsPerWindow))
            return apiError(ApiErrorCode::RateLimited, "too many failed sign-in attempts; wait a minute");
    }

    std::call_once(state_->dummyOnce, [&] {
        state_->dummyHash = hashPassword(config_, "not a real password, only for timing").value_or("");
    });
    const auto user = db_->userByEmail(email);
    bool ok = false;
    if (request.password.size() <= kMaxPasswordBytes) {
        HashSlot slot(state_->hashMutex, state_->hashCv, state_->hashesRunning, config_.maxConcurrentHashes);
        // Unknown email: verify against a dummy hash anyway so the response time does not tell
        // which emails have accounts.
        ok = verifyPassword(user ? user->passwordHash : state_->dummyHash, request.password) && user;
    }
    if (!ok) {
        std::lock_guard lock(state_->limiterMutex);
        // Bound the memory a spray of distinct emails/addresses can take: past this size, drop
        // every key whose failures have all left the window.
        constexpr std::size_t kPruneAbove = 10000;
        if (state_->failures.size() > kPruneAbove)
            std::erase_if(state_->failures, [&](const auto& entry) {
                return entry.second.empty() || entry.second.back() <= now - config_.loginWindowSeconds;
            });
        state_->failures[emailKey].push_back(now);
        if (!request.clientAddress.empty())
            state_->failures[addressKey].push_back(now);
        return apiError(ApiErrorCode::InvalidCredentials, "wrong email or password");
    }
    {
        std::lock_guard lock(state_->limiterMutex);
        state_->failures.erase(emailKey);
    }
    // Parameters raised since this hash was made (e.g. tests -> OWASP): rehash now, while we
    // hold the password.
    if (crypto_pwhash_str_needs_rehash(user->passwordHash.c_str(),
                                       static_cast<unsigned long long>(config_.passwordHashOpsLimit),
                                       static_cast<std::size_t>(config_.passwordHashMemoryBytes)) != 0) {
        HashSlot slot(state_->hashMutex, state_->hashCv, state_->hashesRunning, config_.maxConcurrentHashes);
        if (auto h = hashPassword(config_, request.password))
            db_->updatePasswordHash(user->id, *h);
    }
    return createSession(*db_, config_, now, UserProfile{user->id, user->email, user->name, user->createdAt});
}

void MasteringService::logout(const Caller& caller) {
    if (!caller.sessionTokenHash.empty())
        db_->deleteSession(caller.sessionTokenHash);
}

ApiResult<Caller> MasteringService::authenticate(const std::string& sessionToken) {
    auto unauthenticated = [] { return apiError(ApiErrorCode::Unauthenticated, "sign in first"); };
    // base64url of 32 bytes is 43 characters; anything else was never issued by us.
    if (sessionToken.size() != 43)
        return unauthenticated();
    const std::string tokenHash = detail::sha256Hex(sessionToken);
    auto session = db_->sessionByTokenHash(tokenHash);
    if (!session)
        return unauthenticated();
    const UnixSeconds now = clock_->now();
    if (now >= session->expiresAt || now >= session->lastSeenAt + config_.sessionIdleSeconds) {
        db_->deleteSession(tokenHash);
        return unauthenticated();
    }
    if (now - session->lastSeenAt >= kTouchSessionSeconds)
        db_->touchSession(tokenHash, now);
    return Caller{session->userId, tokenHash};
}

ApiResult<UserProfile> MasteringService::me(const Caller& caller) {
    auto user = db_->userById(caller.userId);
    if (!user)
        return apiError(ApiErrorCode::Unauthenticated, "sign in first");
    return UserProfile{user->id, user->email, user->name, user->createdAt};
}

ApiResult<UserProfile> MasteringService::changeName(const Caller& caller, const std::string& rawName) {
    const std::string name = trim(rawName);
    if (name.empty() || name.size() > kMaxNameBytes || hasControlChars(name))
        return validation("name must be 1 to 100 characters");
    if (!db_->userById(caller.userId))
        return apiError(ApiErrorCode::Unauthenticated, "sign in first");
    db_->updateUserName(caller.userId, name);
    return me(caller);
}

// ---------------------------------------------------------------- uploads and jobs

ApiResult<CreateUploadResponse> MasteringService::createUpload(const Caller& caller,
                                                               const CreateUploadRequest& request) {
    if (request.size <= 0)
        return validation("size must be a positive number of bytes");
    if (request.size > config_.maxUploadBytes)
        return apiError(ApiErrorCode::PayloadTooLarge,
                        "the file is larger than the limit of " + std::to_string(config_.maxUploadBytes) + " bytes");
    std::string type = trim(request.contentType);
    std::transform(type.begin(), type.end(), type.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    if (std::find(kAudioContentTypes.begin(), kAudioContentTypes.end(), type) == kAudioContentTypes.end())
        return apiError(ApiErrorCode::UnsupportedMediaType,
                        "content_type must be an audio type (WAV, AIFF, FLAC, Ogg, MP3)");
    const UnixSeconds now = clock_->now();
    Upload u;
    u.id = detail::randomId("upl_");
    u.userId = caller.userId;
    u.filename = sanitiseFilename(request.filename);
    u.declaredSize = request.size;
    u.contentType = type;
    u.blobKey = "uploads/" + u.id;
    u.state = UploadState::Pending;
    u.createdAt = now;
    u.expiresAt = now + config_.retention.uploadUrlSeconds;
    u.deleteAfter = now + config_.retention.unusedUploadSeconds;
    db_->insertUpload(u);
    return CreateUploadResponse{u.id, blobs_->presignPut(u.blobKey, u.declaredSize, u.contentType, u.expiresAt)};
}

ApiStatus MasteringService::checkUploadWritable(const std::string& blobKey) {
    constexpr std::string_view kPrefix = "uploads/";
    if (blobKey.rfind(kPrefix, 0) != 0)
        return {apiError(ApiErrorCode::NotFound, "not found")};
    auto upload = db_->uploadById(blobKey.substr(kPrefix.size()));
    if (!upload)
        return {apiError(ApiErrorCode::NotFound, "not found")};
    if (upload->state != UploadState::Pending)
        return {apiError(ApiErrorCode::Conflict, "this upload was already used or deleted")};
    return {};
}

namespace {

std::optional<SignedUrl> downloadFor(const Job& job, BlobStore& blobs, const ServiceConfig& config, UnixSeconds now) {
    if (job.status != JobStatus::Done || job.outputBlobKey.empty() || !job.downloadExpiresAt ||
        *job.downloadExpiresAt <= now)
        return std::nullopt;
    const UnixSeconds expires = std::min(now + config.retention.downloadUrlSeconds, *job.downloadExpiresAt);
    return blobs.presignGet(job.outputBlobKey, downloadName(job.originalFilename, extensionOf(job.settings.format)),
                            expires);
}

} // namespace

ApiResult<JobView> MasteringService::createJob(const Caller& caller, const CreateJobRequest& request) {
    auto upload = db_->uploadById(request.uploadId);
    if (!upload || upload->userId != caller.userId)
        return apiError(ApiErrorCode::NotFound, "no such upload");
    if (upload->state != UploadState::Pending)
        return apiError(ApiErrorCode::Conflict, "this upload was already used or deleted");
    const auto info = blobs_->stat(upload->blobKey);
    if (!info)
        return apiError(ApiErrorCode::Conflict, "the file has not been uploaded yet");
    // Re-validate: the request may not come from parseJobSettings.
    const JobSettings& in = request.settings;
    nlohmann::json body = {{"style", in.style}, {"intensity", in.intensity}, {"format", in.format}};
    if (in.preset)
        body["preset"] = *in.preset;
    else {
        if (in.targetLufs)
            body["target_lufs"] = *in.targetLufs;
        if (in.ceilingDbtp)
            body["ceiling_dbtp"] = *in.ceilingDbtp;
    }
    auto settings = parseJobSettings(body);
    if (!settings)
        return settings.error();

    const UnixSeconds now = clock_->now();
    Job job;
    job.id = detail::randomId("job_");
    job.userId = caller.userId;
    job.uploadId = upload->id;
    job.originalFilename = upload->filename;
    job.settings = settings.value();
    job.status = JobStatus::Queued;
    job.stage = "queued";
    job.createdAt = now;
    job.maxAttempts = config_.maxAttempts;
    job.scheduledAt = now;
    job.usageInputBytes = info->size;
    if (auto s = db_->consumeUploadAndInsertJob(upload->id, job); !s)
        return s.error();
    return JobView{job, std::nullopt};
}

ApiResult<JobView> MasteringService::getJob(const Caller& caller, const std::string& jobId) {
    auto job = db_->jobById(jobId);
    if (!job || job->userId != caller.userId)
        return apiError(ApiErrorCode::NotFound, "no such job");
    return JobView{*job, downloadFor(*job, *blobs_, config_, clock_->now())};
}

ApiResult<std::vector<JobView>> MasteringService::listJobs(const Caller& caller) {
    const UnixSeconds now = clock_->now();
    std::vector<JobView> out;
    for (auto& job : db_->jobsForUser(caller.userId, kListLimit))
        out.push_back(JobView{job, downloadFor(job, *blobs_, config_, now)});
    return out;
}

namespace {

/// Deletes a job's original and master bytes now and marks the job deleted (records events).
/// The status is written first: a worker still processing it then fails its next heartbeat
/// and abandons, and removes whatever it stored itself.
ApiStatus deleteJobFiles(Database& db, BlobStore& blobs, Job job, UnixSeconds now, const std::string& reason) {
    const bool hadMaster = job.status == JobStatus::Done && !job.deletedAt;
    if (job.status != JobStatus::Deleted) {
        job.status = JobStatus::Deleted;
        job.deletedAt = job.deletedAt.value_or(now);
        job.leasedBy.reset();
        job.leaseExpiresAt.reset();
        db.updateJob(job);
    }
    if (auto upload = db.uploadById(job.uploadId); upload && upload->state != UploadState::Deleted) {
        if (auto s = blobs.remove(upload->blobKey); !s)
            return s;
        db.markUploadDeleted(upload->id, now);
        db.recordRetentionEvent({now, "upload", upload->id, reason});
    }
    if (!job.outputBlobKey.empty()) {
        if (auto s = blobs.remove(job.outputBlobKey); !s)
            return s;
        if (hadMaster)
            db.recordRetentionEvent({now, "master", job.id, reason});
    }
    return {};
}

} // namespace

ApiResult<JobView> MasteringService::deleteJob(const Caller& caller, const std::string& jobId) {
    auto job = db_->jobById(jobId);
    if (!job || job->userId != caller.userId)
        return apiError(ApiErrorCode::NotFound, "no such job");
    if (auto s = deleteJobFiles(*db_, *blobs_, *job, clock_->now(), "user_deleted"); !s)
        return s.error();
    auto after = db_->jobById(jobId);
    if (!after)
        return apiError(ApiErrorCode::NotFound, "no such job");
    return JobView{*after, std::nullopt};
}

// ---------------------------------------------------------------- privacy

ApiResult<nlohmann::json> MasteringService::exportData(const Caller& caller) {
    auto user = db_->userById(caller.userId);
    if (!user)
        return apiError(ApiErrorCode::Unauthenticated, "sign in first");
    const UnixSeconds now = clock_->now();
    Json jobs = Json::array();
    Json events = Json::array();
    auto addEvents = [&](const std::string& subject) {
        for (const auto& e : db_->retentionEvents(subject))
            events.push_back({{"at", detail::isoUtc(e.at)}, {"subject_kind", e.subjectKind},
                              {"subject_id", e.subjectId}, {"reason", e.reason}});
    };
    for (const auto& job : db_->jobsForUser(caller.userId, 1 << 30)) {
        jobs.push_back(toJson(JobView{job, std::nullopt}));
        addEvents(job.id);
    }
    Json uploads = Json::array();
    for (const auto& u : db_->uploadsForUser(caller.userId)) {
        const char* state = u.state == UploadState::Pending    ? "pending"
                            : u.state == UploadState::Consumed ? "consumed"
                                                               : "deleted";
        uploads.push_back({{"id", u.id}, {"filename", u.filename}, {"size", u.declaredSize},
                           {"content_type", u.contentType}, {"state", state},
                           {"created_at", detail::isoUtc(u.createdAt)}, {"deleted_at", optTime(u.deletedAt)}});
        addEvents(u.id);
    }
    return Json{{"schema", "quacktracks.export.v1"},
                {"generated_at", detail::isoUtc(now)},
                {"user", toJson(UserProfile{user->id, user->email, user->name, user->createdAt})},
                {"jobs", jobs},
                {"uploads", uploads},
                {"retention_events", events}};
}

ApiStatus MasteringService::deleteAccount(const Caller& caller, const std::string& password) {
    auto user = db_->userById(caller.userId);
    if (!user)
        return {apiError(ApiErrorCode::Unauthenticated, "sign in first")};
    bool ok = false;
    if (password.size() <= kMaxPasswordBytes) {
        HashSlot slot(state_->hashMutex, state_->hashCv, state_->hashesRunning, config_.maxConcurrentHashes);
        ok = verifyPassword(user->passwordHash, password);
    }
    if (!ok)
        return {apiError(ApiErrorCode::InvalidCredentials, "wrong password")};
    const UnixSeconds now = clock_->now();
    for (const auto& job : db_->jobsForUser(caller.userId, 1 << 30))
        if (auto s = deleteJobFiles(*db_, *blobs_, job, now, "user_deleted"); !s)
            return s;
    for (const auto& u : db_->uploadsForUser(caller.userId)) {
        if (u.state == UploadState::Deleted)
            continue;
        if (auto s = blobs_->remove(u.blobKey); !s)
            return s;
        db_->markUploadDeleted(u.id, now);
        db_->recordRetentionEvent({now, "upload", u.id, "user_deleted"});
    }
    return db_->deleteUserAndAnonymise(caller.userId, detail::randomId("anon_"));
}

// ---------------------------------------------------------------- leases and sweeping

std::int64_t retryBackoffSeconds(int attempt) {
    const auto a = static_cast<std::int64_t>(std::max(attempt, 1));
    const std::int64_t base = a * a * a * a;
    const auto jitterMax = static_cast<std::uint32_t>(std::max<std::int64_t>(base / 10, 0));
    return base + (jitterMax > 0 ? static_cast<std::int64_t>(randombytes_uniform(jitterMax + 1)) : 0);
}

int recoverExpiredLeases(Database& db, const Clock& clock, const ServiceConfig& config) {
    (void)config;
    const UnixSeconds now = clock.now();
    int recovered = 0;
    for (const auto& job : db.expiredLeases(now)) {
        if (!job.leasedBy)
            continue;
        Job j = job;
        j.leasedBy.reset();
        j.leaseExpiresAt.reset();
        j.errorCode = "lease_expired";
        j.errorMessage = "the worker processing this job stopped responding";
        if (j.attempt >= j.maxAttempts) {
            j.status = JobStatus::Failed;
            j.finishedAt = now;
            j.stage = "failed";
        } else {
            j.status = JobStatus::Queued;
            j.scheduledAt = now + retryBackoffSeconds(j.attempt);
            j.stage = "queued";
            j.progress = 0.0;
        }
        if (db.requeueExpiredLease(j, *job.leasedBy, now))
            ++recovered;
    }
    return recovered;
}

SweepReport sweepOnce(Database& db, BlobStore& blobs, const Clock& clock, const ServiceConfig& config) {
    SweepReport report;
    report.leasesRecovered = recoverExpiredLeases(db, clock, config);
    const UnixSeconds now = clock.now();

    auto deleteUpload = [&](const Upload& u, const char* reason) {
        if (!blobs.remove(u.blobKey))
            return; // retried on the next sweep
        db.markUploadDeleted(u.id, now);
        db.recordRetentionEvent({now, "upload", u.id, reason});
        ++report.uploadsDeleted;
    };
    for (const auto& u : db.uploadsToDelete(now))
        deleteUpload(u, "unused_24h");
    // Normally the worker deletes the original right after finishing; this catches a worker
    // that died between finishing and deleting, and jobs failed for good by lease recovery.
    for (const auto& u : db.consumedUploadsToDelete())
        deleteUpload(u, "job_finished");

    for (auto job : db.mastersToExpire(now)) {
        if (!job.outputBlobKey.empty() && !blobs.remove(job.outputBlobKey))
            continue;
        job.status = JobStatus::Expired;
        job.deletedAt = now;
        db.updateJob(job);
        db.recordRetentionEvent({now, "master", job.id, "download_expired"});
        ++report.mastersExpired;
    }
    db.deleteExpiredSessions(now);

    // Scratch files of workers killed mid-job hold a copy (or hard link) of an original: remove
    // every scratch file whose job is not being processed under a live lease. Names start
    // with the job id ("<job>.<worker>.<attempt>.in", or the engine's ".<that>...tmp").
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::directory_iterator it(detail::scratchDir(config.dataDir), ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!name.empty() && name.front() == '.')
            name.erase(0, 1);
        const std::string jobId = name.substr(0, name.find('.'));
        const auto job = db.jobById(jobId);
        const bool live = job && job->status == JobStatus::Processing && job->leaseExpiresAt &&
                          *job->leaseExpiresAt > now;
        if (!live) {
            std::error_code rmEc;
            fs::remove(it->path(), rmEc);
        }
    }
    return report;
}

} // namespace quack::service
