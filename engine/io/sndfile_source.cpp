// libsndfile back end: WAV (incl. WAVEX, RF64), AIFF/AIFC, FLAC, Ogg Vorbis, Ogg Opus.
// The file is read through sf_open_virtual over our own descriptor, so libsndfile never sees a
// file name (it would otherwise guess a format from the extension, e.g. hand garbage.mp3 to
// its MPEG decoder) and every byte it reads goes through readAt().
#include "engine/io/io_detail.h"

#include <sndfile.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

namespace quack::io_detail {
namespace {

/// libsndfile reads a few kilobytes per call; vioRead serves them from a read-ahead buffer
/// of this many bytes, so a pass over a file makes ~200 system calls per 50 MB, not ~8000.
constexpr sf_count_t kReadAheadBytes = sf_count_t{1} << 18;

/// State behind libsndfile's virtual I/O callbacks.
struct VirtualFile {
    int fd = -1;
    sf_count_t size = 0;
    sf_count_t position = 0;
    bool ioError = false;
    std::vector<unsigned char> cache;  ///< bytes [cacheStart, cacheStart + cacheBytes) of the file
    sf_count_t cacheStart = 0;
    sf_count_t cacheBytes = 0;
    /// Forgets the read-ahead (on rewind: a new pass reads the file again).
    void dropCache() { cacheBytes = 0; }
};

sf_count_t vioLength(void* user) { return static_cast<VirtualFile*>(user)->size; }

sf_count_t vioSeek(sf_count_t offset, int whence, void* user) {
    auto* vf = static_cast<VirtualFile*>(user);
    sf_count_t target = offset;
    if (whence == SEEK_CUR)
        target = vf->position + offset;
    else if (whence == SEEK_END)
        target = vf->size + offset;
    if (target < 0)
        return -1;
    vf->position = target;
    return target;
}

sf_count_t vioRead(void* data, sf_count_t count, void* user) {
    auto* vf = static_cast<VirtualFile*>(user);
    if (count <= 0 || vf->position >= vf->size)
        return 0;
    const sf_count_t pos = vf->position;
    bool cached = pos >= vf->cacheStart && pos + count <= vf->cacheStart + vf->cacheBytes;
    if (!cached && count < kReadAheadBytes) {
        // Refill from the current position: the whole request then comes from the buffer
        // (short only at the end of the file, as a direct read would be).
        vf->cache.resize(static_cast<size_t>(kReadAheadBytes));
        const std::int64_t got = readAt(vf->fd, pos, vf->cache.data(), kReadAheadBytes);
        if (got < 0) {
            vf->ioError = true;
            vf->dropCache();
            return 0;
        }
        vf->cacheStart = pos;
        vf->cacheBytes = got;
        cached = true;
    }
    if (cached) {
        const sf_count_t n = std::min(count, vf->cacheStart + vf->cacheBytes - pos);
        std::memcpy(data, vf->cache.data() + (pos - vf->cacheStart), static_cast<size_t>(n));
        vf->position += n;
        return n;
    }
    const std::int64_t n = readAt(vf->fd, pos, data, count);
    if (n < 0) {
        vf->ioError = true;
        return 0;
    }
    vf->position += n;
    return n;
}

sf_count_t vioWrite(const void*, sf_count_t, void*) { return 0; }
sf_count_t vioTell(void* user) { return static_cast<VirtualFile*>(user)->position; }

struct EncodingFacts {
    const char* name;
    int bits;
    bool lossy;
    bool pcm; ///< plain PCM/float samples: the data size fixes the frame count
};

EncodingFacts encodingFacts(int subtype) {
    switch (subtype) {
    case SF_FORMAT_PCM_S8: return {"pcm_s8", 8, false, true};
    case SF_FORMAT_PCM_U8: return {"pcm_u8", 8, false, true};
    case SF_FORMAT_PCM_16: return {"pcm_16", 16, false, true};
    case SF_FORMAT_PCM_24: return {"pcm_24", 24, false, true};
    case SF_FORMAT_PCM_32: return {"pcm_32", 32, false, true};
    case SF_FORMAT_FLOAT: return {"float", 32, false, true};
    case SF_FORMAT_DOUBLE: return {"double", 64, false, true};
    case SF_FORMAT_ULAW: return {"ulaw", 8, false, true};
    case SF_FORMAT_ALAW: return {"alaw", 8, false, true};
    case SF_FORMAT_VORBIS: return {"vorbis", 0, true, false};
    case SF_FORMAT_OPUS: return {"opus", 0, true, false};
    case SF_FORMAT_IMA_ADPCM: return {"ima_adpcm", 4, true, false};
    case SF_FORMAT_MS_ADPCM: return {"ms_adpcm", 4, true, false};
    case SF_FORMAT_GSM610: return {"gsm610", 0, true, false};
    case SF_FORMAT_G721_32: return {"g721", 4, true, false};
    default: return {"other", 0, true, false};
    }
}

/// For lossy streams the header's length (the last Ogg granule position) may legitimately
/// differ a little from what the decoder produces; only a shortfall above this fraction is
/// reported as truncation.
constexpr double kLossyShortfallTolerance = 0.10;
constexpr sf_count_t kChunkFrames = 4096;

class SndfileSource final : public AudioSource {
  public:
    SndfileSource(FileHandle file, std::int64_t size, std::string name)
        : file_(std::move(file)), name_(std::move(name)) {
        vf_.fd = file_.get();
        vf_.size = size;
        vio_ = {vioLength, vioSeek, vioRead, vioWrite, vioTell};
    }
    ~SndfileSource() override {
        if (snd_)
            sf_close(snd_);
    }
    SndfileSource(const SndfileSource&) = delete;
    SndfileSource& operator=(const SndfileSource&) = delete;

    /// First open: fills info_ and validates it.
    Status open(const Sniff& sniff) {
        if (auto s = openStream(); !s)
            return s;
        const int major = sfInfo_.format & SF_FORMAT_TYPEMASK;
        const int subtype = sfInfo_.format & SF_FORMAT_SUBMASK;
        switch (major) {
        case SF_FORMAT_WAV:
        case SF_FORMAT_WAVEX:
        case SF_FORMAT_RF64: info_.container = "wav"; break;
        case SF_FORMAT_AIFF: info_.container = "aiff"; break;
        case SF_FORMAT_FLAC: info_.container = "flac"; break;
        case SF_FORMAT_OGG:
            if (subtype == SF_FORMAT_VORBIS)
                info_.container = "ogg";
            else if (subtype == SF_FORMAT_OPUS)
                info_.container = "opus";
            break;
        default: break;
        }
        if (info_.container.empty())
            return makeError(ErrorCode::UnsupportedFormat,
                             fileMessage(name_, "is a variant of " +
                                                    std::string(contentName(sniff.kind)) +
                                                    " that QuackTracks does not decode"));
        const EncodingFacts facts = encodingFacts(subtype);
        info_.encoding = facts.name;
        info_.bitsPerSample = facts.bits;
        info_.lossy = facts.lossy;
        info_.sampleRate = sfInfo_.samplerate;
        info_.channels = sfInfo_.channels;
        info_.frames = sfInfo_.frames;
        info_.durationSeconds =
            sfInfo_.samplerate > 0 ? static_cast<double>(sfInfo_.frames) / sfInfo_.samplerate : 0.0;
        exactLength_ = major != SF_FORMAT_OGG;
        const std::int64_t declared =
            facts.pcm ? declaredPcmFrames(file_.get(), vf_.size, sniff.kind) : -1;
        if (auto s = validateHeader(info_, declared, name_); !s)
            return s;
        scratch_.resize(static_cast<size_t>(kChunkFrames * info_.channels));
        return {};
    }

    const AudioFileInfo& info() const override { return info_; }

    Result<FrameCount> read(AudioView block) override {
        assert(block.numChannels == info_.channels);
        if (failure_)
            return *failure_;
        if (ended_)
            return FrameCount{0};
        const int channels = info_.channels;
        FrameCount got = 0;
        while (got < block.numFrames) {
            const sf_count_t want = std::min<sf_count_t>(block.numFrames - got, kChunkFrames);
            const sf_count_t n = sf_readf_float(snd_, scratch_.data(), want);
            if (vf_.ioError)
                return fail(makeError(ErrorCode::ReadFailed,
                                      fileMessage(name_, "could not be read while decoding (I/O error)")));
            if (n <= 0) {
                if (auto s = finishStream(); !s)
                    return fail(s.error());
                break;
            }
            const std::int64_t bad = firstNonFinite(scratch_.data(), n * channels);
            if (bad >= 0) {
                const FrameCount frame = position_ + bad / channels;
                return fail(makeError(
                    ErrorCode::InvalidSamples,
                    fileMessage(name_, "contains a non-finite sample (NaN or infinity) at " +
                                           formatDuration(static_cast<double>(frame) /
                                                          info_.sampleRate) +
                                           " (frame " + std::to_string(frame) + ", channel " +
                                           std::to_string(bad % channels + 1) + ")")));
            }
            const float* in = scratch_.data();
            for (int c = 0; c < channels; ++c) {
                float* out = block.channel(c) + got;
                for (sf_count_t i = 0; i < n; ++i)
                    out[i] = in[i * channels + c];
            }
            got += n;
            position_ += n;
        }
        return got;
    }

    /// Reopens the stream: a fresh decoder gives bit-identical samples on the next pass for
    /// every codec, which a seek does not promise for the lossy ones.
    Status rewind() override {
        if (snd_) {
            sf_close(snd_);
            snd_ = nullptr;
        }
        const SF_INFO before = sfInfo_;
        if (auto s = openStream(); !s)
            return s;
        if (sfInfo_.frames != before.frames || sfInfo_.channels != before.channels ||
            sfInfo_.samplerate != before.samplerate)
            return makeError(ErrorCode::ReadFailed,
                             fileMessage(name_, "changed while it was being read"));
        position_ = 0;
        ended_ = false;
        failure_.reset();
        return {};
    }

  private:
    Status openStream() {
        vf_.position = 0;
        vf_.ioError = false;
        vf_.dropCache();
        sfInfo_ = SF_INFO{};
        snd_ = sf_open_virtual(&vio_, SFM_READ, &sfInfo_, &vf_);
        if (snd_)
            return {};
        const int code = sf_error(nullptr);
        const std::string detail = sf_strerror(nullptr);
        if (vf_.ioError || code == SF_ERR_SYSTEM)
            return makeError(ErrorCode::ReadFailed,
                             fileMessage(name_, "cannot be read (" + detail + ")"));
        if (code == SF_ERR_UNSUPPORTED_ENCODING)
            return makeError(ErrorCode::UnsupportedFormat,
                             fileMessage(name_, "uses a sample encoding QuackTracks cannot decode (" +
                                                    detail + ")"));
        return makeError(ErrorCode::CorruptFile,
                         fileMessage(name_, "is damaged: its header cannot be parsed (" + detail + ")"));
    }

    Status finishStream() {
        ended_ = true;
        if (sf_error(snd_) != SF_ERR_NO_ERROR)
            return makeError(ErrorCode::CorruptFile,
                             fileMessage(name_, "is damaged: decoding failed near " +
                                                    formatDuration(static_cast<double>(position_) /
                                                                   info_.sampleRate) +
                                                    " (" + sf_strerror(snd_) + ")"));
        const double expected = static_cast<double>(info_.frames);
        const bool shortfall =
            exactLength_ ? position_ < info_.frames
                         : static_cast<double>(position_) < expected * (1.0 - kLossyShortfallTolerance);
        if (shortfall)
            return makeError(ErrorCode::CorruptFile,
                             fileMessage(name_, "is truncated: decoded " + std::to_string(position_) +
                                                    " of the " + std::to_string(info_.frames) +
                                                    " frames its header promises"));
        return {};
    }

    Error fail(Error e) {
        failure_ = e;
        return e;
    }

    FileHandle file_;
    std::string name_;
    VirtualFile vf_;
    SF_VIRTUAL_IO vio_{};
    SF_INFO sfInfo_{};
    SNDFILE* snd_ = nullptr;
    AudioFileInfo info_;
    bool exactLength_ = true;
    std::vector<float> scratch_;
    FrameCount position_ = 0;
    bool ended_ = false;
    std::optional<Error> failure_;
};

} // namespace

Result<std::unique_ptr<AudioSource>> openSndfileSource(FileHandle file, std::int64_t fileSize,
                                                       const Sniff& sniff,
                                                       const std::string& name) {
    auto source = std::make_unique<SndfileSource>(std::move(file), fileSize, name);
    if (auto s = source->open(sniff); !s)
        return s.error();
    return std::unique_ptr<AudioSource>(std::move(source));
}

} // namespace quack::io_detail
