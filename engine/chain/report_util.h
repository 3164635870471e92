#pragma once
/// Private to engine/chain: the small helpers every report and decision text shares, and the
/// guard of the write-then-rename contract.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace quack::chain_detail {

/// printf-style text for one number in a reason ("%.1f").
inline std::string fmt(const char* format, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, value);
    return buf;
}

/// `x` rounded to two decimals for a report, or null when it is not finite (silence).
inline nlohmann::json round2OrNull(double x) {
    return std::isfinite(x) ? nlohmann::json(std::round(x * 100.0) / 100.0) : nlohmann::json();
}

/// Removes a temporary output file unless it was committed (renamed into place).
struct TempFileGuard {
    std::string path;
    bool committed = false;
    ~TempFileGuard() {
        if (!committed && !path.empty()) {
            std::error_code ec;
            std::filesystem::remove(path, ec);
        }
    }
};

} // namespace quack::chain_detail
