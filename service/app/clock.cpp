#include "service/app/ports.h"

#include <chrono>

namespace quack::service {
namespace {

class SystemClock final : public Clock {
  public:
    UnixSeconds now() const override {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

} // namespace

std::shared_ptr<Clock> systemClock() {
    static const auto clock = std::make_shared<SystemClock>();
    return clock;
}

UnixSeconds ManualClock::now() const {
    std::lock_guard lock(mutex_);
    return now_;
}

void ManualClock::set(UnixSeconds t) {
    std::lock_guard lock(mutex_);
    now_ = t;
}

void ManualClock::advance(std::int64_t seconds) {
    std::lock_guard lock(mutex_);
    now_ += seconds;
}

} // namespace quack::service
