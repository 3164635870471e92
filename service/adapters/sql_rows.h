#pragma once
/// What the SQL adapters (SQLite, PostgreSQL) share: the column lists of their one schema and the
/// mapping between a row and a domain value, written once over a row reader and a parameter
/// sink so each adapter supplies only its own driver calls. Adapter-internal.
///
/// A `Row` has text/optText/real/optReal/i64/optI64(column); a parameter sink is called with
/// each value in column order (std::string, const char*, std::int64_t, int, double, or an
/// std::optional of those).
#include "service/domain/types.h"

namespace quack::service::sql {

inline constexpr const char* kJobColumns =
    "id, user_id, upload_id, original_filename, preset, target_lufs, ceiling_dbtp, style, "
    "intensity, format, status, progress, stage, created_at, started_at, finished_at, "
    "download_expires_at, deleted_at, output_blob_key, report_json, error_code, error_message, "
    "attempt, max_attempts, scheduled_at, leased_by, lease_expires_at, usage_audio_seconds, "
    "usage_input_bytes";

inline constexpr const char* kUploadColumns =
    "id, user_id, filename, declared_size, content_type, blob_key, state, created_at, expires_at, "
    "delete_after, deleted_at";

inline constexpr const char* kUserColumns = "id, email, name, password_hash, created_at";

/// Calls sink(value) for every job column, in kJobColumns order.
template <typename Sink> void forEachJobValue(const Job& j, Sink&& sink) {
    sink(j.id), sink(j.userId), sink(j.uploadId), sink(j.originalFilename);
    sink(j.settings.preset), sink(j.settings.targetLufs), sink(j.settings.ceilingDbtp);
    sink(j.settings.style), sink(j.settings.intensity), sink(j.settings.format);
    sink(toString(j.status)), sink(j.progress), sink(j.stage);
    sink(j.createdAt), sink(j.startedAt), sink(j.finishedAt);
    sink(j.downloadExpiresAt), sink(j.deletedAt), sink(j.outputBlobKey);
    sink(j.reportJson), sink(j.errorCode), sink(j.errorMessage);
    sink(j.attempt), sink(j.maxAttempts), sink(j.scheduledAt);
    sink(j.leasedBy), sink(j.leaseExpiresAt), sink(j.usageAudioSeconds);
    sink(j.usageInputBytes);
}

/// A job from a row selected with kJobColumns.
template <typename Row> Job readJob(const Row& s) {
    Job j;
    j.id = s.text(0);
    j.userId = s.text(1);
    j.uploadId = s.text(2);
    j.originalFilename = s.text(3);
    j.settings.preset = s.optText(4);
    j.settings.targetLufs = s.optReal(5);
    j.settings.ceilingDbtp = s.optReal(6);
    j.settings.style = s.text(7);
    j.settings.intensity = s.text(8);
    j.settings.format = s.text(9);
    j.status = jobStatusFromString(s.text(10)).value_or(JobStatus::Failed);
    j.progress = s.real(11);
    j.stage = s.text(12);
    j.createdAt = s.i64(13);
    j.startedAt = s.optI64(14);
    j.finishedAt = s.optI64(15);
    j.downloadExpiresAt = s.optI64(16);
    j.deletedAt = s.optI64(17);
    j.outputBlobKey = s.text(18);
    j.reportJson = s.optText(19);
    j.errorCode = s.optText(20);
    j.errorMessage = s.optText(21);
    j.attempt = static_cast<int>(s.i64(22));
    j.maxAttempts = static_cast<int>(s.i64(23));
    j.scheduledAt = s.i64(24);
    j.leasedBy = s.optText(25);
    j.leaseExpiresAt = s.optI64(26);
    j.usageAudioSeconds = s.real(27);
    j.usageInputBytes = s.i64(28);
    return j;
}

/// An upload from a row selected with kUploadColumns.
template <typename Row> Upload readUpload(const Row& s) {
    Upload u;
    u.id = s.text(0);
    u.userId = s.text(1);
    u.filename = s.text(2);
    u.declaredSize = s.i64(3);
    u.contentType = s.text(4);
    u.blobKey = s.text(5);
    u.state = uploadStateFromString(s.text(6)).value_or(UploadState::Pending);
    u.createdAt = s.i64(7);
    u.expiresAt = s.i64(8);
    u.deleteAfter = s.i64(9);
    u.deletedAt = s.optI64(10);
    return u;
}

/// A user from a row selected with kUserColumns.
template <typename Row> User readUser(const Row& s) {
    return User{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4)};
}

} // namespace quack::service::sql
