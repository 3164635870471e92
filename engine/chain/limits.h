#pragma once
/// Resource limits for one master: how much a single input may cost in decoded samples, temporary
/// disk and time, checked BEFORE decoding (from the header's declared length) and WHILE decoding
/// and rendering (from the frames actually decoded and the bytes actually spooled), so a small
/// file that decodes to hours of 384 kHz audio fails in milliseconds with a stable code instead
/// of filling the temporary disk. All limits default to "none" (0 / empty): the CLI runs
/// unlimited; the service passes its configured limits in MasterRequest::limits.
#include "engine/core/error.h"
#include "engine/core/types.h"
#include "engine/io/audio_source.h"
#include "engine/io/audio_writer.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace quack {

struct MasterRequest;

struct ResourceLimits {
    /// Most samples (frames x channels, at the file's own rate) one decode pass may produce.
    /// 0 = no limit. E.g. 10 min of 48 kHz stereo is 57.6e6 samples.
    std::int64_t maxDecodedSamples = 0;
    /// Longest input, seconds (in addition to kMaxDurationSeconds). 0 = no limit.
    double maxDurationSeconds = 0.0;
    /// Most bytes of temporary files the master may hold at once: the float spools (the input's
    /// decoded copy, the processed audio, its sidechain) plus the output's temporary file.
    /// 0 = no limit.
    std::int64_t maxTempBytes = 0;
    /// Wall-clock budget from the start of masterFile. Zero = none. Checked at every block.
    std::chrono::steady_clock::duration maxWallTime{};
    /// CPU budget of the calling thread from the start of masterFile (the engine renders a
    /// master on its caller's thread), so a busy machine's slow wall clock is not charged to
    /// the input. Zero = none. Checked at every block.
    std::chrono::nanoseconds maxCpuTime{};
    /// Polled at every block (~4096 frames) while decoding, processing and rendering; returning
    /// true stops the master with ErrorCode::Cancelled. Must be cheap and thread-safe with
    /// respect to whoever flips it (e.g. read an std::atomic<bool>).
    std::function<bool()> cancelled;
    /// Refuse to start when the file systems holding the spools (the temporary directory) and
    /// the output do not have the estimated bytes free (ErrorCode::InsufficientStorage).
    bool checkFreeSpace = false;

    bool any() const {
        return maxDecodedSamples > 0 || maxDurationSeconds > 0.0 || maxTempBytes > 0 ||
               maxWallTime.count() > 0 ||
               maxCpuTime.count() > 0 || cancelled || checkFreeSpace;
    }
};

/// What a master of an input will cost, from its header alone (nothing is decoded).
struct ResourceEstimate {
    AudioFileInfo input;            ///< the header's facts (frames as declared)
    int workingRate = 0;            ///< the rate the chain runs at (after codec conversion), Hz
    FrameCount workingFrames = 0;   ///< declared length at the working rate, frames
    std::int64_t decodedSamples = 0; ///< declared frames x channels at the input's rate
    std::int64_t spoolBytes = 0;    ///< upper bound of the float spools, bytes
    std::int64_t outputBytes = 0;   ///< upper bound of the output's temporary file, bytes
    std::int64_t tempBytes() const { return spoolBytes + outputBytes; }
};

/// Bytes of float spool per frame of `channels` at the working rate, an upper bound: the
/// decoded input (kept unless it is cheap PCM to decode again), the processed audio, the
/// sidechain peaks and the K-weighted power (4 bytes each per channel or per frame), and the two
/// coarse streams (at most 2 x 4 / 4 bytes a frame: the coarse factor is at least 4).
std::int64_t spoolBytesPerFrame(ChannelCount channels);

/// Upper bound of the bytes an encoder writes for `frames` of `channels` at `sampleRate` in
/// `format` (PCM exact + headers; lossy from the encoder's bit rate with a 2x margin for VBR).
std::int64_t outputBytesBound(OutputFormat format, FrameCount frames, ChannelCount channels,
                              int sampleRate);

/// The cost of mastering an input with header `info` into `format` (at `sampleRate` if set).
ResourceEstimate estimateResources(const AudioFileInfo& info, OutputFormat format,
                                   std::optional<int> sampleRate = std::nullopt);

/// The cost of mastering `request` from its input's header (opens the file, decodes nothing).
/// Errors: those of openAudioFile and of the output format.
Result<ResourceEstimate> estimateMasterResources(const MasterRequest& request);

/// Checks an estimate against the limits (before any decoding): ResourceLimit naming the limit
/// and both figures; InsufficientStorage when checkFreeSpace is set and `tempDir` or
/// `outputDir` lack the bytes.
Status checkEstimate(const ResourceEstimate& estimate, const ResourceLimits& limits,
                     const std::string& tempDir, const std::string& outputDir);

/// Where the spools live: std::tmpfile's directory (glibc: P_tmpdir, "/tmp"; TMPDIR is not
/// consulted by tmpfile).
std::string spoolDirectory();

/// The running account of one master against its limits. Not thread-safe: one master, one
/// thread (the engine's own). Owned by masterFile; spools and guarded sources point at it.
class ResourceGuard {
  public:
    explicit ResourceGuard(ResourceLimits limits);
    const ResourceLimits& limits() const { return limits_; }
    /// Deadlines (wall and CPU) and cancellation. Errors: ResourceLimit (time), Cancelled.
    Status check();
    /// Accounts `bytes` more temporary bytes (then check()). Error: ResourceLimit.
    Status addTempBytes(std::int64_t bytes);
    /// Returns `bytes` (a spool closed or a temporary file removed).
    void releaseTempBytes(std::int64_t bytes) { tempBytes_ -= bytes; }
    std::int64_t tempBytes() const { return tempBytes_; }
    std::int64_t peakTempBytes() const { return peakTempBytes_; }

  private:
    ResourceLimits limits_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::nanoseconds cpuStart_{};
    std::int64_t tempBytes_ = 0;
    std::int64_t peakTempBytes_ = 0;
};

/// Wraps a source so every read() checks the guard and counts the frames of the current pass
/// against maxDecodedSamples and maxDurationSeconds (the header may lie: this is the truth).
/// `guard` must outlive the returned source.
std::unique_ptr<AudioSource> makeGuardedSource(std::unique_ptr<AudioSource> source, ResourceGuard& guard);

} // namespace quack
