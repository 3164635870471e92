#include "engine/chain/limits.h"

#include "engine/chain/master.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <sys/statvfs.h>
#include <time.h>

namespace quack {
namespace {

using Clock = std::chrono::steady_clock;

std::string mib(std::int64_t bytes) {
    return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

/// Free bytes for an unprivileged writer on the file system holding `dir`; -1 if unknown.
std::int64_t freeBytes(const std::string& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0)
        return -1;
    return static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
}

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID, POSIX.1-2008).
std::chrono::nanoseconds threadCpuTime() {
    timespec ts{};
    if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return {};
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

Status decodedTooMuch(std::int64_t samples, const ResourceLimits& limits, bool declared) {
    return makeError(ErrorCode::ResourceLimit,
                     std::string(declared ? "the input declares " : "the input decodes to more than ") +
                         std::to_string(samples) + " samples (frames x channels); this server's limit is " +
                         std::to_string(limits.maxDecodedSamples));
}

Status longerThan(double s, const ResourceLimits& limits, bool declared) {
    return makeError(ErrorCode::ResourceLimit,
                     std::string(declared ? "the input declares " : "the input decodes to more than ") +
                         seconds(s) + " of audio; this server's limit is " + seconds(limits.maxDurationSeconds));
}

} // namespace

std::int64_t spoolBytesPerFrame(ChannelCount channels) {
    const auto nch = static_cast<std::int64_t>(channels);
    const std::int64_t f = static_cast<std::int64_t>(sizeof(float));
    // input copy + processed audio (nch each), peaks + K power (1 each), coarse (2 / 4, rounded up).
    return 2 * nch * f + 2 * f + 2;
}

std::int64_t outputBytesBound(OutputFormat format, FrameCount frames, ChannelCount channels,
                              int sampleRate) {
    constexpr std::int64_t kHeaderBytes = 1 << 16; // headers, seek tables, tags (tags.h caps values)
    const auto samples = static_cast<std::int64_t>(frames) * channels;
    switch (format) {
    case OutputFormat::Wav16:
    case OutputFormat::Flac16: // FLAC falls back to verbatim subframes: never larger than PCM
        return samples * 2 + kHeaderBytes;
    case OutputFormat::Wav24:
    case OutputFormat::Flac24:
        return samples * 3 + kHeaderBytes;
    case OutputFormat::WavFloat:
        return samples * 4 + kHeaderBytes;
    case OutputFormat::Mp3:
    case OutputFormat::Vorbis:
    case OutputFormat::Opus:
    case OutputFormat::Aac: {
        // The encoders run at <= 320 kbit/s (io/README.md's table); 2x covers VBR peaks.
        const double secs = sampleRate > 0 ? static_cast<double>(frames) / sampleRate : 0.0;
        return static_cast<std::int64_t>(std::ceil(secs * 2.0 * 320000.0 / 8.0)) + kHeaderBytes;
    }
    }
    return samples * 4 + kHeaderBytes;
}

ResourceEstimate estimateResources(const AudioFileInfo& info, OutputFormat format, std::optional<int> sampleRate) {
    ResourceEstimate e;
    e.input = info;
    const int inRate = std::max(1, e.input.sampleRate);
    e.workingRate = codecOutputRate(format, sampleRate.value_or(inRate));
    e.workingFrames = static_cast<FrameCount>(std::llround(static_cast<double>(e.input.frames) * e.workingRate /
                                                           static_cast<double>(inRate)));
    e.decodedSamples = static_cast<std::int64_t>(e.input.frames) * e.input.channels;
    e.spoolBytes = static_cast<std::int64_t>(e.workingFrames) * spoolBytesPerFrame(e.input.channels);
    e.outputBytes = outputBytesBound(format, e.workingFrames, e.input.channels, e.workingRate);
    return e;
}

Result<ResourceEstimate> estimateMasterResources(const MasterRequest& request) {
    auto format = request.format ? Result<OutputFormat>(*request.format) : outputFormatFromPath(request.outputPath);
    if (!format)
        return format.error();
    auto source = openAudioFile(request.inputPath);
    if (!source)
        return source.error();
    return estimateResources((*source)->info(), *format, request.sampleRate);
}

std::string spoolDirectory() { return P_tmpdir; }

Status checkEstimate(const ResourceEstimate& e, const ResourceLimits& limits, const std::string& tempDir,
                     const std::string& outputDir) {
    if (limits.maxDecodedSamples > 0 && e.decodedSamples > limits.maxDecodedSamples)
        return decodedTooMuch(e.decodedSamples, limits, true);
    const double secs = e.input.sampleRate > 0 ? static_cast<double>(e.input.frames) / e.input.sampleRate : 0.0;
    if (limits.maxDurationSeconds > 0.0 && secs > limits.maxDurationSeconds)
        return longerThan(secs, limits, true);
    if (limits.maxTempBytes > 0 && e.tempBytes() > limits.maxTempBytes)
        return makeError(ErrorCode::ResourceLimit,
                         "mastering the input needs about " + mib(e.tempBytes()) +
                             " of temporary space; this server's limit is " + mib(limits.maxTempBytes));
    if (limits.checkFreeSpace) {
        std::error_code ec;
        const bool same = std::filesystem::equivalent(tempDir, outputDir, ec) && !ec;
        const std::int64_t needTemp = same ? e.tempBytes() : e.spoolBytes;
        const std::int64_t haveTemp = freeBytes(tempDir);
        if (haveTemp >= 0 && haveTemp < needTemp)
            return makeError(ErrorCode::InsufficientStorage,
                             "the temporary disk has " + mib(haveTemp) + " free; mastering the input needs about " +
                                 mib(needTemp));
        const std::int64_t haveOut = same ? haveTemp : freeBytes(outputDir);
        if (!same && haveOut >= 0 && haveOut < e.outputBytes)
            return makeError(ErrorCode::InsufficientStorage,
                             "the output disk has " + mib(haveOut) + " free; the master needs about " +
                                 mib(e.outputBytes));
    }
    return Status::success();
}

ResourceGuard::ResourceGuard(ResourceLimits limits)
    : limits_(std::move(limits)), start_(Clock::now()),
      cpuStart_(limits_.maxCpuTime.count() > 0 ? threadCpuTime() : std::chrono::nanoseconds{}) {}

Status ResourceGuard::check() {
    if (limits_.cancelled && limits_.cancelled())
        return makeError(ErrorCode::Cancelled, "the master was cancelled");
    if (limits_.maxWallTime.count() > 0 && Clock::now() - start_ > limits_.maxWallTime)
        return makeError(ErrorCode::ResourceLimit,
                         "mastering took longer than this server's limit of " +
                             seconds(std::chrono::duration<double>(limits_.maxWallTime).count()));
    if (limits_.maxCpuTime.count() > 0 && threadCpuTime() - cpuStart_ > limits_.maxCpuTime)
        return makeError(ErrorCode::ResourceLimit,
                         "mastering used more CPU time than this server's limit of " +
                             seconds(std::chrono::duration<double>(limits_.maxCpuTime).count()));
    return Status::success();
}

Status ResourceGuard::addTempBytes(std::int64_t bytes) {
    tempBytes_ += bytes;
    peakTempBytes_ = std::max(peakTempBytes_, tempBytes_);
    if (limits_.maxTempBytes > 0 && tempBytes_ > limits_.maxTempBytes)
        return makeError(ErrorCode::ResourceLimit, "mastering the input needs more than " +
                                                       mib(limits_.maxTempBytes) +
                                                       " of temporary space (this server's limit)");
    return check();
}

namespace {

class GuardedSource final : public AudioSource {
  public:
    GuardedSource(std::unique_ptr<AudioSource> inner, ResourceGuard& guard)
        : inner_(std::move(inner)), guard_(guard) {
        const auto& info = inner_->info();
        const ResourceLimits& l = guard_.limits();
        if (l.maxDecodedSamples > 0)
            maxFrames_ = l.maxDecodedSamples / std::max<ChannelCount>(1, info.channels);
        if (l.maxDurationSeconds > 0.0) {
            const auto byTime = static_cast<FrameCount>(std::floor(l.maxDurationSeconds * info.sampleRate));
            maxFrames_ = maxFrames_ > 0 ? std::min(maxFrames_, byTime) : byTime;
        }
    }
    const AudioFileInfo& info() const override { return inner_->info(); }
    Result<FrameCount> read(AudioView block) override {
        if (auto s = guard_.check(); !s)
            return s.error();
        auto n = inner_->read(block);
        if (!n)
            return n;
        position_ += *n;
        if (maxFrames_ > 0 && position_ > maxFrames_) {
            const ResourceLimits& l = guard_.limits();
            const auto& info = inner_->info();
            if (l.maxDecodedSamples > 0 && position_ * info.channels > l.maxDecodedSamples)
                return decodedTooMuch(l.maxDecodedSamples, l, false).error();
            return longerThan(l.maxDurationSeconds, l, false).error();
        }
        return n;
    }
    Status rewind() override {
        position_ = 0;
        return inner_->rewind();
    }

  private:
    std::unique_ptr<AudioSource> inner_;
    ResourceGuard& guard_;
    FrameCount maxFrames_ = 0; ///< 0 = no frame limit
    FrameCount position_ = 0;
};

} // namespace

std::unique_ptr<AudioSource> makeGuardedSource(std::unique_ptr<AudioSource> source, ResourceGuard& guard) {
    return std::make_unique<GuardedSource>(std::move(source), guard);
}

} // namespace quack
