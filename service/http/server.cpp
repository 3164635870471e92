// The only translation unit that includes Boost.Beast/Asio (2-core builds: compile it once).
#include "service/http/server.h"

#include "service/http/api.h"
#include "service/http/client_address.h"
#include "service/http/static_files.h"
#include "service/http/wire.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <cctype>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace quack::service::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kBlobChunkBytes = 256 * 1024;
constexpr std::size_t kLingerBytes = 8 * 1024 * 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Media type without parameters, lower-case ("Audio/WAV; x=y" -> "audio/wav").
std::string mediaEssence(std::string_view contentType) {
    auto s = lower(contentType.substr(0, contentType.find(';')));
    const auto end = s.find_last_not_of(" \t");
    return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

bool startsWith(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

template <class Fields>
HttpRequest toRequest(const bhttp::request_header<Fields>& h, const std::string& client,
                      const std::vector<std::string>& trustedProxies) {
    HttpRequest r;
    r.method = std::string(h.method_string());
    const std::string_view target = h.target();
    const auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos)
        r.query = std::string(target.substr(q + 1));
    for (const auto& f : h)
        r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
    std::optional<std::string> forwarded;
    for (const auto& [name, value] : r.headers)
        if (name == "x-forwarded-for")
            forwarded = forwarded ? *forwarded + "," + value : value;
    r.clientAddress = resolveClientAddress(client, forwarded, trustedProxies);
    return r;
}

/// `attachment; filename="..."; filename*=UTF-8''...` (RFC 6266): an ASCII fallback without
/// quotes or controls, and the exact name percent-encoded.
std::string contentDisposition(std::string_view name) {
    std::string ascii, encoded;
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (const char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        ascii.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? ch : '_');
        if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
            encoded.push_back(ch);
        } else {
            encoded.push_back('%');
            encoded.push_back(kHex[c >> 4]);
            encoded.push_back(kHex[c & 15]);
        }
    }
    if (ascii.empty())
        ascii = encoded = "download";
    return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

/// 431 (RFC 6585): request headers over the 8 KiB limit.
HttpResponse headersTooLarge() {
    auto r = errorResponse(apiError(ApiErrorCode::BadRequest, "request headers are limited to 8 KiB"));
    r.status = 431;
    return r;
}

bool isTerminal(const nlohmann::json& job) {
    const auto s = job.value("status", std::string());
    return s == "done" || s == "failed" || s == "expired" || s == "deleted";
}

} // namespace

struct HttpServer::Impl {
    ServerOptions opt;
    std::shared_ptr<MasteringService> svc;
    std::shared_ptr<SignedUrlEndpoint> blobs;
    Api api;
    asio::thread_pool blocking;
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::vector<std::thread> threads;
    std::atomic<bool> stopping{false};
    std::atomic<bool> started{false};
    std::atomic<int> inFlight{0};
    int boundPort = 0;

    Impl(ServerOptions o, std::shared_ptr<MasteringService> s, std::shared_ptr<SignedUrlEndpoint> b)
        : opt(std::move(o)), svc(std::move(s)), blobs(std::move(b)), api(svc),
          blocking(static_cast<std::size_t>(std::max(1, opt.handlerThreads))) {}

    /// Outcome of one exchange, for the access log.
    struct Sent {
        int status = 0;
        std::uint64_t bytes = 0;
        bool close = false; ///< the connection must close (body left unread, stream ended)
    };

    void log(std::string_view method, std::string_view route, const Sent& sent,
             std::chrono::steady_clock::time_point t0) const {
        if (!opt.accessLog)
            return;
        const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
        opt.accessLog({method, route, sent.status, ms.count(), sent.bytes});
    }

    template <class Body> void decorate(bhttp::response<Body>& res) const {
        for (const auto& [k, v] : securityHeaders())
            res.set(k, v);
        // The browser PUTs to and GETs from the bucket directly: its origin joins connect-src.
        if (!opt.connectSrcExtra.empty()) {
            const std::string csp(res["Content-Security-Policy"]);
            res.set("Content-Security-Policy", csp + "; connect-src 'self' " + opt.connectSrcExtra);
        }
        // Behind TLS (secure cookies): browsers remember to use HTTPS only (RFC 6797).
        if (opt.hsts)
            res.set(bhttp::field::strict_transport_security, "max-age=31536000; includeSubDomains");
    }

    awaitable<Sent> write(beast::tcp_stream& stream, const HttpResponse& r, unsigned version,
                          bool keepAlive, bool headOnly) {
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
        decorate(res);
        for (const auto& [k, v] : r.headers)
            res.insert(k, v);
        res.body() = r.body;
        res.keep_alive(keepAlive);
        res.prepare_payload();
        if (headOnly)
            res.body().clear();
        stream.expires_after(opt.ioTimeout);
        Sent sent{r.status, 0, !keepAlive};
        if (headOnly) {
            bhttp::response_serializer<bhttp::string_body> sr{res};
            auto [ec, n] = co_await bhttp::async_write_header(stream, sr, kTuple);
            sent.bytes = n;
            sent.close = sent.close || static_cast<bool>(ec);
        } else {
            auto [ec, n] = co_await bhttp::async_write(stream, res, kTuple);
            sent.bytes = n;
            sent.close = sent.close || static_cast<bool>(ec);
        }
        co_return sent;
    }

    // GCC 12 destroys some temporaries of a co_await expression twice (a double free): every
    // argument of a co_await below is a named object, a reference to one, or trivial.
    awaitable<Sent> writeError(beast::tcp_stream& stream, const ApiError& e, unsigned version, bool keepAlive) {
        const auto response = errorResponse(e);
        co_return co_await write(stream, response, version, keepAlive, false);
    }
    awaitable<Sent> writeError(beast::tcp_stream& stream, ApiErrorCode code, const char* message, unsigned version,
                               bool keepAlive) {
        const auto error = apiError(code, message);
        co_return co_await writeError(stream, error, version, keepAlive);
    }

    static awaitable<HttpResponse> callApi(const Api* api, std::shared_ptr<const HttpRequest> request) {
        co_return api->handle(*request);
    }

    /// Runs the API handler on the blocking pool and resumes on the connection's strand.
    awaitable<HttpResponse> handleBlocking(const std::shared_ptr<const HttpRequest>& request) {
        try {
            auto task = callApi(&api, request);
            co_return co_await asio::co_spawn(blocking, std::move(task), use_awaitable);
        } catch (const std::exception&) {
            co_return errorResponse(apiError(ApiErrorCode::Internal, "internal error"));
        }
    }

    awaitable<Sent> serveFile(beast::tcp_stream& stream, const std::string& path, std::string_view contentType,
                              const HeaderList& extra, unsigned version, bool keepAlive, bool headOnly) {
        beast::error_code ec;
        bhttp::response<bhttp::file_body> res{bhttp::status::ok, version};
        res.body().open(path.c_str(), beast::file_mode::scan, ec);
        if (ec)
            co_return co_await writeError(stream, ApiErrorCode::Gone, "the file is gone", version, keepAlive);
        decorate(res);
        res.set(bhttp::field::content_type, contentType);
        for (const auto& [k, v] : extra)
            res.set(k, v);
        res.keep_alive(keepAlive);
        res.prepare_payload();
        Sent sent{200, 0, !keepAlive};
        bhttp::response_serializer<bhttp::file_body> sr{res};
        if (headOnly) {
            stream.expires_after(opt.ioTimeout);
            auto [wec, n] = co_await bhttp::async_write_header(stream, sr, kTuple);
            sent.bytes = n;
            sent.close = sent.close || static_cast<bool>(wec);
            co_return sent;
        }
        // One timeout per chunk, not per file: a 2 GiB download may take long, a stalled one not.
        while (!sr.is_done()) {
            stream.expires_after(opt.ioTimeout);
            auto [wec, n] = co_await bhttp::async_write_some(stream, sr, kTuple);
            sent.bytes += n;
            if (wec) {
                sent.close = true;
                break;
            }
        }
        co_return sent;
    }

    /// PUT /blob/<key>?...: verify the signature, refuse before reading what cannot fit, then
    /// stream the body chunk by chunk into the store's writer (never the whole file in memory).
    awaitable<Sent> blobPut(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                            bhttp::request_parser<bhttp::empty_body>& hp, const HttpRequest& req) {
        const auto& h = hp.get();
        const unsigned version = h.version();
        // Until the body has been read the connection cannot be reused: every early refusal closes.
        auto grant = blobs->verify(SignedUrlEndpoint::Access::Put, h.target(), svc->clock().now());
        if (!grant)
            co_return co_await writeError(stream, grant.error(), version, false);
        if (mediaEssence(req.header("content-type").value_or("")) != mediaEssence(grant->contentType))
            co_return co_await writeError(stream, ApiErrorCode::UnsupportedMediaType, "send the Content-Type the upload was created with",
                version, false);
        if (const auto length = hp.content_length();
            length && *length > static_cast<std::uint64_t>(grant->maxBytes))
            co_return co_await writeError(stream, ApiErrorCode::PayloadTooLarge, "more bytes than the upload declared", version,
                false);
        if (auto st = svc->checkUploadWritable(grant->key); !st)
            co_return co_await writeError(stream, st.error(), version, false);
        auto writer = blobs->openWriter(grant.value());
        if (!writer)
            co_return co_await writeError(stream, writer.error(), version, false);
        if (lower(req.header("expect").value_or("")) == "100-continue") {
            bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
            stream.expires_after(opt.ioTimeout);
            auto [ec, n] = co_await bhttp::async_write(stream, cont, kTuple);
            if (ec)
                co_return Sent{0, 0, true};
        }
        bhttp::request_parser<bhttp::buffer_body> bp{std::move(hp)};
        bp.body_limit(static_cast<std::uint64_t>(grant->maxBytes));
        std::vector<char> chunk(kBlobChunkBytes);
        while (!bp.is_done()) {
            bp.get().body().data = chunk.data();
            bp.get().body().size = chunk.size();
            stream.expires_after(opt.ioTimeout);
            auto [ec, n] = co_await bhttp::async_read(stream, buffer, bp, kTuple);
            if (ec == bhttp::error::need_buffer)
                ec = {};
            if (ec == bhttp::error::body_limit)
                co_return co_await writeError(stream, ApiErrorCode::PayloadTooLarge, "more bytes than the upload declared",
                    version, false);
            if (ec)
                co_return Sent{0, 0, true}; // client gone or timed out; the writer drops its temp file
            const auto got = chunk.size() - bp.get().body().size;
            if (got > 0)
                if (auto st = writer.value()->write(chunk.data(), got); !st)
                    co_return co_await writeError(stream, st.error(), version, false);
        }
        if (auto st = writer.value()->commit(); !st)
            co_return co_await writeError(stream, st.error(), version, bp.get().keep_alive());
        // The same completion check as for any store, through the BlobStore port (size, type,
        // first bytes, and the upload still pending): a refused object is deleted there.
        if (auto done = svc->completeUploadByKey(grant->key); !done)
            co_return co_await writeError(stream, done.error(), version, bp.get().keep_alive());
        HttpResponse ok;
        ok.status = 200;
        ok.headers.emplace_back("Content-Type", "application/json");
        ok.body = R"({"status":"stored"})";
        co_return co_await write(stream, ok, version, bp.get().keep_alive(), false);
    }

    /// GET|HEAD /blob/<key>?...: the master as an attachment, streamed from disk.
    awaitable<Sent> blobGet(beast::tcp_stream& stream, const bhttp::request_header<>& h, bool keepAlive) {
        const unsigned version = h.version();
        auto grant = blobs->verify(SignedUrlEndpoint::Access::Get, h.target(), svc->clock().now());
        if (!grant)
            co_return co_await writeError(stream, grant.error(), version, keepAlive);
        const auto path = blobs->pathOf(grant->key);
        if (!path)
            co_return co_await writeError(stream, ApiErrorCode::Gone, "this file was deleted (retention or by its owner)", version,
                keepAlive);
        const auto& name = grant->downloadName.empty() ? grant->key : grant->downloadName;
        const HeaderList extra{{"Content-Disposition", contentDisposition(name)},
                               {"Cache-Control", "private, no-store"}};
        co_return co_await serveFile(stream, *path, mimeTypeFor(name), extra, version, keepAlive,
                                     h.method() == bhttp::verb::head);
    }

    /// GET /api/v1/jobs/{id}/events: polls the database (so a worker in another process is seen)
    /// and sends `event: job` whenever the job changed; ends after a terminal status.
    awaitable<Sent> jobEvents(beast::tcp_stream& stream, const HttpRequest& req, const std::string& jobId,
                              unsigned version) {
        auto caller = api.callerOf(req);
        if (!caller)
            co_return co_await writeError(stream, caller.error(), version, true);
        auto view = svc->getJob(caller.value(), jobId);
        if (!view)
            co_return co_await writeError(stream, view.error(), version, true);
        // EventSource reconnects when a stream ends; a client that already saw the terminal
        // event gets 204, which tells it to stop (HTML Living Standard, server-sent events 9.2.3).
        auto json = toJson(view.value());
        if (isTerminal(json) && req.header("last-event-id") == std::optional<std::string_view>(json.value("status", "")))
        {
            HttpResponse noContent;
            noContent.status = 204;
            co_return co_await write(stream, noContent, version, true, false);
        }

        bhttp::response<bhttp::empty_body> res{bhttp::status::ok, version};
        decorate(res);
        res.set(bhttp::field::content_type, "text/event-stream");
        res.set(bhttp::field::cache_control, "no-store");
        res.keep_alive(false); // the stream ends by closing: no length, no chunking needed
        bhttp::response_serializer<bhttp::empty_body> sr{res};
        stream.expires_after(opt.ioTimeout);
        auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, kTuple);
        Sent sent{200, hn, true};
        if (hec)
            co_return sent;

        asio::steady_timer timer(co_await asio::this_coro::executor);
        // With a change feed the stream sleeps until its job changes (the feed's thread posts a
        // cancel to this stream's executor); the wake state outlives the subscription safely.
        struct Wake {
            std::mutex mutex;
            asio::steady_timer* timer = nullptr;
            asio::any_io_executor executor;
        };
        auto wake = std::make_shared<Wake>();
        wake->timer = &timer;
        wake->executor = timer.get_executor();
        std::shared_ptr<void> subscription;
        if (opt.changeFeed)
            subscription = opt.changeFeed->subscribe([wake, jobId](const std::string& changed) {
                if (changed != jobId)
                    return;
                std::lock_guard lock(wake->mutex);
                if (wake->timer)
                    asio::post(wake->executor, [wake] {
                        std::lock_guard inner(wake->mutex);
                        if (wake->timer)
                            wake->timer->cancel();
                    });
            });
        struct Unwake {
            std::shared_ptr<Wake> w;
            ~Unwake() {
                std::lock_guard lock(w->mutex);
                w->timer = nullptr;
            }
        } unwake{wake};
        const auto pollEvery = opt.changeFeed ? opt.sseFeedPoll : opt.ssePoll;
        std::string last;
        auto lastSend = std::chrono::steady_clock::now();
        for (;;) {
            auto j = json;
            j.erase("download"); // re-signed on every read: not a change of the job
            auto key = j.dump();
            std::string out;
            if (key != last) {
                last = std::move(key);
                out = "id: " + json.value("status", std::string()) + "\nevent: job\ndata: " + json.dump() + "\n\n";
            } else if (std::chrono::steady_clock::now() - lastSend >= opt.sseHeartbeat) {
                out = ": keep-alive\n\n"; // a comment line keeps proxies from closing an idle stream
            }
            if (!out.empty()) {
                stream.expires_after(opt.ioTimeout);
                auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), kTuple);
                sent.bytes += n;
                if (ec)
                    co_return sent;
                lastSend = std::chrono::steady_clock::now();
            }
            if (isTerminal(json) || stopping)
                co_return sent;
            timer.expires_after(pollEvery);
            co_await timer.async_wait(kTuple);
            // The session is checked on every read: a stream must not outlive sign-out (it
            // would keep handing out fresh signed download URLs).
            auto still = api.callerOf(req);
            if (!still || still->userId != caller->userId)
                co_return sent;
            auto next = svc->getJob(still.value(), jobId);
            if (!next)
                co_return sent; // deleted session or job: end the stream
            json = toJson(next.value());
        }
    }

    awaitable<Sent> staticFile(beast::tcp_stream& stream, const HttpRequest& req, unsigned version, bool keepAlive) {
        const bool head = req.method == "HEAD";
        if ((req.method != "GET" && !head) || opt.webRoot.empty())
            co_return co_await writeError(stream, ApiErrorCode::NotFound, "not found", version, keepAlive);
        auto file = resolveStaticFile(opt.webRoot, req.path);
        if (!file)
            co_return co_await writeError(stream, ApiErrorCode::NotFound, "not found", version, keepAlive);
        // Vite puts content-hashed names under /assets/: cache those forever, revalidate the rest.
        const bool immutable = !file->spaFallback && startsWith(req.path, "/assets/");
        HeaderList extra{{"Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache"},
                         {"Vary", "Accept-Encoding"}};
        // The web build writes .br/.gz copies beside each text asset: send one the client takes.
        const auto encoded = precompressedVariant(file->path, req.header("accept-encoding").value_or(""));
        if (encoded)
            extra.emplace_back("Content-Encoding", std::string(encoded->encoding));
        co_return co_await serveFile(stream, encoded ? encoded->path : file->path, mimeTypeFor(file->path), extra,
                                     version, keepAlive, head);
    }

    awaitable<void> session(tcp::socket socket) {
        beast::error_code aec;
        const auto endpoint = socket.remote_endpoint(aec);
        const std::string client = aec ? std::string() : endpoint.address().to_string();
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        try {
            while (!stopping) {
                bhttp::request_parser<bhttp::empty_body> hp;
                hp.header_limit(static_cast<std::uint32_t>(opt.headerLimitBytes));
                // Limits depend on the route (64 KiB JSON, the signed size for uploads): set on
                // the body parser below. Beast checks Content-Length against the limit only
                // while parsing the header, so the routes compare it themselves.
                hp.body_limit(boost::none);
                stream.expires_after(opt.idleTimeout);
                auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, hp, kTuple);
                if (ec) {
                    if (ec == bhttp::error::header_limit)
                    {
                        const auto tooLarge = headersTooLarge();
                        co_await write(stream, tooLarge, 11, false, false);
                    }
                    else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                             ec != asio::error::eof && ec != asio::error::connection_reset &&
                             ec != asio::error::operation_aborted && buffer.size() > 0)
                        co_await writeError(stream, ApiErrorCode::BadRequest, "malformed HTTP request", 11, false);
                    break;
                }
                const auto t0 = std::chrono::steady_clock::now();
                ++inFlight;
                struct Done {
                    std::atomic<int>& n;
                    ~Done() { --n; }
                } done{inFlight};
                const auto& h = hp.get();
                const unsigned version = h.version();
                // RFC 9112: a request whose Transfer-Encoding is anything but exactly "chunked"
                // (e.g. "gzip, chunked") and an HTTP/1.1 request without Host are refused; both
                // are request-smuggling shapes when a proxy reads them differently (9112 3.2, 6.3).
                if (const auto te = h.find(bhttp::field::transfer_encoding);
                    (te != h.end() && mediaEssence(te->value()) != "chunked") ||
                    (version >= 11 && h.find(bhttp::field::host) == h.end())) {
                    co_await writeError(stream, ApiErrorCode::BadRequest, "malformed HTTP request", version, false);
                    break;
                }
                const auto req = toRequest(h, client, svc->config().trustedProxies);
                const bool hasBody = hp.chunked() || hp.content_length().value_or(0) > 0;
                bool keepAlive = h.keep_alive();
                Sent sent;
                std::string route;

                if (startsWith(req.path, "/blob/") && blobs) {
                    route = "/blob/{key}";
                    if (h.method() == bhttp::verb::put)
                        sent = co_await blobPut(stream, buffer, hp, req);
                    else if ((h.method() == bhttp::verb::get || h.method() == bhttp::verb::head) && !hasBody)
                        sent = co_await blobGet(stream, h, keepAlive);
                    else
                        sent = co_await writeError(stream, ApiErrorCode::NotFound, "not found", version, false);
                } else if (startsWith(req.path, "/api/")) {
                    const auto parts = splitPath(req.path);
                    if (req.method == "GET" && parts.size() == 5 && parts[2] == "jobs" && parts[4] == "events" &&
                        parts[0] == "api" && parts[1] == "v1" && !parts[3].empty() && !hasBody) {
                        route = "/api/v1/jobs/{id}/events";
                        const std::string jobId(parts[3]);
                        sent = co_await jobEvents(stream, req, jobId, version);
                    } else {
                        auto full = req;
                        full.hasBody = hasBody;
                        bool ok = true;
                        if (hp.content_length().value_or(0) > opt.jsonBodyLimitBytes) {
                            ok = false;
                            route = "body";
                            sent = co_await writeError(stream, ApiErrorCode::PayloadTooLarge, "JSON bodies are limited to 64 KiB",
                                version, false);
                        } else if (hasBody) {
                            bhttp::request_parser<bhttp::string_body> sp{std::move(hp)};
                            sp.body_limit(opt.jsonBodyLimitBytes);
                            stream.expires_after(opt.ioTimeout);
                            auto [bec, bn] = co_await bhttp::async_read(stream, buffer, sp, kTuple);
                            if (bec) {
                                ok = false;
                                route = "body";
                                if (bec == bhttp::error::body_limit)
                                    sent = co_await writeError(stream, ApiErrorCode::PayloadTooLarge, "JSON bodies are limited to 64 KiB",
                                        version, false);
                                else
                                    sent.close = true;
                            } else {
                                full.body = std::move(sp.get().body());
                            }
                        }
                        if (ok) {
                            auto shared = std::make_shared<const HttpRequest>(std::move(full));
                            auto res = co_await handleBlocking(shared);
                            route = res.route;
                            sent = co_await write(stream, res, version, keepAlive, false);
                        }
                    }
                } else {
                    route = "static";
                    if (hasBody)
                        keepAlive = false; // never read: the connection cannot be reused
                    sent = co_await staticFile(stream, req, version, keepAlive);
                }
                log(req.method, route, sent, t0);
                if (sent.close || !keepAlive)
                    break;
            }
        } catch (const std::exception&) {
            // A bug or an allocation failure ends this connection only.
        }
        // Lingering close (as nginx does): after an early refusal the client may still be
        // sending a body; closing with unread bytes would send RST and could destroy our 413/415
        // before the client reads it. Drain for a bounded time and size, then close.
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (!ec && !stopping) {
            std::array<char, 16 * 1024> sink{};
            std::size_t drained = 0;
            stream.expires_after(std::chrono::seconds(2));
            while (drained < kLingerBytes) {
                auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
                drained += n;
                if (rec)
                    break;
            }
        }
    }

    awaitable<void> acceptLoop() {
        while (!stopping) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kTuple);
            if (ec) {
                if (stopping || ec == asio::error::operation_aborted)
                    co_return;
                // Out of descriptors or similar: back off briefly instead of spinning.
                asio::steady_timer t(ioc, std::chrono::milliseconds(50));
                co_await t.async_wait(kTuple);
                continue;
            }
            auto ex = socket.get_executor();
            asio::co_spawn(ex, session(std::move(socket)), asio::detached);
        }
    }
};

HttpServer::HttpServer(ServerOptions options, std::shared_ptr<MasteringService> service,
                       std::shared_ptr<SignedUrlEndpoint> blobs)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(service), std::move(blobs))) {}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(1000)); }

ApiStatus HttpServer::start() {
    auto& d = *impl_;
    beast::error_code ec;
    const auto address = asio::ip::make_address(d.opt.bindAddress, ec);
    if (ec)
        return {apiError(ApiErrorCode::Unavailable, "invalid bind address " + d.opt.bindAddress)};
    const tcp::endpoint ep(address, static_cast<unsigned short>(d.opt.port));
    d.acceptor.open(ep.protocol(), ec);
    if (!ec)
        d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        d.acceptor.bind(ep, ec);
    if (!ec)
        d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return {apiError(ApiErrorCode::Unavailable,
                         "cannot listen on " + d.opt.bindAddress + ":" + std::to_string(d.opt.port) + ": " + ec.message())};
    d.boundPort = d.acceptor.local_endpoint().port();
    asio::co_spawn(d.ioc, d.acceptLoop(), asio::detached);
    for (int i = 0; i < std::max(1, d.opt.ioThreads); ++i)
        d.threads.emplace_back([&d] { d.ioc.run(); });
    d.started = true;
    return {};
}

int HttpServer::port() const { return impl_->boundPort; }

void HttpServer::stop(std::chrono::milliseconds grace) {
    auto& d = *impl_;
    if (!d.started.exchange(false))
        return;
    d.stopping = true;
    asio::post(d.ioc, [&d] {
        beast::error_code ec;
        d.acceptor.close(ec);
    });
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (d.inFlight > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    d.ioc.stop();
    for (auto& t : d.threads)
        t.join();
    d.threads.clear();
    d.blocking.stop();
    d.blocking.join();
}

void HttpServer::waitForTerminationSignal() {
    asio::io_context signals;
    asio::signal_set set(signals, SIGINT, SIGTERM);
    set.async_wait([](const beast::error_code&, int) {});
    signals.run();
}

} // namespace quack::service::http
