#include "service/app/internal.h"

#include <sodium.h>

#include <array>
#include <ctime>
#include <filesystem>

namespace quack::service {

namespace detail {

std::string randomId(std::string_view prefix) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::array<unsigned char, 22> rnd{};
    randombytes_buf(rnd.data(), rnd.size());
    std::string id(prefix);
    for (const unsigned char b : rnd)
        id += kAlphabet[b & 31u];
    return id;
}

std::string sha256Hex(std::string_view data) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> h{};
    crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string hex(h.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), h.data(), h.size());
    hex.resize(h.size() * 2);
    return hex;
}

std::string isoUtc(UnixSeconds t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf.data();
}

std::string masterKey(const Job& job, std::string_view extension) {
    return "masters/" + job.id + "-" + std::to_string(job.attempt) + "." + std::string(extension);
}

std::string scratchDir(const std::string& dataDir) {
    return (std::filesystem::path(dataDir) / "scratch").string();
}

} // namespace detail

} // namespace quack::service
