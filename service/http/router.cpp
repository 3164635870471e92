#include "service/http/router.h"

namespace quack::service::http {

std::vector<std::string_view> splitPath(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.empty() || path.front() != '/')
        return out;
    path.remove_prefix(1);
    for (;;) {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

void Router::add(std::string method, std::string_view pattern, Handler handler) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::string(pattern);
    for (auto s : splitPath(pattern))
        r.segments.emplace_back(s);
    r.handler = std::move(handler);
    routes_.push_back(std::move(r));
}

std::optional<Router::Match> Router::match(std::string_view method, std::string_view path) const {
    const auto parts = splitPath(path);
    for (const auto& r : routes_) {
        if (r.method != method || r.segments.size() != parts.size())
            continue;
        Match m;
        bool ok = true;
        for (std::size_t i = 0; i < parts.size() && ok; ++i) {
            const auto& seg = r.segments[i];
            if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
                if (parts[i].empty())
                    ok = false;
                else
                    m.params.emplace(seg.substr(1, seg.size() - 2), std::string(parts[i]));
            } else if (seg != parts[i]) {
                ok = false;
            }
        }
        if (ok) {
            m.handler = &r.handler;
            m.pattern = r.pattern;
            return m;
        }
    }
    return std::nullopt;
}

} // namespace quack::service::http
