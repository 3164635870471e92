#pragma once
/// The JSON wire format of the API (docs/api.md, openapi.json): parsing request bodies into
/// the use cases' inputs and serialising their results. The app layer never sees JSON.
#include "service/app/mastering_service.h"
#include "service/app/validation.h"

#include <nlohmann/json.hpp>

namespace quack::service::http {

nlohmann::json toJson(const JobView& view);
nlohmann::json toJson(const UserProfile& profile);
/// {"schema":"quacktracks.export.v1","generated_at","user","jobs":[...],"uploads":[{id,
/// filename,size,content_type,state,created_at,deleted_at}],"retention_events":[{at,
/// subject_kind,subject_id,reason}]}.
nlohmann::json toJson(const AccountExport& data);
/// The settings fields of a job body (preset | target_lufs + ceiling_dbtp, style, intensity,
/// format) with their JSON types checked (malformed_request / validation_failed).
ApiResult<JobSettingsInput> parseJobSettingsInput(const nlohmann::json& body);
/// parseJobSettingsInput, then validateJobSettings.
ApiResult<JobSettings> parseJobSettings(const nlohmann::json& body);

} // namespace quack::service::http
