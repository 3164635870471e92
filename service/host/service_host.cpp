#include "service/host/service_host.h"

#include <unistd.h>

namespace quack::service::http {

std::string makeWorkerId(int n) {
    char host[64] = {};
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    return std::string(host[0] ? host : "host") + "-" + std::to_string(getpid()) + "-" + std::to_string(n);
}

ApiResult<std::unique_ptr<ServiceHost>> ServiceHost::start(const ServiceConfig& config,
                                                           std::shared_ptr<Clock> clock,
                                                           HostOptions options) {
    auto services = openServices(config, std::move(clock));
    if (!services)
        return services.error();
    std::unique_ptr<ServiceHost> host(new ServiceHost());
    host->config_ = config;
    host->services_ = std::move(services).value();
    const auto& s = host->services_;

    ServerOptions so;
    so.bindAddress = config.bindAddress;
    so.port = config.port;
    so.ioThreads = options.ioThreads;
    so.webRoot = config.webRoot;
    so.accessLog = options.accessLog;
    so.changeFeed = s.changeFeed;
    so.connectSrcExtra = s.blobOrigin;
    so.hsts = config.secureCookies;
    host->server_ = std::make_unique<HttpServer>(so, s.service, s.urlEndpoint);
    if (auto st = host->server_->start(); !st)
        return st.error();

    for (int i = 0; i < config.workers; ++i) {
        host->workers_.push_back(std::make_unique<Worker>(config, s.ports.db, s.ports.blobs, s.ports.clock, makeWorkerId(i)));
        host->threads_.emplace_back([w = host->workers_.back().get(), poll = options.workerPollMs] { w->run(poll); });
    }
    if (options.runSweeper) {
        host->threads_.emplace_back([h = host.get(), onSweep = options.onSweep] {
            std::unique_lock lock(h->mutex_);
            while (!h->stopping_) {
                lock.unlock();
                const auto report = sweepOnce(h->services_.db(), h->services_.blobs(), *h->services_.ports.clock, h->config_);
                if (onSweep)
                    onSweep(report);
                lock.lock();
                h->cv_.wait_for(lock, std::chrono::seconds(h->config_.retention.sweepIntervalSeconds),
                                [h] { return h->stopping_; });
            }
        });
    }
    return host;
}

void ServiceHost::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (server_)
        server_->stop();
    for (auto& w : workers_)
        w->stop();
    for (auto& t : threads_)
        t.join();
    threads_.clear();
}

ServiceHost::~ServiceHost() { stop(); }

} // namespace quack::service::http
