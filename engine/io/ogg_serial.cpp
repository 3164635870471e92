// Deterministic Ogg serial numbers. An Ogg page (RFC 3533 s.6) is a 27-byte header -
// "OggS", version, flags, granule position (8), serial (4, little-endian, at byte 14), page
// sequence (4), CRC (4, at byte 22), segment count n - then n lacing values and the body. The
// CRC is the 32-bit CRC with polynomial 0x04C11DB7, initial value 0, no reflection and no final
// XOR, over the whole page with the CRC field zeroed.
//
// The serial must only be unique among the streams of one physical file (and of files that may
// be chained together), so a hash of the encoded content is as good as a random draw and makes
// the same audio give the same bytes.
#include "engine/io/io_detail.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace quack::io_detail {
namespace {

constexpr std::int64_t kHeaderBytes = 27;
constexpr int kMaxPages = 10'000'000; // a 3-hour file has ~100k pages; bounds a hostile loop

std::array<std::uint32_t, 256> makeCrcTable() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t r = i << 24;
        for (int b = 0; b < 8; ++b)
            r = (r & 0x80000000u) ? (r << 1) ^ 0x04C11DB7u : r << 1;
        t[i] = r;
    }
    return t;
}

std::uint32_t oggCrc(const unsigned char* data, size_t size) {
    static const auto table = makeCrcTable();
    std::uint32_t crc = 0;
    for (size_t i = 0; i < size; ++i)
        crc = (crc << 8) ^ table[((crc >> 24) ^ data[i]) & 0xFFu];
    return crc;
}

void putLe32(unsigned char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * i));
}

} // namespace

Status normaliseOggSerial(const std::string& path, const std::string& name) {
    auto fail = [&](const std::string& why) {
        return makeError(ErrorCode::WriteFailed, fileMessage(name, "cannot be finished: " + why));
    };
    FileHandle file(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (file.get() < 0)
        return fail(std::strerror(errno));
    const off_t end = ::lseek(file.get(), 0, SEEK_END);
    if (end < 0)
        return fail(std::strerror(errno));
    const std::int64_t size = end;

    // Pass 1: walk the pages, hash the bodies (FNV-1a, 32 bit) and remember where pages start.
    std::vector<std::int64_t> pages;
    std::vector<unsigned char> page;
    std::uint32_t hash = 2166136261u;
    std::uint32_t serial = 0;
    for (std::int64_t at = 0; at < size;) {
        if (static_cast<int>(pages.size()) >= kMaxPages)
            return fail("too many Ogg pages");
        unsigned char head[kHeaderBytes + 255];
        if (at + kHeaderBytes > size || readAt(file.get(), at, head, kHeaderBytes) != kHeaderBytes ||
            std::memcmp(head, "OggS", 4) != 0)
            return fail("the encoder wrote a malformed Ogg page");
        const int segments = head[26];
        if (readAt(file.get(), at + kHeaderBytes, head + kHeaderBytes, segments) != segments)
            return fail("the encoder wrote a truncated Ogg page");
        std::int64_t body = 0;
        for (int i = 0; i < segments; ++i)
            body += head[kHeaderBytes + i];
        const std::uint32_t pageSerial = std::uint32_t{head[14]} | (std::uint32_t{head[15]} << 8) |
                                         (std::uint32_t{head[16]} << 16) |
                                         (std::uint32_t{head[17]} << 24);
        if (pages.empty())
            serial = pageSerial;
        else if (pageSerial != serial)
            return fail("the encoder wrote more than one Ogg stream");
        const std::int64_t pageBytes = kHeaderBytes + segments + body;
        if (at + pageBytes > size)
            return fail("the encoder wrote a truncated Ogg page");
        page.resize(static_cast<size_t>(body));
        if (readAt(file.get(), at + kHeaderBytes + segments, page.data(), body) != body)
            return fail(std::strerror(errno));
        for (unsigned char b : page)
            hash = (hash ^ b) * 16777619u;
        pages.push_back(at);
        at += pageBytes;
    }

    // Pass 2: the new serial and checksum into every page header.
    for (const std::int64_t at : pages) {
        unsigned char head[kHeaderBytes + 255];
        if (readAt(file.get(), at, head, kHeaderBytes) != kHeaderBytes)
            return fail(std::strerror(errno));
        const int segments = head[26];
        if (readAt(file.get(), at + kHeaderBytes, head + kHeaderBytes, segments) != segments)
            return fail(std::strerror(errno));
        std::int64_t body = 0;
        for (int i = 0; i < segments; ++i)
            body += head[kHeaderBytes + i];
        page.resize(static_cast<size_t>(kHeaderBytes + segments + body));
        if (readAt(file.get(), at, page.data(), static_cast<std::int64_t>(page.size())) !=
            static_cast<std::int64_t>(page.size()))
            return fail(std::strerror(errno));
        putLe32(page.data() + 14, hash);
        putLe32(page.data() + 22, 0);
        putLe32(page.data() + 22, oggCrc(page.data(), page.size()));
        if (::pwrite(file.get(), page.data(), kHeaderBytes, at) != kHeaderBytes)
            return fail(std::strerror(errno));
    }
    return {};
}

} // namespace quack::io_detail
