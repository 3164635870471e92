// The JSON body of POST /api/v1/jobs through its pure parse function (parseJobSettings), the
// way the handler calls it: nlohmann::json::parse without exceptions, then the parser.
#include "service/http/wire.h"
#include "fuzz/fuzz_util.h"

#include <nlohmann/json.hpp>

#include <new>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    quack::fuzz::AllocFailureScope failures;
    try {
        const auto body = nlohmann::json::parse(data, data + size, nullptr, false);
        if (body.is_discarded())
            return 0;
        auto s = quack::service::http::parseJobSettings(body);
        (void)s.ok();
    } catch (const std::bad_alloc&) {
    }
    return 0;
}
