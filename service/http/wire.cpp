#include "service/http/wire.h"

#include "service/app/internal.h"

namespace quack::service::http {
namespace {

using Json = nlohmann::json;

Json optTime(const std::optional<UnixSeconds>& t) { return t ? Json(detail::isoUtc(*t)) : Json(nullptr); }

} // namespace

Json toJson(const UserProfile& p) {
    return {{"id", p.id}, {"email", p.email}, {"name", p.name}, {"created_at", detail::isoUtc(p.createdAt)}};
}

Json toJson(const JobView& view) {
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

Json toJson(const AccountExport& data) {
    Json jobs = Json::array();
    for (const auto& job : data.jobs)
        jobs.push_back(toJson(JobView{job, std::nullopt}));
    Json uploads = Json::array();
    for (const auto& u : data.uploads)
        uploads.push_back({{"id", u.id}, {"filename", u.filename}, {"size", u.declaredSize},
                           {"content_type", u.contentType}, {"state", toString(u.state)},
                           {"created_at", detail::isoUtc(u.createdAt)}, {"deleted_at", optTime(u.deletedAt)}});
    Json events = Json::array();
    for (const auto& e : data.retentionEvents)
        events.push_back({{"at", detail::isoUtc(e.at)}, {"subject_kind", e.subjectKind},
                          {"subject_id", e.subjectId}, {"reason", e.reason}});
    return Json{{"schema", "quacktracks.export.v1"},
                {"generated_at", detail::isoUtc(data.generatedAt)},
                {"user", toJson(data.user)},
                {"jobs", jobs},
                {"uploads", uploads},
                {"retention_events", events}};
}

ApiResult<JobSettingsInput> parseJobSettingsInput(const Json& body) {
    if (!body.is_object())
        return apiError(ApiErrorCode::BadRequest, "the body must be a JSON object");
    auto validation = [](std::string m) { return apiError(ApiErrorCode::ValidationFailed, std::move(m)); };
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
    JobSettingsInput in;
    for (auto e : {optString("preset", in.preset), optString("style", in.style),
                   optString("intensity", in.intensity), optString("format", in.format),
                   optNumber("target_lufs", in.targetLufs), optNumber("ceiling_dbtp", in.ceilingDbtp)})
        if (e)
            return *e;
    return in;
}

ApiResult<JobSettings> parseJobSettings(const Json& body) {
    auto in = parseJobSettingsInput(body);
    if (!in)
        return in.error();
    return validateJobSettings(in.value());
}

} // namespace quack::service::http
