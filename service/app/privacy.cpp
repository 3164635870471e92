// Use cases: the privacy rights of policy section 9 (access and portability, deletion).
#include "service/app/internal.h"
#include "service/app/mastering_service.h"
#include "service/app/validation.h"

namespace quack::service {

ApiResult<AccountExport> MasteringService::exportData(const Caller& caller) {
    auto profile = me(caller);
    if (!profile)
        return profile.error();
    AccountExport out;
    out.generatedAt = clock_.now();
    out.user = profile.value();
    auto jobs = db_.jobsForUser(caller.userId, 1 << 30);
    if (!jobs)
        return jobs.error();
    auto uploads = db_.uploadsForUser(caller.userId);
    if (!uploads)
        return uploads.error();
    out.jobs = std::move(jobs).value();
    out.uploads = std::move(uploads).value();
    auto addEvents = [&](const std::string& subject) -> ApiStatus {
        auto events = db_.retentionEvents(subject);
        if (!events)
            return events.error();
        out.retentionEvents.insert(out.retentionEvents.end(), events->begin(), events->end());
        return {};
    };
    for (const auto& job : out.jobs)
        if (auto s = addEvents(job.id); !s)
            return s.error();
    for (const auto& u : out.uploads)
        if (auto s = addEvents(u.id); !s)
            return s.error();
    return out;
}

ApiStatus MasteringService::deleteAccount(const Caller& caller, const std::string& password) {
    auto user = db_.userById(caller.userId);
    if (!user)
        return user.error();
    if (!*user)
        return apiError(ApiErrorCode::Unauthenticated, "sign in first");
    bool ok = false;
    if (password.size() <= kMaxPasswordBytes) {
        auto verified = hasher_.verify((*user)->passwordHash, password);
        if (!verified)
            return verified.error();
        ok = verified.value();
    }
    if (!ok)
        return apiError(ApiErrorCode::InvalidCredentials, "wrong password");
    const UnixSeconds now = clock_.now();
    // Files first, then rows: if a store call fails the account is intact and the user can
    // try again; nothing is left without the row that would let it be deleted.
    auto jobs = db_.jobsForUser(caller.userId, 1 << 30);
    if (!jobs)
        return jobs.error();
    for (const auto& job : jobs.value())
        if (auto s = detail::deleteJobFiles(db_, blobs_, job, now, "user_deleted"); !s)
            return s;
    auto uploads = db_.uploadsForUser(caller.userId);
    if (!uploads)
        return uploads.error();
    for (const auto& u : uploads.value())
        if (u.state != UploadState::Deleted)
            if (auto s = detail::deleteUploadBytes(db_, blobs_, u, now, "user_deleted"); !s)
                return s;
    return db_.deleteUserAndAnonymise(caller.userId, detail::randomId("anon_"));
}

} // namespace quack::service
