// Streaming sample-rate conversion with libsoxr (very high quality: 28-bit, ~-170 dB aliasing,
// linear phase, passband to 0.913 * Nyquist of the lower rate). Planar float in and out.
//
// Length: the output holds exactly round(inputFrames * outputRate / inputRate) frames
// (half-up rounding in integer arithmetic), where inputFrames is what the source actually
// produced. soxr's own total can differ from that by a frame, so the tail is trimmed or
// zero-padded to it at the end of the stream. info().frames is the same formula applied to the
// source's info().frames, hence exact whenever the source's count is exact.
//
// Block-size invariance: the source is always pulled in kChunkFrames blocks whatever the
// caller asks for, so the samples do not depend on the caller's block sizes; rewind() rewinds
// the source and clears soxr, so a second pass is bit-identical.
#include "engine/io/audio_source.h"

#include <soxr.h>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace quack {
namespace {

constexpr FrameCount kChunkFrames = 4096;

FrameCount resampledLength(FrameCount inFrames, int inRate, int outRate) {
    // inFrames <= 3 h at 384 kHz (~4.1e9) times outRate (<= 384000) stays below 2^63.
    return (inFrames * outRate + inRate / 2) / inRate;
}

class ResamplingSource final : public AudioSource {
  public:
    ResamplingSource(std::unique_ptr<AudioSource> source, int outputRate, soxr_t soxr)
        : source_(std::move(source)), soxr_(soxr), inRate_(source_->info().sampleRate),
          outRate_(outputRate) {
        info_ = source_->info();
        info_.sampleRate = outRate_;
        info_.frames = resampledLength(info_.frames, inRate_, outRate_);
        info_.durationSeconds = static_cast<double>(info_.frames) / outRate_;
        channels_ = info_.channels;
        input_.resize(channels_, kChunkFrames);
        // Enough for one chunk's output plus soxr's look-ahead release at the end.
        outCapacity_ =
            static_cast<FrameCount>(kChunkFrames * static_cast<double>(outRate_) / inRate_) + 4096;
        scratch_.resize(channels_, outCapacity_);
        for (auto& f : fifo_)
            f.reserve(static_cast<size_t>(outCapacity_ * 2));
    }
    ~ResamplingSource() override { soxr_delete(soxr_); }
    ResamplingSource(const ResamplingSource&) = delete;
    ResamplingSource& operator=(const ResamplingSource&) = delete;

    const AudioFileInfo& info() const override { return info_; }

    Result<FrameCount> read(AudioView block) override {
        assert(block.numChannels == channels_);
        FrameCount got = 0;
        while (got < block.numFrames) {
            const FrameCount available = fifoFrames();
            if (available > 0) {
                const FrameCount n = std::min(available, block.numFrames - got);
                for (ChannelCount c = 0; c < channels_; ++c)
                    std::copy_n(fifo_[static_cast<size_t>(c)].begin() + fifoStart_, n,
                                block.channel(c) + got);
                fifoStart_ += n;
                got += n;
                continue;
            }
            if (finished_)
                break;
            if (auto s = refill(); !s)
                return s.error();
        }
        return got;
    }

    Status rewind() override {
        if (auto s = source_->rewind(); !s)
            return s;
        soxr_clear(soxr_);
        for (auto& f : fifo_)
            f.clear();
        fifoStart_ = 0;
        inputFrames_ = producedFrames_ = 0;
        inputEnded_ = finished_ = false;
        return {};
    }

  private:
    FrameCount fifoFrames() const {
        return static_cast<FrameCount>(fifo_[0].size()) - fifoStart_;
    }

    /// Appends up to `limit` frames of scratch_ to the FIFO (the FIFO is empty when called).
    void append(FrameCount frames) {
        if (targetFrames_)
            frames = std::clamp<FrameCount>(*targetFrames_ - producedFrames_, 0, frames);
        for (ChannelCount c = 0; c < channels_; ++c) {
            auto& f = fifo_[static_cast<size_t>(c)];
            if (fifoStart_ > 0) {
                f.erase(f.begin(), f.begin() + fifoStart_);
            }
            f.insert(f.end(), scratch_.channel(c), scratch_.channel(c) + frames);
        }
        fifoStart_ = 0;
        producedFrames_ += frames;
    }

    Status refill() {
        std::array<float*, kMaxChannels> out{};
        for (ChannelCount c = 0; c < channels_; ++c)
            out[static_cast<size_t>(c)] = scratch_.channel(c);
        if (!inputEnded_) {
            auto n = source_->read(input_.view());
            if (!n)
                return n.error();
            if (*n == 0) {
                inputEnded_ = true;
                targetFrames_ = resampledLength(inputFrames_, inRate_, outRate_);
                return {};
            }
            inputFrames_ += *n;
            size_t consumed = 0;
            while (consumed < static_cast<size_t>(*n)) {
                std::array<const float*, kMaxChannels> in{};
                for (ChannelCount c = 0; c < channels_; ++c)
                    in[static_cast<size_t>(c)] = input_.channel(c) + consumed;
                size_t idone = 0, odone = 0;
                if (soxr_error_t e = soxr_process(soxr_, in.data(), static_cast<size_t>(*n) - consumed,
                                                  &idone, out.data(),
                                                  static_cast<size_t>(outCapacity_), &odone))
                    return makeError(ErrorCode::Internal, std::string("soxr_process: ") + e);
                consumed += idone;
                append(static_cast<FrameCount>(odone));
            }
            return {};
        }
        // End of input: drain soxr, then pad to the exact length if it delivered less.
        size_t odone = 0;
        if (soxr_error_t e = soxr_process(soxr_, nullptr, 0, nullptr, out.data(),
                                          static_cast<size_t>(outCapacity_), &odone))
            return makeError(ErrorCode::Internal, std::string("soxr_process: ") + e);
        if (odone > 0) {
            append(static_cast<FrameCount>(odone));
            return {};
        }
        const FrameCount missing = *targetFrames_ - producedFrames_;
        if (missing > 0) {
            for (ChannelCount c = 0; c < channels_; ++c)
                std::fill_n(scratch_.channel(c), std::min(missing, outCapacity_), 0.0f);
            append(std::min(missing, outCapacity_));
            return {};
        }
        finished_ = true;
        return {};
    }

    std::unique_ptr<AudioSource> source_;
    soxr_t soxr_;
    int inRate_, outRate_;
    ChannelCount channels_ = 0;
    AudioFileInfo info_;
    AudioBuffer input_, scratch_;
    FrameCount outCapacity_ = 0;
    std::array<std::vector<float>, kMaxChannels> fifo_;
    FrameCount fifoStart_ = 0;
    FrameCount inputFrames_ = 0, producedFrames_ = 0;
    std::optional<FrameCount> targetFrames_;
    bool inputEnded_ = false, finished_ = false;
};

} // namespace

Result<std::unique_ptr<AudioSource>> makeResamplingSource(std::unique_ptr<AudioSource> source,
                                                          int outputRate) {
    assert(source);
    if (outputRate < kMinSampleRate || outputRate > kMaxSampleRate)
        return makeError(ErrorCode::InvalidArgument,
                         "output sample rate " + std::to_string(outputRate) +
                             " Hz is outside " + std::to_string(kMinSampleRate) + ".." +
                             std::to_string(kMaxSampleRate) + " Hz");
    const AudioFileInfo& in = source->info();
    if (in.sampleRate == outputRate)
        return source;
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S);
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_VHQ, 0);
    // One thread: the pipeline parallelises across jobs, and soxr's OpenMP pool would compete.
    const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
    soxr_error_t error = nullptr;
    soxr_t soxr = soxr_create(in.sampleRate, outputRate, static_cast<unsigned>(in.channels),
                              &error, &io, &quality, &runtime);
    if (!soxr || error) {
        if (soxr)
            soxr_delete(soxr);
        return makeError(ErrorCode::Internal, std::string("soxr_create: ") +
                                                  (error ? error : "unknown error"));
    }
    return std::unique_ptr<AudioSource>(
        std::make_unique<ResamplingSource>(std::move(source), outputRate, soxr));
}

} // namespace quack
