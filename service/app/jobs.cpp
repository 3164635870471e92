// Use cases: uploads (signed URLs, completion through the BlobStore port) and mastering jobs.
// Every lookup checks ownership: another user's id is NotFound, exactly like a missing one.
#include "service/app/internal.h"
#include "service/app/mastering_service.h"
#include "service/app/validation.h"
#include "service/domain/audio_sniff.h"

#include <algorithm>

namespace quack::service {
namespace {

constexpr int kListLimit = 200;

ApiError noSuchUpload() { return apiError(ApiErrorCode::NotFound, "no such upload"); }
ApiError noSuchJob() { return apiError(ApiErrorCode::NotFound, "no such job"); }
ApiError uploadUsed() { return apiError(ApiErrorCode::Conflict, "this upload was already used or deleted"); }

/// The upload `uploadId` if it exists and belongs to the caller (else NotFound, the same for
/// both, so ids reveal nothing).
ApiResult<Upload> ownedUpload(Database& db, const Caller& caller, const std::string& uploadId) {
    auto upload = db.uploadById(uploadId);
    if (!upload)
        return upload.error();
    if (!*upload || (*upload)->userId != caller.userId)
        return noSuchUpload();
    return std::move(**upload);
}

/// The upload whose blob key is `blobKey` ("uploads/<id>"); NotFound for any other key.
ApiResult<Upload> uploadByKey(Database& db, const std::string& blobKey) {
    constexpr std::string_view kPrefix = "uploads/";
    if (blobKey.rfind(kPrefix, 0) != 0)
        return noSuchUpload();
    auto upload = db.uploadById(blobKey.substr(kPrefix.size()));
    if (!upload)
        return upload.error();
    if (!*upload)
        return noSuchUpload();
    return std::move(**upload);
}

ApiResult<std::optional<SignedUrl>> downloadFor(const Job& job, BlobStore& blobs, const ServiceConfig& config,
                                                UnixSeconds now) {
    if (job.status != JobStatus::Done || job.outputBlobKey.empty() || !job.downloadExpiresAt ||
        *job.downloadExpiresAt <= now)
        return std::optional<SignedUrl>();
    const UnixSeconds expires = std::min(now + config.retention.downloadUrlSeconds, *job.downloadExpiresAt);
    auto url = blobs.presignGet(job.outputBlobKey,
                                downloadName(job.originalFilename, extensionOf(job.settings.format)), expires);
    if (!url)
        return url.error();
    return std::optional<SignedUrl>(std::move(url).value());
}

} // namespace

namespace detail {

ApiStatus deleteUploadBytes(Database& db, BlobStore& blobs, const Upload& upload, UnixSeconds now,
                            const std::string& reason) {
    if (auto s = blobs.remove(upload.blobKey); !s)
        return s;
    if (auto s = db.markUploadDeleted(upload.id, now); !s)
        return s;
    return db.recordRetentionEvent({now, "upload", upload.id, reason});
}

ApiStatus deleteJobFiles(Database& db, BlobStore& blobs, Job job, UnixSeconds now, const std::string& reason) {
    const bool hadMaster = job.status == JobStatus::Done && !job.deletedAt;
    if (job.status != JobStatus::Deleted) {
        job.status = JobStatus::Deleted;
        job.deletedAt = job.deletedAt.value_or(now);
        job.leasedBy.reset();
        job.leaseExpiresAt.reset();
        if (auto s = db.updateJob(job); !s)
            return s;
    }
    auto upload = db.uploadById(job.uploadId);
    if (!upload)
        return upload.error();
    if (*upload && (*upload)->state != UploadState::Deleted)
        if (auto s = deleteUploadBytes(db, blobs, **upload, now, reason); !s)
            return s;
    if (!job.outputBlobKey.empty()) {
        if (auto s = blobs.remove(job.outputBlobKey); !s)
            return s;
        if (hadMaster)
            return db.recordRetentionEvent({now, "master", job.id, reason});
    }
    return {};
}

} // namespace detail

ApiResult<CreateUploadResponse> MasteringService::createUpload(const Caller& caller,
                                                               const CreateUploadRequest& request) {
    if (request.size <= 0)
        return apiError(ApiErrorCode::ValidationFailed, "size must be a positive number of bytes");
    if (request.size > config_.maxUploadBytes)
        return apiError(ApiErrorCode::PayloadTooLarge, "the file is larger than the upload limit");
    const auto type = acceptedAudioContentType(request.contentType);
    if (!type)
        return apiError(ApiErrorCode::UnsupportedMediaType,
                        "content_type must be an audio type (WAV, AIFF, FLAC, Ogg, MP3, M4A/AAC/ALAC)");
    const UnixSeconds now = clock_.now();
    Upload u;
    u.id = detail::randomId("upl_");
    u.userId = caller.userId;
    u.filename = sanitiseFilename(request.filename);
    u.declaredSize = request.size;
    u.contentType = *type;
    u.blobKey = "uploads/" + u.id;
    u.state = UploadState::Pending;
    u.createdAt = now;
    u.expiresAt = now + config_.retention.uploadUrlSeconds;
    u.deleteAfter = now + config_.retention.unusedUploadSeconds;
    auto url = blobs_.presignPut(u.blobKey, u.declaredSize, u.contentType, u.expiresAt);
    if (!url)
        return url.error();
    if (auto s = db_.insertUpload(u); !s)
        return s.error();
    return CreateUploadResponse{u.id, std::move(url).value()};
}

ApiStatus MasteringService::checkUploadWritable(const std::string& blobKey) {
    auto upload = uploadByKey(db_, blobKey);
    if (!upload)
        return upload.error();
    if (upload->state != UploadState::Pending)
        return uploadUsed();
    return {};
}

ApiResult<UploadedFile> MasteringService::verifyUploaded(const Upload& upload) {
    if (upload.state != UploadState::Pending)
        return uploadUsed();
    auto info = blobs_.stat(upload.blobKey);
    if (!info)
        return info.error();
    if (!*info)
        return apiError(ApiErrorCode::Conflict, "the file has not been uploaded yet");
    // A bad object is deleted so that the slot can be filled again with the right file.
    auto refuse = [&](ApiError e) -> ApiResult<UploadedFile> {
        (void)blobs_.remove(upload.blobKey); // if this fails, retention deletes it in 24 h
        return e;
    };
    const BlobInfo& blob = **info;
    if (blob.size <= 0)
        return refuse(apiError(ApiErrorCode::BadRequest, "the upload is empty"));
    if (blob.size > upload.declaredSize)
        return refuse(apiError(ApiErrorCode::PayloadTooLarge, "the file is larger than the upload declared"));
    if (!blob.contentType.empty() && acceptedAudioContentType(blob.contentType) != upload.contentType)
        return refuse(apiError(ApiErrorCode::UnsupportedMediaType,
                               "the file was sent with another type than the upload declared"));
    auto head = blobs_.readPrefix(upload.blobKey, kSniffBytes);
    if (!head)
        return head.error();
    const auto* bytes = reinterpret_cast<const unsigned char*>(head->data());
    if (!looksLikeAudio({bytes, head->size()}))
        return refuse(apiError(ApiErrorCode::UnsupportedMediaType,
                               "the file is not a supported audio format (WAV, AIFF, FLAC, Ogg, MP3, M4A)"));
    return UploadedFile{upload.id, blob.size};
}

ApiResult<UploadedFile> MasteringService::completeUpload(const Caller& caller, const std::string& uploadId) {
    auto upload = ownedUpload(db_, caller, uploadId);
    if (!upload)
        return upload.error();
    return verifyUploaded(upload.value());
}

ApiResult<UploadedFile> MasteringService::completeUploadByKey(const std::string& blobKey) {
    auto upload = uploadByKey(db_, blobKey);
    if (!upload)
        return upload.error();
    return verifyUploaded(upload.value());
}

ApiResult<JobView> MasteringService::createJob(const Caller& caller, const CreateJobRequest& request) {
    // Re-validate: the request may not come from the HTTP parser.
    auto settings = validateJobSettings(toInput(request.settings));
    if (!settings)
        return settings.error();
    auto upload = ownedUpload(db_, caller, request.uploadId);
    if (!upload)
        return upload.error();
    auto file = verifyUploaded(upload.value());
    if (!file)
        return file.error();

    const UnixSeconds now = clock_.now();
    Job job;
    job.id = detail::randomId("job_");
    job.userId = caller.userId;
    job.uploadId = request.uploadId;
    job.originalFilename = upload->filename;
    job.settings = settings.value();
    job.status = JobStatus::Queued;
    job.stage = "queued";
    job.createdAt = now;
    job.maxAttempts = config_.maxAttempts;
    job.scheduledAt = now;
    job.usageInputBytes = file->size;
    if (auto s = db_.consumeUploadAndInsertJob(request.uploadId, job); !s)
        return s.error();
    return JobView{job, std::nullopt};
}

ApiResult<JobView> MasteringService::getJob(const Caller& caller, const std::string& jobId) {
    auto job = db_.jobById(jobId);
    if (!job)
        return job.error();
    if (!*job || (*job)->userId != caller.userId)
        return noSuchJob();
    auto download = downloadFor(**job, blobs_, config_, clock_.now());
    if (!download)
        return download.error();
    return JobView{**job, std::move(download).value()};
}

ApiResult<std::vector<JobView>> MasteringService::listJobs(const Caller& caller) {
    const UnixSeconds now = clock_.now();
    auto jobs = db_.jobsForUser(caller.userId, kListLimit);
    if (!jobs)
        return jobs.error();
    std::vector<JobView> out;
    for (auto& job : jobs.value()) {
        auto download = downloadFor(job, blobs_, config_, now);
        if (!download)
            return download.error();
        out.push_back(JobView{std::move(job), std::move(download).value()});
    }
    return out;
}

ApiResult<JobView> MasteringService::deleteJob(const Caller& caller, const std::string& jobId) {
    auto job = db_.jobById(jobId);
    if (!job)
        return job.error();
    if (!*job || (*job)->userId != caller.userId)
        return noSuchJob();
    if (auto s = detail::deleteJobFiles(db_, blobs_, **job, clock_.now(), "user_deleted"); !s)
        return s.error();
    auto after = db_.jobById(jobId);
    if (!after)
        return after.error();
    if (!*after)
        return noSuchJob();
    return JobView{**after, std::nullopt};
}

} // namespace quack::service
