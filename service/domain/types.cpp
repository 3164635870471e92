#include "service/domain/types.h"

#include <array>
#include <utility>

namespace quack::service {
namespace {

constexpr std::array<std::pair<JobStatus, const char*>, 6> kStatusNames = {{
    {JobStatus::Queued, "queued"},
    {JobStatus::Processing, "processing"},
    {JobStatus::Done, "done"},
    {JobStatus::Failed, "failed"},
    {JobStatus::Expired, "expired"},
    {JobStatus::Deleted, "deleted"},
}};

constexpr std::array<std::pair<UploadState, const char*>, 3> kUploadStateNames{{
    {UploadState::Pending, "pending"},
    {UploadState::Consumed, "consumed"},
    {UploadState::Deleted, "deleted"},
}};

} // namespace

const char* toString(UploadState state) {
    for (const auto& [s, name] : kUploadStateNames)
        if (s == state)
            return name;
    return "pending";
}

std::optional<UploadState> uploadStateFromString(const std::string& s) {
    for (const auto& [state, name] : kUploadStateNames)
        if (s == name)
            return state;
    return std::nullopt;
}

const char* toString(JobStatus status) {
    for (const auto& [s, name] : kStatusNames)
        if (s == status)
            return name;
    return "unknown";
}

std::optional<JobStatus> jobStatusFromString(const std::string& s) {
    for (const auto& [status, name] : kStatusNames)
        if (s == name)
            return status;
    return std::nullopt;
}

} // namespace quack::service
