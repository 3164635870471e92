#pragma once
/// The JSON routes of docs/api.md: one thin handler per route that parses the request, calls
/// MasteringService and shapes the answer. CSRF policy and session resolution live here too.
/// Free of Boost.Beast: tested without a socket, served by server.cpp.
#include "service/app/mastering_service.h"
#include "service/http/http_message.h"
#include "service/http/router.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quack::service::http {

/// Cross-site request forgery policy for state-changing requests under /api/ (POST, PUT,
/// PATCH, DELETE): `Sec-Fetch-Site: cross-site` is refused; `Origin` must be present and in
/// allowedOrigins, or (list empty) the same origin as publicBaseUrl, or as the Host header when
/// that is empty. Forbidden (403) on failure. A body must be `application/json`:
/// UnsupportedMediaType (415) otherwise.
std::optional<ApiError> checkCsrf(const HttpRequest& request,
                                  const std::vector<std::string>& allowedOrigins,
                                  const std::string& publicBaseUrl);

class Api {
  public:
    explicit Api(std::shared_ptr<MasteringService> service);

    /// Answers any request whose path starts with /api/ (unknown routes: 404 not_found).
    /// Blocking (database, password hashing): call it off the I/O threads.
    HttpResponse handle(const HttpRequest& request) const;

    /// The session behind the request's cookie (Unauthenticated if none or expired).
    ApiResult<Caller> callerOf(const HttpRequest& request) const;

    MasteringService& service() const { return *service_; }

  private:
    void addRoutes();
    /// A handler that needs a signed-in caller: resolves the session first (401 otherwise).
    using AuthedHandler = std::function<HttpResponse(const HttpRequest&, const RouteParams&, const Caller&)>;
    Handler authed(AuthedHandler handler) const;
    std::shared_ptr<MasteringService> service_;
    Router router_;
};

} // namespace quack::service::http
