#include "engine/chain/master.h"

#include "engine/analysis/loudness.h"
#include "engine/analysis/true_peak.h"
#include "engine/chain/spool.h"
#include "engine/dsp/multiband.h"
#include "engine/dsp/tonal_eq.h"
#include "engine/io/dither.h"
#include "engine/limiter/limiter.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace quack {
namespace {

constexpr FrameCount kBlockFrames = 4096;
/// A render is accepted when our meter reads within this of the target. The promise is +-0.1 LU
/// by independent meters, which agree with ours within 0.005 LU on the corpus (libebur128,
/// tests/analysis); the rest is margin. A tighter value would cost a second render whenever
/// the proxy's small bias under heavy limiting (~0.03 LU) shows.
constexpr double kLoudnessToleranceLu = 0.04;
/// The written file's true peak must sit at least this far under the ceiling by our strictest
/// meter, leaving room for meters that read a little higher (shared/notes: compliant meters
/// disagree by hundredths to tenths of a dB).
constexpr double kCeilingSafetyDb = 0.02;
constexpr int kMaxRenders = 6;
/// The loudness loop may drive the limiter this far above the unlimited gain, no further:
/// beyond it the result is distortion, not mastering.
constexpr double kMaxExtraDriveDb = 24.0;

using Clock = std::chrono::steady_clock;

double dbToLin(double db) { return std::pow(10.0, db / 20.0); }
double linToDb(double lin) {
    return lin > 0.0 ? 20.0 * std::log10(lin) : -std::numeric_limits<double>::infinity();
}

/// Rounds for the report: keeps it readable and stable.
double r3(double v) { return std::isfinite(v) ? std::round(v * 1000.0) / 1000.0 : v; }
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(r3(v)) : nlohmann::json(nullptr); }

void report(const ProgressFn& fn, std::string_view stage, double fraction) {
    if (fn)
        fn(stage, std::clamp(fraction, 0.0, 1.0));
}

/// Planar block <-> interleaved records.
void interleave(ConstAudioView v, float* out) {
    for (FrameCount i = 0; i < v.numFrames; ++i)
        for (ChannelCount c = 0; c < v.numChannels; ++c)
            out[i * v.numChannels + c] = v.channel(c)[i];
}
void deinterleave(const float* in, AudioView v) {
    for (FrameCount i = 0; i < v.numFrames; ++i)
        for (ChannelCount c = 0; c < v.numChannels; ++c)
            v.channel(c)[i] = in[i * v.numChannels + c];
}


/// Spools made by the processing pass. Record i of `peaks` is the linked Strict sidechain of
/// audio frame i; `kPower` holds K-weighted channel power delayed by the limiter's lookahead
/// latency so that its record i lines up with the gain the computer outputs at i.
struct Spools {
    FloatSpool audio;
    FloatSpool peaks;
    FloatSpool kPower;
    FrameCount frames = 0;
    FrameCount lookahead = 0;
    double processedLufs = kSilenceLufs; ///< of the processed audio before the limiter
    std::vector<BandStats> multibandStats; ///< empty when the multiband stage was off
};

/// Reads `src` to its end in blocks of `buf`'s size, calling `fn(AudioView) -> Status` on each.
template <typename Fn> Status forEachBlock(AudioSource& src, AudioBuffer& buf, Fn&& fn) {
    for (;;) {
        auto n = src.read(buf.view());
        if (!n)
            return n.error();
        if (*n == 0)
            return Status::success();
        if (auto s = fn(buf.view(*n)); !s)
            return s;
    }
}

/// Decoded input kept for the second pass, so the file is decoded (and resampled) only once.
class SpoolSource final : public AudioSource {
  public:
    SpoolSource(FloatSpool spool, AudioFileInfo info) : spool_(std::move(spool)), info_(std::move(info)) {}
    const AudioFileInfo& info() const override { return info_; }
    Result<FrameCount> read(AudioView block) override {
        auto v = spool_.next(block.numFrames);
        if (!v)
            return v.error();
        const auto n = static_cast<FrameCount>(v->size()) / info_.channels;
        deinterleave(v->data(), block.subView(0, n));
        return n;
    }
    Status rewind() override { return spool_.rewind(); }

  private:
    FloatSpool spool_;
    AudioFileInfo info_;
};

Result<Analysis> analysePass(AudioSource& src, const ProgressFn& progress, double from, double to,
                             std::string_view stage, FloatSpool* keep = nullptr) {
    const AudioFileInfo& info = src.info();
    Analyzer analyzer(info.sampleRate, info.channels);
    AudioBuffer buf(info.channels, kBlockFrames);
    std::vector<float> records(keep != nullptr ? static_cast<size_t>(kBlockFrames * info.channels) : 0);
    FrameCount done = 0;
    const double total = static_cast<double>(std::max<FrameCount>(1, info.frames));
    auto status = forEachBlock(src, buf, [&](AudioView block) -> Status {
        analyzer.process(block);
        if (keep != nullptr) {
            interleave(block, records.data());
            if (auto st = keep->append(records.data(), block.numFrames); !st)
                return st;
        }
        done += block.numFrames;
        report(progress, stage, from + (to - from) * std::min(1.0, static_cast<double>(done) / total));
        return Status::success();
    });
    if (!status)
        return status.error();
    return analyzer.finish();
}

/// Pass 2: clean-up, EQ, multiband -> spools (audio, sidechain peaks, K-weighted power).
Result<Spools> processPass(AudioSource& src, const ChainParams& params, const ProgressFn& progress) {
    const AudioFileInfo& info = src.info();
    const double fs = info.sampleRate;
    const ChannelCount nch = info.channels;
    if (auto s = src.rewind(); !s)
        return s.error();

    // The subsonic high-pass runs as the first sections of the EQ's cascade: one pass.
    TonalEq eq;
    MultibandProcessor multiband;
    const bool processing = !params.silent && !params.gainOnly;
    const double highPassHz = processing ? params.subsonicHz : 0.0;
    const bool useEq = processing && (params.eqActive || highPassHz > 0.0);
    const bool useMultiband = processing && params.multibandActive;
    if (useEq)
        eq.prepare(fs, nch, params.eqActive ? params.eqCurve : TonalCurve{}, highPassHz);
    if (useMultiband)
        multiband.prepare(fs, nch, kBlockFrames, params.multiband);

    std::array<TruePeakDetector, kMaxChannels> detectors;
    KWeightedPower kWeighted;
    kWeighted.prepare(fs, nch);
    std::vector<double> zBlock(static_cast<size_t>(kBlockFrames));
    for (ChannelCount c = 0; c < nch; ++c) {
        detectors[static_cast<size_t>(c)].prepare(fs, TruePeakDesign::Strict);
    }
    const FrameCount detectorLatency = detectors[0].latencyFrames();
    LimiterGainComputer probe;
    probe.prepare(fs, params.limiter);
    const FrameCount lookahead = probe.latencyFrames();

    auto audio = FloatSpool::create(nch);
    auto peaks = FloatSpool::create(1);
    auto kPower = FloatSpool::create(1);
    if (!audio)
        return audio.error();
    if (!peaks)
        return peaks.error();
    if (!kPower)
        return kPower.error();

    AudioBuffer buf(nch, kBlockFrames);
    std::vector<float> records(static_cast<size_t>(kBlockFrames * nch));
    std::vector<float> chPeak(static_cast<size_t>(kBlockFrames));
    std::vector<float> linked(static_cast<size_t>(kBlockFrames));
    std::vector<float> power(static_cast<size_t>(std::max(kBlockFrames, lookahead)), 0.0f);
    std::vector<double> hopEnergies;
    const FrameCount hop = LoudnessMeter::hopFramesFor(fs);
    double hopSum = 0.0;
    FrameCount hopFill = 0;

    // Lookahead-latency zeros first, so kPower record i pairs with gain output i.
    if (lookahead > 0)
        if (auto s = kPower->append(power.data(), lookahead); !s)
            return s.error();

    FrameCount framesIn = 0, peaksOut = 0;
    const double total = static_cast<double>(std::max<FrameCount>(1, info.frames));
    auto emitPeaks = [&](AudioView block) -> Status {
        // Linked sidechain: the max over channels. The first detectorLatency outputs describe
        // frames before the start and are dropped.
        const auto n = static_cast<size_t>(block.numFrames);
        std::fill(linked.begin(), linked.begin() + static_cast<long>(n), 0.0f);
        for (ChannelCount c = 0; c < nch; ++c) {
            detectors[static_cast<size_t>(c)].process(block.channel(c), chPeak.data(), block.numFrames,
                                                      0.0f);
            for (size_t i = 0; i < n; ++i)
                linked[i] = std::max(linked[i], chPeak[i]);
        }
        FrameCount skip = std::clamp<FrameCount>(detectorLatency - peaksOut, 0, block.numFrames);
        peaksOut += block.numFrames;
        return peaks->append(linked.data() + skip, block.numFrames - skip);
    };

    auto status = forEachBlock(src, buf, [&](AudioView block) -> Status {
        const FrameCount n = block.numFrames;
        if (useEq)
            eq.process(block);
        if (useMultiband)
            multiband.process(block);
        kWeighted.process(block, zBlock.data());
        for (FrameCount i = 0; i < n; ++i) {
            const double z = zBlock[static_cast<size_t>(i)];
            power[static_cast<size_t>(i)] = static_cast<float>(z);
            hopSum += z;
            if (++hopFill == hop) {
                hopEnergies.push_back(hopSum / static_cast<double>(hop));
                hopSum = 0.0;
                hopFill = 0;
            }
        }
        interleave(block, records.data());
        if (auto s = audio->append(records.data(), n); !s)
            return s;
        if (auto s = kPower->append(power.data(), n); !s)
            return s;
        if (auto s = emitPeaks(block); !s)
            return s;
        framesIn += n;
        report(progress, "process", 0.3 + 0.3 * std::min(1.0, static_cast<double>(framesIn) / total));
        return Status::success();
    });
    if (!status)
        return status.error();
    // Flush the detectors with silence until every frame has its peak, then append
    // lookahead zero peaks so the gain computer can be flushed from the spool too.
    AudioBuffer zeros(nch, kBlockFrames);
    while (peaksOut < framesIn + detectorLatency) {
        const FrameCount n = std::min(kBlockFrames, framesIn + detectorLatency - peaksOut);
        if (auto s = emitPeaks(zeros.view(n)); !s)
            return s.error();
    }
    std::fill(power.begin(), power.end(), 0.0f);
    for (FrameCount left = lookahead; left > 0;) {
        const FrameCount n = std::min<FrameCount>(left, static_cast<FrameCount>(power.size()));
        if (auto s = peaks->append(power.data(), n); !s)
            return s.error();
        left -= n;
    }
    Spools spools{std::move(audio).value(), std::move(peaks).value(), std::move(kPower).value(), 0, 0,
                  kSilenceLufs, {}};
    spools.frames = framesIn;
    spools.lookahead = lookahead;
    spools.processedLufs = gatedIntegratedLoudness(hopEnergies);
    if (useMultiband)
        spools.multibandStats = multiband.stats();
    return spools;
}

/// Loudness the limiter would produce at drive `gainDb` and aim `ceilingDbtp`, from the spooled
/// sidechain and K-weighted power alone: out = g * e[n] * y[n], so its K-weighted power is
/// ~ g^2 e[n]^2 z[n] (exact for a constant gain; the limiter's gain moves slowly next to the
/// K filter, and the render measures the truth afterwards).
Result<double> proxyLoudness(Spools& spools, double fs, const LimiterParams& limiter, double gainDb) {
    LimiterGainComputer gc;
    gc.prepare(fs, limiter);
    const double g = dbToLin(gainDb);
    if (auto s = spools.peaks.rewind(); !s)
        return s.error();
    if (auto s = spools.kPower.rewind(); !s)
        return s.error();
    std::vector<float> gain(static_cast<size_t>(kBlockFrames));
    const FrameCount hop = LoudnessMeter::hopFramesFor(fs);
    std::vector<double> hops;
    hops.reserve(static_cast<size_t>(spools.frames / hop + 1));
    double sum = 0.0;
    FrameCount fill = 0, index = 0;
    const FrameCount frames = spools.frames + spools.lookahead;
    while (index < frames) {
        auto p = spools.peaks.next(kBlockFrames);
        if (!p)
            return p.error();
        auto z = spools.kPower.next(kBlockFrames);
        if (!z)
            return z.error();
        const auto n = static_cast<FrameCount>(p->size());
        if (n == 0 || z->size() != p->size())
            return makeError(ErrorCode::Internal, "spool length mismatch");
        gc.processScaled(p->data(), g, gain.data(), n);
        // The first `lookahead` gains belong to frames before the start.
        const FrameCount first = std::clamp<FrameCount>(spools.lookahead - index, 0, n);
        index += n;
        // Sum e^2 z over runs that end at hop boundaries (a plain loop the compiler vectorises;
        // float products, double per-run sums: each run is at most one block long).
        const float* e = gain.data();
        const float* zz = z->data();
        for (FrameCount i = first; i < n;) {
            const FrameCount run = std::min(n - i, hop - fill);
            float acc[8] = {};
            FrameCount k = 0;
            for (; k + 8 <= run; k += 8)
                for (int l = 0; l < 8; ++l)
                    acc[l] += e[i + k + l] * e[i + k + l] * zz[i + k + l];
            double runSum = 0.0;
            for (; k < run; ++k)
                runSum += static_cast<double>(e[i + k] * e[i + k] * zz[i + k]);
            for (float a : acc)
                runSum += static_cast<double>(a);
            sum += runSum;
            fill += run;
            i += run;
            if (fill == hop) {
                hops.push_back(sum * g * g / static_cast<double>(hop));
                sum = 0.0;
                fill = 0;
            }
        }
    }
    return gatedIntegratedLoudness(hops);
}

struct DriveSolution {
    double driveDb = 0.0;
    double proxyLufs = 0.0; ///< the proxy loudness at driveDb
};

/// Finds the drive that makes the proxy loudness `target`. Loudness rises monotonically with
/// drive, at most dB for dB (limiting only takes away), so a first step at slope 1 approaches
/// from below; the secant of the last two points then converges in a few evaluations.
Result<DriveSolution> solveDrive(Spools& spools, double fs, const LimiterParams& limiter, double target,
                                 double startDb, int* iterations) {
    // Well inside the render's acceptance (kLoudnessToleranceLu), so one render usually lands.
    constexpr double kToleranceLu = 0.01;
    double x0 = startDb;
    auto f0 = proxyLoudness(spools, fs, limiter, x0);
    if (!f0)
        return f0.error();
    double e0 = *f0 - target;
    double slope = 1.0;
    const double maxX = startDb + kMaxExtraDriveDb;
    for (int it = 0; it < 12; ++it) {
        ++*iterations;
        if (std::abs(e0) < kToleranceLu)
            return DriveSolution{x0, e0 + target};
        const double x1 = std::clamp(x0 - e0 / slope, startDb - 30.0, maxX);
        auto f1 = proxyLoudness(spools, fs, limiter, x1);
        if (!f1)
            return f1.error();
        const double e1 = *f1 - target;
        if (x1 != x0)
            slope = std::clamp((e1 - e0) / (x1 - x0), 0.02, 1.0);
        x0 = x1;
        e0 = e1;
        if (x0 >= maxX && e0 < -0.05)
            return makeError(ErrorCode::TargetUnreachable,
                             "the target loudness cannot be reached under this ceiling without more "
                             "than " + std::to_string(int(kMaxExtraDriveDb)) +
                                 " dB of limiting; choose a lower target or a higher ceiling");
    }
    return DriveSolution{x0, e0 + target};
}

/// Starts the kernel writing a file out while the render goes on, so that the fsync before the
/// final rename (commitFile) waits only for the last few megabytes instead of the whole file.
/// Advisory: on failure, or off Linux, nothing changes but the wait.
class EarlyWriteback {
  public:
    explicit EarlyWriteback(const std::string& path) {
#ifdef __linux__
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
#else
        (void)path;
#endif
    }
    ~EarlyWriteback() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    EarlyWriteback(const EarlyWriteback&) = delete;
    EarlyWriteback& operator=(const EarlyWriteback&) = delete;

    /// Called after each block with the frames written so far; acts every kEveryFrames.
    void poke(FrameCount written) {
#ifdef __linux__
        if (fd_ >= 0 && written - last_ >= kEveryFrames) {
            last_ = written;
            ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
        }
#else
        (void)written;
#endif
    }

  private:
    static constexpr FrameCount kEveryFrames = 1 << 18; ///< ~1.5 MB of 24-bit stereo
    int fd_ = -1;
    FrameCount last_ = 0;
};

struct RenderResult {
    Analysis after;
    double strictTruePeakDbtp = 0.0;
    LimiterStats limiterStats;
};

/// What every written file is held to: the full analysis (its true peak from the accurate 8x
/// meter) and a libebur128-style 4x reading, whichever is higher.
class OutputMeter {
  public:
    OutputMeter(double sampleRate, ChannelCount channels)
        : analyzer_(sampleRate, channels), channels_(channels), scratch_(static_cast<size_t>(kBlockFrames)) {
        for (ChannelCount c = 0; c < channels; ++c)
            ebu_[static_cast<size_t>(c)].prepare(sampleRate, TruePeakDesign::Ebur128Style4x);
    }
    /// Blocks of at most kBlockFrames.
    void process(ConstAudioView block) {
        analyzer_.process(block);
        for (ChannelCount c = 0; c < channels_; ++c)
            track(ebu_[static_cast<size_t>(c)], block.channel(c), block.numFrames);
    }
    /// The analysis and the strictest true peak (dBTP), after flushing the 4x detectors' tail.
    std::pair<Analysis, double> finish() {
        const std::vector<float> zeros(static_cast<size_t>(kBlockFrames), 0.0f);
        for (ChannelCount c = 0; c < channels_; ++c)
            for (FrameCount left = ebu_[static_cast<size_t>(c)].latencyFrames(); left > 0;) {
                const FrameCount n = std::min(left, kBlockFrames);
                track(ebu_[static_cast<size_t>(c)], zeros.data(), n);
                left -= n;
            }
        Analysis a = analyzer_.finish();
        const double strict = std::max(a.truePeakDbtp, linToDb(peak_));
        return {std::move(a), strict};
    }

  private:
    void track(TruePeakDetector& d, const float* x, FrameCount n) {
        d.process(x, scratch_.data(), n, 0.0f);
        peak_ = std::max(peak_, *std::max_element(scratch_.begin(), scratch_.begin() + n));
    }
    Analyzer analyzer_;
    ChannelCount channels_;
    std::array<TruePeakDetector, kMaxChannels> ebu_;
    std::vector<float> scratch_;
    float peak_ = 0.0f;
};

/// Measures a written lossy file as a listener's decoder will see it.
Result<std::pair<Analysis, double>> measureFile(const std::string& path) {
    auto src = openAudioFile(path);
    if (!src)
        return src.error();
    AudioSource& s = **src;
    OutputMeter meter(s.info().sampleRate, s.info().channels);
    AudioBuffer buf(s.info().channels, kBlockFrames);
    auto status = forEachBlock(s, buf, [&](AudioView block) {
        meter.process(block);
        return Status::success();
    });
    if (!status)
        return status.error();
    return meter.finish();
}

Result<RenderResult> renderPass(Spools& spools, const AudioFileInfo& info, double gainDb, const LimiterParams& limiterParams,
                                const WriterOptions& wopt, const std::string& tempPath,
                                std::uint64_t seed, const ProgressFn& progress, double from, double to) {
    const double fs = info.sampleRate;
    const ChannelCount nch = info.channels;
    TruePeakLimiter limiter;
    limiter.prepare(fs, nch, kBlockFrames, limiterParams);
    limiter.setInputGain(dbToLin(gainDb));
    const FrameCount delay = limiter.lookaheadLatencyFrames();

    const int bits = outputFormatInfo(wopt.format).bits;
    Ditherer dither;
    if (bits > 0)
        dither.prepare(bits, nch, seed);
    OutputMeter meter(fs, nch);
    auto writer = createAudioWriter(tempPath, wopt);
    if (!writer)
        return writer.error();
    EarlyWriteback writeback(tempPath);

    if (auto s = spools.audio.rewind(); !s)
        return s.error();
    if (auto s = spools.peaks.rewind(); !s)
        return s.error();
    AudioBuffer buf(nch, kBlockFrames);
    FrameCount read = 0, written = 0, toDrop = delay;
    const FrameCount total = spools.frames;

    while (written < total) {
        // Audio frames past the end are zeros; the peaks spool already holds their zeros.
        FrameCount n = 0;
        if (read < total) {
            auto r = spools.audio.next(std::min(kBlockFrames, total - read));
            if (!r)
                return r.error();
            n = static_cast<FrameCount>(r->size()) / nch;
            if (n == 0)
                return makeError(ErrorCode::Internal, "audio spool ended early");
            deinterleave(r->data(), buf.view(n));
        } else {
            n = std::min(kBlockFrames, total + delay - read);
            for (ChannelCount c = 0; c < nch; ++c)
                std::fill(buf.channel(c), buf.channel(c) + n, 0.0f);
        }
        auto np = spools.peaks.next(n);
        if (!np)
            return np.error();
        if (static_cast<FrameCount>(np->size()) != n)
            return makeError(ErrorCode::Internal, "peak spool length mismatch");
        read += n;
        AudioView block = buf.view(n);
        limiter.processWithPeaks(block, np->data());
        // Drop the lookahead delay at the start; write only `total` frames.
        const FrameCount skip = std::min(toDrop, n);
        toDrop -= skip;
        const FrameCount keep = std::min(n - skip, total - written);
        if (keep <= 0)
            continue;
        AudioView out = block.subView(skip, keep);
        if (bits > 0)
            dither.process(out);
        meter.process(out);
        if (auto s = (*writer)->write(out); !s)
            return s.error();
        written += keep;
        writeback.poke(written);
        report(progress, "render", from + (to - from) * static_cast<double>(written) / static_cast<double>(std::max<FrameCount>(1, total)));
    }
    if (auto s = (*writer)->close(); !s)
        return s.error();
    RenderResult result;
    std::tie(result.after, result.strictTruePeakDbtp) = meter.finish();
    result.limiterStats = limiter.stats();
    if (outputFormatInfo(wopt.format).lossy) {
        // The promise is about what listeners decode: measure the encoded file itself.
        report(progress, "verify", to);
        auto m = measureFile(tempPath);
        if (!m)
            return m.error();
        result.after = m->first;
        result.strictTruePeakDbtp = m->second;
    }
    return result;
}

bool isMp3Rate(int rate) {
    // 320 kbps CBR exists only at MPEG-1 Layer III rates.
    constexpr int kRates[] = {32000, 44100, 48000};
    return std::find(std::begin(kRates), std::end(kRates), rate) != std::end(kRates);
}

/// Removes a temporary file unless it was committed.
struct TempFileGuard {
    std::string path;
    bool committed = false;
    ~TempFileGuard() {
        if (!committed && !path.empty()) {
            std::error_code ec;
            std::filesystem::remove(path, ec);
        }
    }
};

nlohmann::json decisionsJson(const ChainParams& p) {
    nlohmann::json d = nlohmann::json::array();
    for (const auto& x : p.decisions)
        d.push_back({{"name", x.name}, {"value", x.value}, {"reason", x.reason}});
    return d;
}

nlohmann::json multibandJson(const ChainParams& p, const std::vector<BandStats>& stats) {
    if (stats.empty())
        return {{"active", false}};
    nlohmann::json bands = nlohmann::json::array();
    for (size_t b = 0; b < stats.size() && b < p.multiband.bands.size(); ++b) {
        const auto& d = p.multiband.bands[b];
        bands.push_back({{"low_hz", b == 0 ? 0.0 : p.multiband.crossoverHz[b - 1]},
                         {"high_hz", b < p.multiband.crossoverHz.size() ? nlohmann::json(p.multiband.crossoverHz[b])
                                                                        : nlohmann::json(nullptr)},
                         {"ratio", num(d.ratio)},
                         {"threshold_db", num(d.thresholdDb)},
                         {"width", num(d.width)},
                         {"max_gain_reduction_db", num(stats[b].maxGainReductionDb)},
                         {"mean_gain_reduction_db", num(stats[b].meanGainReductionDb)}});
    }
    return {{"active", true}, {"bands", bands}};
}

} // namespace

nlohmann::json toJson(const AudioFileInfo& info) {
    return {{"sample_rate_hz", info.sampleRate}, {"channels", info.channels},
            {"frames", info.frames},             {"duration_seconds", r3(info.durationSeconds)},
            {"container", info.container},       {"encoding", info.encoding},
            {"bits_per_sample", info.bitsPerSample}, {"lossy", info.lossy}};
}

Result<FileAnalysis> analyzeFile(const std::string& path, const ProgressFn& progress) {
    auto src = openAudioFile(path);
    if (!src)
        return src.error();
    auto a = analysePass(**src, progress, 0.0, 1.0, "analyze");
    if (!a)
        return a.error();
    return FileAnalysis{(*src)->info(), std::move(a).value()};
}

Result<MasterOutcome> masterFile(const MasterRequest& req, const ProgressFn& progress) {
    const auto t0 = Clock::now();
    auto format = req.format ? Result<OutputFormat>(*req.format) : outputFormatFromPath(req.outputPath);
    if (!format)
        return format.error();
    if (req.sampleRate && (*req.sampleRate < kMinSampleRate || *req.sampleRate > kMaxSampleRate))
        return makeError(ErrorCode::InvalidArgument,
                         "--sample-rate must be between " + std::to_string(kMinSampleRate) + " and " +
                             std::to_string(kMaxSampleRate) + " Hz");
    {
        std::error_code ec;
        if (std::filesystem::weakly_canonical(req.inputPath, ec) ==
                std::filesystem::weakly_canonical(req.outputPath, ec) &&
            !ec)
            return makeError(ErrorCode::InvalidArgument,
                             "the output path is the input file; choose another output path");
    }
    auto source = openAudioFile(req.inputPath);
    if (!source)
        return source.error();
    std::optional<int> rate = req.sampleRate;
    std::vector<Decision> ioDecisions;
    const int inRate = (*source)->info().sampleRate;
    if (*format == OutputFormat::Mp3 && !isMp3Rate(rate.value_or(inRate))) {
        const int want = rate.value_or(inRate) % 11025 == 0 ? 44100 : 48000;
        ioDecisions.push_back({"output.sample_rate_hz", want,
                               "MP3 at 320 kbps exists only at 32, 44.1 and 48 kHz: converted with "
                               "libsoxr (very high quality)"});
        rate = want;
    }
    if (rate && *rate != inRate) {
        source = makeResamplingSource(std::move(source).value(), *rate);
        if (!source)
            return source.error();
    }
    const AudioFileInfo info = (*source)->info();
    AudioSource& src = **source;

    // Pass 1: analyse, keeping the decoded audio for pass 2.
    auto inputSpool = FloatSpool::create(info.channels);
    if (!inputSpool)
        return inputSpool.error();
    auto before = analysePass(src, progress, 0.0, 0.3, "analyze", &inputSpool.value());
    if (!before)
        return before.error();
    source.value().reset(); // closes the input file
    SpoolSource decoded(std::move(inputSpool).value(), info);
    const auto tAnalysed = Clock::now();

    // Decide.
    MasterOutcome outcome;
    outcome.before = std::move(before).value();
    outcome.params = decide(outcome.before, InputFacts{info.lossy}, req.intent, defaultTargetBalance());
    if (req.eqOverride)
        applyEqOverride(outcome.params, *req.eqOverride, req.eqOverrideReason);
    ChainParams& params = outcome.params;
    for (auto& d : ioDecisions)
        params.decisions.push_back(d);

    // Pass 2: process into spools. The sidechain is exact everywhere: on music loud enough to
    // master, the detector's skip bound rarely pays for its own cost (measured in bench/).
    auto spools = processPass(decoded, params, progress);
    if (!spools)
        return spools.error();
    const auto tProcessed = Clock::now();

    // The loop: solve the drive on the proxy, render, measure the written file, correct.
    const double fs = info.sampleRate;
    int proxyIterations = 0;
    LimiterParams limiterParams = params.limiter;
    double drive = 0.0;
    double proxyAtDrive = 0.0;
    double proxyBias = 0.0;
    const bool targetLoudness = !params.silent && std::isfinite(spools->processedLufs);
    const double startDrive = targetLoudness ? req.intent.targetLufs - spools->processedLufs : 0.0;

    WriterOptions wopt;
    wopt.format = *format;
    wopt.sampleRate = info.sampleRate;
    wopt.channels = info.channels;
    TempFileGuard temp{temporaryPathBeside(req.outputPath)};
    RenderResult last;
    Clock::duration proxyTime{}, renderTime{};
    for (int render = 0; render < kMaxRenders; ++render) {
        const auto tLoop = Clock::now();
        if (targetLoudness) {
            auto d = solveDrive(*spools, fs, limiterParams, req.intent.targetLufs - proxyBias,
                                startDrive, &proxyIterations);
            if (!d)
                return d.error();
            drive = d->driveDb;
            proxyAtDrive = d->proxyLufs;
        }
        const auto tRender = Clock::now();
        proxyTime += tRender - tLoop;
        // Most masters need one render; a correction render runs the bar's last stretch again.
        auto r = renderPass(*spools, info, drive, limiterParams, wopt, temp.path, req.ditherSeed,
                            progress, 0.6, 0.99);
        if (!r)
            return r.error();
        last = std::move(r).value();
        renderTime += Clock::now() - tRender;
        outcome.renders.push_back({drive, limiterParams.ceilingDbtp, last.after.integratedLufs,
                                   last.strictTruePeakDbtp});
        const double peakExcess = last.strictTruePeakDbtp - (req.intent.ceilingDbtp - kCeilingSafetyDb);
        const double loudnessError =
            targetLoudness ? last.after.integratedLufs - req.intent.targetLufs : 0.0;
        if (peakExcess <= 0.0 && std::abs(loudnessError) <= kLoudnessToleranceLu)
            break;
        if (peakExcess > 0.0) {
            // Lowering the aim lowers the written peak less than dB for dB when the drive must
            // rise to keep the loudness and a codec's overshoot grows with it: step by the
            // excess over the slope measured between the last two renders.
            double slope = 1.0;
            if (outcome.renders.size() >= 2) {
                const auto& a = outcome.renders[outcome.renders.size() - 2];
                const auto& b = outcome.renders.back();
                if (a.limiterCeilingDbtp != b.limiterCeilingDbtp)
                    slope = std::clamp((a.truePeakDbtp - b.truePeakDbtp) /
                                           (a.limiterCeilingDbtp - b.limiterCeilingDbtp),
                                       0.2, 1.0);
            }
            limiterParams.ceilingDbtp -= peakExcess / slope + 0.01;
        }
        // What the proxy missed at this drive (K-weighting of a moving gain, dither, codec):
        // the next solve aims the proxy that much off so the file lands on the target.
        if (targetLoudness)
            proxyBias = last.after.integratedLufs - proxyAtDrive;
        if (render + 1 == kMaxRenders && peakExcess > 0.0)
            return makeError(ErrorCode::TargetUnreachable,
                             "the true-peak ceiling could not be held after encoding (the decoded file "
                             "still peaks at " + std::to_string(last.strictTruePeakDbtp).substr(0, 6) +
                                 " dBTP after " + std::to_string(kMaxRenders) +
                                 " renders); choose a lower ceiling or a lossless format");
    }
    params.limiter.ceilingDbtp = limiterParams.ceilingDbtp;
    outcome.after = last.after;
    if (last.limiterStats.meanGainReductionDb > 3.0 || last.limiterStats.maxGainReductionDb > 10.0)
        params.warnings.push_back(
            {"heavy_limiting",
             "the target needed heavy limiting (mean " + std::to_string(last.limiterStats.meanGainReductionDb).substr(0, 4) +
                 " dB, max " + std::to_string(last.limiterStats.maxGainReductionDb).substr(0, 4) +
                 " dB of gain reduction): a lower target will sound more open"});

    if (auto s = commitFile(temp.path, req.outputPath); !s)
        return s.error();
    temp.committed = true;
    const auto tDone = Clock::now();
    report(progress, "done", 1.0);

    // The report.
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    nlohmann::json renders = nlohmann::json::array();
    for (const auto& r : outcome.renders)
        renders.push_back({{"drive_db", num(r.gainDb)},
                           {"limiter_ceiling_dbtp", num(r.limiterCeilingDbtp)},
                           {"integrated_lufs", num(r.integratedLufs)},
                           {"true_peak_dbtp", num(r.truePeakDbtp)}});
    nlohmann::json warnings = nlohmann::json::array();
    for (const auto& w : params.warnings)
        warnings.push_back({{"code", w.code}, {"message", w.message}});
    const auto& st = last.limiterStats;
    outcome.report = {
        {"schema", "quacktracks.master.v1"},
        {"input", {{"file", std::filesystem::path(req.inputPath).filename().string()}, {"format", toJson(info)}}},
        {"intent",
         {{"preset", req.intent.presetName},
          {"target_lufs", req.intent.targetLufs},
          {"ceiling_dbtp", req.intent.ceilingDbtp},
          {"style", styleName(req.intent.style)},
          {"intensity", intensityName(req.intent.intensity)}}},
        {"output",
         {{"file", std::filesystem::path(req.outputPath).filename().string()},
          {"format", outputFormatInfo(*format).name},
          {"sample_rate_hz", info.sampleRate},
          {"dither", outputFormatInfo(*format).bits > 0
                         ? nlohmann::json{{"type", "tpdf"}, {"bits", outputFormatInfo(*format).bits},
                                          {"seed", req.ditherSeed}}
                         : nlohmann::json(nullptr)}}},
        {"before", toJson(outcome.before)},
        {"after", toJson(outcome.after)},
        {"decisions", decisionsJson(params)},
        {"loudness_loop",
         {{"processed_lufs_before_limiter", num(spools->processedLufs)},
          {"proxy_iterations", proxyIterations},
          {"renders", renders}}},
        {"limiter",
         {{"ceiling_aim_dbtp", num(limiterParams.ceilingDbtp)},
          {"lookahead_ms", limiterParams.lookaheadMs},
          {"release_ms", limiterParams.releaseMs},
          {"max_gain_reduction_db", num(st.maxGainReductionDb)},
          {"mean_gain_reduction_db", num(st.meanGainReductionDb)},
          {"frames_limited_percent",
           num(st.frames > 0 ? 100.0 * static_cast<double>(st.framesLimited) / static_cast<double>(st.frames) : 0.0)}}},
        {"multiband", multibandJson(params, spools->multibandStats)},
        {"warnings", warnings},
        {"timing_ms",
         {{"analyze", num(ms(tAnalysed - t0))},
          {"process", num(ms(tProcessed - tAnalysed))},
          {"loudness_loop", num(ms(proxyTime))},
          {"render_and_verify", num(ms(renderTime))},
          {"total", num(ms(tDone - t0))}}},
    };
    return outcome;
}

} // namespace quack
