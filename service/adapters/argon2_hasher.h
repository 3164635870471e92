#pragma once
/// PasswordHasher with Argon2id (libsodium crypto_pwhash_str). Argon2id is memory-hard on
/// purpose, so at most `maxConcurrent` hashes run at once and at most `maxQueued` callers wait
/// for a slot; past that the hasher answers Unavailable at once (the API turns it into 503 with
/// Retry-After) instead of letting a burst of sign-ups take every thread and all memory.
#include "service/app/ports.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace quack::service {

struct Argon2Params {
    std::int64_t opsLimit = 2;           ///< OWASP: t = 2 with m = 19 MiB, p = 1
    std::int64_t memoryBytes = 19LL << 20;
    int maxConcurrent = 2;
    int maxQueued = 32;
};

class Argon2Hasher final : public PasswordHasher {
  public:
    explicit Argon2Hasher(Argon2Params params);
    ApiResult<std::string> hash(const std::string& password) override;
    ApiResult<bool> verify(const std::string& hash, const std::string& password) override;
    bool needsRehash(const std::string& hash) override;

  private:
    /// Waits for a slot; false (without waiting) when the queue is full.
    bool acquire();
    void release();

    Argon2Params params_;
    std::mutex mutex_;
    std::condition_variable cv_;
    int running_ = 0;
    int waiting_ = 0;
};

} // namespace quack::service
