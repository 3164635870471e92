// The allocation-failure mode (as libebur128's fuzzer has): with QUACK_FUZZ_ALLOC_FAIL=N set,
// about one allocation in N made while an input is processed fails: malloc/calloc/realloc
// return NULL (the C libraries: libsndfile, mpg123, FFmpeg, SQLite) and operator new throws
// std::bad_alloc (our code, TagLib, the standard library). The target must then fail cleanly:
// no crash, no leak, no sanitizer report.
//
// How: on Linux the sanitizers' malloc interceptors are weak aliases of __interceptor_malloc &
// co., so a program may define malloc itself and forward to them (ASan keeps all its checks).
#include "fuzz/fuzz_util.h"

#include <cstdint>
#include <cstdlib>
#include <new>

extern "C" {
void* __interceptor_malloc(std::size_t n);
void* __interceptor_calloc(std::size_t n, std::size_t size);
void* __interceptor_realloc(void* p, std::size_t n);
}

namespace {

thread_local bool tArmed = false;
std::uint64_t gOneIn = 0;     // 0: the mode is off
std::uint64_t gState = 0x9E3779B97F4A7C15ull;

bool failNow() {
    if (!tArmed || gOneIn == 0)
        return false;
    // xorshift64: cheap, and seeded per input so a crash reproduces from its input alone.
    gState ^= gState << 13;
    gState ^= gState >> 7;
    gState ^= gState << 17;
    return gState % gOneIn == 0;
}

} // namespace

namespace quack::fuzz {

void beginAllocFailures() {
    static const std::uint64_t oneIn = [] {
        const char* v = std::getenv("QUACK_FUZZ_ALLOC_FAIL");
        return v != nullptr ? std::strtoull(v, nullptr, 10) : 0ull;
    }();
    gOneIn = oneIn;
    gState = 0x9E3779B97F4A7C15ull;
    tArmed = true;
}

void endAllocFailures() { tArmed = false; }

} // namespace quack::fuzz

extern "C" void* malloc(std::size_t n) {
    if (failNow())
        return nullptr;
    return __interceptor_malloc(n);
}

extern "C" void* calloc(std::size_t n, std::size_t size) {
    if (failNow())
        return nullptr;
    return __interceptor_calloc(n, size);
}

extern "C" void* realloc(void* p, std::size_t n) {
    if (n != 0 && failNow())
        return nullptr;
    return __interceptor_realloc(p, n);
}

void* operator new(std::size_t n) {
    if (failNow())
        throw std::bad_alloc();
    if (void* p = __interceptor_malloc(n == 0 ? 1 : n))
        return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
