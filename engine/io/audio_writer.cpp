// Encoders (libsndfile): WAV 16/24-bit and 32-bit float, FLAC 16/24-bit, MP3 CBR through
// libsndfile's LAME encoder, Ogg Vorbis and Ogg Opus (VBR); AAC in MP4 is aac_writer.cpp
// (FFmpeg). Output is deterministic: no PEAK chunk (it holds a time stamp), no strings, so no
// LIST/INFO chunk, Vorbis comments or ID3 tags. FLAC files carry libFLAC's vendor string and
// MP3 files LAME's Info tag (encoder version and settings, no time). libsndfile gives an Ogg
// stream a random serial number and an "ENCODER=libsndfile" comment: close() removes the
// comment (tags.cpp) and replaces the serial with one derived from the content (ogg_serial.cpp).
#include "engine/io/audio_writer.h"
#include "engine/io/io_detail.h"
#include "engine/io/tags.h"

#ifdef QUACK_PORTABLE_IO
// The WebAssembly build: portable WAV and FLAC encoders, no libsndfile (portable/portable_io.h).
#include "engine/io/portable/portable_io.h"
#else
#include <sndfile.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace quack {
namespace {

constexpr std::array kFormats = {
    OutputFormatInfo{OutputFormat::Wav16, "wav16", "wav", 16, false},
    OutputFormatInfo{OutputFormat::Wav24, "wav24", "wav", 24, false},
    OutputFormatInfo{OutputFormat::WavFloat, "wav32f", "wav", 0, false},
    OutputFormatInfo{OutputFormat::Flac16, "flac16", "flac", 16, false},
    OutputFormatInfo{OutputFormat::Flac24, "flac24", "flac", 24, false},
    OutputFormatInfo{OutputFormat::Mp3, "mp3", "mp3", 0, true},
    OutputFormatInfo{OutputFormat::Vorbis, "vorbis", "ogg", 0, true},
    OutputFormatInfo{OutputFormat::Opus, "opus", "opus", 0, true},
    OutputFormatInfo{OutputFormat::Aac, "aac", "m4a", 0, true},
};

/// Accepted on the command line besides the names in kFormats.
struct FormatAlias {
    std::string_view name;
    OutputFormat format;
};
constexpr std::array kAliases = {FormatAlias{"ogg", OutputFormat::Vorbis},
                                 FormatAlias{"m4a", OutputFormat::Aac}};

constexpr std::array kMp3Rates = {32000, 44100, 48000};
constexpr std::array kOpusRates = {48000};
constexpr std::array kAacRates = {32000, 44100, 48000, 88200, 96000};

std::string supportedNames() {
    std::string s;
    for (const auto& f : kFormats) {
        if (!s.empty())
            s += ", ";
        s += f.name;
    }
    return s;
}

/// MPEG-1 layer III bit rates (kbps); 320 kbps needs MPEG-1, i.e. 32, 44.1 or 48 kHz.
constexpr std::array kMp3Bitrates = {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};

#ifndef QUACK_PORTABLE_IO
class SndfileWriter final : public AudioWriter {
  public:
    SndfileWriter(SNDFILE* snd, const WriterOptions& options, std::string path, std::string name)
        : snd_(snd), options_(options), path_(std::move(path)), name_(std::move(name)),
          bits_(outputFormatInfo(options.format).bits) {}
    ~SndfileWriter() override {
        if (snd_)
            sf_close(snd_);
    }
    SndfileWriter(const SndfileWriter&) = delete;
    SndfileWriter& operator=(const SndfileWriter&) = delete;

    Status write(ConstAudioView block) override {
        assert(block.numChannels == options_.channels);
        if (!snd_)
            return makeError(ErrorCode::WriteFailed,
                             io_detail::fileMessage(name_, "cannot be written: the writer is already closed"));
        const int channels = options_.channels;
        const auto frames = block.numFrames;
        for (ChannelCount c = 0; c < channels; ++c) {
            const std::int64_t bad = io_detail::firstNonFinite(block.channel(c), frames);
            if (bad >= 0)
                return makeError(ErrorCode::InvalidArgument,
                                 io_detail::fileMessage(
                                     name_, "cannot be written: non-finite sample (NaN or infinity) at frame " +
                                                std::to_string(written_ + bad) + ", channel " +
                                                std::to_string(c + 1)));
        }
        const size_t samples = static_cast<size_t>(frames * channels);
        sf_count_t done = 0;
        if (bits_ > 0) {
            // Integer grid k / 2^(bits-1): k = x * 2^(bits-1) is exact for on-grid floats;
            // nearest-integer rounding and clamping make off-grid or overs well defined.
            // Stored left-justified in 32 bits, which libsndfile shifts down exactly.
            const double scale = std::ldexp(1.0, bits_ - 1);
            const double lo = -scale, hi = scale - 1.0;
            const int shift = 32 - bits_;
            ints_.resize(samples);
            for (ChannelCount c = 0; c < channels; ++c) {
                const float* in = block.channel(c);
                for (FrameCount i = 0; i < frames; ++i) {
                    const double k = std::clamp(std::nearbyint(static_cast<double>(in[i]) * scale), lo, hi);
                    const auto word = static_cast<std::uint32_t>(static_cast<std::int32_t>(k)) << shift;
                    ints_[static_cast<size_t>(i * channels + c)] = static_cast<int>(word);
                }
            }
            done = sf_writef_int(snd_, ints_.data(), frames);
        } else {
            floats_.resize(samples);
            for (ChannelCount c = 0; c < channels; ++c) {
                const float* in = block.channel(c);
                for (FrameCount i = 0; i < frames; ++i)
                    floats_[static_cast<size_t>(i * channels + c)] = in[i];
            }
            if (chunked()) {
                // libvorbis's output depends on how the samples are handed over (measured:
                // 4096- and 333-frame writes differ), so Ogg codecs get fixed-size chunks.
                pending_.insert(pending_.end(), floats_.begin(), floats_.end());
                done = frames;
                if (auto s = flushChunks(false); !s)
                    return s;
            } else {
                done = sf_writef_float(snd_, floats_.data(), frames);
            }
        }
        if (done != frames)
            return makeError(ErrorCode::WriteFailed,
                             io_detail::fileMessage(name_, std::string("cannot be written: ") +
                                                               sf_strerror(snd_)));
        written_ += frames;
        return {};
    }

    Status close() override {
        if (!snd_)
            return {};
        if (chunked())
            if (auto s = flushChunks(true); !s) {
                sf_close(snd_);
                snd_ = nullptr;
                return s;
            }
        const int rc = sf_close(snd_);
        snd_ = nullptr;
        if (rc != 0)
            return makeError(ErrorCode::WriteFailed,
                             io_detail::fileMessage(name_, std::string("cannot be finished: ") +
                                                               sf_error_number(rc)));
        if (options_.format == OutputFormat::Vorbis || options_.format == OutputFormat::Opus) {
            // An empty tag set removes libsndfile's ENCODER comment (the vendor string, which
            // the codec header requires, stays); then the serial number is made deterministic.
            if (auto t = writeTags(path_, options_.format, {}); !t)
                return t.error();
            if (auto s = io_detail::normaliseOggSerial(path_, name_); !s)
                return s;
        }
        return {};
    }

  private:
    static constexpr FrameCount kChunkFrames = 4096;

    bool chunked() const {
        return options_.format == OutputFormat::Vorbis || options_.format == OutputFormat::Opus;
    }

    /// Writes whole kChunkFrames chunks from pending_ (and the rest when `all`).
    Status flushChunks(bool all) {
        const auto channels = static_cast<size_t>(options_.channels);
        const size_t chunk = static_cast<size_t>(kChunkFrames) * channels;
        size_t at = 0;
        while (pending_.size() - at >= chunk || (all && pending_.size() > at)) {
            const size_t n = std::min(chunk, pending_.size() - at);
            const auto frames = static_cast<sf_count_t>(n / channels);
            if (sf_writef_float(snd_, pending_.data() + at, frames) != frames)
                return makeError(ErrorCode::WriteFailed,
                                 io_detail::fileMessage(name_, std::string("cannot be written: ") +
                                                                   sf_strerror(snd_)));
            at += n;
        }
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(at));
        return {};
    }

    SNDFILE* snd_;
    WriterOptions options_;
    std::string path_;
    std::string name_;
    int bits_;
    FrameCount written_ = 0;
    std::vector<int> ints_;
    std::vector<float> floats_;
    std::vector<float> pending_; ///< interleaved samples not yet handed to an Ogg encoder
};
#endif

} // namespace

const OutputFormatInfo& outputFormatInfo(OutputFormat format) {
    for (const auto& f : kFormats)
        if (f.format == format)
            return f;
    assert(false && "every OutputFormat is in kFormats");
    return kFormats.front();
}

Result<OutputFormat> outputFormatFromName(std::string_view name) {
    for (const auto& f : kFormats)
        if (f.name == name)
            return f.format;
    for (const auto& a : kAliases)
        if (a.name == name)
            return a.format;
    return makeError(ErrorCode::UnsupportedOutputFormat,
                     "unknown output format '" + std::string(name) +
                         "'; supported formats are " + supportedNames());
}

Result<OutputFormat> outputFormatFromPath(std::string_view path) {
    const std::string ext = io_detail::lowerExtension(path);
    if (ext == "wav")
        return OutputFormat::Wav24;
    if (ext == "flac")
        return OutputFormat::Flac24;
    if (ext == "mp3")
        return OutputFormat::Mp3;
    if (ext == "ogg" || ext == "oga")
        return OutputFormat::Vorbis;
    if (ext == "opus")
        return OutputFormat::Opus;
    if (ext == "m4a" || ext == "mp4" || ext == "aac")
        return OutputFormat::Aac;
    return makeError(ErrorCode::UnsupportedOutputFormat,
                     "cannot write '" + io_detail::displayName(std::string(path)) +
                         "': output files must end in .wav (24-bit), .flac (24-bit), .mp3 "
                         "(320 kbps), .ogg (Vorbis), .opus or .m4a (AAC); named formats are " +
                         supportedNames());
}

std::span<const int> codecSampleRates(OutputFormat format) {
    switch (format) {
    case OutputFormat::Mp3: return kMp3Rates;
    case OutputFormat::Opus: return kOpusRates;
    case OutputFormat::Aac: return kAacRates;
    default: return {};
    }
}

int codecOutputRate(OutputFormat format, int rate) {
    const auto rates = codecSampleRates(format);
    if (rates.empty() || std::find(rates.begin(), rates.end(), rate) != rates.end())
        return rate;
    const int family = rate % 11025 == 0 ? 44100 : 48000;
    if (std::find(rates.begin(), rates.end(), family) != rates.end())
        return family;
    return rates.back() == 48000 ? 48000 : rates.front();
}

std::string_view codecRateReason(OutputFormat format) {
    switch (format) {
    case OutputFormat::Mp3:
        return "MP3 at 320 kbps exists only at 32, 44.1 and 48 kHz: converted with libsoxr (very "
               "high quality)";
    case OutputFormat::Opus:
        return "Opus encodes at 48 kHz only (a decoder plays it back at 48 kHz): converted with "
               "libsoxr (very high quality) rather than inside the encoder";
    case OutputFormat::Aac:
        return "AAC output is written at 32, 44.1, 48, 88.2 or 96 kHz: converted with libsoxr "
               "(very high quality)";
    default: return "the format's sample rates";
    }
}

Result<std::unique_ptr<AudioWriter>> createAudioWriter(const std::string& path,
                                                       const WriterOptions& options) {
    const std::string name = io_detail::displayName(path);
    if (options.channels < 1 || options.channels > kMaxChannels)
        return makeError(ErrorCode::InvalidArgument,
                         "cannot write " + std::to_string(options.channels) +
                             " channels; 1 or 2 are supported");
    if (options.sampleRate < kMinSampleRate || options.sampleRate > kMaxSampleRate)
        return makeError(ErrorCode::InvalidArgument,
                         "cannot write at " + std::to_string(options.sampleRate) +
                             " Hz; supported rates are " + std::to_string(kMinSampleRate) +
                             " to " + std::to_string(kMaxSampleRate) + " Hz");
#ifndef QUACK_PORTABLE_IO
    SF_INFO sfInfo{};
    sfInfo.samplerate = options.sampleRate;
    sfInfo.channels = options.channels;
    switch (options.format) {
    case OutputFormat::Wav16: sfInfo.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16; break;
    case OutputFormat::Wav24: sfInfo.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24; break;
    case OutputFormat::WavFloat: sfInfo.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT; break;
    case OutputFormat::Flac16: sfInfo.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16; break;
    case OutputFormat::Flac24: sfInfo.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_24; break;
    case OutputFormat::Mp3: sfInfo.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III; break;
    case OutputFormat::Vorbis: sfInfo.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS; break;
    case OutputFormat::Opus: sfInfo.format = SF_FORMAT_OGG | SF_FORMAT_OPUS; break;
    case OutputFormat::Aac: break;
    default:
        return makeError(ErrorCode::UnsupportedOutputFormat,
                         "unknown output format; supported formats are " + supportedNames());
    }
#endif
    if (const auto rates = codecSampleRates(options.format);
        !rates.empty() && std::find(rates.begin(), rates.end(), options.sampleRate) == rates.end()) {
        std::string list;
        for (size_t i = 0; i < rates.size(); ++i)
            list += (i == 0 ? "" : (i + 1 == rates.size() ? " or " : ", ")) + std::to_string(rates[i]);
        return makeError(ErrorCode::InvalidArgument,
                         std::string(outputFormatInfo(options.format).name) +
                             " output needs a sample rate of " + list + " Hz (got " +
                             std::to_string(options.sampleRate) + " Hz); resample first");
    }
    if (options.format == OutputFormat::Mp3) {
        if (std::find(kMp3Bitrates.begin(), kMp3Bitrates.end(), options.mp3BitrateKbps) ==
            kMp3Bitrates.end())
            return makeError(ErrorCode::InvalidArgument,
                             "MP3 bit rate " + std::to_string(options.mp3BitrateKbps) +
                                 " kbps is not an MPEG-1 layer III rate (32..320 kbps)");
    }
    if (options.format == OutputFormat::Vorbis &&
        !(options.vorbisQuality >= 0.0 && options.vorbisQuality <= 1.0))
        return makeError(ErrorCode::InvalidArgument, "Vorbis quality must be between 0 and 1");
    if (options.format == OutputFormat::Opus &&
        (options.opusBitrateKbps < 32 || options.opusBitrateKbps > 512))
        return makeError(ErrorCode::InvalidArgument,
                         "Opus bit rate " + std::to_string(options.opusBitrateKbps) +
                             " kbps is outside 32..512 kbps");
    if (options.format == OutputFormat::Aac)
        return io_detail::createAacWriter(path, options);
#ifdef QUACK_PORTABLE_IO
    switch (options.format) {
    case OutputFormat::Wav16:
    case OutputFormat::Wav24:
    case OutputFormat::WavFloat: return portable_io::createWavWriter(path, options);
    case OutputFormat::Flac16:
    case OutputFormat::Flac24: return portable_io::createFlacWriter(path, options);
    default:
        return makeError(ErrorCode::UnsupportedOutputFormat,
                         std::string(outputFormatInfo(options.format).name) +
                             " is encoded by the native engine only; the WebAssembly engine writes "
                             "wav16, wav24, wav32f, flac16 and flac24");
    }
#else
    if (!sf_format_check(&sfInfo))
        return makeError(ErrorCode::InvalidArgument,
                         "libsndfile cannot write " +
                             std::string(outputFormatInfo(options.format).name) + " at " +
                             std::to_string(options.sampleRate) + " Hz");

    io_detail::FileHandle file(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (file.get() < 0)
        return makeError(ErrorCode::WriteFailed,
                         io_detail::fileMessage(name, std::string("cannot be created: ") +
                                                          std::strerror(errno)));
    // libsndfile owns the descriptor from here on, also when sf_open_fd fails.
    SNDFILE* snd = sf_open_fd(file.release(), SFM_WRITE, &sfInfo, SF_TRUE);
    if (!snd)
        return makeError(ErrorCode::WriteFailed,
                         io_detail::fileMessage(name, std::string("cannot start encoding: ") +
                                                          sf_strerror(nullptr)));
    auto writer = std::make_unique<SndfileWriter>(snd, options, path, name);
    if (options.format == OutputFormat::WavFloat)
        sf_command(snd, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
    if (options.format == OutputFormat::Mp3) {
        // libsndfile maps compression c in [0, 1] to round-down(320 - 288 c) kbps for MPEG-1
        // (mpeg_l3_encode.c); aiming at the middle of the integer step avoids FP truncation
        // landing one kbps low. The compression must be set before the mode: setting the mode
        // re-applies the stored compression.
        double compression =
            std::max(0.0, (320.0 - (options.mp3BitrateKbps + 0.5)) / (320.0 - 32.0));
        int mode = SF_BITRATE_MODE_CONSTANT;
        if (!sf_command(snd, SFC_SET_COMPRESSION_LEVEL, &compression, sizeof compression) ||
            !sf_command(snd, SFC_SET_BITRATE_MODE, &mode, sizeof mode))
            return makeError(ErrorCode::WriteFailed,
                             io_detail::fileMessage(name, std::string("cannot be encoded: MP3 encoder setup failed: ") +
                                                              sf_strerror(snd)));
    }
    if (options.format == OutputFormat::Vorbis || options.format == OutputFormat::Opus) {
        // libsndfile 1.2: Vorbis quality = 1 - compression (ogg_vorbis.c); Opus bit rate per
        // channel = (1 - compression) * 250 kbps + 6 kbps, truncated (ogg_opus.c). Aiming at the
        // middle of the 1-bps step keeps FP rounding from landing one bit per second low.
        double compression = 1.0 - options.vorbisQuality;
        if (options.format == OutputFormat::Opus) {
            const double perChannelBps = options.opusBitrateKbps * 1000.0 / 2.0;
            compression = std::clamp(1.0 - (perChannelBps - 6000.0 + 0.5) / 250000.0, 0.0, 1.0);
        }
        if (!sf_command(snd, SFC_SET_COMPRESSION_LEVEL, &compression, sizeof compression))
            return makeError(ErrorCode::WriteFailed,
                             io_detail::fileMessage(name, std::string("cannot be encoded: encoder setup failed: ") +
                                                              sf_strerror(snd)));
    }
    return std::unique_ptr<AudioWriter>(std::move(writer));
#endif
}

std::string temporaryPathBeside(const std::string& finalPath) {
    // ".<name>.<pid>-<counter>-<random>.tmp" in the same directory: same file system, so the
    // rename is atomic; hidden; unique across threads (counter) and processes (pid, plus a
    // random per-process salt against pid reuse after a crash left a file behind).
    static std::atomic<std::uint64_t> counter{0};
    static const std::uint64_t salt = [] {
        std::random_device rd;
        const auto now = static_cast<std::uint64_t>(
            std::chrono::steady_clock::now().time_since_epoch().count());
        return (std::uint64_t{rd()} << 32 ^ rd()) ^ now;
    }();
    const auto slash = finalPath.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "" : finalPath.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? finalPath : finalPath.substr(slash + 1);
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".%ld-%llu-%08llx.tmp", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(counter.fetch_add(1)),
                  static_cast<unsigned long long>(salt & 0xFFFFFFFFu));
    return dir + "." + base + suffix;
}

Status commitFile(const std::string& tempPath, const std::string& finalPath) {
    // fsync before rename, so that a crash cannot leave a complete name on incomplete data.
    io_detail::FileHandle file(::open(tempPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.get() < 0 || ::fsync(file.get()) != 0)
        return makeError(ErrorCode::WriteFailed,
                         io_detail::fileMessage(io_detail::displayName(finalPath),
                                                std::string("cannot be completed: ") +
                                                    std::strerror(errno)));
    if (::rename(tempPath.c_str(), finalPath.c_str()) != 0)
        return makeError(ErrorCode::WriteFailed,
                         io_detail::fileMessage(io_detail::displayName(finalPath),
                                                std::string("cannot be saved: ") +
                                                    std::strerror(errno)));
    return {};
}

} // namespace quack
