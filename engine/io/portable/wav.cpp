// Portable RIFF WAV reader and writer (portable_io.h). The reader walks the chunks itself and
// converts samples exactly as libsndfile does; the writer lays the header out as libsndfile does
// for the formats the engine writes, so the WASM build's WAV masters match native byte for byte
// when the samples do.
#include "engine/io/portable/portable_io.h"
#include "engine/io/portable/byte_io.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

namespace quack::portable_io {
namespace {

using io_detail::fileMessage;
using io_detail::FileHandle;

constexpr FrameCount kChunkFrames = 4096;
constexpr std::uint16_t kFormatPcm = 1, kFormatFloat = 3, kFormatExtensible = 0xFFFE;

std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

enum class SampleKind { U8, S16, S24, S32, F32, F64 };

class WavSource final : public AudioSource {
  public:
    WavSource(FileHandle file, std::int64_t size, std::string name)
        : file_(std::move(file)), size_(size), name_(std::move(name)) {}

    Status open() {
        unsigned char head[12];
        if (io_detail::readAt(file_.get(), 0, head, 12) != 12)
            return corrupt("its RIFF header is incomplete");
        if (std::memcmp(head, "RIFF", 4) != 0 || std::memcmp(head + 8, "WAVE", 4) != 0)
            return makeError(ErrorCode::UnsupportedFormat,
                             fileMessage(name_, "is a RIFX or RF64 WAV, which the WebAssembly engine does "
                                                "not decode (the native engine does)"));
        std::optional<std::array<unsigned char, 40>> fmt;
        std::int64_t offset = 12;
        constexpr int kMaxChunks = 1000; // bound the walk on hostile files
        for (int i = 0; i < kMaxChunks && offset + 8 <= size_; ++i) {
            unsigned char chunk[8];
            if (io_detail::readAt(file_.get(), offset, chunk, 8) != 8)
                return readFailed();
            const std::uint32_t bytes = le32(chunk + 4);
            if (std::memcmp(chunk, "fmt ", 4) == 0) {
                if (bytes < 16)
                    return corrupt("its fmt chunk is too short");
                std::array<unsigned char, 40> f{};
                const auto want = std::min<std::int64_t>(bytes, 40);
                if (io_detail::readAt(file_.get(), offset + 8, f.data(), want) != want)
                    return corrupt("its fmt chunk is incomplete");
                fmt = f;
            } else if (std::memcmp(chunk, "data", 4) == 0) {
                if (!fmt)
                    return corrupt("its data chunk comes before the fmt chunk");
                dataOffset_ = offset + 8;
                // Streaming writers leave 0 or 0xFFFFFFFF (or 0x7FFFF000): the data runs to the end.
                dataBytes_ = (bytes == 0 || bytes >= 0x7FFFF000u) ? size_ - dataOffset_ : std::int64_t{bytes};
                break;
            }
            offset += 8 + std::int64_t{bytes} + (bytes & 1u);
        }
        if (!fmt)
            return corrupt("it has no fmt chunk");
        if (dataOffset_ < 0)
            return corrupt("it has no data chunk");
        const unsigned char* f = fmt->data();
        std::uint16_t tag = le16(f);
        const int channels = le16(f + 2);
        const auto rate = static_cast<int>(le32(f + 4));
        blockAlign_ = le16(f + 12);
        const int bits = le16(f + 14);
        if (tag == 0 || bits == 0 || blockAlign_ == 0 || channels == 0)
            return corrupt("its fmt chunk is invalid"); // libsndfile: the header cannot be parsed
        if (tag == kFormatExtensible)
            tag = le16(f + 24); // the sub-format GUID starts with the format tag
        if (tag == kFormatPcm && bits == 8)
            kind_ = SampleKind::U8;
        else if (tag == kFormatPcm && bits == 16)
            kind_ = SampleKind::S16;
        else if (tag == kFormatPcm && bits == 24)
            kind_ = SampleKind::S24;
        else if (tag == kFormatPcm && bits == 32)
            kind_ = SampleKind::S32;
        else if (tag == kFormatFloat && bits == 32)
            kind_ = SampleKind::F32;
        else if (tag == kFormatFloat && bits == 64)
            kind_ = SampleKind::F64;
        else
            return makeError(ErrorCode::UnsupportedFormat,
                             fileMessage(name_, "uses a WAV sample encoding (format " + std::to_string(tag) + ", " +
                                                    std::to_string(bits) +
                                                    " bits) the WebAssembly engine does not decode; "
                                                    "PCM 8/16/24/32-bit and float are supported"));
        static constexpr const char* kNames[] = {"pcm_u8", "pcm_16", "pcm_24", "pcm_32", "float", "double"};
        static constexpr int kBits[] = {8, 16, 24, 32, 32, 64};
        bytesPerSample_ = kBits[static_cast<int>(kind_)] / 8;
        if (channels >= 1 && blockAlign_ != channels * bytesPerSample_)
            return corrupt("its block alignment does not match its channels and sample size");
        info_.container = "wav";
        info_.encoding = kNames[static_cast<int>(kind_)];
        info_.bitsPerSample = kBits[static_cast<int>(kind_)];
        info_.lossy = false;
        info_.sampleRate = rate;
        info_.channels = channels;
        // Like libsndfile: the frame count is what the file holds; the header's claim is checked
        // against it in validateHeader (truncation).
        const std::int64_t present = std::max<std::int64_t>(0, std::min(dataBytes_, size_ - dataOffset_));
        info_.frames = blockAlign_ > 0 ? present / blockAlign_ : 0;
        info_.durationSeconds = rate > 0 ? static_cast<double>(info_.frames) / rate : 0.0;
        const std::int64_t declared =
            io_detail::declaredPcmFrames(file_.get(), size_, io_detail::ContentKind::Wav);
        if (auto s = io_detail::validateHeader(info_, declared, name_); !s)
            return s;
        raw_.resize(static_cast<size_t>(kChunkFrames * blockAlign_));
        return {};
    }

    const AudioFileInfo& info() const override { return info_; }

    Result<FrameCount> read(AudioView block) override {
        assert(block.numChannels == info_.channels);
        if (failure_)
            return *failure_;
        const int channels = info_.channels;
        FrameCount got = 0;
        while (got < block.numFrames && position_ < info_.frames) {
            const FrameCount want = std::min({block.numFrames - got, kChunkFrames, info_.frames - position_});
            const std::int64_t bytes = want * blockAlign_;
            const std::int64_t n = io_detail::readAt(file_.get(), dataOffset_ + position_ * blockAlign_, raw_.data(), bytes);
            if (n < 0)
                return fail(makeError(ErrorCode::ReadFailed,
                                      fileMessage(name_, "could not be read while decoding (I/O error)")));
            if (n < bytes)
                return fail(makeError(ErrorCode::CorruptFile,
                                      fileMessage(name_, "is truncated: decoded " + std::to_string(position_ + n / blockAlign_) +
                                                             " of the " + std::to_string(info_.frames) +
                                                             " frames its header promises")));
            for (int c = 0; c < channels; ++c) {
                float* out = block.channel(c) + got;
                const unsigned char* p = raw_.data() + c * bytesPerSample_;
                for (FrameCount i = 0; i < want; ++i, p += blockAlign_)
                    out[i] = convert(p);
                const std::int64_t bad = io_detail::firstNonFinite(out, want);
                if (bad >= 0) {
                    const FrameCount frame = position_ + bad;
                    return fail(makeError(
                        ErrorCode::InvalidSamples,
                        fileMessage(name_, "contains a non-finite sample (NaN or infinity) at " +
                                               io_detail::formatDuration(static_cast<double>(frame) / info_.sampleRate) +
                                               " (frame " + std::to_string(frame) + ", channel " +
                                               std::to_string(c + 1) + ")")));
                }
            }
            got += want;
            position_ += want;
        }
        return got;
    }

    Status rewind() override {
        position_ = 0;
        failure_.reset();
        return {};
    }

  private:
    /// libsndfile's conversions (pcm.c): integer k to float k * 2^-(bits-1), exact for every
    /// word length here; unsigned 8-bit is offset by 128; doubles are rounded to float.
    float convert(const unsigned char* p) const {
        switch (kind_) {
        case SampleKind::U8: return static_cast<float>(static_cast<int>(p[0]) - 128) * (1.0f / 128.0f);
        case SampleKind::S16: return static_cast<float>(static_cast<std::int16_t>(le16(p))) * (1.0f / 32768.0f);
        case SampleKind::S24: {
            const auto u = static_cast<std::uint32_t>(p[0] << 8 | p[1] << 16 | p[2] << 24);
            return static_cast<float>(static_cast<std::int32_t>(u) >> 8) * (1.0f / 8388608.0f);
        }
        case SampleKind::S32:
            return static_cast<float>(static_cast<std::int32_t>(le32(p))) * (1.0f / 2147483648.0f);
        case SampleKind::F32: {
            float v;
            std::memcpy(&v, p, 4); // little-endian hosts (x86-64, wasm32)
            return v;
        }
        case SampleKind::F64: {
            double v;
            std::memcpy(&v, p, 8);
            return static_cast<float>(v);
        }
        }
        return 0.0f;
    }

    Error corrupt(const std::string& why) {
        return makeError(ErrorCode::CorruptFile, fileMessage(name_, "is damaged: " + why));
    }
    Error readFailed() { return makeError(ErrorCode::ReadFailed, fileMessage(name_, "cannot be read (I/O error)")); }
    Error fail(Error e) {
        failure_ = e;
        return e;
    }

    FileHandle file_;
    std::int64_t size_;
    std::string name_;
    AudioFileInfo info_;
    SampleKind kind_ = SampleKind::S16;
    int blockAlign_ = 0, bytesPerSample_ = 2;
    std::int64_t dataOffset_ = -1, dataBytes_ = 0;
    std::vector<unsigned char> raw_;
    FrameCount position_ = 0;
    std::optional<Error> failure_;
};

class WavWriter final : public AudioWriter {
  public:
    WavWriter(OutputFile file, const WriterOptions& options, std::string name)
        : file_(std::move(file)), options_(options), name_(std::move(name)),
          bits_(outputFormatInfo(options.format).bits) {}

    Status start() { return header(0); }

    Status write(ConstAudioView block) override {
        assert(block.numChannels == options_.channels);
        if (!file_.isOpen())
            return makeError(ErrorCode::WriteFailed,
                             fileMessage(name_, "cannot be written: the writer is already closed"));
        const int channels = options_.channels;
        if (auto s = checkFinite(block, written_, name_); !s)
            return s;
        const int width = bits_ > 0 ? bits_ / 8 : 4;
        bytes_.resize(static_cast<size_t>(block.numFrames * channels * width));
        unsigned char* out = bytes_.data();
        const double scale = bits_ > 0 ? std::ldexp(1.0, bits_ - 1) : 1.0;
        for (FrameCount i = 0; i < block.numFrames; ++i)
            for (int c = 0; c < channels; ++c) {
                const float x = block.channel(c)[i];
                if (bits_ > 0) {
                    // The grid rule of the native writer: nearest integer, clamped.
                    const auto k = static_cast<std::int32_t>(
                        std::clamp(std::nearbyint(static_cast<double>(x) * scale), -scale, scale - 1.0));
                    const auto u = static_cast<std::uint32_t>(k);
                    for (int b = 0; b < width; ++b)
                        *out++ = static_cast<unsigned char>(u >> (8 * b));
                } else {
                    std::memcpy(out, &x, 4);
                    out += 4;
                }
            }
        if (auto s = file_.append(bytes_.data(), bytes_.size()); !s)
            return s;
        written_ += block.numFrames;
        return {};
    }

    Status close() override {
        if (!file_.isOpen())
            return {};
        // RIFF chunks are word-aligned: an odd data chunk (24-bit mono or 3-channel with an odd
        // frame count) is followed by a pad byte the RIFF size counts and the data size does not.
        Status s = dataBytes(written_) % 2 ? file_.append(kPad, 1) : Status{};
        if (s)
            s = header(written_);
        auto c = file_.close();
        return s ? c : s;
    }

  private:
    static constexpr unsigned char kPad[1] = {0};

    std::uint32_t dataBytes(FrameCount frames) const {
        const int width = bits_ == 0 ? 4 : bits_ / 8;
        return static_cast<std::uint32_t>(frames * options_.channels * width);
    }

    /// libsndfile's layout: RIFF, WAVE, fmt (16 bytes), then for float a fact chunk and a
    /// 24-byte PAD chunk (where libsndfile reserves room for its PEAK chunk), then data.
    Status header(FrameCount frames) {
        const bool isFloat = bits_ == 0;
        const int width = isFloat ? 4 : bits_ / 8;
        const std::uint32_t channels = static_cast<std::uint32_t>(options_.channels);
        const auto rate = static_cast<std::uint32_t>(options_.sampleRate);
        const std::uint32_t data = dataBytes(frames);
        std::vector<unsigned char> h;
        auto tag = [&](const char* t) { h.insert(h.end(), t, t + 4); };
        auto u32 = [&](std::uint32_t v) {
            for (int b = 0; b < 4; ++b)
                h.push_back(static_cast<unsigned char>(v >> (8 * b)));
        };
        auto u16 = [&](std::uint32_t v) {
            h.push_back(static_cast<unsigned char>(v));
            h.push_back(static_cast<unsigned char>(v >> 8));
        };
        const std::uint32_t headerBytes = isFloat ? 88 : 44;
        tag("RIFF");
        u32(headerBytes - 8 + data + data % 2);
        tag("WAVE");
        tag("fmt ");
        u32(16);
        u16(isFloat ? kFormatFloat : kFormatPcm);
        u16(channels);
        u32(rate);
        u32(rate * channels * static_cast<std::uint32_t>(width));
        u16(channels * static_cast<std::uint32_t>(width));
        u16(static_cast<std::uint32_t>(width * 8));
        if (isFloat) {
            tag("fact");
            u32(4);
            u32(static_cast<std::uint32_t>(frames));
            tag("PAD ");
            u32(24);
            h.insert(h.end(), 24, 0);
        }
        tag("data");
        u32(data);
        assert(h.size() == headerBytes);
        return file_.writeAt(0, h.data(), h.size());
    }

    OutputFile file_;
    WriterOptions options_;
    std::string name_;
    int bits_;
    FrameCount written_ = 0;
    std::vector<unsigned char> bytes_;
};

} // namespace

Result<std::unique_ptr<AudioSource>> openWavSource(FileHandle file, std::int64_t fileSize, const std::string& name) {
    auto source = std::make_unique<WavSource>(std::move(file), fileSize, name);
    if (auto s = source->open(); !s)
        return s.error();
    return std::unique_ptr<AudioSource>(std::move(source));
}

Result<std::unique_ptr<AudioWriter>> createWavWriter(const std::string& path, const WriterOptions& options) {
    const std::string name = io_detail::displayName(path);
    auto file = OutputFile::create(path, name);
    if (!file)
        return file.error();
    auto writer = std::make_unique<WavWriter>(std::move(file).value(), options, name);
    if (auto s = writer->start(); !s)
        return s.error();
    return std::unique_ptr<AudioWriter>(std::move(writer));
}

} // namespace quack::portable_io
