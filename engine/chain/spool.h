#pragma once
/// A temporary, anonymous file of float records for the multi-pass pipeline: the processed
/// audio and its sidechain are spooled once and re-read by the loudness loop and each render,
/// so memory stays constant whatever the track's length. The file is unlinked at creation
/// (std::tmpfile), so nothing is left behind even if the process dies.
///
/// (Mapping the file instead of reading it was measured slower here: 3-4x for the page-table
/// work on this virtual machine; a buffered read from the page cache runs at ~5 GB/s.)
#include "engine/core/error.h"
#include "engine/core/types.h"

#include <cstddef>
#include <cstdio>
#include <memory>
#include <span>
#include <vector>

namespace quack {

class ResourceGuard;

class FloatSpool {
  public:
    /// `width` floats per frame. Error: WriteFailed if no temporary file can be made.
    static Result<FloatSpool> create(int width);

    FloatSpool(FloatSpool&&) noexcept = default;
    FloatSpool& operator=(FloatSpool&&) noexcept = default;

    /// Appends numFrames records of width() floats. Only before the first rewind().
    Status append(const float* records, FrameCount numFrames);
    /// Starts reading from the first record.
    Status rewind();
    /// The next up to maxFrames records (empty at the end), read into an internal buffer. The
    /// view stays valid until the next call to next(), read() or rewind().
    Result<std::span<const float>> next(FrameCount maxFrames);
    /// Copies the next up to maxFrames records; returns the count (0 at the end).
    Result<FrameCount> read(float* records, FrameCount maxFrames);
    FrameCount frames() const { return frames_; }
    int width() const { return width_; }
    /// Accounts every appended byte against `guard`'s temporary-space limit and checks its
    /// deadline and cancellation at every append and read (chain/limits.h); nullptr = none.
    /// The guard must outlive the spool.
    void setGuard(ResourceGuard* guard) { guard_ = guard; }

  private:
    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    FloatSpool(std::unique_ptr<char[]> stdioBuffer, std::FILE* file, int width)
        : stdioBuffer_(std::move(stdioBuffer)), file_(file), width_(width) {}

    /// The stdio buffer (given to setvbuf: glibc ignores the size of a buffer it allocates
    /// itself and uses 4 KB). Declared before file_ so that it outlives the stream.
    std::unique_ptr<char[]> stdioBuffer_;
    std::unique_ptr<std::FILE, Closer> file_;
    int width_ = 1;
    FrameCount frames_ = 0;
    ResourceGuard* guard_ = nullptr;
    std::vector<float> buffer_; ///< backs the views next() returns
};

} // namespace quack
