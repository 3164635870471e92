#pragma once
/// The whole embedded service in one process, as `quacktracks serve` runs it and the HTTP tests
/// start it: the adapters config picks (openServices), the HTTP server, config.workers
/// in-process workers and the periodic retention sweeper. main() only assembles this.
#include "service/host/services.h"
#include "service/http/server.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace quack::service::http {

struct HostOptions {
    int ioThreads = 2;
    bool runSweeper = true;   ///< tests drive sweepOnce themselves with a manual clock
    int workerPollMs = 200;
    AccessLog accessLog;
    /// Called with each sweep's report (e.g. to log it); may be empty.
    std::function<void(const SweepReport&)> onSweep;
};

class ServiceHost {
  public:
    /// Opens the data directory, binds the server (config.port 0: ephemeral), starts workers
    /// and the sweeper. Errors: those of openServices and HttpServer::start.
    static ApiResult<std::unique_ptr<ServiceHost>> start(const ServiceConfig& config,
                                                         std::shared_ptr<Clock> clock,
                                                         HostOptions options = {});
    ~ServiceHost(); ///< stop()
    ServiceHost(const ServiceHost&) = delete;
    ServiceHost& operator=(const ServiceHost&) = delete;

    int port() const { return server_->port(); }
    const Services& services() const { return services_; }
    const ServiceConfig& config() const { return config_; }
    /// Blocks until SIGINT/SIGTERM.
    void waitForTerminationSignal() { server_->waitForTerminationSignal(); }
    /// Graceful: the server drains requests, workers finish (a job in progress is abandoned
    /// after its current stage; its lease expires and another worker takes it), sweeper ends.
    void stop();

  private:
    ServiceHost() = default;
    ServiceConfig config_;
    Services services_;
    std::unique_ptr<HttpServer> server_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

/// Worker id unique across processes and hosts sharing a database: "<host>-<pid>-<n>".
std::string makeWorkerId(int n);

} // namespace quack::service::http
