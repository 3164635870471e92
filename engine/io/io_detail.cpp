#include "engine/io/io_detail.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <unistd.h>

namespace quack::io_detail {

FileHandle& FileHandle::operator=(FileHandle&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

FileHandle::~FileHandle() {
    if (fd_ >= 0)
        ::close(fd_);
}

std::int64_t readAt(int fd, std::int64_t offset, void* data, std::int64_t size) {
    auto* out = static_cast<unsigned char*>(data);
    std::int64_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, out + done, static_cast<size_t>(size - done),
                                  static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        done += n;
    }
    return done;
}

std::string displayName(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string lowerExtension(std::string_view path) {
    const auto slash = path.find_last_of('/');
    const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const auto dot = base.find_last_of('.');
    if (dot == std::string_view::npos || dot == 0)
        return {};
    std::string ext(base.substr(dot + 1));
    for (auto& ch : ext)
        if (ch >= 'A' && ch <= 'Z')
            ch = static_cast<char>(ch - 'A' + 'a');
    return ext;
}

std::string fileMessage(const std::string& name, std::string_view text) {
    std::string m = "'" + name + "' ";
    m += text;
    return m;
}

std::string formatDuration(double seconds) {
    char buf[64];
    if (seconds < 60.0) {
        std::snprintf(buf, sizeof buf, "%.2f s", seconds);
    } else {
        const auto total = static_cast<long long>(std::floor(seconds));
        std::snprintf(buf, sizeof buf, "%lld h %02lld min %02lld s", total / 3600,
                      (total / 60) % 60, total % 60);
    }
    return buf;
}

std::int64_t firstNonFinite(const float* data, std::int64_t count) {
    // NaN and +-Inf are exactly the floats whose exponent bits are all ones. The OR-reduction
    // vectorises; the exact index is searched only when something was found.
    constexpr std::uint32_t kExponent = 0x7F800000u;
    std::uint32_t bad = 0;
    for (std::int64_t i = 0; i < count; ++i)
        bad |= static_cast<std::uint32_t>((std::bit_cast<std::uint32_t>(data[i]) & kExponent) ==
                                          kExponent);
    if (!bad)
        return -1;
    for (std::int64_t i = 0; i < count; ++i)
        if (!std::isfinite(data[i]))
            return i;
    return -1;
}

namespace {

bool hasTag(const unsigned char* p, const char* tag) { return std::memcmp(p, tag, 4) == 0; }

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
std::uint32_t le32(const unsigned char* p) {
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
           std::uint32_t{p[0]};
}
std::uint16_t le16(const unsigned char* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint16_t be16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

/// One parsed MPEG audio frame header (ISO/IEC 11172-3 s.2.4.1.3, 13818-3 for 2/2.5).
struct MpegFrame {
    int version = 0; ///< 0 = MPEG-1, 1 = MPEG-2, 2 = MPEG-2.5
    int layer = 0;   ///< 1..3
    int sampleRate = 0;
    bool mono = false;
    std::int64_t length = 0; ///< bytes including the header
};

bool parseMpegFrame(const unsigned char* p, MpegFrame& f) {
    if (p[0] != 0xFF || (p[1] & 0xE0) != 0xE0)
        return false;
    const int versionBits = (p[1] >> 3) & 3, layerBits = (p[1] >> 1) & 3;
    const int bitrateIndex = p[2] >> 4, rateIndex = (p[2] >> 2) & 3, padding = (p[2] >> 1) & 1;
    if (versionBits == 1 || layerBits == 0 || bitrateIndex == 0 || bitrateIndex == 15 ||
        rateIndex == 3 || (p[3] & 3) == 2)
        return false; // reserved values; free-format streams are not accepted
    static constexpr std::array<std::array<int, 15>, 5> kBitrates = {{
        {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448}, // MPEG-1 L1
        {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},    // MPEG-1 L2
        {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},     // MPEG-1 L3
        {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},    // MPEG-2 L1
        {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},         // MPEG-2 L2/L3
    }};
    static constexpr std::array<std::array<int, 3>, 3> kRates = {
        {{44100, 48000, 32000}, {22050, 24000, 16000}, {11025, 12000, 8000}}};
    f.version = versionBits == 3 ? 0 : (versionBits == 2 ? 1 : 2);
    f.layer = 4 - layerBits;
    const int table = f.version == 0 ? f.layer - 1 : (f.layer == 1 ? 3 : 4);
    const std::int64_t bitrate =
        kBitrates[static_cast<size_t>(table)][static_cast<size_t>(bitrateIndex)] * 1000;
    f.sampleRate = kRates[static_cast<size_t>(f.version)][static_cast<size_t>(rateIndex)];
    f.mono = ((p[3] >> 6) & 3) == 3;
    if (f.layer == 1)
        f.length = (12 * bitrate / f.sampleRate + padding) * 4;
    else if (f.layer == 3 && f.version != 0)
        f.length = 72 * bitrate / f.sampleRate + padding;
    else
        f.length = 144 * bitrate / f.sampleRate + padding;
    return f.length >= 4;
}

/// Looks for two consecutive, consistent MPEG frames (or one that ends exactly at EOF) starting
/// within the first 64 KiB after `offset`.
bool findMpeg(int fd, std::int64_t offset, std::int64_t fileSize, Sniff& sniff) {
    constexpr std::int64_t kSearch = 64 * 1024, kMaxFrame = 8 * 1024;
    const std::int64_t want = std::min(kSearch + kMaxFrame, fileSize - offset);
    if (want < 4)
        return false;
    std::vector<unsigned char> buf(static_cast<size_t>(want));
    const std::int64_t got = readAt(fd, offset, buf.data(), want);
    if (got < 4)
        return false;
    for (std::int64_t i = 0; i + 4 <= std::min(got, kSearch); ++i) {
        MpegFrame first;
        if (!parseMpegFrame(&buf[static_cast<size_t>(i)], first))
            continue;
        const std::int64_t next = i + first.length;
        bool ok = offset + next == fileSize;
        if (!ok && next + 4 <= got) {
            MpegFrame second;
            ok = parseMpegFrame(&buf[static_cast<size_t>(next)], second) &&
                 second.version == first.version && second.layer == first.layer &&
                 second.sampleRate == first.sampleRate;
        }
        if (!ok)
            continue;
        sniff.kind = ContentKind::Mpeg;
        sniff.mpegOffset = offset + i;
        sniff.mpegLayer = first.layer;
        // Xing/Info (LAME) or VBRI tag in the first frame: carries the exact frame count.
        if (first.layer == 3) {
            const std::int64_t side = first.version == 0 ? (first.mono ? 17 : 32)
                                                         : (first.mono ? 9 : 17);
            const std::int64_t xing = i + 4 + side;
            if (xing + 8 <= got) {
                const unsigned char* x = &buf[static_cast<size_t>(xing)];
                if ((hasTag(x, "Xing") || hasTag(x, "Info")) && (be32(x + 4) & 1u))
                    sniff.mpegHasLengthTag = true;
            }
            const std::int64_t vbri = i + 4 + 32;
            if (vbri + 4 <= got && hasTag(&buf[static_cast<size_t>(vbri)], "VBRI"))
                sniff.mpegHasLengthTag = true;
        }
        return true;
    }
    return false;
}

ContentKind sniffAt(const unsigned char* h, std::int64_t n) {
    if (n >= 12 && (hasTag(h, "RIFF") || hasTag(h, "RIFX")) && hasTag(h + 8, "WAVE"))
        return ContentKind::Wav;
    if (n >= 12 && hasTag(h, "RF64") && hasTag(h + 8, "WAVE"))
        return ContentKind::Rf64;
    if (n >= 12 && hasTag(h, "FORM") && (hasTag(h + 8, "AIFF") || hasTag(h + 8, "AIFC")))
        return ContentKind::Aiff;
    if (n >= 4 && hasTag(h, "fLaC"))
        return ContentKind::Flac;
    if (n >= 4 && hasTag(h, "OggS")) {
        // First page: 27-byte header, segment table, then the first packet.
        if (n < 28)
            return ContentKind::OggOther;
        const std::int64_t packet = 27 + h[26];
        auto at = [&](const char* magic, std::int64_t len) {
            return packet + len <= n && std::memcmp(h + packet, magic, static_cast<size_t>(len)) == 0;
        };
        if (at("OpusHead", 8))
            return ContentKind::OggOpus;
        if (at("\x01vorbis", 7))
            return ContentKind::OggVorbis;
        return ContentKind::OggOther;
    }
    if (n >= 8 && hasTag(h + 4, "ftyp"))
        return ContentKind::Mp4;
    if (n >= 4 && hasTag(h, "caff"))
        return ContentKind::Caf;
    if (n >= 4 && (hasTag(h, ".snd") || hasTag(h, "dns.")))
        return ContentKind::Au;
    if (n >= 4 && hasTag(h, "riff"))
        return ContentKind::W64;
    if (n >= 8 && std::memcmp(h, "\x30\x26\xB2\x75\x8E\x66\xCF\x11", 8) == 0)
        return ContentKind::Asf;
    if (n >= 4 && std::memcmp(h, "\x1A\x45\xDF\xA3", 4) == 0)
        return ContentKind::Matroska;
    if (n >= 4 && hasTag(h, "MThd"))
        return ContentKind::Midi;
    if (n >= 4 && hasTag(h, "MAC "))
        return ContentKind::Ape;
    if (n >= 4 && hasTag(h, "wvpk"))
        return ContentKind::WavPack;
    if (n >= 2 && h[0] == 0xFF && (h[1] & 0xF6) == 0xF0)
        return ContentKind::Aac; // ADTS: sync with layer bits 00
    return ContentKind::Unknown;
}

/// Two bytes of sync are weak evidence: like MPEG audio, ADTS counts only when the frame length
/// in the first header (ISO/IEC 13818-7 s.6.2, 13 bits from bit 30) leads to a second header,
/// or exactly to the end of the file.
bool adtsFrameFollows(int fd, std::int64_t offset, std::int64_t fileSize, const unsigned char* h,
                      std::int64_t n) {
    if (n < 7)
        return false;
    const std::int64_t length = ((std::int64_t{h[3]} & 0x03) << 11) | (std::int64_t{h[4]} << 3) |
                                (std::int64_t{h[5]} >> 5);
    if (length < 7)
        return false;
    const std::int64_t next = offset + length;
    if (next == fileSize)
        return true;
    unsigned char sync[2];
    return readAt(fd, next, sync, 2) == 2 && sync[0] == 0xFF && (sync[1] & 0xF6) == 0xF0;
}

} // namespace

Sniff sniffContent(int fd, std::int64_t fileSize) {
    Sniff sniff;
    std::int64_t offset = 0;
    // Skip ID3v2 tags (possibly several): 10-byte header + syncsafe size (+ 10-byte footer).
    for (int tags = 0; tags < 4; ++tags) {
        unsigned char id3[10];
        if (readAt(fd, offset, id3, 10) != 10 || std::memcmp(id3, "ID3", 3) != 0)
            break;
        if ((id3[6] | id3[7] | id3[8] | id3[9]) & 0x80)
            break; // not syncsafe: not an ID3 tag
        const std::int64_t size = (std::int64_t{id3[6]} << 21) | (std::int64_t{id3[7]} << 14) |
                                  (std::int64_t{id3[8]} << 7) | std::int64_t{id3[9]};
        offset += 10 + size + ((id3[5] & 0x10) ? 10 : 0);
    }
    unsigned char head[64] = {};
    const std::int64_t n = offset < fileSize ? readAt(fd, offset, head, sizeof head) : 0;
    if (n > 0)
        sniff.kind = sniffAt(head, n);
    if (offset > 0 && sniff.kind != ContentKind::Flac && sniff.kind != ContentKind::Unknown)
        sniff.kind = ContentKind::Unknown; // an ID3 tag only ever precedes MPEG or FLAC
    if (sniff.kind == ContentKind::Aac && !adtsFrameFollows(fd, offset, fileSize, head, n))
        sniff.kind = ContentKind::Unknown;
    if (sniff.kind == ContentKind::Unknown)
        findMpeg(fd, offset, fileSize, sniff);
    return sniff;
}

std::string_view contentName(ContentKind kind) {
    switch (kind) {
    case ContentKind::Unknown: return "unrecognised data";
    case ContentKind::Wav: return "WAV";
    case ContentKind::Rf64: return "RF64 WAV";
    case ContentKind::Aiff: return "AIFF";
    case ContentKind::Flac: return "FLAC";
    case ContentKind::OggVorbis: return "Ogg Vorbis";
    case ContentKind::OggOpus: return "Opus";
    case ContentKind::OggOther: return "Ogg (a codec other than Vorbis or Opus)";
    case ContentKind::Mpeg: return "MPEG audio (MP3)";
    case ContentKind::Mp4: return "MP4/M4A (AAC or ALAC)";
    case ContentKind::Caf: return "Core Audio (CAF)";
    case ContentKind::Au: return "Sun/NeXT AU";
    case ContentKind::W64: return "Sony Wave64";
    case ContentKind::Asf: return "Windows Media (WMA/ASF)";
    case ContentKind::Matroska: return "Matroska/WebM";
    case ContentKind::Midi: return "MIDI (no audio samples)";
    case ContentKind::Ape: return "Monkey's Audio (APE)";
    case ContentKind::WavPack: return "WavPack";
    case ContentKind::Aac: return "raw AAC (ADTS)";
    }
    return "unrecognised data";
}

bool isDecodable(ContentKind kind) {
    switch (kind) {
    case ContentKind::Wav:
    case ContentKind::Rf64:
    case ContentKind::Aiff:
    case ContentKind::Flac:
    case ContentKind::OggVorbis:
    case ContentKind::OggOpus:
    case ContentKind::Mpeg:
    case ContentKind::Mp4:
    case ContentKind::Aac: return true;
    default: return false;
    }
}

std::string_view extensionFamily(std::string_view ext) {
    if (ext == "wav" || ext == "wave")
        return "wav";
    if (ext == "aif" || ext == "aiff" || ext == "aifc")
        return "aiff";
    if (ext == "flac")
        return "flac";
    if (ext == "ogg" || ext == "oga")
        return "ogg";
    if (ext == "opus")
        return "opus";
    if (ext == "mp3" || ext == "mp2" || ext == "mpga")
        return "mpeg";
    if (ext == "m4a" || ext == "mp4" || ext == "aac" || ext == "alac")
        return "mp4";
    if (ext == "caf")
        return "caf";
    if (ext == "wma" || ext == "asf")
        return "asf";
    if (ext == "mka" || ext == "webm")
        return "matroska";
    if (ext == "mid" || ext == "midi")
        return "midi";
    if (ext == "ape")
        return "ape";
    if (ext == "wv")
        return "wavpack";
    if (ext == "au" || ext == "snd")
        return "au";
    if (ext == "w64")
        return "w64";
    return {};
}

std::string_view contentFamily(ContentKind kind) {
    switch (kind) {
    case ContentKind::Wav:
    case ContentKind::Rf64: return "wav";
    case ContentKind::Aiff: return "aiff";
    case ContentKind::Flac: return "flac";
    case ContentKind::OggVorbis:
    case ContentKind::OggOther: return "ogg";
    case ContentKind::OggOpus: return "opus";
    case ContentKind::Mpeg: return "mpeg";
    case ContentKind::Mp4:
    case ContentKind::Aac: return "mp4";
    case ContentKind::Caf: return "caf";
    case ContentKind::Asf: return "asf";
    case ContentKind::Matroska: return "matroska";
    case ContentKind::Midi: return "midi";
    case ContentKind::Ape: return "ape";
    case ContentKind::WavPack: return "wavpack";
    case ContentKind::Au: return "au";
    case ContentKind::W64: return "w64";
    case ContentKind::Unknown: break;
    }
    return {};
}

std::int64_t declaredPcmFrames(int fd, std::int64_t fileSize, ContentKind kind) {
    unsigned char head[12];
    if (readAt(fd, 0, head, 12) != 12)
        return -1;
    constexpr int kMaxChunks = 1000; // bound the walk on hostile files
    if (kind == ContentKind::Wav) {
        const bool bigEndian = hasTag(head, "RIFX");
        std::int64_t offset = 12, blockAlign = 0;
        for (int i = 0; i < kMaxChunks && offset + 8 <= fileSize; ++i) {
            unsigned char chunk[8];
            if (readAt(fd, offset, chunk, 8) != 8)
                return -1;
            const std::uint32_t size = bigEndian ? be32(chunk + 4) : le32(chunk + 4);
            if (hasTag(chunk, "fmt ") && size >= 14) {
                unsigned char fmt[14];
                if (readAt(fd, offset + 8, fmt, 14) != 14)
                    return -1;
                blockAlign = bigEndian ? be16(fmt + 12) : le16(fmt + 12);
            } else if (hasTag(chunk, "data")) {
                // 0 and >= 0x7FFFF000 are what streaming writers put there (ffmpeg writes
                // 0xFFFFFFFF, sox 0x7FFFF000): the length is unknown, not truncated.
                if (size == 0 || size >= 0x7FFFF000u || blockAlign <= 0)
                    return -1;
                return std::int64_t{size} / blockAlign;
            }
            offset += 8 + std::int64_t{size} + (size & 1u);
        }
        return -1;
    }
    if (kind == ContentKind::Aiff) {
        const bool aifc = hasTag(head + 8, "AIFC");
        std::int64_t offset = 12;
        for (int i = 0; i < kMaxChunks && offset + 8 <= fileSize; ++i) {
            unsigned char chunk[8];
            if (readAt(fd, offset, chunk, 8) != 8)
                return -1;
            const std::uint32_t size = be32(chunk + 4);
            if (hasTag(chunk, "COMM") && size >= 18) {
                unsigned char comm[22] = {};
                const std::int64_t want = aifc ? 22 : 18;
                if (readAt(fd, offset + 8, comm, want) != want)
                    return -1;
                if (aifc) {
                    static constexpr std::array<const char*, 10> kPcm = {
                        "NONE", "sowt", "twos", "fl32", "FL32", "fl64", "FL64", "in24", "in32", "raw "};
                    if (std::none_of(kPcm.begin(), kPcm.end(),
                                     [&](const char* t) { return hasTag(comm + 18, t); }))
                        return -1;
                }
                return std::int64_t{be32(comm + 2)};
            }
            offset += 8 + std::int64_t{size} + (size & 1u);
        }
        return -1;
    }
    return -1;
}

namespace {
std::string upper(std::string s) {
    for (auto& ch : s)
        if (ch >= 'a' && ch <= 'z')
            ch = static_cast<char>(ch - 'a' + 'A');
    return s;
}
} // namespace

Status validateHeader(const AudioFileInfo& info, std::int64_t declaredFrames,
                      const std::string& name) {
    if (info.channels > kMaxChannels)
        return makeError(ErrorCode::TooManyChannels,
                         fileMessage(name, "has " + std::to_string(info.channels) +
                                               " channels; QuackTracks handles mono and stereo "
                                               "only (downmix it to 2 channels first)"));
    if (info.channels < 1)
        return makeError(ErrorCode::CorruptFile,
                         fileMessage(name, "is damaged: the header declares no channels"));
    if (info.sampleRate < kMinSampleRate || info.sampleRate > kMaxSampleRate)
        return makeError(ErrorCode::UnsupportedSampleRate,
                         fileMessage(name, "has a sample rate of " +
                                               std::to_string(info.sampleRate) +
                                               " Hz; supported rates are " +
                                               std::to_string(kMinSampleRate) + " to " +
                                               std::to_string(kMaxSampleRate) + " Hz"));
    const std::int64_t longest = std::max<std::int64_t>(info.frames, declaredFrames);
    const double seconds = static_cast<double>(longest) / info.sampleRate;
    if (seconds > kMaxDurationSeconds)
        return makeError(ErrorCode::TooLong,
                         fileMessage(name, "is " + formatDuration(seconds) +
                                               " long; the limit is 3 hours"));
    if (declaredFrames > info.frames) {
        const double have = static_cast<double>(info.frames) / info.sampleRate;
        return makeError(ErrorCode::CorruptFile,
                         fileMessage(name, "is truncated: its header promises " +
                                               std::to_string(declaredFrames) + " frames (" +
                                               formatDuration(seconds) +
                                               ") but the file holds only " +
                                               std::to_string(info.frames) + " (" +
                                               formatDuration(have) + ")"));
    }
    if (info.frames <= 0)
        return makeError(ErrorCode::NoAudio,
                         fileMessage(name, "is a valid " + upper(info.container) +
                                               " file but contains no audio (0 frames)"));
    return {};
}

} // namespace quack::io_detail
