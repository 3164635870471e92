#include "service/http/api.h"

#include "engine/chain/intent.h"
#include "engine/io/audio_writer.h"
#include "service/http/cookies.h"
#include "service/http/openapi_json.h"
#include "service/http/wire.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace quack::service::http {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view stripSlash(std::string_view s) {
    while (!s.empty() && s.back() == '/')
        s.remove_suffix(1);
    return s;
}

bool isStateChanging(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

ApiError malformed(std::string message) {
    return apiError(ApiErrorCode::BadRequest, std::move(message));
}

/// The body as a JSON object, or 400 malformed_request.
ApiResult<nlohmann::json> jsonBody(const HttpRequest& request) {
    auto j = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
        return malformed("the body is not valid JSON");
    if (!j.is_object())
        return malformed("the body must be a JSON object");
    return j;
}

/// A required string field: 422 if missing, 400 if not a string.
ApiResult<std::string> stringField(const nlohmann::json& body, const char* name) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null())
        return apiError(ApiErrorCode::ValidationFailed, std::string(name) + " is required");
    if (!it->is_string())
        return malformed(std::string(name) + " must be a string");
    return it->get<std::string>();
}

std::string optionalString(const nlohmann::json& body, const char* name, bool& wrongType) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null())
        return {};
    if (!it->is_string()) {
        wrongType = true;
        return {};
    }
    return it->get<std::string>();
}

template <typename T> HttpResponse errorOr(const ApiResult<T>& r) { return errorResponse(r.error()); }

nlohmann::json presetsJson() {
    nlohmann::json presets = nlohmann::json::array();
    for (const auto& p : quack::presets())
        presets.push_back({{"id", p.name},
                           {"target_lufs", p.targetLufs},
                           {"ceiling_dbtp", p.ceilingDbtp},
                           {"description", p.description}});
    struct Named {
        std::string_view id, description;
    };
    static constexpr std::array<Named, 3> kStyles{{
        {"balanced", "Neutral tone: corrects only clear imbalances"},
        {"warm", "Slightly fuller lows, softer highs"},
        {"bright", "Slightly more presence and air"},
    }};
    static constexpr std::array<Named, 3> kIntensities{{
        {"low", "Gentle processing, most dynamics kept"},
        {"medium", "Moderate compression and tonal correction"},
        {"high", "Strong density and tonal correction"},
    }};
    nlohmann::json styles = nlohmann::json::array(), intensities = nlohmann::json::array();
    for (const auto& s : kStyles)
        styles.push_back({{"id", s.id}, {"description", s.description}});
    for (const auto& s : kIntensities)
        intensities.push_back({{"id", s.id}, {"description", s.description}});
    nlohmann::json formats = nlohmann::json::array();
    for (auto f : {OutputFormat::Wav16, OutputFormat::Wav24, OutputFormat::WavFloat, OutputFormat::Flac16,
                   OutputFormat::Flac24, OutputFormat::Mp3, OutputFormat::Vorbis, OutputFormat::Opus,
                   OutputFormat::Aac}) {
        const auto& info = outputFormatInfo(f);
        std::string description;
        if (f == OutputFormat::Mp3)
            description = "MP3, 320 kbit/s (plays everywhere)";
        else if (f == OutputFormat::Vorbis)
            description = "Ogg Vorbis (lossy, open format)";
        else if (f == OutputFormat::Opus)
            description = "Opus, 48 kHz (lossy, best quality per bit)";
        else if (f == OutputFormat::Aac)
            description = "AAC in M4A (lossy, Apple devices)";
        else if (info.bits == 0)
            description = std::string(info.extension == "wav" ? "WAV" : "FLAC") + ", 32-bit float";
        else
            description = std::string(info.extension == "wav" ? "WAV" : "FLAC") + ", " +
                          std::to_string(info.bits) + "-bit";
        formats.push_back(
            {{"id", info.name}, {"extension", info.extension}, {"description", description}});
    }
    return {{"presets", presets}, {"styles", styles}, {"intensities", intensities}, {"formats", formats}};
}

} // namespace

std::optional<ApiError> checkCsrf(const HttpRequest& request,
                                  const std::vector<std::string>& allowedOrigins,
                                  const std::string& publicBaseUrl) {
    if (!isStateChanging(request.method))
        return std::nullopt;
    if (auto site = request.header("sec-fetch-site"); site && lower(*site) == "cross-site")
        return apiError(ApiErrorCode::Forbidden, "cross-site requests are not allowed");
    const auto origin = request.header("origin");
    if (!origin || origin->empty() || *origin == "null")
        return apiError(ApiErrorCode::Forbidden, "an Origin header is required");
    const auto o = lower(stripSlash(*origin));
    bool allowed = false;
    if (!allowedOrigins.empty()) {
        allowed = std::any_of(allowedOrigins.begin(), allowedOrigins.end(),
                              [&](const std::string& a) { return lower(stripSlash(a)) == o; });
    } else if (!publicBaseUrl.empty()) {
        allowed = lower(stripSlash(publicBaseUrl)) == o;
    } else if (auto host = request.header("host"); host && !host->empty()) {
        // No public origin configured: only a loopback Host may stand in for it (a developer's
        // `make run`). Following any Host would let a DNS-rebinding page (evil.example resolving
        // to this server) pass its own origin; production sets public_base_url.
        const auto h = lower(*host);
        const auto name = h.substr(0, h.rfind(':') == std::string::npos || h.back() == ']' ? h.size() : h.rfind(':'));
        const bool loopback = name == "localhost" || name == "127.0.0.1" || name == "[::1]";
        allowed = loopback && (o == "http://" + h || o == "https://" + h);
    }
    if (!allowed)
        return apiError(ApiErrorCode::Forbidden, "this origin may not change state here");
    if (request.hasBody) {
        const auto type = request.header("content-type");
        const auto essence = type ? lower(type->substr(0, type->find(';'))) : std::string();
        const auto trimmed = essence.substr(0, essence.find_last_not_of(" \t") + 1);
        if (trimmed != "application/json")
            return apiError(ApiErrorCode::UnsupportedMediaType, "the body must be application/json");
    }
    return std::nullopt;
}

Handler Api::authed(AuthedHandler handler) const {
    return [this, handler = std::move(handler)](const HttpRequest& req, const RouteParams& params) {
        auto caller = callerOf(req);
        if (!caller)
            return errorResponse(caller.error());
        return handler(req, params, caller.value());
    };
}

Api::Api(std::shared_ptr<MasteringService> service) : service_(std::move(service)) { addRoutes(); }

ApiResult<Caller> Api::callerOf(const HttpRequest& request) const {
    std::optional<std::string> token;
    for (const auto& [name, value] : request.headers)
        if (name == "cookie" && !token)
            token = cookieValue(value, kSessionCookie);
    if (!token || token->empty())
        return apiError(ApiErrorCode::Unauthenticated, "sign in first");
    return service_->authenticate(*token);
}

HttpResponse Api::handle(const HttpRequest& request) const {
    const auto& config = service_->config();
    if (auto e = checkCsrf(request, config.allowedOrigins, config.publicBaseUrl)) {
        auto r = errorResponse(*e);
        r.route = "csrf";
        return r;
    }
    auto match = router_.match(request.method, request.path);
    if (!match) {
        auto r = errorResponse(apiError(ApiErrorCode::NotFound, "no such route"));
        r.route = "unknown";
        return r;
    }
    auto r = (*match->handler)(request, match->params);
    r.route = std::string(match->pattern);
    return r;
}

void Api::addRoutes() {
    auto& svc = *service_;
    const bool secure = svc.config().secureCookies;
    auto& clock = svc.clock();

    router_.add("GET", "/api/v1/health", [](const HttpRequest&, const RouteParams&) {
        return jsonResponse(200, {{"status", "ok"}});
    });

    router_.add("GET", "/api/v1/openapi.json", [](const HttpRequest&, const RouteParams&) {
        HttpResponse r;
        r.headers.emplace_back("Content-Type", "application/json");
        r.headers.emplace_back("Cache-Control", "no-cache");
        r.body = kOpenApiJson;
        return r;
    });

    router_.add("GET", "/api/v1/presets", [](const HttpRequest&, const RouteParams&) {
        static const std::string kBody = presetsJson().dump();
        HttpResponse r;
        r.headers.emplace_back("Content-Type", "application/json");
        r.headers.emplace_back("Cache-Control", "public, max-age=300");
        r.body = kBody;
        return r;
    });

    // A session for a user just registered or logged in: the cookie carries the raw token once.
    auto sessionResponse = [secure, &clock](int status, const NewSession& s) {
        auto r = jsonResponse(status, {{"user", toJson(s.user)}});
        r.headers.emplace_back("Set-Cookie", sessionSetCookie(s.token, s.expiresAt - clock.now(), secure));
        return r;
    };

    router_.add("POST", "/api/v1/auth/register",
                [&svc, sessionResponse](const HttpRequest& req, const RouteParams&) {
                    auto body = jsonBody(req);
                    if (!body)
                        return errorOr(body);
                    auto email = stringField(body.value(), "email");
                    if (!email)
                        return errorOr(email);
                    auto password = stringField(body.value(), "password");
                    if (!password)
                        return errorOr(password);
                    bool wrongType = false;
                    auto name = optionalString(body.value(), "name", wrongType);
                    if (wrongType)
                        return errorResponse(malformed("name must be a string"));
                    // Registration signs the user in with the hash it just made (one Argon2id
                    // computation, not two).
                    auto session = svc.registerAndLogin({email.value(), password.value(), name, req.clientAddress});
                    if (!session)
                        return errorOr(session);
                    return sessionResponse(201, session.value());
                });

    router_.add("POST", "/api/v1/auth/login",
                [&svc, sessionResponse](const HttpRequest& req, const RouteParams&) {
                    auto body = jsonBody(req);
                    if (!body)
                        return errorOr(body);
                    auto email = stringField(body.value(), "email");
                    if (!email)
                        return errorOr(email);
                    auto password = stringField(body.value(), "password");
                    if (!password)
                        return errorOr(password);
                    auto session = svc.login({email.value(), password.value(), req.clientAddress});
                    if (!session)
                        return errorOr(session);
                    return sessionResponse(200, session.value());
                });

    router_.add("POST", "/api/v1/auth/logout", [this, &svc, secure](const HttpRequest& req, const RouteParams&) {
        if (auto caller = callerOf(req))
            (void)svc.logout(caller.value()); // the cookie is cleared either way; the row expires
        HttpResponse r;
        r.status = 204;
        r.headers.emplace_back("Set-Cookie", clearSessionSetCookie(secure));
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
    });

    router_.add("GET", "/api/v1/me", authed([&svc](const HttpRequest&, const RouteParams&, const Caller& caller) {
        auto me = svc.me(caller);
        if (!me)
            return errorOr(me);
        return jsonResponse(200, {{"user", toJson(me.value())}});
    }));

    // Privacy rights (policy section 9): access/portability, correction, deletion.
    router_.add("GET", "/api/v1/me/export", authed([&svc](const HttpRequest&, const RouteParams&, const Caller& caller) {
        auto data = svc.exportData(caller);
        if (!data)
            return errorOr(data);
        auto r = jsonResponse(200, toJson(data.value()));
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"quacktracks-export.json\"");
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
    }));

    router_.add("PATCH", "/api/v1/me", authed([&svc](const HttpRequest& req, const RouteParams&, const Caller& caller) {
        auto body = jsonBody(req);
        if (!body)
            return errorOr(body);
        auto name = stringField(body.value(), "name");
        if (!name)
            return errorOr(name);
        auto me = svc.changeName(caller, name.value());
        if (!me)
            return errorOr(me);
        return jsonResponse(200, {{"user", toJson(me.value())}});
    }));

    router_.add("DELETE", "/api/v1/me", authed([&svc, secure](const HttpRequest& req, const RouteParams&, const Caller& caller) {
        auto body = jsonBody(req);
        if (!body)
            return errorOr(body);
        auto password = stringField(body.value(), "password");
        if (!password)
            return errorOr(password);
        auto done = svc.deleteAccount(caller, password.value());
        if (!done.ok())
            return errorResponse(done.error());
        HttpResponse r;
        r.status = 204;
        r.headers.emplace_back("Set-Cookie", clearSessionSetCookie(secure));
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
    }));

    router_.add("POST", "/api/v1/uploads", authed([&svc](const HttpRequest& req, const RouteParams&, const Caller& caller) {
        auto body = jsonBody(req);
        if (!body)
            return errorOr(body);
        auto filename = stringField(body.value(), "filename");
        if (!filename)
            return errorOr(filename);
        auto contentType = stringField(body.value(), "content_type");
        if (!contentType)
            return errorOr(contentType);
        const auto size = body->find("size");
        if (size == body.value().end() || size->is_null())
            return errorResponse(apiError(ApiErrorCode::ValidationFailed, "size is required"));
        if (!size->is_number_integer())
            return errorResponse(malformed("size must be an integer number of bytes"));
        auto created = svc.createUpload(caller, {filename.value(), size->get<std::int64_t>(), contentType.value()});
        if (!created)
            return errorOr(created);
        nlohmann::json headers = nlohmann::json::object();
        for (const auto& [k, v] : created->url.headers)
            headers[k] = v;
        return jsonResponse(201, {{"upload_id", created->uploadId},
                                  {"url", created->url.url},
                                  {"method", created->url.method},
                                  {"headers", headers},
                                  {"expires_at", isoTime(created->url.expiresAt)}});
    }));

    // Optional early check after the PUT (the job creation checks again): size, type, first bytes.
    router_.add("POST", "/api/v1/uploads/{id}/complete",
                authed([&svc](const HttpRequest&, const RouteParams& p, const Caller& caller) {
                    auto done = svc.completeUpload(caller, p.find("id")->second);
                    if (!done)
                        return errorOr(done);
                    return jsonResponse(200, {{"upload_id", done->uploadId}, {"size", done->size}});
                }));

    router_.add("POST", "/api/v1/jobs", authed([&svc](const HttpRequest& req, const RouteParams&, const Caller& caller) {
        auto body = jsonBody(req);
        if (!body)
            return errorOr(body);
        auto uploadId = stringField(body.value(), "upload_id");
        if (!uploadId)
            return errorOr(uploadId);
        auto settings = parseJobSettings(body.value());
        if (!settings)
            return errorOr(settings);
        auto job = svc.createJob(caller, {uploadId.value(), settings.value()});
        if (!job)
            return errorOr(job);
        auto r = jsonResponse(202, {{"job", toJson(job.value())}});
        r.headers.emplace_back("Location", "/api/v1/jobs/" + job->job.id);
        return r;
    }));

    router_.add("GET", "/api/v1/jobs", authed([&svc](const HttpRequest&, const RouteParams&, const Caller& caller) {
        auto jobs = svc.listJobs(caller);
        if (!jobs)
            return errorOr(jobs);
        nlohmann::json list = nlohmann::json::array();
        for (const auto& j : jobs.value())
            list.push_back(toJson(j));
        return jsonResponse(200, {{"jobs", list}});
    }));

    router_.add("GET", "/api/v1/jobs/{id}", authed([&svc](const HttpRequest&, const RouteParams& p, const Caller& caller) {
        auto job = svc.getJob(caller, p.find("id")->second);
        if (!job)
            return errorOr(job);
        return jsonResponse(200, {{"job", toJson(job.value())}});
    }));

    router_.add("DELETE", "/api/v1/jobs/{id}", authed([&svc](const HttpRequest&, const RouteParams& p, const Caller& caller) {
        auto job = svc.deleteJob(caller, p.find("id")->second);
        if (!job)
            return errorOr(job);
        return jsonResponse(200, {{"job", toJson(job.value())}});
    }));
}

} // namespace quack::service::http
