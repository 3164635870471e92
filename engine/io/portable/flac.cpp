// Portable FLAC decoder and encoder (portable_io.h), written from the format specification
// (RFC 9639). Why by hand and not libFLAC compiled with emcc: docs/decisions/0007-wasm-engine.md.
#include "engine/io/portable/portable_io.h"
#include "engine/io/portable/byte_io.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace quack::portable_io {
namespace {

using io_detail::fileMessage;
using io_detail::FileHandle;

/// CRC-8 (poly x^8 + x^2 + x + 1) and CRC-16 (poly 0x8005), MSB first, initial 0 (RFC 9639 s.9.1.8, 9.3).
struct CrcTables {
    std::array<std::uint8_t, 256> crc8{};
    std::array<std::uint16_t, 256> crc16{};
    CrcTables() {
        for (unsigned i = 0; i < 256; ++i) {
            unsigned c = i;
            for (int b = 0; b < 8; ++b)
                c = (c & 0x80u) ? ((c << 1) ^ 0x07u) : (c << 1);
            crc8[i] = static_cast<std::uint8_t>(c);
            unsigned d = i << 8;
            for (int b = 0; b < 8; ++b)
                d = (d & 0x8000u) ? ((d << 1) ^ 0x8005u) : (d << 1);
            crc16[i] = static_cast<std::uint16_t>(d);
        }
    }
};
const CrcTables& crcTables() {
    static const CrcTables t;
    return t;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Bytes of the file through a read-ahead buffer.
class ByteInput {
  public:
    ByteInput(int fd, std::int64_t size) : fd_(fd), size_(size) {}
    void seek(std::int64_t pos) {
        next_ = pos;
        at_ = len_ = 0;
    }
    std::int64_t position() const { return next_ - static_cast<std::int64_t>(len_ - at_); }
    bool ioError() const { return ioError_; }
    /// The next byte, or -1 at the end of the file (or after an I/O error).
    int get() {
        if (at_ == len_ && !refill())
            return -1;
        return buffer_[at_++];
    }

  private:
    bool refill() {
        if (next_ >= size_)
            return false;
        buffer_.resize(kBytes);
        const std::int64_t n = io_detail::readAt(fd_, next_, buffer_.data(), static_cast<std::int64_t>(kBytes));
        if (n <= 0) {
            ioError_ = n < 0;
            return false;
        }
        next_ += n;
        at_ = 0;
        len_ = static_cast<size_t>(n);
        return true;
    }
    static constexpr size_t kBytes = size_t{1} << 18;
    int fd_;
    std::int64_t size_;
    std::int64_t next_ = 0;
    std::vector<unsigned char> buffer_;
    size_t at_ = 0, len_ = 0;
    bool ioError_ = false;
};

/// MSB-first bit reader that loads a byte only when a read needs it, so the bytes taken are
/// exactly the frame's bytes and the running CRCs cover the frame and nothing after it.
class BitReader {
  public:
    explicit BitReader(ByteInput& in) : in_(in) {}
    void resetCrc() { crc8_ = 0, crc16_ = 0; }
    std::uint8_t crc8() const { return crc8_; }
    std::uint16_t crc16() const { return crc16_; }
    bool overrun() const { return overrun_; }
    bool aligned() const { return bits_ == 0; }
    void align() { bits_ -= bits_ % 8; }

    std::uint32_t read(int n) { // n <= 32
        if (n == 0)
            return 0;
        while (bits_ < n)
            load();
        const std::uint64_t v = (cache_ >> (bits_ - n)) & mask(n);
        bits_ -= n;
        return static_cast<std::uint32_t>(v);
    }
    std::int32_t readSigned(int n) {
        if (n == 0)
            return 0;
        const std::uint32_t u = read(n);
        const std::uint32_t sign = 1u << (n - 1);
        return static_cast<std::int32_t>(static_cast<std::int64_t>(u ^ sign) - static_cast<std::int64_t>(sign));
    }
    /// Number of 0 bits before the next 1 bit (which is consumed).
    std::uint32_t unary() {
        std::uint32_t count = 0;
        for (;;) {
            if (bits_ == 0)
                load();
            if (overrun_)
                return count;
            const std::uint64_t cur = cache_ & mask(bits_);
            if (cur == 0) {
                count += static_cast<std::uint32_t>(bits_);
                bits_ = 0;
                continue;
            }
            const int zeros = bits_ - static_cast<int>(std::bit_width(cur));
            count += static_cast<std::uint32_t>(zeros);
            bits_ -= zeros + 1;
            return count;
        }
    }

  private:
    static std::uint64_t mask(int n) { return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1; }
    void load() {
        int b = in_.get();
        if (b < 0) {
            overrun_ = true;
            b = 0;
        }
        const auto byte = static_cast<unsigned>(b);
        const CrcTables& t = crcTables();
        crc8_ = t.crc8[crc8_ ^ byte];
        crc16_ = static_cast<std::uint16_t>((crc16_ << 8) ^ t.crc16[(crc16_ >> 8) ^ byte]);
        cache_ = (cache_ << 8) | byte;
        bits_ += 8;
    }
    ByteInput& in_;
    std::uint64_t cache_ = 0;
    int bits_ = 0;
    std::uint8_t crc8_ = 0;
    std::uint16_t crc16_ = 0;
    bool overrun_ = false;
};

struct StreamInfo {
    int sampleRate = 0, channels = 0, bits = 0;
    int maxBlock = 0;
    std::int64_t totalFrames = 0;
};

class FlacSource final : public AudioSource {
  public:
    FlacSource(FileHandle file, std::int64_t size, std::string name)
        : file_(std::move(file)), size_(size), name_(std::move(name)), in_(file_.get(), size) {}

    Status open() {
        if (auto s = parseMetadata(); !s)
            return s;
        info_.container = "flac";
        info_.encoding = si_.bits == 8 ? "pcm_s8" : si_.bits == 16 ? "pcm_16" : "pcm_24";
        info_.bitsPerSample = si_.bits;
        info_.lossy = false;
        info_.sampleRate = si_.sampleRate;
        info_.channels = si_.channels;
        info_.frames = si_.totalFrames;
        info_.durationSeconds = si_.sampleRate > 0 ? static_cast<double>(si_.totalFrames) / si_.sampleRate : 0.0;
        if (auto s = io_detail::validateHeader(info_, -1, name_); !s)
            return s;
        scale_ = 1.0f / static_cast<float>(std::int64_t{1} << (si_.bits - 1));
        return {};
    }

    const AudioFileInfo& info() const override { return info_; }

    Result<FrameCount> read(AudioView block) override {
        assert(block.numChannels == info_.channels);
        if (failure_)
            return *failure_;
        FrameCount got = 0;
        while (got < block.numFrames) {
            if (frameAt_ == frameLen_) {
                if (position_ >= info_.frames)
                    break;
                if (auto s = decodeFrame(); !s)
                    return fail(s.error());
                if (frameLen_ == 0)
                    break;
            }
            const FrameCount n = std::min<FrameCount>(block.numFrames - got, frameLen_ - frameAt_);
            for (int c = 0; c < info_.channels; ++c) {
                float* out = block.channel(c) + got;
                const std::int32_t* in = samples_[static_cast<size_t>(c)].data() + frameAt_;
                for (FrameCount i = 0; i < n; ++i)
                    out[i] = static_cast<float>(in[i]) * scale_;
            }
            frameAt_ += n;
            got += n;
            position_ += n;
        }
        return got;
    }

    Status rewind() override {
        in_.seek(firstFrame_);
        position_ = 0;
        frameAt_ = frameLen_ = 0;
        failure_.reset();
        return {};
    }

  private:
    Error corrupt(const std::string& why) const {
        return makeError(ErrorCode::CorruptFile, fileMessage(name_, "is damaged: " + why));
    }
    Error corruptAt(const std::string& why) const {
        return corrupt(why + " near " +
                       io_detail::formatDuration(static_cast<double>(position_) / std::max(1, info_.sampleRate)));
    }
    Error fail(Error e) {
        failure_ = e;
        return e;
    }

    Status readBytes(std::int64_t at, unsigned char* p, std::int64_t n) {
        const std::int64_t got = io_detail::readAt(file_.get(), at, p, n);
        if (got < 0)
            return makeError(ErrorCode::ReadFailed, fileMessage(name_, "cannot be read (I/O error)"));
        if (got < n)
            return corrupt("its metadata is incomplete");
        return {};
    }

    Status parseMetadata() {
        std::int64_t offset = 0;
        unsigned char h[10];
        // ID3v2 tags may precede "fLaC" (sniffContent accepts that too).
        for (int i = 0; i < 8; ++i) {
            if (io_detail::readAt(file_.get(), offset, h, 10) != 10 || std::memcmp(h, "ID3", 3) != 0)
                break;
            const std::int64_t tagBytes = (std::int64_t{h[6]} << 21) | (h[7] << 14) | (h[8] << 7) | h[9];
            offset += 10 + tagBytes + ((h[5] & 0x10) ? 10 : 0);
        }
        if (auto s = readBytes(offset, h, 4); !s)
            return s;
        if (std::memcmp(h, "fLaC", 4) != 0)
            return corrupt("it has no FLAC stream marker");
        offset += 4;
        bool haveInfo = false;
        for (int i = 0; i < 10000; ++i) {
            if (auto s = readBytes(offset, h, 4); !s)
                return s;
            const bool last = (h[0] & 0x80) != 0;
            const int type = h[0] & 0x7F;
            const std::int64_t len = (std::int64_t{h[1]} << 16) | (h[2] << 8) | h[3];
            if (i == 0 && type != 0)
                return corrupt("its first metadata block is not STREAMINFO");
            if (type == 0) {
                if (len < 34)
                    return corrupt("its STREAMINFO block is too short");
                unsigned char b[34];
                if (auto s = readBytes(offset + 4, b, 34); !s)
                    return s;
                si_.maxBlock = (b[2] << 8) | b[3];
                si_.sampleRate = (b[10] << 12) | (b[11] << 4) | (b[12] >> 4);
                si_.channels = ((b[12] >> 1) & 7) + 1;
                si_.bits = (((b[12] & 1) << 4) | (b[13] >> 4)) + 1;
                si_.totalFrames = (std::int64_t{b[13] & 0x0F} << 32) | (std::int64_t{b[14]} << 24) |
                                  (std::int64_t{b[15]} << 16) | (std::int64_t{b[16]} << 8) | b[17];
                haveInfo = true;
            }
            offset += 4 + len;
            if (offset > size_)
                return corrupt("its metadata runs past the end of the file");
            if (last)
                break;
        }
        if (!haveInfo)
            return corrupt("it has no STREAMINFO block");
        if (si_.bits != 8 && si_.bits != 16 && si_.bits != 24)
            return makeError(ErrorCode::UnsupportedFormat,
                             fileMessage(name_, "is " + std::to_string(si_.bits) +
                                                    "-bit FLAC; 8, 16 and 24-bit FLAC are supported"));
        firstFrame_ = offset;
        in_.seek(firstFrame_);
        samples_.assign(static_cast<size_t>(si_.channels), {});
        return {};
    }

    /// One frame (RFC 9639 s.9) into samples_.
    Status decodeFrame() {
        if (in_.ioError())
            return makeError(ErrorCode::ReadFailed, fileMessage(name_, "could not be read while decoding (I/O error)"));
        BitReader br(in_);
        br.resetCrc();
        const int first = static_cast<int>(br.read(8));
        if (br.overrun())
            return truncated();
        const int second = static_cast<int>(br.read(8));
        if (first != 0xFF || (second & 0xFE) != 0xF8)
            return corruptAt("lost frame sync");
        const int blockCode = static_cast<int>(br.read(4));
        const int rateCode = static_cast<int>(br.read(4));
        const int assignment = static_cast<int>(br.read(4));
        const int sizeCode = static_cast<int>(br.read(3));
        if (br.read(1) != 0 || blockCode == 0 || rateCode == 15 || assignment > 10 || sizeCode == 3)
            return corruptAt("a frame header is invalid");
        // Coded frame/sample number (UTF-8-like, up to 7 bytes).
        const std::uint32_t lead = br.read(8);
        const int extra = lead < 0x80 ? 0 : lead >= 0xFE ? 6 : static_cast<int>(std::countl_one(static_cast<std::uint8_t>(lead))) - 1;
        if (extra < 0 || (lead >= 0x80 && lead < 0xC0))
            return corruptAt("a frame number is invalid");
        for (int i = 0; i < extra; ++i)
            if ((br.read(8) & 0xC0) != 0x80)
                return corruptAt("a frame number is invalid");
        int blockSize = 0;
        if (blockCode == 1)
            blockSize = 192;
        else if (blockCode <= 5)
            blockSize = 576 << (blockCode - 2);
        else if (blockCode == 6)
            blockSize = static_cast<int>(br.read(8)) + 1;
        else if (blockCode == 7)
            blockSize = static_cast<int>(br.read(16)) + 1;
        else
            blockSize = 256 << (blockCode - 8);
        if (rateCode == 12)
            br.read(8);
        else if (rateCode == 13 || rateCode == 14)
            br.read(16);
        static constexpr int kSizes[] = {0, 8, 12, 0, 16, 20, 24, 32};
        const int bits = sizeCode == 0 ? si_.bits : kSizes[sizeCode];
        const int channels = assignment < 8 ? assignment + 1 : 2;
        if (bits != si_.bits || channels != si_.channels)
            return corruptAt("a frame's format differs from the stream's");
        (void)br.read(8); // the CRC-8 byte: over header + CRC the remainder is 0
        if (br.overrun())
            return truncated();
        if (br.crc8() != 0)
            return corruptAt("a frame header fails its checksum");
        for (int c = 0; c < channels; ++c) {
            auto& s = samples_[static_cast<size_t>(c)];
            s.resize(static_cast<size_t>(blockSize));
            const bool side = (assignment == 8 && c == 1) || (assignment == 9 && c == 0) || (assignment == 10 && c == 1);
            if (auto st = decodeSubframe(br, s.data(), blockSize, bits + (side ? 1 : 0)); !st)
                return st;
        }
        br.align();
        (void)br.read(16);
        if (br.overrun())
            return truncated();
        if (br.crc16() != 0)
            return corruptAt("a frame fails its checksum");
        if (channels == 2 && assignment >= 8) {
            std::int32_t* a = samples_[0].data();
            std::int32_t* b = samples_[1].data();
            for (int i = 0; i < blockSize; ++i) {
                if (assignment == 8) { // left, side: right = left - side
                    b[i] = a[i] - b[i];
                } else if (assignment == 9) { // side, right: left = side + right
                    a[i] = a[i] + b[i];
                } else { // mid, side
                    const std::int64_t mid = (std::int64_t{a[i]} * 2) | (b[i] & 1);
                    a[i] = static_cast<std::int32_t>((mid + b[i]) >> 1);
                    b[i] = static_cast<std::int32_t>((mid - b[i]) >> 1);
                }
            }
        }
        frameAt_ = 0;
        frameLen_ = std::min<FrameCount>(blockSize, info_.frames - position_);
        return {};
    }

    Error truncated() const {
        return makeError(ErrorCode::CorruptFile,
                         fileMessage(name_, "is truncated: decoded " + std::to_string(position_) + " of the " +
                                                std::to_string(info_.frames) + " frames its header promises"));
    }

    Status decodeSubframe(BitReader& br, std::int32_t* out, int n, int bits) {
        if (br.read(1) != 0)
            return corruptAt("a subframe header is invalid");
        const int type = static_cast<int>(br.read(6));
        int wasted = 0;
        if (br.read(1) != 0)
            wasted = static_cast<int>(br.unary()) + 1;
        if (wasted >= bits)
            return corruptAt("a subframe header is invalid");
        bits -= wasted;
        if (type == 0) {
            std::fill(out, out + n, br.readSigned(bits));
        } else if (type == 1) {
            for (int i = 0; i < n; ++i)
                out[i] = br.readSigned(bits);
        } else if (type >= 8 && type <= 12) {
            const int order = type - 8;
            if (order > n)
                return corruptAt("a subframe's predictor is longer than its block");
            for (int i = 0; i < order; ++i)
                out[i] = br.readSigned(bits);
            if (auto s = residual(br, out, n, order); !s)
                return s;
            for (int i = order; i < n; ++i) {
                std::int64_t p = 0;
                switch (order) {
                case 1: p = out[i - 1]; break;
                case 2: p = 2 * std::int64_t{out[i - 1]} - out[i - 2]; break;
                case 3: p = 3 * std::int64_t{out[i - 1]} - 3 * std::int64_t{out[i - 2]} + out[i - 3]; break;
                case 4:
                    p = 4 * std::int64_t{out[i - 1]} - 6 * std::int64_t{out[i - 2]} + 4 * std::int64_t{out[i - 3]} - out[i - 4];
                    break;
                default: break;
                }
                out[i] = static_cast<std::int32_t>(p + out[i]);
            }
        } else if (type >= 32) {
            const int order = type - 31;
            if (order > n)
                return corruptAt("a subframe's predictor is longer than its block");
            for (int i = 0; i < order; ++i)
                out[i] = br.readSigned(bits);
            const int precision = static_cast<int>(br.read(4)) + 1;
            const int shift = br.readSigned(5);
            if (precision == 16 || shift < 0)
                return corruptAt("a subframe's predictor is invalid");
            std::array<std::int32_t, 32> coef{};
            for (int j = 0; j < order; ++j)
                coef[static_cast<size_t>(j)] = br.readSigned(precision);
            if (auto s = residual(br, out, n, order); !s)
                return s;
            for (int i = order; i < n; ++i) {
                std::int64_t sum = 0;
                for (int j = 0; j < order; ++j)
                    sum += std::int64_t{coef[static_cast<size_t>(j)]} * out[i - 1 - j];
                out[i] = static_cast<std::int32_t>((sum >> shift) + out[i]);
            }
        } else {
            return corruptAt("a subframe uses a reserved type");
        }
        if (wasted > 0)
            for (int i = 0; i < n; ++i)
                out[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(out[i]) << wasted);
        if (br.overrun())
            return truncated();
        return {};
    }

    /// Partitioned Rice residual (RFC 9639 s.9.2.7) into out[order..n).
    Status residual(BitReader& br, std::int32_t* out, int n, int order) {
        const int method = static_cast<int>(br.read(2));
        if (method > 1)
            return corruptAt("a residual uses a reserved coding");
        const int paramBits = method == 0 ? 4 : 5;
        const std::uint32_t escape = method == 0 ? 15u : 31u;
        const int partitionOrder = static_cast<int>(br.read(4));
        const int partitions = 1 << partitionOrder;
        if (n % partitions != 0 || (n >> partitionOrder) < order)
            return corruptAt("a residual's partitions do not fit its block");
        int i = order;
        for (int p = 0; p < partitions; ++p) {
            const int count = (n >> partitionOrder) - (p == 0 ? order : 0);
            const std::uint32_t param = br.read(paramBits);
            if (param == escape) {
                const int raw = static_cast<int>(br.read(5));
                for (int k = 0; k < count; ++k)
                    out[i++] = br.readSigned(raw);
            } else {
                for (int k = 0; k < count; ++k) {
                    const std::uint64_t q = br.unary();
                    if (br.overrun())
                        return truncated();
                    if (q > (std::uint64_t{0xFFFFFFFF} >> param))
                        return corruptAt("a residual value is out of range");
                    const std::uint64_t u = (q << param) | br.read(static_cast<int>(param));
                    out[i++] = static_cast<std::int32_t>(static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1));
                }
            }
            if (br.overrun())
                return truncated();
        }
        return {};
    }

    FileHandle file_;
    std::int64_t size_;
    std::string name_;
    ByteInput in_;
    StreamInfo si_;
    AudioFileInfo info_;
    std::int64_t firstFrame_ = 0;
    float scale_ = 1.0f;
    std::vector<std::vector<std::int32_t>> samples_;
    FrameCount frameAt_ = 0, frameLen_ = 0, position_ = 0;
    std::optional<Error> failure_;
};

// ---------------------------------------------------------------------------------------------
// Encoding

class BitWriter {
  public:
    void put(std::uint64_t value, int n) { // n <= 56
        acc_ = (acc_ << n) | (value & ((std::uint64_t{1} << n) - 1));
        bits_ += n;
        while (bits_ >= 8) {
            bits_ -= 8;
            bytes_.push_back(static_cast<std::uint8_t>(acc_ >> bits_));
        }
    }
    void putSigned(std::int64_t v, int n) { put(static_cast<std::uint64_t>(v), n); }
    void unary(std::uint64_t zeros) {
        while (zeros >= 32) {
            put(0, 32);
            zeros -= 32;
        }
        put(1, static_cast<int>(zeros) + 1);
    }
    void align() {
        if (bits_ > 0)
            put(0, 8 - bits_);
    }
    std::vector<std::uint8_t>& bytes() { return bytes_; }
    void clear() {
        bytes_.clear();
        acc_ = 0;
        bits_ = 0;
    }

  private:
    std::vector<std::uint8_t> bytes_;
    std::uint64_t acc_ = 0;
    int bits_ = 0;
};

constexpr int kBlockFrames = 4096;
constexpr int kMaxPartitionOrder = 8;
constexpr int kMaxFixedOrder = 4;

std::uint64_t zigzag(std::int64_t r) { return (static_cast<std::uint64_t>(r) << 1) ^ static_cast<std::uint64_t>(r >> 63); }

/// The cheapest Rice parameter for values with sum `sum` over `count` samples, and its exact
/// cost in bits given the values (sum of (u >> k) + count * (k + 1)).
struct RiceChoice {
    int param = 0;
    std::uint64_t bits = 0;
};
RiceChoice bestRice(const std::uint64_t* u, int count, int maxParam) {
    RiceChoice best{0, std::numeric_limits<std::uint64_t>::max()};
    if (count == 0)
        return {0, 0};
    std::uint64_t sum = 0;
    for (int i = 0; i < count; ++i)
        sum += u[i];
    // Near-optimal k is about log2(mean); the exact costs of it and its neighbours decide.
    const std::uint64_t mean = sum / static_cast<std::uint64_t>(count);
    const int guess = mean == 0 ? 0 : static_cast<int>(std::bit_width(mean)) - 1;
    for (int k = std::max(0, guess - 1); k <= std::min(maxParam, guess + 1); ++k) {
        std::uint64_t bits = static_cast<std::uint64_t>(count) * static_cast<std::uint64_t>(k + 1);
        for (int i = 0; i < count; ++i)
            bits += u[i] >> k;
        if (bits < best.bits)
            best = {k, bits};
    }
    return best;
}

/// One encoded subframe choice.
struct SubframePlan {
    enum Kind { Constant, Verbatim, Fixed } kind = Verbatim;
    int order = 0;
    int partitionOrder = 0;
    int method = 0;
    std::vector<int> params;
    std::uint64_t bits = 0;
};

class FlacEncoder {
  public:
    /// Plans the cheapest subframe of x[0..n) at `bits` bits per sample.
    SubframePlan plan(const std::int32_t* x, int n, int bits) {
        SubframePlan best;
        best.kind = SubframePlan::Verbatim;
        best.bits = 8 + static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(bits);
        if (std::all_of(x, x + n, [&](std::int32_t v) { return v == x[0]; })) {
            best.kind = SubframePlan::Constant;
            best.bits = 8 + static_cast<std::uint64_t>(bits);
            return best;
        }
        u_.resize(static_cast<size_t>(n));
        for (int order = 0; order <= std::min(kMaxFixedOrder, n - 1); ++order) {
            for (int i = order; i < n; ++i)
                u_[static_cast<size_t>(i)] = zigzag(fixedResidual(x, i, order));
            SubframePlan p;
            p.kind = SubframePlan::Fixed;
            p.order = order;
            const std::uint64_t header = 8 + static_cast<std::uint64_t>(order) * static_cast<std::uint64_t>(bits) + 6;
            std::uint64_t bestBits = std::numeric_limits<std::uint64_t>::max();
            for (int po = 0; po <= kMaxPartitionOrder; ++po) {
                const int parts = 1 << po;
                if (n % parts != 0 || (n >> po) < order || (po > 0 && (n >> po) < 16))
                    break;
                std::uint64_t total = 0;
                std::vector<int> params;
                int maxParam = 0;
                for (int q = 0; q < parts; ++q) {
                    const int start = q == 0 ? order : q * (n >> po);
                    const int count = (n >> po) - (q == 0 ? order : 0);
                    const RiceChoice c = bestRice(u_.data() + start, count, 30);
                    params.push_back(c.param);
                    maxParam = std::max(maxParam, c.param);
                    total += c.bits;
                }
                const int method = maxParam > 14 ? 1 : 0;
                total += static_cast<std::uint64_t>(parts) * static_cast<std::uint64_t>(method == 0 ? 4 : 5);
                if (total < bestBits) {
                    bestBits = total;
                    p.partitionOrder = po;
                    p.method = method;
                    p.params = std::move(params);
                }
            }
            p.bits = header + bestBits;
            if (p.bits < best.bits)
                best = std::move(p);
        }
        return best;
    }

    void write(BitWriter& w, const std::int32_t* x, int n, int bits, const SubframePlan& p) {
        w.put(0, 1);
        if (p.kind == SubframePlan::Constant) {
            w.put(0, 6);
            w.put(0, 1);
            w.putSigned(x[0], bits);
            return;
        }
        if (p.kind == SubframePlan::Verbatim) {
            w.put(1, 6);
            w.put(0, 1);
            for (int i = 0; i < n; ++i)
                w.putSigned(x[i], bits);
            return;
        }
        w.put(static_cast<std::uint64_t>(8 + p.order), 6);
        w.put(0, 1);
        for (int i = 0; i < p.order; ++i)
            w.putSigned(x[i], bits);
        w.put(static_cast<std::uint64_t>(p.method), 2);
        w.put(static_cast<std::uint64_t>(p.partitionOrder), 4);
        const int parts = 1 << p.partitionOrder;
        int i = p.order;
        for (int q = 0; q < parts; ++q) {
            const int k = p.params[static_cast<size_t>(q)];
            w.put(static_cast<std::uint64_t>(k), p.method == 0 ? 4 : 5);
            const int count = (n >> p.partitionOrder) - (q == 0 ? p.order : 0);
            for (int j = 0; j < count; ++j, ++i) {
                const std::uint64_t u = zigzag(fixedResidual(x, i, p.order));
                w.unary(u >> k);
                if (k > 0)
                    w.put(u, k);
            }
        }
    }

  private:
    static std::int64_t fixedResidual(const std::int32_t* x, int i, int order) {
        const std::int64_t a = x[i];
        switch (order) {
        case 0: return a;
        case 1: return a - x[i - 1];
        case 2: return a - 2 * std::int64_t{x[i - 1]} + x[i - 2];
        case 3: return a - 3 * std::int64_t{x[i - 1]} + 3 * std::int64_t{x[i - 2]} - x[i - 3];
        default:
            return a - 4 * std::int64_t{x[i - 1]} + 6 * std::int64_t{x[i - 2]} - 4 * std::int64_t{x[i - 3]} + x[i - 4];
        }
    }
    std::vector<std::uint64_t> u_;
};

class FlacWriter final : public AudioWriter {
  public:
    FlacWriter(OutputFile file, const WriterOptions& options, std::string name)
        : file_(std::move(file)), options_(options), name_(std::move(name)),
          bits_(outputFormatInfo(options.format).bits) {
        pending_.assign(static_cast<size_t>(options.channels), {});
    }

    Status start() {
        std::vector<unsigned char> head = {'f', 'L', 'a', 'C'};
        const auto info = streamInfo();
        head.push_back(0x00); // STREAMINFO, not last
        head.push_back(0);
        head.push_back(0);
        head.push_back(34);
        head.insert(head.end(), info.begin(), info.end());
        static constexpr char kVendor[] = "QuackTracks portable FLAC encoder";
        const auto vendorBytes = static_cast<std::uint32_t>(sizeof kVendor - 1);
        const std::uint32_t blockBytes = 4 + vendorBytes + 4;
        head.push_back(0x80 | 4); // VORBIS_COMMENT, last
        head.push_back(static_cast<unsigned char>(blockBytes >> 16));
        head.push_back(static_cast<unsigned char>(blockBytes >> 8));
        head.push_back(static_cast<unsigned char>(blockBytes));
        for (int b = 0; b < 4; ++b)
            head.push_back(static_cast<unsigned char>(vendorBytes >> (8 * b)));
        head.insert(head.end(), kVendor, kVendor + vendorBytes);
        head.insert(head.end(), 4, 0); // no comments
        return file_.writeAt(0, head.data(), head.size());
    }

    Status write(ConstAudioView block) override {
        assert(block.numChannels == options_.channels);
        if (!file_.isOpen())
            return makeError(ErrorCode::WriteFailed,
                             fileMessage(name_, "cannot be written: the writer is already closed"));
        if (auto s = checkFinite(block, written_, name_); !s)
            return s;
        const double scale = std::ldexp(1.0, bits_ - 1);
        FrameCount i = 0;
        while (i < block.numFrames) {
            const auto room = static_cast<FrameCount>(kBlockFrames - pending_[0].size());
            const FrameCount n = std::min(room, block.numFrames - i);
            for (int c = 0; c < options_.channels; ++c) {
                const float* in = block.channel(c) + i;
                auto& p = pending_[static_cast<size_t>(c)];
                for (FrameCount j = 0; j < n; ++j)
                    p.push_back(static_cast<std::int32_t>(
                        std::clamp(std::nearbyint(static_cast<double>(in[j]) * scale), -scale, scale - 1.0)));
            }
            i += n;
            if (pending_[0].size() == static_cast<size_t>(kBlockFrames))
                if (auto s = encodeFrame(); !s)
                    return s;
        }
        written_ += block.numFrames;
        return {};
    }

    Status close() override {
        if (!file_.isOpen())
            return {};
        Status s = pending_[0].empty() ? Status{} : encodeFrame();
        if (s) {
            const auto info = streamInfo();
            s = file_.writeAt(8, info.data(), info.size());
        }
        auto c = file_.close();
        return s ? c : s;
    }

  private:
    std::array<unsigned char, 34> streamInfo() const {
        BitWriter w;
        w.put(kBlockFrames, 16);
        w.put(kBlockFrames, 16);
        w.put(static_cast<std::uint64_t>(minFrameBytes_ == std::numeric_limits<std::uint32_t>::max() ? 0 : minFrameBytes_), 24);
        w.put(maxFrameBytes_, 24);
        w.put(static_cast<std::uint64_t>(options_.sampleRate), 20);
        w.put(static_cast<std::uint64_t>(options_.channels - 1), 3);
        w.put(static_cast<std::uint64_t>(bits_ - 1), 5);
        w.put(static_cast<std::uint64_t>(written_) >> 32, 4);
        w.put(static_cast<std::uint64_t>(written_) & 0xFFFFFFFFu, 32);
        for (int i = 0; i < 4; ++i)
            w.put(0, 32); // MD5 unknown
        std::array<unsigned char, 34> out{};
        std::copy(w.bytes().begin(), w.bytes().end(), out.begin());
        return out;
    }

    static int rateCode(int rate) {
        switch (rate) {
        case 88200: return 1;
        case 176400: return 2;
        case 192000: return 3;
        case 8000: return 4;
        case 16000: return 5;
        case 22050: return 6;
        case 24000: return 7;
        case 32000: return 8;
        case 44100: return 9;
        case 48000: return 10;
        case 96000: return 11;
        default: return 0; // from STREAMINFO
        }
    }

    Status encodeFrame() {
        const int n = static_cast<int>(pending_[0].size());
        const int channels = options_.channels;
        // Stereo: plan each decorrelation's channels and keep the cheapest (RFC 9639 s.9.1.3).
        int assignment = channels - 1;
        std::array<const std::int32_t*, 2> chan{};
        std::array<int, 2> chanBits{bits_, bits_};
        std::array<SubframePlan, 2> plans;
        if (channels == 1) {
            chan[0] = pending_[0].data();
            plans[0] = enc_.plan(chan[0], n, bits_);
        } else {
            const std::int32_t* l = pending_[0].data();
            const std::int32_t* r = pending_[1].data();
            side_.resize(static_cast<size_t>(n));
            mid_.resize(static_cast<size_t>(n));
            for (int i = 0; i < n; ++i) {
                side_[static_cast<size_t>(i)] = l[i] - r[i];
                mid_[static_cast<size_t>(i)] = static_cast<std::int32_t>((std::int64_t{l[i]} + r[i]) >> 1);
            }
            SubframePlan pl = enc_.plan(l, n, bits_), pr = enc_.plan(r, n, bits_);
            SubframePlan ps = enc_.plan(side_.data(), n, bits_ + 1), pm = enc_.plan(mid_.data(), n, bits_);
            const std::uint64_t costs[4] = {pl.bits + pr.bits, pl.bits + ps.bits, ps.bits + pr.bits, pm.bits + ps.bits};
            const int best = static_cast<int>(std::min_element(costs, costs + 4) - costs);
            switch (best) {
            case 0: assignment = 1, chan = {l, r}, plans = {pl, pr}; break;
            case 1: assignment = 8, chan = {l, side_.data()}, chanBits = {bits_, bits_ + 1}, plans = {pl, ps}; break;
            case 2: assignment = 9, chan = {side_.data(), r}, chanBits = {bits_ + 1, bits_}, plans = {ps, pr}; break;
            default: assignment = 10, chan = {mid_.data(), side_.data()}, chanBits = {bits_, bits_ + 1}, plans = {pm, ps}; break;
            }
        }
        BitWriter& w = writer_;
        w.clear();
        w.put(0xFFF8, 16); // sync, fixed block size
        const bool standard = n == kBlockFrames;
        w.put(standard ? 12u : 7u, 4); // 12: 4096; 7: 16-bit size - 1 at the end of the header
        const int rc = rateCode(options_.sampleRate);
        w.put(static_cast<std::uint64_t>(rc), 4);
        w.put(static_cast<std::uint64_t>(assignment), 4);
        w.put(bits_ == 8 ? 1u : bits_ == 16 ? 4u : 6u, 3);
        w.put(0, 1);
        putUtf8(w, frameNumber_++);
        if (!standard)
            w.put(static_cast<std::uint64_t>(n - 1), 16);
        std::uint8_t crc8 = 0;
        for (std::uint8_t b : w.bytes())
            crc8 = crcTables().crc8[crc8 ^ b];
        w.put(crc8, 8);
        for (int c = 0; c < channels; ++c)
            enc_.write(w, chan[static_cast<size_t>(c)], n, chanBits[static_cast<size_t>(c)], plans[static_cast<size_t>(c)]);
        w.align();
        std::uint16_t crc16 = 0;
        for (std::uint8_t b : w.bytes())
            crc16 = static_cast<std::uint16_t>((crc16 << 8) ^ crcTables().crc16[(crc16 >> 8) ^ b]);
        w.put(crc16, 16);
        const auto bytes = static_cast<std::uint32_t>(w.bytes().size());
        minFrameBytes_ = std::min(minFrameBytes_, bytes);
        maxFrameBytes_ = std::max(maxFrameBytes_, bytes);
        for (auto& p : pending_)
            p.clear();
        return file_.append(w.bytes().data(), w.bytes().size());
    }

    static void putUtf8(BitWriter& w, std::uint64_t v) {
        if (v < 0x80) {
            w.put(v, 8);
            return;
        }
        int extra = 1;
        while (extra < 6 && v >= (std::uint64_t{1} << (5 * extra + 6)))
            ++extra;
        const auto lead = static_cast<std::uint64_t>((0xFF00u >> (extra + 1)) & 0xFFu);
        w.put(lead | (v >> (6 * extra)), 8);
        for (int i = extra - 1; i >= 0; --i)
            w.put(0x80 | ((v >> (6 * i)) & 0x3F), 8);
    }

    OutputFile file_;
    WriterOptions options_;
    std::string name_;
    int bits_;
    FrameCount written_ = 0;
    std::uint64_t frameNumber_ = 0;
    std::uint32_t minFrameBytes_ = std::numeric_limits<std::uint32_t>::max(), maxFrameBytes_ = 0;
    std::vector<std::vector<std::int32_t>> pending_;
    std::vector<std::int32_t> side_, mid_;
    FlacEncoder enc_;
    BitWriter writer_;
};

} // namespace

Result<std::unique_ptr<AudioSource>> openFlacSource(FileHandle file, std::int64_t fileSize, const std::string& name) {
    auto source = std::make_unique<FlacSource>(std::move(file), fileSize, name);
    if (auto s = source->open(); !s)
        return s.error();
    return std::unique_ptr<AudioSource>(std::move(source));
}

Result<std::unique_ptr<AudioWriter>> createFlacWriter(const std::string& path, const WriterOptions& options) {
    const std::string name = io_detail::displayName(path);
    auto file = OutputFile::create(path, name);
    if (!file)
        return file.error();
    auto writer = std::make_unique<FlacWriter>(std::move(file).value(), options, name);
    if (auto s = writer->start(); !s)
        return s.error();
    return std::unique_ptr<AudioWriter>(std::move(writer));
}

} // namespace quack::portable_io
