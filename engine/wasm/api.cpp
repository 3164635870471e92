// The WebAssembly engine's C API (engine/wasm/README.md): the same masterFile() and
// analyzeFile() as the CLI and the service, over paths in emscripten's file system (NODEFS in
// Node, so inputs, outputs and the engine's spools stream from and to disk; MEMFS elsewhere).
// Every call returns a JSON string the caller frees with quack_free():
//   {"ok": true, "report": {...}}  or  {"ok": false, "error": {"code", "exit_code", "http_status", "message"}}.
#include "engine/chain/master.h"
#include "engine/core/error.h"

#include <emscripten/emscripten.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace {

using nlohmann::json;

// Progress goes to Module.onProgress(stage, fraction) when the embedder set one.
EM_JS(void, quackReportProgress, (const char* stage, double fraction), {
    if (typeof Module["onProgress"] === "function")
        Module["onProgress"](UTF8ToString(stage), fraction);
});

char* toHeap(const json& j) {
    const std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    auto* out = static_cast<char*>(std::malloc(s.size() + 1));
    std::memcpy(out, s.c_str(), s.size() + 1);
    return out;
}

char* errorJson(const quack::Error& e) {
    const auto& info = quack::errorInfo(e.code);
    return toHeap({{"ok", false},
                   {"error",
                    {{"code", info.id}, {"exit_code", info.exitCode}, {"http_status", info.httpStatus}, {"message", e.message}}}});
}

char* invalid(const std::string& message) {
    return errorJson(quack::makeError(quack::ErrorCode::InvalidArgument, message));
}

void progress(std::string_view stage, double fraction) {
    const std::string s(stage);
    quackReportProgress(s.c_str(), fraction);
}

/// Optional typed fields of the settings object; a wrong type is a clear error, not an abort.
struct Reader {
    const json& j;
    std::string error;
    std::optional<std::string> str(const char* key) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null())
            return std::nullopt;
        if (!it->is_string()) {
            error = std::string("settings.") + key + " must be a string";
            return std::nullopt;
        }
        return it->get<std::string>();
    }
    std::optional<double> num(const char* key) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null())
            return std::nullopt;
        if (!it->is_number()) {
            error = std::string("settings.") + key + " must be a number";
            return std::nullopt;
        }
        return it->get<double>();
    }
    bool flag(const char* key) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null())
            return false;
        if (!it->is_boolean()) {
            error = std::string("settings.") + key + " must be true or false";
            return false;
        }
        return it->get<bool>();
    }
};

} // namespace

extern "C" {

/// Masters `inputPath` into `outputPath`. `settingsJson`: the service's job settings
/// ({"preset", "target_lufs", "ceiling_dbtp", "style", "intensity", "format"}) plus the CLI's
/// "seed", "trim_silence", "fade_in_ms", "fade_out_ms", "tags" (false = --no-tags). Unknown keys
/// are refused (a typo must not be ignored silently).
EMSCRIPTEN_KEEPALIVE char* quack_master(const char* inputPath, const char* outputPath, const char* settingsJson) {
    const json settings = json::parse(settingsJson ? settingsJson : "{}", nullptr, false);
    if (settings.is_discarded() || !settings.is_object())
        return invalid("the settings must be a JSON object");
    static const char* const kKeys[] = {"preset", "target_lufs", "ceiling_dbtp", "style", "intensity", "format",
                                        "seed", "trim_silence", "fade_in_ms", "fade_out_ms", "tags"};
    for (const auto& item : settings.items()) {
        const std::string key = item.key();
        if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; }))
            return invalid("unknown setting '" + key + "'");
    }
    Reader r{settings, {}};
    const auto preset = r.str("preset");
    const auto target = r.num("target_lufs");
    const auto ceiling = r.num("ceiling_dbtp");
    const auto style = r.str("style");
    const auto intensity = r.str("intensity");
    const auto format = r.str("format");
    const auto seed = r.num("seed");
    const bool trim = r.flag("trim_silence");
    const auto fadeIn = r.num("fade_in_ms");
    const auto fadeOut = r.num("fade_out_ms");
    const bool noTags = settings.contains("tags") && settings["tags"].is_boolean() && !settings["tags"].get<bool>();
    if (!r.error.empty())
        return invalid(r.error);
    // The service's rule (service/app/worker.cpp): a preset, or target/ceiling over "streaming".
    auto intent = preset ? quack::makeIntent(*preset, target, ceiling, style.value_or("balanced"), intensity.value_or("medium"))
                         : quack::makeIntent("streaming", target, ceiling, style.value_or("balanced"),
                                             intensity.value_or("medium"));
    if (!intent)
        return errorJson(intent.error());
    quack::MasterRequest req;
    req.inputPath = inputPath;
    req.outputPath = outputPath;
    req.intent = *intent;
    if (format) {
        auto f = quack::outputFormatFromName(*format);
        if (!f)
            return errorJson(f.error());
        req.format = *f;
    }
    if (seed) {
        if (!(*seed >= 0.0 && *seed < 9007199254740992.0) || *seed != static_cast<double>(static_cast<std::uint64_t>(*seed)))
            return invalid("settings.seed must be a whole number from 0 to 2^53");
        req.ditherSeed = static_cast<std::uint64_t>(*seed);
    }
    req.trimSilence = trim;
    req.fadeInMs = fadeIn.value_or(0.0);
    req.fadeOutMs = fadeOut.value_or(0.0);
    req.tags.carryInput = !noTags;
    auto outcome = quack::masterFile(req, progress);
    if (!outcome)
        return errorJson(outcome.error());
    return toHeap({{"ok", true}, {"report", outcome->report}});
}

/// The analysis `quacktracks analyze --json` prints.
EMSCRIPTEN_KEEPALIVE char* quack_analyze(const char* inputPath) {
    auto result = quack::analyzeFile(inputPath, progress);
    if (!result)
        return errorJson(result.error());
    json j = quack::toJson(result->analysis);
    j["file"] = quack::toJson(result->info);
    return toHeap({{"ok", true}, {"report", j}});
}

/// The error table (code, exit code, HTTP status), as `quacktracks errors --json`.
EMSCRIPTEN_KEEPALIVE char* quack_errors() {
    json list = json::array();
    for (const auto& e : quack::allErrorInfos())
        list.push_back({{"code", e.id}, {"exit_code", e.exitCode}, {"http_status", e.httpStatus}});
    return toHeap({{"ok", true}, {"report", list}});
}

EMSCRIPTEN_KEEPALIVE void quack_free(char* p) { std::free(p); }

} // extern "C"
