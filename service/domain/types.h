#pragma once
/// Domain vocabulary of the mastering service: plain value types, no I/O, no adapters.
/// Times are Unix seconds (UTC) as std::int64_t; sizes are bytes.
#include <cstdint>
#include <optional>
#include <string>

namespace quack::service {

using UnixSeconds = std::int64_t;

struct User {
    std::string id;           ///< opaque random id (e.g. "usr_" + 22 base32 chars)
    std::string email;        ///< normalised: trimmed, lower-case
    std::string name;
    std::string passwordHash; ///< libsodium crypto_pwhash_str (Argon2id) string; never logged
    UnixSeconds createdAt = 0;
};

/// What a user may see of themselves (GET /api/v1/me). No hash, no tokens.
struct UserProfile {
    std::string id;
    std::string email;
    std::string name;
    UnixSeconds createdAt = 0;
};

struct Session {
    std::string tokenHash;    ///< SHA-256 (hex) of the cookie token; the token itself is never stored
    std::string userId;
    UnixSeconds createdAt = 0;
    UnixSeconds lastSeenAt = 0;
    UnixSeconds expiresAt = 0; ///< absolute expiry
};

enum class UploadState { Pending, Consumed, Deleted };

/// Stable lower-case names ("pending", "consumed", "deleted"), stored and shown in exports.
const char* toString(UploadState state);
std::optional<UploadState> uploadStateFromString(const std::string& s);

/// An upload slot: created by POST /uploads, filled by the client's PUT to a signed URL,
/// consumed by exactly one job.
struct Upload {
    std::string id;           ///< "upl_..."
    std::string userId;
    std::string filename;     ///< as given by the client, sanitised (no path separators)
    std::int64_t declaredSize = 0;
    std::string contentType;
    std::string blobKey;      ///< key in the BlobStore ("uploads/<id>")
    UploadState state = UploadState::Pending;
    UnixSeconds createdAt = 0;
    UnixSeconds expiresAt = 0; ///< signed PUT URL expiry
    UnixSeconds deleteAfter = 0; ///< retention: deleted at this time if never used
    std::optional<UnixSeconds> deletedAt;
};

enum class JobStatus { Queued, Processing, Done, Failed, Expired, Deleted };

/// Stable lower-case names used by the API ("queued", "processing", ...).
const char* toString(JobStatus status);
std::optional<JobStatus> jobStatusFromString(const std::string& s);

/// The user's mastering settings, validated against the engine's presets and ranges.
struct JobSettings {
    std::optional<std::string> preset;      ///< streaming | loud | podcast | broadcast
    std::optional<double> targetLufs;       ///< with ceilingDbtp, instead of a preset
    std::optional<double> ceilingDbtp;
    std::string style = "balanced";         ///< balanced | warm | bright
    std::string intensity = "medium";       ///< low | medium | high
    std::string format = "wav24";           ///< wav16 | wav24 | wav32f | flac16 | flac24 | mp3
};

/// A mastering job and the metadata the privacy policy (section 3) names: timestamps,
/// settings, status and usage. Metadata outlives the audio files.
struct Job {
    std::string id;           ///< "job_..."
    std::string userId;
    std::string uploadId;
    std::string originalFilename;
    JobSettings settings;
    JobStatus status = JobStatus::Queued;
    double progress = 0.0;    ///< 0..1
    std::string stage;        ///< engine stage name while processing
    UnixSeconds createdAt = 0;
    std::optional<UnixSeconds> startedAt;
    std::optional<UnixSeconds> finishedAt;
    std::optional<UnixSeconds> downloadExpiresAt; ///< finishedAt + master retention
    std::optional<UnixSeconds> deletedAt;         ///< when its files were deleted (any reason)
    std::string outputBlobKey;                    ///< "masters/<job id>-<attempt>.<ext>" once done
    std::optional<std::string> reportJson;        ///< the engine's quacktracks.master.v1 report
    std::optional<std::string> errorCode;         ///< stable id when failed
    std::optional<std::string> errorMessage;
    // queue bookkeeping
    int attempt = 0;
    int maxAttempts = 3;
    UnixSeconds scheduledAt = 0;                  ///< not before (backoff)
    std::optional<std::string> leasedBy;          ///< worker id
    std::optional<UnixSeconds> leaseExpiresAt;
    // usage (counts against the user's plan later; recorded now)
    double usageAudioSeconds = 0.0;               ///< duration of the input
    std::int64_t usageInputBytes = 0;
};

/// One retention or privacy action, recorded for accountability (audit trail).
struct RetentionEvent {
    UnixSeconds at = 0;
    std::string subjectKind;  ///< "upload" | "master"
    std::string subjectId;    ///< upload id or job id
    std::string reason;       ///< "job_finished" | "unused_24h" | "download_expired" | "user_deleted"
};

} // namespace quack::service
