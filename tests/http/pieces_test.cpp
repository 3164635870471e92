// The HTTP layer's pure pieces, without a socket: router, cookies, CSRF policy, static paths.
#include "service/http/api.h"
#include "service/http/cookies.h"
#include "service/http/router.h"
#include "service/http/static_files.h"
#include "tests/http/fixture.h"

#include <gtest/gtest.h>

namespace quack::service::http {
namespace {

TEST(Router, MatchesMethodPatternAndParams) {
    Router r;
    int hit = 0;
    r.add("GET", "/api/v1/jobs", [&](const HttpRequest&, const RouteParams&) { hit = 1; return HttpResponse{}; });
    r.add("GET", "/api/v1/jobs/{id}", [&](const HttpRequest&, const RouteParams&) { hit = 2; return HttpResponse{}; });
    r.add("DELETE", "/api/v1/jobs/{id}", [&](const HttpRequest&, const RouteParams&) { hit = 3; return HttpResponse{}; });
    auto m = r.match("GET", "/api/v1/jobs/job_1");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->params.at("id"), "job_1");
    EXPECT_EQ(m->pattern, "/api/v1/jobs/{id}");
    (*m->handler)(HttpRequest{}, m->params);
    EXPECT_EQ(hit, 2);
    EXPECT_TRUE(r.match("DELETE", "/api/v1/jobs/x").has_value());
    EXPECT_FALSE(r.match("POST", "/api/v1/jobs/x").has_value());
    EXPECT_FALSE(r.match("GET", "/api/v1/jobs/").has_value());  // empty param
    EXPECT_FALSE(r.match("GET", "/api/v1/jobs/a/b").has_value());
    EXPECT_FALSE(r.match("GET", "api/v1/jobs").has_value());
    EXPECT_TRUE(r.match("GET", "/api/v1/jobs").has_value());
}

TEST(Cookies, ParseAndBuild) {
    EXPECT_EQ(cookieValue("a=1; qt_session=abc; b=2", "qt_session"), "abc");
    EXPECT_EQ(cookieValue("qt_session=\"q\"", "qt_session"), "q");
    EXPECT_EQ(cookieValue("xqt_session=abc", "qt_session"), std::nullopt);
    EXPECT_EQ(cookieValue("", "qt_session"), std::nullopt);
    const auto set = sessionSetCookie("tok", 3600, true);
    EXPECT_EQ(set, "qt_session=tok; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax; Secure");
    EXPECT_EQ(clearSessionSetCookie(false), "qt_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
}

HttpRequest post(std::vector<std::pair<std::string, std::string>> headers, bool body = true) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/api/v1/jobs";
    r.headers = std::move(headers);
    r.hasBody = body;
    return r;
}

TEST(Csrf, OriginSiteAndContentType) {
    const std::vector<std::string> none;
    const auto json = std::pair<std::string, std::string>{"content-type", "application/json; charset=utf-8"};
    // Without a configured public origin only a loopback Host stands in for it...
    EXPECT_FALSE(checkCsrf(post({{"host", "localhost:8080"}, {"origin", "http://localhost:8080"}, json}), none, ""));
    EXPECT_FALSE(checkCsrf(post({{"host", "127.0.0.1:9"}, {"origin", "http://127.0.0.1:9"}, json}), none, ""));
    EXPECT_FALSE(checkCsrf(post({{"host", "[::1]:9"}, {"origin", "http://[::1]:9"}, json}), none, ""));
    // ...never another name: a DNS-rebinding page (its name resolving to us) sends a matching
    // Host and Origin (issue 9, finding 13).
    EXPECT_TRUE(checkCsrf(post({{"host", "Q.example:8080"}, {"origin", "http://q.example:8080"}, json}), none, ""));
    EXPECT_TRUE(checkCsrf(post({{"host", "localhost.evil.example"}, {"origin", "http://localhost.evil.example"}, json}), none, ""));
    EXPECT_FALSE(checkCsrf(post({{"host", "q.example"}, {"origin", "https://q.example"}, json}), none, "https://q.example"));
    auto e = checkCsrf(post({{"host", "q.example"}, {"origin", "https://evil.example"}, json}), none, "");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, ApiErrorCode::Forbidden);
    EXPECT_TRUE(checkCsrf(post({{"host", "q.example"}, json}), none, ""));                        // no Origin
    EXPECT_TRUE(checkCsrf(post({{"host", "q.example"}, {"origin", "null"}, json}), none, ""));     // sandboxed
    EXPECT_TRUE(checkCsrf(post({{"host", "q.example"}, {"origin", "https://q.example"}, {"sec-fetch-site", "cross-site"}, json}), none, ""));
    auto type = checkCsrf(post({{"host", "q.example"}, {"origin", "https://q.example"}, {"content-type", "text/plain"}}), none, "https://q.example");
    ASSERT_TRUE(type);
    EXPECT_EQ(type->code, ApiErrorCode::UnsupportedMediaType);
    EXPECT_FALSE(checkCsrf(post({{"host", "q.example"}, {"origin", "https://q.example"}}, false), none, "https://q.example"));
    // An allow-list replaces same-origin; a public base URL pins it.
    const std::vector<std::string> list{"https://app.example"};
    EXPECT_FALSE(checkCsrf(post({{"host", "api.example"}, {"origin", "https://app.example"}, json}), list, ""));
    EXPECT_TRUE(checkCsrf(post({{"host", "api.example"}, {"origin", "https://api.example"}, json}), list, ""));
    EXPECT_TRUE(checkCsrf(post({{"host", "evil.example"}, {"origin", "https://evil.example"}, json}), none, "https://q.example"));
    // Safe methods are not checked.
    auto get = post({});
    get.method = "GET";
    EXPECT_FALSE(checkCsrf(get, none, ""));
}

TEST(StaticFiles, MimeAndTraversal) {
    EXPECT_EQ(mimeTypeFor("a/b/app.JS"), "text/javascript; charset=utf-8");
    EXPECT_EQ(mimeTypeFor("x.woff2"), "font/woff2");
    EXPECT_EQ(mimeTypeFor("x.unknown"), "application/octet-stream");
    EXPECT_EQ(mimeTypeFor("dir.d/noext"), "application/octet-stream");
    EXPECT_EQ(percentDecode("/a%20b"), "/a b");
    EXPECT_EQ(percentDecode("/a%2"), std::nullopt);
    EXPECT_EQ(percentDecode("/a%00"), std::nullopt);

    const auto dir = test::makeTempDir("static");
    std::filesystem::create_directories(dir / "root" / "assets");
    std::ofstream(dir / "root" / "index.html") << "i";
    std::ofstream(dir / "root" / "assets" / "a.js") << "a";
    std::ofstream(dir / "outside.txt") << "o";
    std::filesystem::create_symlink(dir / "outside.txt", dir / "root" / "link.txt");
    const auto root = (dir / "root").string();
    auto f = resolveStaticFile(root, "/assets/a.js");
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->spaFallback);
    auto spa = resolveStaticFile(root, "/jobs/123");
    ASSERT_TRUE(spa);
    EXPECT_TRUE(spa->spaFallback);
    EXPECT_FALSE(resolveStaticFile(root, "/assets/gone.js"));
    EXPECT_FALSE(resolveStaticFile(root, "/../outside.txt"));
    EXPECT_FALSE(resolveStaticFile(root, "/%2e%2e/outside.txt"));
    EXPECT_FALSE(resolveStaticFile(root, "/link.txt")); // a symlink out of the root
    EXPECT_FALSE(resolveStaticFile(root, "/a\\..\\outside.txt"));
    EXPECT_FALSE(resolveStaticFile((dir / "missing").string(), "/"));
    std::filesystem::remove_all(dir);
}

TEST(StaticFiles, PrecompressedCopyOnlyWhenAcceptedAndPresent) {
    const auto dir = test::makeTempDir("encoded");
    const auto js = (dir / "app.js").string(), css = (dir / "app.css").string();
    std::ofstream(js) << "a";
    std::ofstream(js + ".br") << "b";
    std::ofstream(js + ".gz") << "g";
    std::ofstream(css) << "c";
    std::ofstream(css + ".gz") << "g";
    auto pick = [](const std::string& path, std::string_view accept) {
        auto v = precompressedVariant(path, accept);
        return v ? std::string(v->encoding) : std::string("identity");
    };
    EXPECT_EQ(pick(js, "gzip, deflate, br, zstd"), "br"); // Chromium's header
    EXPECT_EQ(pick(js, "gzip"), "gzip");
    EXPECT_EQ(pick(js, "br;q=0, gzip;q=0.5"), "gzip");
    EXPECT_EQ(pick(js, "BR ; q=1.0"), "br");
    EXPECT_EQ(pick(js, "*"), "br");
    EXPECT_EQ(pick(js, "*;q=0"), "identity");
    EXPECT_EQ(pick(js, "gzip;q=0.000"), "identity");
    EXPECT_EQ(pick(js, ""), "identity");
    EXPECT_EQ(pick(js, "deflate"), "identity");
    EXPECT_EQ(pick(css, "br, gzip"), "gzip"); // no .br copy: the next accepted one
    EXPECT_EQ(pick((dir / "none.js").string(), "br, gzip"), "identity");
    EXPECT_EQ(precompressedVariant(js, "br")->path, js + ".br");
    EXPECT_EQ(mimeTypeFor("example.ogg"), "audio/ogg");
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace quack::service::http
