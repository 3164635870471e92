#pragma once
/// A small router: method + path pattern with `{name}` segments ("/api/v1/jobs/{id}").
/// A parameter matches one non-empty segment; no regexes, no wildcards.
#include "service/http/http_message.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quack::service::http {

using RouteParams = std::map<std::string, std::string, std::less<>>;
using Handler = std::function<HttpResponse(const HttpRequest&, const RouteParams&)>;

class Router {
  public:
    /// Registers a route; later registrations never shadow earlier ones for the same pattern.
    void add(std::string method, std::string_view pattern, Handler handler);

    struct Match {
        const Handler* handler = nullptr;
        RouteParams params;
        std::string_view pattern;
    };
    /// The route for method + path (path without query), or nullopt. HEAD does not match GET.
    std::optional<Match> match(std::string_view method, std::string_view path) const;

  private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments; ///< "{id}" marks a parameter
        Handler handler;
    };
    std::vector<Route> routes_;
};

/// Splits "/a/b/c" into {"a","b","c"}; an empty segment (e.g. "/a//b", trailing '/') is kept as
/// "" so it never matches a parameter.
std::vector<std::string_view> splitPath(std::string_view path);

} // namespace quack::service::http
