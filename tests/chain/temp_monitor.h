#pragma once
// Measures, from outside the engine, the temporary disk a master holds: a thread polls this
// process's open files (/proc/self/fd) every millisecond and records the largest total size of
// the regular files that are unlinked (the engine's std::tmpfile spools) or under `dir` (the
// output's temporary file, the worker's scratch). Independent of ResourceGuard's own count, so a
// test of the limits does not trust the code it tests.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

namespace quack::test {

class TempMonitor {
  public:
    explicit TempMonitor(std::string dir) : dir_(std::move(dir)) {
        thread_ = std::thread([this] {
            while (!stop_.load()) {
                const std::int64_t now = sample();
                if (now > peak_.load())
                    peak_.store(now);
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
    }
    ~TempMonitor() { stopNow(); }
    TempMonitor(const TempMonitor&) = delete;
    TempMonitor& operator=(const TempMonitor&) = delete;

    /// Stops polling; returns the peak, bytes.
    std::int64_t stopNow() {
        stop_.store(true);
        if (thread_.joinable())
            thread_.join();
        return peak_.load();
    }

  private:
    std::int64_t sample() const {
        std::int64_t total = 0;
        std::error_code ec;
        for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
            char target[4096];
            const ssize_t n = ::readlink(it->path().c_str(), target, sizeof target - 1);
            if (n <= 0)
                continue;
            const std::string t(target, static_cast<std::size_t>(n));
            const bool unlinked = t.size() > 10 && t.compare(t.size() - 10, 10, " (deleted)") == 0;
            const bool inDir = !dir_.empty() && t.rfind(dir_, 0) == 0;
            if (!unlinked && !inDir)
                continue;
            struct stat st {};
            if (::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
                total += static_cast<std::int64_t>(st.st_size);
        }
        return total;
    }

    std::string dir_;
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> peak_{0};
    std::thread thread_;
};

} // namespace quack::test
