#include "service/domain/audio_sniff.h"

#include <cstring>

namespace quack::service {
namespace {

bool startsWith(std::span<const unsigned char> head, std::size_t offset, const char* magic) {
    const std::size_t n = std::strlen(magic);
    return head.size() >= offset + n && std::memcmp(head.data() + offset, magic, n) == 0;
}

// MPEG audio frame header (ISO/IEC 11172-3 2.4.1.3): 11 sync bits, version != reserved (01),
// layer != reserved (00), bitrate index != 1111, sampling frequency != 11.
bool mpegFrameSync(std::span<const unsigned char> head) {
    if (head.size() < 4)
        return false;
    if (head[0] != 0xFF || (head[1] & 0xE0) != 0xE0)
        return false;
    const unsigned version = (head[1] >> 3) & 0x3u;
    const unsigned layer = (head[1] >> 1) & 0x3u;
    const unsigned bitrate = (head[2] >> 4) & 0xFu;
    const unsigned rate = (head[2] >> 2) & 0x3u;
    return version != 1 && layer != 0 && bitrate != 0xF && rate != 3;
}

// ADTS AAC frame header (ISO/IEC 13818-7 6.2): 12 sync bits, layer 00, a sampling frequency
// index below 13 (13-15 are reserved or escape), and a frame length (13 bits from bit 30) that
// at least holds the 7-byte header. Needs the whole header: 4 bytes alone do not tell an ADTS
// frame from an MPEG header with the reserved layer 00.
bool adtsSync(std::span<const unsigned char> head) {
    if (head.size() < 7 || head[0] != 0xFF || (head[1] & 0xF6) != 0xF0 || ((head[2] >> 2) & 0xFu) >= 13)
        return false;
    const unsigned frameLength = ((head[3] & 0x3u) << 11) | (static_cast<unsigned>(head[4]) << 3) | (head[5] >> 5);
    return frameLength >= 7;
}

} // namespace

bool looksLikeAudio(std::span<const unsigned char> head) {
    if ((startsWith(head, 0, "RIFF") || startsWith(head, 0, "RF64") || startsWith(head, 0, "BW64")) &&
        startsWith(head, 8, "WAVE"))
        return true;
    if (startsWith(head, 0, "FORM") && (startsWith(head, 8, "AIFF") || startsWith(head, 8, "AIFC")))
        return true;
    if (startsWith(head, 0, "fLaC") || startsWith(head, 0, "OggS") || startsWith(head, 0, "ID3"))
        return true;
    // MP4/M4A (AAC or ALAC): an ISO base media file starts with its size and an "ftyp" box.
    if (startsWith(head, 4, "ftyp"))
        return true;
    return mpegFrameSync(head) || adtsSync(head);
}

} // namespace quack::service
