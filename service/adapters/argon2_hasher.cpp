#include "service/adapters/argon2_hasher.h"

#include <sodium.h>

#include <array>
#include <cassert>

namespace quack::service {
namespace {

ApiError busy() {
    return apiError(ApiErrorCode::Unavailable, "the server is busy signing people in; try again in a moment");
}

/// RAII for an acquired slot.
template <typename Release> class Slot {
  public:
    explicit Slot(Release release) : release_(release) {}
    ~Slot() { release_(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

  private:
    Release release_;
};

} // namespace

Argon2Hasher::Argon2Hasher(Argon2Params params) : params_(params) {
    [[maybe_unused]] const int rc = sodium_init();
    assert(rc >= 0 && "libsodium initialises");
    assert(params_.maxConcurrent >= 1);
}

bool Argon2Hasher::acquire() {
    std::unique_lock lock(mutex_);
    if (running_ >= params_.maxConcurrent && waiting_ >= params_.maxQueued)
        return false;
    ++waiting_;
    cv_.wait(lock, [&] { return running_ < params_.maxConcurrent; });
    --waiting_;
    ++running_;
    return true;
}

void Argon2Hasher::release() {
    {
        std::lock_guard lock(mutex_);
        --running_;
    }
    cv_.notify_one();
}

ApiResult<std::string> Argon2Hasher::hash(const std::string& password) {
    if (!acquire())
        return busy();
    Slot slot([this] { release(); });
    std::array<char, crypto_pwhash_STRBYTES> out{};
    if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                          static_cast<unsigned long long>(params_.opsLimit),
                          static_cast<std::size_t>(params_.memoryBytes)) != 0)
        return busy(); // out of memory
    return std::string(out.data());
}

ApiResult<bool> Argon2Hasher::verify(const std::string& hash, const std::string& password) {
    if (!acquire())
        return busy();
    Slot slot([this] { release(); });
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool Argon2Hasher::needsRehash(const std::string& hash) {
    return crypto_pwhash_str_needs_rehash(hash.c_str(), static_cast<unsigned long long>(params_.opsLimit),
                                          static_cast<std::size_t>(params_.memoryBytes)) != 0;
}

} // namespace quack::service
