#pragma once
/// Private to engine/io/portable: a buffered output file with positioned writes (headers are
/// patched at close) and the writers' shared non-finite check.
#include "engine/io/io_detail.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace quack::portable_io {

class OutputFile {
  public:
    /// Creates (truncates) `path`. Error: WriteFailed.
    static Result<OutputFile> create(const std::string& path, const std::string& name) {
        io_detail::FileHandle fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
        if (fd.get() < 0)
            return makeError(ErrorCode::WriteFailed,
                             io_detail::fileMessage(name, std::string("cannot be created: ") + std::strerror(errno)));
        return OutputFile(std::move(fd), name);
    }

    bool isOpen() const { return fd_.get() >= 0; }

    /// Appends at the end (buffered, 256 KiB).
    Status append(const void* data, size_t bytes) {
        const auto* p = static_cast<const unsigned char*>(data);
        buffer_.insert(buffer_.end(), p, p + bytes);
        if (buffer_.size() >= kBufferBytes)
            return flush();
        return {};
    }

    /// Writes at an absolute offset (the header, at the start and at close), after the buffered
    /// appends are flushed; the end position is kept.
    Status writeAt(std::int64_t offset, const void* data, size_t bytes) {
        if (auto s = flush(); !s)
            return s;
        if (!writeAll(offset, data, bytes))
            return failed();
        end_ = std::max<std::int64_t>(end_, offset + static_cast<std::int64_t>(bytes));
        return {};
    }

    std::int64_t size() const { return end_ + static_cast<std::int64_t>(buffer_.size()); }

    Status close() {
        auto s = flush();
        io_detail::FileHandle closing = std::move(fd_);
        if (closing.get() >= 0 && ::close(closing.release()) != 0 && s)
            return failed();
        return s;
    }

  private:
    static constexpr size_t kBufferBytes = size_t{1} << 18;

    OutputFile(io_detail::FileHandle fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

    Status flush() {
        if (buffer_.empty())
            return {};
        if (!writeAll(end_, buffer_.data(), buffer_.size()))
            return failed();
        end_ += static_cast<std::int64_t>(buffer_.size());
        buffer_.clear();
        return {};
    }

    bool writeAll(std::int64_t offset, const void* data, size_t bytes) {
        const auto* p = static_cast<const unsigned char*>(data);
        size_t done = 0;
        while (done < bytes) {
            const ssize_t n = ::pwrite(fd_.get(), p + done, bytes - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return false;
            done += static_cast<size_t>(n);
        }
        return true;
    }

    Error failed() const {
        return makeError(ErrorCode::WriteFailed,
                         io_detail::fileMessage(name_, std::string("cannot be written: ") + std::strerror(errno)));
    }

    io_detail::FileHandle fd_;
    std::string name_;
    std::int64_t end_ = 0;
    std::vector<unsigned char> buffer_;
};

/// The native writers' rule: NaN/Inf are refused (InvalidArgument), naming frame and channel.
inline Status checkFinite(ConstAudioView block, FrameCount written, const std::string& name) {
    for (ChannelCount c = 0; c < block.numChannels; ++c) {
        const std::int64_t bad = io_detail::firstNonFinite(block.channel(c), block.numFrames);
        if (bad >= 0)
            return makeError(ErrorCode::InvalidArgument,
                             io_detail::fileMessage(name, "cannot be written: non-finite sample (NaN or infinity) at frame " +
                                                              std::to_string(written + bad) + ", channel " +
                                                              std::to_string(c + 1)));
    }
    return {};
}

} // namespace quack::portable_io
