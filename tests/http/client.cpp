#include "tests/http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace quack::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

nlohmann::json HttpResult::json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string HttpResult::header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string() : it->second;
}

std::string HttpResult::errorCode() const {
    auto j = json();
    if (j.is_object() && j.contains("error") && j["error"].contains("code"))
        return j["error"]["code"].get<std::string>();
    return {};
}

namespace {

tcp::socket connect(asio::io_context& ioc, int port) {
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    return s;
}

template <class Body> HttpResult toResult(const bhttp::response<Body>& res) {
    HttpResult r;
    r.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& slot = r.headers[name];
        if (!slot.empty())
            slot.push_back('\n');
        slot.append(f.value().data(), f.value().size());
    }
    return r;
}

std::string cookieFrom(const HttpResult& r, const std::string& previous) {
    const auto set = r.header("set-cookie");
    const std::string key = "qt_session=";
    if (set.rfind(key, 0) != 0)
        return previous;
    return set.substr(key.size(), set.find(';') - key.size());
}

} // namespace

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               std::vector<std::pair<std::string, std::string>> headers) {
    asio::io_context ioc;
    auto socket = connect(ioc, port_);
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, host());
    if (!origin.empty())
        req.set(bhttp::field::origin, originHeader());
    if (!cookie.empty())
        req.set(bhttp::field::cookie, "other=1; qt_session=" + cookie);
    bool typed = false;
    for (const auto& [k, v] : headers) {
        req.set(k, v);
        typed = typed || beast::iequals(k, "content-type");
    }
    if (!body.empty() && !typed)
        req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.keep_alive(false);
    req.prepare_payload();
    bhttp::write(socket, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ULL << 32);
    if (method == "HEAD")
        parser.skip(true);
    bhttp::read(socket, buf, parser);
    auto r = toResult(parser.get());
    r.body = parser.get().body();
    cookie = cookieFrom(r, cookie);
    if (r.header("set-cookie").rfind("qt_session=;", 0) == 0)
        cookie.clear();
    return r;
}

HttpResult HttpClient::putBytes(const std::string& target, const std::string& bytes,
                                std::vector<std::pair<std::string, std::string>> headers) {
    const auto savedOrigin = origin, savedCookie = cookie;
    origin.clear();
    cookie.clear();
    // Like fetch(url, {method: "PUT", headers}): the given headers, else a generic type.
    auto ordered = headers;
    if (std::none_of(ordered.begin(), ordered.end(), [](auto& p) { return beast::iequals(p.first, "content-type"); }))
        ordered.emplace_back("Content-Type", "application/octet-stream");
    auto r = request("PUT", target, bytes, ordered);
    origin = savedOrigin;
    cookie = savedCookie;
    return r;
}

HttpResult HttpClient::putDeclared(const std::string& target, std::uint64_t contentLength, const std::string& bytes,
                                   std::vector<std::pair<std::string, std::string>> headers) {
    asio::io_context ioc;
    auto socket = connect(ioc, port_);
    std::string head = "PUT " + target + " HTTP/1.1\r\nHost: " + host() + "\r\nContent-Length: " +
                       std::to_string(contentLength) + "\r\n";
    for (const auto& [k, v] : headers)
        head += k + ": " + v + "\r\n";
    head += "\r\n";
    asio::write(socket, asio::buffer(head));
    beast::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket, buf, res, ec);
    if (ec)
        return HttpResult{};
    auto r = toResult(res);
    r.body = res.body();
    return r;
}

std::pair<int, std::vector<nlohmann::json>> HttpClient::jobEvents(const std::string& target) {
    asio::io_context ioc;
    auto socket = connect(ioc, port_);
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, host());
    req.set(bhttp::field::accept, "text/event-stream");
    if (!cookie.empty())
        req.set(bhttp::field::cookie, "qt_session=" + cookie);
    bhttp::write(socket, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::empty_body> parser;
    bhttp::read_header(socket, buf, parser);
    const int status = static_cast<int>(parser.get().result_int());
    std::string stream(static_cast<const char*>(buf.data().data()), buf.size());
    beast::error_code ec;
    char chunk[4096];
    while (status == 200) {
        const auto n = socket.read_some(asio::buffer(chunk), ec);
        stream.append(chunk, n);
        if (ec)
            break;
    }
    std::vector<nlohmann::json> events;
    std::size_t pos = 0;
    while (pos < stream.size()) {
        const auto end = stream.find("\n\n", pos);
        if (end == std::string::npos)
            break;
        const auto block = stream.substr(pos, end - pos);
        pos = end + 2;
        if (block.find("event: job\n") == std::string::npos)
            continue;
        const auto d = block.find("data: ");
        events.push_back(nlohmann::json::parse(block.substr(d + 6), nullptr, false));
    }
    return {status, events};
}

std::string HttpClient::raw(const std::string& bytes) {
    asio::io_context ioc;
    auto socket = connect(ioc, port_);
    asio::write(socket, asio::buffer(bytes));
    std::string out;
    beast::error_code ec;
    char chunk[4096];
    while (out.size() < (1 << 20)) {
        const auto n = socket.read_some(asio::buffer(chunk), ec);
        out.append(chunk, n);
        if (ec)
            break;
    }
    return out;
}

} // namespace quack::test
