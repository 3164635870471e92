#include "engine/chain/spool.h"

#include "engine/chain/limits.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace quack {
Result<FloatSpool> FloatSpool::create(int width) {
    std::FILE* f = std::tmpfile();
    if (f == nullptr)
        return makeError(ErrorCode::WriteFailed,
                         std::string("cannot create a temporary file: ") + std::strerror(errno));
    // A large stdio buffer turns the many block-sized reads and writes (16-32 KB) into few
    // system calls; 256 KB stays in the L2 cache it is copied through.
    constexpr size_t kBufferBytes = size_t{1} << 18;
    auto buffer = std::make_unique<char[]>(kBufferBytes);
    std::setvbuf(f, buffer.get(), _IOFBF, kBufferBytes);
    return FloatSpool(std::move(buffer), f, width);
}

Status FloatSpool::append(const float* records, FrameCount numFrames) {
    const auto count = static_cast<size_t>(numFrames) * static_cast<size_t>(width_);
    if (guard_ != nullptr)
        if (auto s = guard_->addTempBytes(static_cast<std::int64_t>(count * sizeof(float))); !s)
            return s;
    if (std::fwrite(records, sizeof(float), count, file_.get()) != count)
        return makeError(ErrorCode::WriteFailed,
                         "cannot write the temporary spool file (is the temporary disk full?)");
    frames_ += numFrames;
    return Status::success();
}

Status FloatSpool::rewind() {
    if (std::fflush(file_.get()) != 0 || std::fseek(file_.get(), 0, SEEK_SET) != 0)
        return makeError(ErrorCode::WriteFailed, "cannot rewind the temporary spool file");
    return Status::success();
}

Result<std::span<const float>> FloatSpool::next(FrameCount maxFrames) {
    if (guard_ != nullptr)
        if (auto s = guard_->check(); !s)
            return s.error();
    const auto want = static_cast<size_t>(maxFrames) * static_cast<size_t>(width_);
    if (buffer_.size() < want)
        buffer_.resize(want);
    const size_t got = std::fread(buffer_.data(), sizeof(float), want, file_.get());
    if (got < want && std::ferror(file_.get()))
        return makeError(ErrorCode::ReadFailed, "cannot read the temporary spool file");
    return std::span<const float>(buffer_.data(), got / static_cast<size_t>(width_) * static_cast<size_t>(width_));
}

Result<FrameCount> FloatSpool::read(float* records, FrameCount maxFrames) {
    if (guard_ != nullptr)
        if (auto s = guard_->check(); !s)
            return s.error();
    const auto want = static_cast<size_t>(maxFrames) * static_cast<size_t>(width_);
    const size_t got = std::fread(records, sizeof(float), want, file_.get());
    if (got < want && std::ferror(file_.get()))
        return makeError(ErrorCode::ReadFailed, "cannot read the temporary spool file");
    return static_cast<FrameCount>(got / static_cast<size_t>(width_));
}

} // namespace quack
