#pragma once
// Shared by the libFuzzer targets: in-memory bytes as a file path (the engine's decoders take
// paths), and the allocation-failure mode (alloc_fail.cpp).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace quack::fuzz {

/// The bytes as an anonymous in-memory file (memfd), named by its /proc/self/fd path. No disk.
class MemFile {
  public:
    MemFile(const std::uint8_t* data, std::size_t size) {
        fd_ = ::memfd_create("quack-fuzz", MFD_CLOEXEC);
        if (fd_ < 0)
            return;
        for (std::size_t done = 0; done < size;) {
            const ssize_t n = ::write(fd_, data + done, size - done);
            if (n <= 0)
                break;
            done += static_cast<std::size_t>(n);
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemFile() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    bool ok() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }

  private:
    int fd_ = -1;
    std::string path_;
};

/// Allocation failures are injected only between these calls (never inside libFuzzer itself),
/// and only when QUACK_FUZZ_ALLOC_FAIL=N is set: then about one allocation in N fails.
void beginAllocFailures();
void endAllocFailures();

/// RAII for the two above, around one input.
struct AllocFailureScope {
    AllocFailureScope() { beginAllocFailures(); }
    ~AllocFailureScope() { endAllocFailures(); }
};

} // namespace quack::fuzz
