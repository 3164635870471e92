#pragma once
/// FFTW's planner is not thread-safe (only fftw_execute is): every component that makes or
/// destroys a plan takes this one lock, so the service can run several masters in a process.
#include <mutex>

namespace quack {

inline std::mutex& fftwPlannerMutex() {
    static std::mutex m;
    return m;
}

} // namespace quack
