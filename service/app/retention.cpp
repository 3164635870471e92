// Use cases: retention (policy sections 3 and 8) and recovery of expired leases.
#include "service/app/internal.h"
#include "service/app/mastering_service.h"

#include <sodium.h>

#include <algorithm>
#include <filesystem>

namespace quack::service {

std::int64_t retryBackoffSeconds(int attempt) {
    const auto a = static_cast<std::int64_t>(std::max(attempt, 1));
    const std::int64_t base = a * a * a * a;
    const auto jitterMax = static_cast<std::uint32_t>(std::max<std::int64_t>(base / 10, 0));
    return base + (jitterMax > 0 ? static_cast<std::int64_t>(randombytes_uniform(jitterMax + 1)) : 0);
}

int recoverExpiredLeases(Database& db, const Clock& clock, const ServiceConfig& /*config*/) {
    const UnixSeconds now = clock.now();
    auto expired = db.expiredLeases(now);
    if (!expired)
        return 0; // the next sweep or worker poll tries again
    int recovered = 0;
    for (const auto& job : expired.value()) {
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
        if (auto r = db.requeueExpiredLease(j, *job.leasedBy, now); r && r.value())
            ++recovered;
    }
    return recovered;
}

namespace {

/// Objects the database no longer needs (an upload PUT that finished after its job, or after
/// the account was deleted; a master stored by a worker killed before it could finish or clean
/// up) are deleted and recorded. Listed page by page so memory stays bounded.
/// Calls onOrphan(key) for each stored object under uploads/ and masters/ that no live row
/// needs; counts the steps that failed in `errors`.
template <typename OnOrphan> void forEachOrphan(Database& db, BlobStore& blobs, int& errors, OnOrphan onOrphan) {
    constexpr std::size_t kPage = 500;
    for (const std::string prefix : {"uploads/", "masters/"}) {
        auto keys = blobs.list(prefix);
        if (!keys) {
            ++errors;
            continue;
        }
        for (std::size_t at = 0; at < keys->size(); at += kPage) {
            const std::vector<std::string> page(keys->begin() + static_cast<std::ptrdiff_t>(at),
                                                keys->begin() + static_cast<std::ptrdiff_t>(std::min(at + kPage, keys->size())));
            auto live = db.liveBlobKeys(page);
            if (!live) {
                ++errors;
                continue;
            }
            for (const auto& key : page)
                if (std::find(live->begin(), live->end(), key) == live->end())
                    onOrphan(key);
        }
    }
}

void reconcileStore(Database& db, BlobStore& blobs, UnixSeconds now, SweepReport& report) {
    forEachOrphan(db, blobs, report.errors, [&](const std::string& key) {
        if (!blobs.remove(key)) {
            ++report.errors;
            return;
        }
        const auto slash = key.find('/');
        const std::string kind = key.substr(0, slash) == "uploads" ? "upload" : "master";
        (void)db.recordRetentionEvent({now, kind, key.substr(slash + 1), "orphaned_object"});
        ++report.orphansDeleted;
    });
}

} // namespace

ApiResult<std::vector<std::string>> orphanedObjects(Database& db, BlobStore& blobs) {
    std::vector<std::string> orphans;
    int errors = 0;
    forEachOrphan(db, blobs, errors, [&](const std::string& key) { orphans.push_back(key); });
    if (errors > 0)
        return apiError(ApiErrorCode::Unavailable, "the store or the database did not answer while listing");
    return orphans;
}

SweepReport sweepOnce(Database& db, BlobStore& blobs, const Clock& clock, const ServiceConfig& config) {
    SweepReport report;
    report.leasesRecovered = recoverExpiredLeases(db, clock, config);
    const UnixSeconds now = clock.now();

    // Each failure is counted and retried on the next sweep; one bad object never stops the rest.
    auto deleteUpload = [&](const Upload& u, const char* reason) {
        if (detail::deleteUploadBytes(db, blobs, u, now, reason))
            ++report.uploadsDeleted;
        else
            ++report.errors;
    };
    if (auto unused = db.uploadsToDelete(now))
        for (const auto& u : unused.value())
            deleteUpload(u, "unused_24h");
    else
        ++report.errors;
    // Normally the worker deletes the original right after finishing; this catches a worker
    // that died between finishing and deleting, and jobs failed for good by lease recovery.
    if (auto finished = db.consumedUploadsToDelete())
        for (const auto& u : finished.value())
            deleteUpload(u, "job_finished");
    else
        ++report.errors;

    if (auto expiring = db.mastersToExpire(now)) {
        for (auto job : expiring.value()) {
            if (!job.outputBlobKey.empty() && !blobs.remove(job.outputBlobKey)) {
                ++report.errors;
                continue;
            }
            job.status = JobStatus::Expired;
            job.deletedAt = now;
            if (!db.updateJob(job) || !db.recordRetentionEvent({now, "master", job.id, "download_expired"})) {
                ++report.errors;
                continue;
            }
            ++report.mastersExpired;
        }
    } else {
        ++report.errors;
    }
    if (!db.deleteExpiredSessions(now))
        ++report.errors;

    reconcileStore(db, blobs, now, report);
    // Partial writes of uploads or multipart puts cut off by a crash: older than the longest a
    // write may take (an upload URL's lifetime plus a stalled connection's timeout).
    if (auto swept = blobs.sweepIncomplete(now - config.retention.uploadUrlSeconds - 3600))
        report.incompleteDeleted = swept.value();
    else
        ++report.errors;

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
        if (!job) {
            ++report.errors; // cannot tell: keep the file until the database answers
            continue;
        }
        const bool live = *job && (*job)->status == JobStatus::Processing && (*job)->leaseExpiresAt &&
                          *(*job)->leaseExpiresAt > now;
        if (!live) {
            std::error_code rmEc;
            fs::remove(it->path(), rmEc);
        }
    }
    return report;
}

} // namespace quack::service
