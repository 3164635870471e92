#pragma once
/// The HTTP/1.1 server (Boost.Beast, compiled in server.cpp only): N I/O threads running one
/// coroutine per connection, keep-alive, per-operation timeouts, 8 KiB header and 64 KiB JSON
/// body limits, graceful shutdown. Routes: /api/ (api.h, run on a small blocking pool so
/// password hashing never stalls I/O), /api/v1/jobs/{id}/events (server-sent events),
/// /blob/... (the local store's signed URLs, streamed both ways), everything else the web app.
#include "service/app/mastering_service.h"
#include "service/http/http_message.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace quack::service::http {

struct ServerOptions {
    std::string bindAddress = "127.0.0.1";
    int port = 8080;                       ///< 0: an ephemeral port (see HttpServer::port)
    int ioThreads = 2;
    int handlerThreads = 4;                ///< blocking API calls (database, Argon2id)
    std::string webRoot;                   ///< built web app; empty or missing: no static files
    AccessLog accessLog;                   ///< may be empty
    std::size_t headerLimitBytes = 8 * 1024;
    std::size_t jsonBodyLimitBytes = 64 * 1024;
    std::chrono::seconds idleTimeout{30};  ///< waiting for a request's headers (keep-alive)
    std::chrono::seconds ioTimeout{60};    ///< each read/write of a body chunk
    std::chrono::milliseconds ssePoll{250};
    /// Wakes event streams on job changes (PostgreSQL LISTEN/NOTIFY); null: poll every ssePoll.
    /// With a feed, streams still re-read every sseFeedPoll as a safety net.
    std::shared_ptr<JobChangeFeed> changeFeed;
    std::chrono::milliseconds sseFeedPoll{5000};
    /// Origins added to the Content-Security-Policy's connect-src (the bucket's, for direct
    /// uploads and downloads); empty: 'self' only.
    std::string connectSrcExtra;
    bool hsts = false; ///< send Strict-Transport-Security (when served behind TLS)
    std::chrono::seconds sseHeartbeat{15};
};

class HttpServer {
  public:
    /// urls may be null when the blob store serves its own URLs (S3, R2).
    HttpServer(ServerOptions options, std::shared_ptr<MasteringService> service,
               std::shared_ptr<SignedUrlEndpoint> blobs);
    ~HttpServer(); ///< stops if running
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds, listens and starts the I/O threads. Error: Unavailable naming the address when
    /// the port cannot be bound.
    ApiStatus start();
    /// The bound port (the real one when options.port was 0). Valid after start().
    int port() const;
    /// Stops accepting, lets requests in flight finish for up to `grace`, ends event streams,
    /// then closes every connection and joins the threads. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
    /// Blocks until SIGINT or SIGTERM arrives (the caller then calls stop()).
    void waitForTerminationSignal();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace quack::service::http
