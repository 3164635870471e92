#pragma once
// A small blocking HTTP/1.1 client for the loopback tests, on Boost.Beast (client.cpp is the
// only test file that includes Beast). One connection per request unless stated.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace quack::test {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers; ///< lower-case names; repeated names joined by "\n"
    std::string body;
    nlohmann::json json() const; ///< parsed body (discarded value if not JSON)
    std::string header(const std::string& lowerName) const;
    std::string errorCode() const; ///< json()["error"]["code"] or ""
};

class HttpClient {
  public:
    explicit HttpClient(int port) : port_(port) {}

    /// Sends a request; a non-empty body is sent as application/json unless headers name a
    /// Content-Type. Adds Host, Origin (unless origin is empty) and the session cookie.
    HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                       std::vector<std::pair<std::string, std::string>> headers = {});
    HttpResult get(const std::string& target) { return request("GET", target); }
    HttpResult post(const std::string& target, const nlohmann::json& body) {
        return request("POST", target, body.dump());
    }
    /// PUT raw bytes (the signed-URL upload); no Origin, no cookie (like a browser's fetch of a
    /// URL it was handed).
    HttpResult putBytes(const std::string& target, const std::string& bytes,
                        std::vector<std::pair<std::string, std::string>> headers);
    /// PUT with a declared Content-Length but only `sent` bytes, then half-close: the server
    /// must refuse before reading (413) or time out.
    HttpResult putDeclared(const std::string& target, std::uint64_t contentLength, const std::string& bytes,
                           std::vector<std::pair<std::string, std::string>> headers);

    /// Follows a server-sent event stream until the server closes it; returns the `data:` of each
    /// `event: job`, and the status of the response.
    std::pair<int, std::vector<nlohmann::json>> jobEvents(const std::string& target);

    /// Sends raw bytes on a new connection and returns the raw answer up to close (or a limit).
    std::string raw(const std::string& bytes);

    std::string cookie;                       ///< qt_session value, set from Set-Cookie
    std::string origin = "http://127.0.0.1";  ///< completed with the port; "" sends none
    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string originHeader() const { return origin.empty() ? "" : origin + ":" + std::to_string(port_); }

  private:
    int port_;
};

} // namespace quack::test
