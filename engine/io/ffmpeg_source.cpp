// FFmpeg back end for MP4/M4A (AAC or ALAC) and raw ADTS AAC: libavformat demuxes from our own
// descriptor through a custom AVIOContext (no file name, and the demuxer is chosen from our
// sniffing - "mov" or "aac" - so FFmpeg never probes other formats), libavcodec decodes. Only
// the AAC and ALAC decoders are used, which keeps the attack surface of a service upload small.
//
// Length: an MP4 written with an edit list (FFmpeg, Apple, fdkaac) gives the exact frame count,
// and libavcodec drops the encoder priming itself (skip-samples side data); anything decoded
// past the edit list's end (the last frame's padding) is trimmed here. An ADTS stream has no
// length field, so its count is an estimate from the bit rate and is never trimmed or called
// truncated; an MP4 that decodes to fewer than 90% of its declared frames is (like Vorbis/MP3).
#include "engine/io/ffmpeg_util.h"
#include "engine/io/io_detail.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
}

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

namespace quack::io_detail {
namespace {

constexpr double kLossyShortfallTolerance = 0.10;
constexpr int kAvioBufferBytes = 64 * 1024;
constexpr int kMaxEmptyReads = 100000;

struct InFile {
    int fd = -1;
    std::int64_t size = 0;
    std::int64_t position = 0;
    bool ioError = false;
};

int avioRead(void* opaque, std::uint8_t* data, int size) {
    auto* f = static_cast<InFile*>(opaque);
    if (f->position >= f->size)
        return AVERROR_EOF;
    const std::int64_t n = readAt(f->fd, f->position, data, size);
    if (n < 0) {
        f->ioError = true;
        return AVERROR(EIO);
    }
    if (n == 0)
        return AVERROR_EOF;
    f->position += n;
    return static_cast<int>(n);
}

std::int64_t avioSeek(void* opaque, std::int64_t offset, int whence) {
    auto* f = static_cast<InFile*>(opaque);
    std::int64_t target = 0;
    switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: target = offset; break;
    case SEEK_CUR: target = f->position + offset; break;
    case SEEK_END: target = f->size + offset; break;
    case AVSEEK_SIZE: return f->size;
    default: return AVERROR(EINVAL);
    }
    if (target < 0)
        return AVERROR(EINVAL);
    f->position = target;
    return target;
}

class FfmpegSource final : public AudioSource {
  public:
    FfmpegSource(FileHandle file, std::int64_t size, std::string name, ContentKind kind)
        : file_(std::move(file)), name_(std::move(name)), kind_(kind) {
        in_.fd = file_.get();
        in_.size = size;
    }
    ~FfmpegSource() override { closeStream(); }
    FfmpegSource(const FfmpegSource&) = delete;
    FfmpegSource& operator=(const FfmpegSource&) = delete;

    Status open() {
        if (auto s = openStream(); !s)
            return s;
        const AVCodecParameters* par = fmt_->streams[streamIndex_]->codecpar;
        info_.container = kind_ == ContentKind::Aac ? "aac" : "mp4";
        info_.encoding = par->codec_id == AV_CODEC_ID_ALAC ? "alac" : "aac";
        info_.lossy = par->codec_id != AV_CODEC_ID_ALAC;
        info_.bitsPerSample = info_.lossy ? 0 : par->bits_per_raw_sample;
        info_.sampleRate = rate_;
        info_.channels = channels_;
        info_.frames = declaredFrames_ > 0 ? declaredFrames_ : 0;
        info_.durationSeconds =
            rate_ > 0 ? static_cast<double>(info_.frames) / static_cast<double>(rate_) : 0.0;
        if (auto s = validateHeader(info_, -1, name_); !s)
            return s;
        return {};
    }

    const AudioFileInfo& info() const override { return info_; }

    Result<FrameCount> read(AudioView block) override {
        assert(block.numChannels == info_.channels);
        if (failure_)
            return *failure_;
        FrameCount got = 0;
        while (got < block.numFrames) {
            if (bufferedAt_ < buffered_) {
                FrameCount n = std::min(block.numFrames - got, buffered_ - bufferedAt_);
                if (exactLength_)
                    n = std::min<FrameCount>(n, std::max<FrameCount>(0, info_.frames - position_));
                if (n == 0) { // past the edit list's end: padding, not audio
                    bufferedAt_ = buffered_;
                    continue;
                }
                for (ChannelCount c = 0; c < channels_; ++c)
                    std::copy_n(planes_[static_cast<size_t>(c)].begin() + bufferedAt_, n,
                                block.channel(c) + got);
                bufferedAt_ += n;
                got += n;
                position_ += n;
                continue;
            }
            if (ended_)
                break;
            if (auto s = decodeMore(); !s)
                return fail(s.error());
        }
        return got;
    }

    Status rewind() override {
        closeStream();
        const int rate = rate_;
        const int channels = channels_;
        if (auto s = openStream(); !s)
            return s;
        if (rate != rate_ || channels != channels_)
            return makeError(ErrorCode::ReadFailed,
                             fileMessage(name_, "changed while it was being read"));
        position_ = 0;
        buffered_ = bufferedAt_ = 0;
        ended_ = draining_ = false;
        emptyReads_ = 0;
        failure_.reset();
        return {};
    }

  private:
    Status openStream() {
        ensureFfmpegQuiet();
        in_.position = 0;
        in_.ioError = false;
        fmt_ = avformat_alloc_context();
        auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferBytes));
        if (!fmt_ || !buffer) {
            av_free(buffer);
            return makeError(ErrorCode::Internal, "out of memory opening an MP4 file");
        }
        avio_ = avio_alloc_context(buffer, kAvioBufferBytes, 0, &in_, avioRead, nullptr, avioSeek);
        if (!avio_) {
            av_free(buffer);
            return makeError(ErrorCode::Internal, "out of memory opening an MP4 file");
        }
        fmt_->pb = avio_;
        fmt_->flags |= AVFMT_FLAG_CUSTOM_IO;
        const AVInputFormat* demuxer = av_find_input_format(kind_ == ContentKind::Aac ? "aac" : "mov");
        if (!demuxer)
            return makeError(ErrorCode::Internal, "FFmpeg has no MP4/AAC demuxer");
        // On failure avformat_open_input frees the context (not our custom AVIOContext).
        if (int rc = avformat_open_input(&fmt_, nullptr, demuxer, nullptr); rc < 0)
            return ioOr(rc, "the container cannot be parsed");
        if (int rc = avformat_find_stream_info(fmt_, nullptr); rc < 0)
            return ioOr(rc, "the stream information cannot be read");
        streamIndex_ = av_find_best_stream(fmt_, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
        if (streamIndex_ < 0)
            return makeError(ErrorCode::NoAudio,
                             fileMessage(name_, "is a valid MP4 file but contains no audio track"));
        const AVStream* st = fmt_->streams[streamIndex_];
        const AVCodecParameters* par = st->codecpar;
        if (par->codec_id != AV_CODEC_ID_AAC && par->codec_id != AV_CODEC_ID_ALAC)
            return makeError(ErrorCode::UnsupportedFormat,
                             fileMessage(name_, "holds " + std::string(avcodec_get_name(par->codec_id)) +
                                                    " audio in MP4; QuackTracks decodes AAC and "
                                                    "ALAC from MP4/M4A files"));
        const AVCodec* codec = avcodec_find_decoder(par->codec_id);
        if (!codec)
            return makeError(ErrorCode::Internal, "FFmpeg has no AAC/ALAC decoder");
        dec_ = avcodec_alloc_context3(codec);
        if (!dec_ || avcodec_parameters_to_context(dec_, par) < 0)
            return makeError(ErrorCode::Internal, "out of memory opening an MP4 file");
        dec_->pkt_timebase = st->time_base;
        if (int rc = avcodec_open2(dec_, codec, nullptr); rc < 0)
            return damaged("the decoder refused the stream (" + ffmpegError(rc) + ")");
        rate_ = par->sample_rate;
        channels_ = par->ch_layout.nb_channels;
        // The declared length: the track duration (after the edit list) in samples.
        declaredFrames_ = -1;
        exactLength_ = false;
        if (kind_ == ContentKind::Mp4 && st->duration > 0 && st->duration != AV_NOPTS_VALUE) {
            declaredFrames_ = av_rescale_q(st->duration, st->time_base, AVRational{1, rate_ > 0 ? rate_ : 1});
            exactLength_ = true;
        } else if (fmt_->duration > 0 && fmt_->duration != AV_NOPTS_VALUE && rate_ > 0) {
            declaredFrames_ = av_rescale(fmt_->duration, rate_, AV_TIME_BASE);
        }
        frame_ = av_frame_alloc();
        packet_ = av_packet_alloc();
        if (!frame_ || !packet_)
            return makeError(ErrorCode::Internal, "out of memory opening an MP4 file");
        return {};
    }

    void closeStream() {
        av_packet_free(&packet_);
        av_frame_free(&frame_);
        avcodec_free_context(&dec_);
        avformat_close_input(&fmt_);
        if (avio_) {
            av_freep(&avio_->buffer);
            avio_context_free(&avio_);
        }
    }

    /// Decodes the next frame into planes_; at the end, checks the length.
    Status decodeMore() {
        for (;;) {
            const int rc = avcodec_receive_frame(dec_, frame_);
            if (rc == 0)
                return takeFrame();
            if (rc == AVERROR_EOF)
                return finishStream();
            if (rc != AVERROR(EAGAIN))
                return ioOr(rc, "the audio cannot be decoded");
            if (draining_)
                return finishStream();
            const int rrc = av_read_frame(fmt_, packet_);
            if (rrc == AVERROR_EOF) {
                draining_ = true;
                if (int src = avcodec_send_packet(dec_, nullptr); src < 0 && src != AVERROR_EOF)
                    return ioOr(src, "the audio cannot be decoded");
                continue;
            }
            if (rrc < 0)
                return ioOr(rrc, "the container cannot be read");
            if (packet_->stream_index == streamIndex_) {
                const int src = avcodec_send_packet(dec_, packet_);
                av_packet_unref(packet_);
                if (src < 0 && src != AVERROR(EAGAIN))
                    return ioOr(src, "the audio cannot be decoded");
            } else {
                av_packet_unref(packet_);
            }
        }
    }

    Status takeFrame() {
        if (frame_->sample_rate != rate_ || frame_->ch_layout.nb_channels != channels_) {
            av_frame_unref(frame_);
            return damaged("the sample rate or channel count changes mid-stream");
        }
        const auto n = static_cast<FrameCount>(frame_->nb_samples);
        emptyReads_ = n == 0 ? emptyReads_ + 1 : 0;
        if (emptyReads_ > kMaxEmptyReads) {
            av_frame_unref(frame_);
            return damaged("the decoder stopped producing audio");
        }
        planes_.resize(static_cast<size_t>(channels_));
        const auto fmt = static_cast<AVSampleFormat>(frame_->format);
        const bool planar = av_sample_fmt_is_planar(fmt) != 0;
        for (ChannelCount c = 0; c < channels_; ++c) {
            auto& out = planes_[static_cast<size_t>(c)];
            out.resize(static_cast<size_t>(n));
            const std::uint8_t* base = frame_->extended_data[planar ? c : 0];
            const int stride = planar ? 1 : channels_;
            const int offset = planar ? 0 : c;
            for (FrameCount i = 0; i < n; ++i) {
                const auto k = static_cast<size_t>(i * stride + offset);
                switch (fmt) {
                case AV_SAMPLE_FMT_FLT:
                case AV_SAMPLE_FMT_FLTP:
                    out[static_cast<size_t>(i)] = reinterpret_cast<const float*>(base)[k];
                    break;
                case AV_SAMPLE_FMT_S16:
                case AV_SAMPLE_FMT_S16P:
                    out[static_cast<size_t>(i)] =
                        static_cast<float>(reinterpret_cast<const std::int16_t*>(base)[k]) * (1.0f / 32768.0f);
                    break;
                case AV_SAMPLE_FMT_S32:
                case AV_SAMPLE_FMT_S32P:
                    out[static_cast<size_t>(i)] = static_cast<float>(
                        static_cast<double>(reinterpret_cast<const std::int32_t*>(base)[k]) * (1.0 / 2147483648.0));
                    break;
                default:
                    av_frame_unref(frame_);
                    return damaged("the decoder produced an unexpected sample format");
                }
            }
            if (firstNonFinite(out.data(), n) >= 0) {
                av_frame_unref(frame_);
                return makeError(ErrorCode::InvalidSamples,
                                 fileMessage(name_, "decodes to non-finite samples"));
            }
        }
        av_frame_unref(frame_);
        buffered_ = n;
        bufferedAt_ = 0;
        return {};
    }

    Status finishStream() {
        ended_ = true;
        if (exactLength_ && static_cast<double>(position_ + (buffered_ - bufferedAt_)) <
                                static_cast<double>(info_.frames) * (1.0 - kLossyShortfallTolerance))
            return makeError(ErrorCode::CorruptFile,
                             fileMessage(name_, "is truncated: decoded " + std::to_string(position_) +
                                                    " of the " + std::to_string(info_.frames) +
                                                    " frames its header promises"));
        return {};
    }

    Error damaged(const std::string& detail) const {
        return makeError(ErrorCode::CorruptFile,
                         fileMessage(name_, "is damaged: the " + std::string(kind_ == ContentKind::Aac ? "AAC" : "MP4") +
                                                " audio cannot be decoded (" + detail + ")"));
    }
    Error ioOr(int rc, const std::string& what) const {
        if (in_.ioError)
            return makeError(ErrorCode::ReadFailed,
                             fileMessage(name_, "could not be read (I/O error)"));
        return damaged(what + ": " + ffmpegError(rc));
    }
    Error fail(Error e) {
        failure_ = e;
        return e;
    }

    FileHandle file_;
    std::string name_;
    ContentKind kind_;
    InFile in_;
    AVFormatContext* fmt_ = nullptr;
    AVIOContext* avio_ = nullptr;
    AVCodecContext* dec_ = nullptr;
    AVFrame* frame_ = nullptr;
    AVPacket* packet_ = nullptr;
    int streamIndex_ = -1;
    int rate_ = 0;
    int channels_ = 0;
    std::int64_t declaredFrames_ = -1;
    bool exactLength_ = false;
    AudioFileInfo info_;
    std::vector<std::vector<float>> planes_;
    FrameCount buffered_ = 0;
    FrameCount bufferedAt_ = 0;
    FrameCount position_ = 0;
    bool ended_ = false;
    bool draining_ = false;
    int emptyReads_ = 0;
    std::optional<Error> failure_;
};

} // namespace

Result<std::unique_ptr<AudioSource>> openFfmpegSource(FileHandle file, std::int64_t fileSize,
                                                      const Sniff& sniff, const std::string& name) {
    auto source = std::make_unique<FfmpegSource>(std::move(file), fileSize, name, sniff.kind);
    if (auto s = source->open(); !s)
        return s.error();
    return std::unique_ptr<AudioSource>(std::move(source));
}

} // namespace quack::io_detail
