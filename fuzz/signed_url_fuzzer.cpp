// The signed-URL verifier (LocalBlobStore::verify): every PUT/GET to /blob/ reaches it before
// any authentication, so it must refuse anything it did not sign, without crashing.
#include "service/adapters/local_blob_store.h"
#include "fuzz/fuzz_util.h"

#include <new>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using quack::service::LocalBlobStore;
    // The constructor creates its root directory: one store for the whole run.
    static LocalBlobStore store("/tmp/quack-fuzz-blobs", std::string(32, 'k'));
    if (size < 1)
        return 0;
    const auto access = (data[0] & 1) != 0 ? LocalBlobStore::Access::Put : LocalBlobStore::Access::Get;
    const std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);
    quack::fuzz::AllocFailureScope failures;
    try {
        auto g = store.verify(access, target, 1'700'000'000);
        // With a secret the fuzzer does not know, nothing may verify.
        if (g.ok())
            __builtin_trap();
    } catch (const std::bad_alloc&) {
    }
    return 0;
}
