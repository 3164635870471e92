#include "service/app/internal.h"
#include "service/app/mastering_service.h"

#include "engine/chain/master.h"

#include <sodium.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <thread>

namespace quack::service {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

/// Heartbeats at most every kMinBeat (progress updates) and at least every leaseSeconds/4 (so
/// a lease survives three missed beats), from its own thread: the engine's progress callback
/// may go quiet for a long stage, but the lease must not.
constexpr auto kMinBeat = std::chrono::milliseconds(250);

std::string safeTag(std::string_view workerId) {
    std::string out;
    for (const char c : workerId)
        out += ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
                   ? c
                   : '_';
    return out.substr(0, 40);
}

class Heartbeat {
  public:
    Heartbeat(Database& db, const Clock& clock, std::string jobId, std::string workerId, std::int64_t leaseSeconds)
        : db_(db), clock_(clock), jobId_(std::move(jobId)), workerId_(std::move(workerId)),
          leaseSeconds_(leaseSeconds),
          maxGap_(std::chrono::milliseconds(std::max<std::int64_t>(leaseSeconds * 1000 / 4, 250))) {
        thread_ = std::thread([this] { loop(); });
    }
    ~Heartbeat() { stop(); }
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;

    void progress(std::string_view stage, double fraction) {
        std::lock_guard lock(mutex_);
        stage_ = std::string(stage);
        fraction_ = fraction;
        dirty_ = true;
        cv_.notify_one();
    }
    bool lost() const { return lost_.load(); }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_one();
        if (thread_.joinable())
            thread_.join();
    }

  private:
    void loop() {
        auto last = SteadyClock::now();
        std::unique_lock lock(mutex_);
        while (!stopping_ && !lost_) {
            cv_.wait_for(lock, kMinBeat, [&] { return stopping_; });
            if (stopping_)
                break;
            const auto now = SteadyClock::now();
            if (!(dirty_ && now - last >= kMinBeat) && now - last < maxGap_)
                continue;
            const std::string stage = stage_;
            const double fraction = fraction_;
            dirty_ = false;
            lock.unlock();
            // A database that does not answer is not a lost lease: keep beating; if it stays
            // away, the lease expires and the fenced finish refuses this worker's result.
            const auto held = db_.heartbeat(jobId_, workerId_, clock_.now(), leaseSeconds_, fraction, stage);
            lock.lock();
            last = now;
            if (held && !held.value())
                lost_ = true;
        }
    }

    Database& db_;
    const Clock& clock_;
    std::string jobId_, workerId_;
    std::int64_t leaseSeconds_;
    std::chrono::milliseconds maxGap_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string stage_ = "fetch";
    double fraction_ = 0.0;
    bool dirty_ = true;
    bool stopping_ = false;
    std::atomic<bool> lost_{false};
    std::thread thread_;
};

/// Free bytes for an unprivileged writer on the file system holding `dir`; -1 if unknown.
std::int64_t freeBytes(const fs::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0)
        return -1;
    return static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
}

/// The configured per-job limits for an input of `inputBytes` (ServiceConfig, issue 9 finding
/// 2). The decoded-samples limit is the smaller of the absolute one and the per-byte ratio.
quack::ResourceLimits jobLimits(const ServiceConfig& c, std::int64_t inputBytes) {
    quack::ResourceLimits l;
    l.maxDurationSeconds = static_cast<double>(c.maxJobAudioSeconds);
    l.maxDecodedSamples = c.maxJobDecodedSamples;
    if (c.maxJobDecodedSamplesPerInputByte > 0 && inputBytes > 0) {
        const std::int64_t byRatio = inputBytes > std::numeric_limits<std::int64_t>::max() / c.maxJobDecodedSamplesPerInputByte
                                         ? std::numeric_limits<std::int64_t>::max()
                                         : inputBytes * c.maxJobDecodedSamplesPerInputByte;
        l.maxDecodedSamples = l.maxDecodedSamples > 0 ? std::min(l.maxDecodedSamples, byRatio) : byRatio;
    }
    l.maxTempBytes = c.maxJobTempBytes;
    l.maxCpuTime = std::chrono::seconds(c.maxJobCpuSeconds);
    l.maxWallTime = std::chrono::seconds(c.maxJobWallSeconds);
    l.checkFreeSpace = true;
    return l;
}

struct ScratchFiles {
    std::vector<fs::path> paths;
    ~ScratchFiles() {
        for (const auto& p : paths) {
            std::error_code ec;
            fs::remove(p, ec);
        }
    }
};

} // namespace

Worker::Worker(ServiceConfig config, std::shared_ptr<Database> db, std::shared_ptr<BlobStore> blobs,
               std::shared_ptr<Clock> clock, std::string workerId)
    : config_(std::move(config)), db_(std::move(db)), blobs_(std::move(blobs)), clock_(std::move(clock)),
      workerId_(std::move(workerId)) {
    [[maybe_unused]] const int rc = sodium_init();
    assert(rc >= 0);
}

bool Worker::runOnce() {
    recoverExpiredLeases(*db_, *clock_, config_);
    const fs::path scratch = detail::scratchDir(config_.dataDir);
    std::error_code ec;
    fs::create_directories(scratch, ec);
    // A worker whose scratch or spool disk is nearly full takes no job: the job waits queued
    // for a worker with room rather than failing here (or filling the disk) mid-way.
    if (config_.minFreeTempBytes > 0)
        for (const fs::path& dir : {scratch, fs::path(quack::spoolDirectory())})
            if (const auto have = freeBytes(dir); have >= 0 && have < config_.minFreeTempBytes)
                return false;
    auto leased = db_->leaseNextJob(workerId_, clock_->now(), config_.leaseSeconds);
    if (!leased || !*leased)
        return false; // nothing runnable, or the database is busy: poll again later
    Job job = std::move(**leased);

    // "<job>.<worker>.<attempt>.*": the sweeper maps scratch files back to their job by the prefix.
    const std::string base = job.id + "." + safeTag(workerId_) + "." + std::to_string(job.attempt);
    const fs::path input = scratch / (base + ".in");
    const std::string extension = [&] {
        auto f = quack::outputFormatFromName(job.settings.format);
        return f ? std::string(quack::outputFormatInfo(*f).extension) : std::string("wav");
    }();
    const fs::path output = scratch / (base + ".out." + extension);
    ScratchFiles cleanup{{input, output}};

    Heartbeat beat(*db_, *clock_, job.id, workerId_, config_.leaseSeconds);

    // Outcome of this attempt.
    std::optional<ApiError> permanent, transient;
    std::string storedKey;
    const auto found = db_->uploadById(job.uploadId);
    const std::optional<Upload> upload = found ? *found : std::nullopt;
    if (!found) {
        transient = found.error();
    } else if (!upload) {
        permanent = apiError(ApiErrorCode::Gone, "the uploaded file is gone");
    } else if (auto f = blobs_->fetchToFile(upload->blobKey, input.string()); !f) {
        if (f.error().code == ApiErrorCode::NotFound)
            permanent = apiError(ApiErrorCode::Gone, "the uploaded file is gone");
        else
            transient = f.error();
    }

    std::optional<quack::MasterOutcome> outcome;
    if (!permanent && !transient) {
        auto intent = job.settings.preset
                          ? quack::makeIntent(*job.settings.preset, std::nullopt, std::nullopt,
                                              job.settings.style, job.settings.intensity)
                          : quack::makeIntent("streaming", job.settings.targetLufs, job.settings.ceilingDbtp,
                                              job.settings.style, job.settings.intensity);
        auto format = quack::outputFormatFromName(job.settings.format);
        if (!intent)
            permanent = fromEngine(intent.error());
        else if (!format)
            permanent = fromEngine(format.error());
        else {
            quack::MasterRequest req;
            req.inputPath = input.string();
            req.outputPath = output.string();
            req.intent = *intent;
            req.format = *format;
            req.limits = jobLimits(config_, static_cast<std::int64_t>(fs::file_size(input, ec)));
            // A lost lease (another worker took over, or the job was deleted) stops the engine
            // at its next block instead of finishing work nobody will keep.
            req.limits.cancelled = [&beat] { return beat.lost(); };
            auto r = quack::masterFile(req, [&](std::string_view stage, double fraction) {
                beat.progress(stage, fraction);
            });
            // The engine names files by their last path component: the user must see their own
            // file's name, never our scratch names (which reveal the host's worker ids).
            auto userFacing = [&](std::string message) {
                const std::pair<std::string, std::string> names[] = {
                    {input.filename().string(), job.originalFilename},
                    {output.filename().string(), "the master"}};
                for (const auto& [from, to] : names)
                    for (size_t at = message.find(from); at != std::string::npos; at = message.find(from, at + to.size()))
                        message.replace(at, from.size(), to);
                return message;
            };
            if (r) {
                outcome = std::move(r).value();
                outcome->report["input"]["file"] = job.originalFilename;
                outcome->report["output"]["file"] = fs::path(job.originalFilename).stem().string() + "-master." + extension;
            } else {
                quack::Error e = r.error();
                e.message = userFacing(std::move(e.message));
                if (!quack::errorInfo(e.code).retryable)
                    permanent = fromEngine(e);
                else
                    transient = fromEngine(e);
            }
        }
    }
    if (outcome && !beat.lost()) {
        storedKey = detail::masterKey(job, extension);
        if (auto s = blobs_->putFromFile(storedKey, output.string(), ""); !s) {
            transient = s.error();
            storedKey.clear();
        }
    }
    beat.stop();

    // Finish, fenced by our worker id: if the lease was lost (another worker took over, or the
    // user deleted the job) nothing is written and what we stored is removed.
    const UnixSeconds now = clock_->now();
    Job done = job;
    done.leasedBy.reset();
    done.leaseExpiresAt.reset();
    bool finishedForGood = false;
    if (outcome && !storedKey.empty()) {
        done.status = JobStatus::Done;
        done.progress = 1.0;
        done.stage = "done";
        done.finishedAt = now;
        done.downloadExpiresAt = now + config_.retention.masterSeconds;
        done.outputBlobKey = storedKey;
        done.reportJson = outcome->report.dump();
        done.errorCode.reset();
        done.errorMessage.reset();
        const auto& dur = outcome->report["input"]["format"]["duration_seconds"];
        if (dur.is_number())
            done.usageAudioSeconds = dur.get<double>();
        finishedForGood = true;
    } else {
        const ApiError err = permanent ? *permanent
                             : transient ? *transient
                                         : apiError(ApiErrorCode::Internal, "the lease was lost");
        done.errorCode = std::string(err.id());
        done.errorMessage = err.message;
        if (permanent || job.attempt >= job.maxAttempts) {
            done.status = JobStatus::Failed; // dead: kept with its error
            done.stage = "failed";
            done.finishedAt = now;
            finishedForGood = true;
        } else {
            done.status = JobStatus::Queued;
            done.stage = "queued";
            done.progress = 0.0;
            done.scheduledAt = now + retryBackoffSeconds(job.attempt);
        }
    }
    const auto finished = beat.lost() ? ApiResult<bool>(false) : db_->finishLeasedJob(done, workerId_);
    if (!finished || !finished.value()) {
        // Lost the lease, or the database did not take the result: either way the job is not
        // ours to finish; its lease expires and it is retried, so drop what we stored.
        if (!storedKey.empty())
            (void)blobs_->remove(storedKey);
        return true;
    }
    // The original goes as soon as the job has finished for good (policy section 3). After the
    // fenced finish, so a worker that lost its lease never deletes what the next one needs;
    // if we die right here, the sweeper deletes it (consumedUploadsToDelete).
    if (finishedForGood && upload) {
        (void)detail::deleteUploadBytes(*db_, *blobs_, *upload, now, "job_finished"); // else the sweeper does
    }
    return true;
}

void Worker::run(int pollMs) {
    while (!stopping_) {
        if (runOnce())
            continue;
        std::unique_lock lock(stopMutex_);
        stopCv_.wait_for(lock, std::chrono::milliseconds(pollMs), [&] { return stopping_.load(); });
    }
}

void Worker::stop() {
    {
        std::lock_guard lock(stopMutex_);
        stopping_ = true;
    }
    stopCv_.notify_all();
}

} // namespace quack::service
