// libmpg123 back end for MPEG audio (MP3, and MP1/MP2). libsndfile 1.2 can decode MP3 through
// the same library, but it leaves mpg123's console messages on ("Note: Illegal Audio-MPEG-
// Header ...", printed to stderr on damaged input); library code must not print, so we drive
// mpg123 directly with MPG123_QUIET.
//
// Length: with a Xing/Info (LAME) or VBRI tag and gapless decoding, mpg123_length() is the exact
// sample count; without one it is an estimate from the file size and the first frame's bit
// rate. Truncation is therefore checked only when a tag is present, and only a shortfall of more
// than 10% is reported (see kLossyShortfallTolerance): encoder padding and the decoder's gapless
// trimming make small differences normal.
#include "engine/io/io_detail.h"

#include <mpg123.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

namespace quack::io_detail {
namespace {

constexpr double kLossyShortfallTolerance = 0.10;
constexpr FrameCount kChunkFrames = 4096;
constexpr int kMaxEmptyReads = 10000;

struct MpegFile {
    int fd = -1;
    std::int64_t size = 0;
    std::int64_t position = 0;
    bool ioError = false;
};

ssize_t mpgRead(void* handle, void* data, size_t count) {
    auto* f = static_cast<MpegFile*>(handle);
    if (f->position >= f->size)
        return 0;
    const std::int64_t n = readAt(f->fd, f->position, data, static_cast<std::int64_t>(count));
    if (n < 0) {
        f->ioError = true;
        return -1;
    }
    f->position += n;
    return static_cast<ssize_t>(n);
}

off_t mpgSeek(void* handle, off_t offset, int whence) {
    auto* f = static_cast<MpegFile*>(handle);
    std::int64_t target = offset;
    if (whence == SEEK_CUR)
        target = f->position + offset;
    else if (whence == SEEK_END)
        target = f->size + offset;
    if (target < 0)
        return -1;
    f->position = target;
    return static_cast<off_t>(target);
}

void ensureMpg123Initialised() {
    static std::once_flag once;
    std::call_once(once, [] { mpg123_init(); });
}

class MpegSource final : public AudioSource {
  public:
    MpegSource(FileHandle file, std::int64_t size, std::string name, bool hasLengthTag)
        : file_(std::move(file)), name_(std::move(name)), hasLengthTag_(hasLengthTag) {
        mf_.fd = file_.get();
        mf_.size = size;
    }
    ~MpegSource() override { closeStream(); }
    MpegSource(const MpegSource&) = delete;
    MpegSource& operator=(const MpegSource&) = delete;

    Status open() {
        if (auto s = openStream(); !s)
            return s;
        mpg123_frameinfo fi{};
        if (mpg123_info(mh_, &fi) != MPG123_OK)
            return damaged("frame information unavailable");
        info_.container = "mp3";
        info_.encoding = fi.layer == 1 ? "mp1" : (fi.layer == 2 ? "mp2" : "mp3");
        info_.bitsPerSample = 0;
        info_.lossy = true;
        info_.sampleRate = static_cast<int>(rate_);
        info_.channels = channels_;
        off_t length = mpg123_length(mh_);
        if (length < 0 && mpg123_scan(mh_) == MPG123_OK)
            length = mpg123_length(mh_);
        info_.frames = length > 0 ? static_cast<FrameCount>(length) : 0;
        info_.durationSeconds =
            rate_ > 0 ? static_cast<double>(info_.frames) / static_cast<double>(rate_) : 0.0;
        if (auto s = validateHeader(info_, -1, name_); !s)
            return s;
        scratch_.resize(static_cast<size_t>(kChunkFrames * channels_));
        return {};
    }

    const AudioFileInfo& info() const override { return info_; }

    Result<FrameCount> read(AudioView block) override {
        assert(block.numChannels == info_.channels);
        if (failure_)
            return *failure_;
        if (ended_)
            return FrameCount{0};
        FrameCount got = 0;
        while (got < block.numFrames) {
            const FrameCount want = std::min(block.numFrames - got, kChunkFrames);
            size_t bytes = 0;
            const int rc = mpg123_read(mh_, reinterpret_cast<unsigned char*>(scratch_.data()),
                                       static_cast<size_t>(want * channels_) * sizeof(float),
                                       &bytes);
            if (mf_.ioError)
                return fail(makeError(ErrorCode::ReadFailed,
                                      fileMessage(name_, "could not be read while decoding (I/O error)")));
            if (rc == MPG123_NEW_FORMAT) {
                long rate = 0;
                int channels = 0, encoding = 0;
                mpg123_getformat(mh_, &rate, &channels, &encoding);
                if (rate != rate_ || channels != channels_)
                    return fail(damaged("the sample rate or channel count changes mid-stream"));
            } else if (rc != MPG123_OK && rc != MPG123_DONE) {
                return fail(damaged(mpg123_strerror(mh_)));
            }
            const auto n = static_cast<FrameCount>(bytes / (sizeof(float) * static_cast<size_t>(channels_)));
            // A decoder that keeps answering OK without output would spin forever.
            emptyReads_ = (n == 0 && rc == MPG123_OK) ? emptyReads_ + 1 : 0;
            if (emptyReads_ > kMaxEmptyReads)
                return fail(damaged("the decoder stopped producing audio"));
            if (n > 0) {
                const std::int64_t bad = firstNonFinite(scratch_.data(), n * channels_);
                if (bad >= 0)
                    return fail(makeError(ErrorCode::InvalidSamples,
                                          fileMessage(name_, "decodes to non-finite samples")));
                for (int c = 0; c < channels_; ++c) {
                    float* out = block.channel(c) + got;
                    for (FrameCount i = 0; i < n; ++i)
                        out[i] = scratch_[static_cast<size_t>(i * channels_ + c)];
                }
                got += n;
                position_ += n;
            }
            if (rc == MPG123_DONE) {
                if (auto s = finishStream(); !s)
                    return fail(s.error());
                break;
            }
        }
        return got;
    }

    /// A fresh decoder handle per pass: bit-identical samples the second time.
    Status rewind() override {
        closeStream();
        const long rate = rate_;
        const int channels = channels_;
        if (auto s = openStream(); !s)
            return s;
        if (rate != rate_ || channels != channels_)
            return makeError(ErrorCode::ReadFailed,
                             fileMessage(name_, "changed while it was being read"));
        position_ = 0;
        ended_ = false;
        emptyReads_ = 0;
        failure_.reset();
        return {};
    }

  private:
    Status openStream() {
        ensureMpg123Initialised();
        mf_.position = 0;
        mf_.ioError = false;
        int err = MPG123_OK;
        mh_ = mpg123_new(nullptr, &err);
        if (!mh_)
            return makeError(ErrorCode::Internal, "mpg123_new failed: " +
                                                      std::string(mpg123_plain_strerror(err)));
        // QUIET: never print. GAPLESS: trim encoder delay/padding using the LAME tag.
        // FORCE_FLOAT: float output. NO_FRANKENSTEIN: stop at a stream glued onto another.
        mpg123_param(mh_, MPG123_FLAGS,
                     MPG123_QUIET | MPG123_GAPLESS | MPG123_FORCE_FLOAT | MPG123_NO_FRANKENSTEIN,
                     0.0);
        mpg123_replace_reader_handle(mh_, mpgRead, mpgSeek, nullptr);
        if (mpg123_open_handle(mh_, &mf_) != MPG123_OK)
            return damaged(mpg123_strerror(mh_));
        int encoding = 0;
        if (mpg123_getformat(mh_, &rate_, &channels_, &encoding) != MPG123_OK)
            return mf_.ioError ? makeError(ErrorCode::ReadFailed,
                                           fileMessage(name_, "could not be read (I/O error)"))
                               : damaged(mpg123_strerror(mh_));
        // Lock the output format so that a later frame cannot switch it silently.
        mpg123_format_none(mh_);
        if (mpg123_format(mh_, rate_, channels_, MPG123_ENC_FLOAT_32) != MPG123_OK)
            return damaged(mpg123_strerror(mh_));
        return {};
    }

    void closeStream() {
        if (mh_) {
            mpg123_close(mh_);
            mpg123_delete(mh_);
            mh_ = nullptr;
        }
    }

    Status finishStream() {
        ended_ = true;
        if (hasLengthTag_ && static_cast<double>(position_) <
                                 static_cast<double>(info_.frames) * (1.0 - kLossyShortfallTolerance))
            return makeError(ErrorCode::CorruptFile,
                             fileMessage(name_, "is truncated: decoded " + std::to_string(position_) +
                                                    " of the " + std::to_string(info_.frames) +
                                                    " frames its header promises"));
        return {};
    }

    Error damaged(std::string_view detail) const {
        return makeError(ErrorCode::CorruptFile,
                         fileMessage(name_, "is damaged: the MPEG audio stream cannot be decoded (" +
                                                std::string(detail) + ")"));
    }

    Error fail(Error e) {
        failure_ = e;
        return e;
    }

    FileHandle file_;
    std::string name_;
    bool hasLengthTag_ = false;
    MpegFile mf_;
    mpg123_handle* mh_ = nullptr;
    long rate_ = 0;
    int channels_ = 0;
    AudioFileInfo info_;
    std::vector<float> scratch_;
    FrameCount position_ = 0;
    bool ended_ = false;
    int emptyReads_ = 0;
    std::optional<Error> failure_;
};

} // namespace

Result<std::unique_ptr<AudioSource>> openMpegSource(FileHandle file, std::int64_t fileSize,
                                                    const Sniff& sniff, const std::string& name) {
    auto source = std::make_unique<MpegSource>(std::move(file), fileSize, name,
                                               sniff.mpegHasLengthTag);
    if (auto s = source->open(); !s)
        return s.error();
    return std::unique_ptr<AudioSource>(std::move(source));
}

} // namespace quack::io_detail
