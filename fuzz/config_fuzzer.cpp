// The service config loader (loadConfig) on an in-memory JSON file.
#include "service/app/config.h"
#include "fuzz/fuzz_util.h"

#include <new>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    quack::fuzz::MemFile file(data, size);
    if (!file.ok())
        return 0;
    quack::fuzz::AllocFailureScope failures;
    try {
        auto c = quack::service::loadConfig(file.path());
        (void)c.ok();
    } catch (const std::bad_alloc&) {
    }
    return 0;
}
