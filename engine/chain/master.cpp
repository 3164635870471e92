#include "engine/chain/master.h"

#include "engine/chain/report_util.h"

#include "engine/analysis/loudness.h"
#include "engine/analysis/true_peak.h"
#include "engine/chain/spool.h"
#include "engine/chain/trim.h"
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
#include <thread>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace quack {
namespace {

using chain_detail::TempFileGuard;

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
    /// The same two streams, coarse (see CoarseStream): record k of `coarsePeaks` is the max of
    /// the sidechain over frames [kD, kD + D), of `coarsePower` the sum of the K-weighted power
    /// of the same frames (not delayed), D = coarseFactor. Empty when coarseFactor is 1.
    FloatSpool coarsePeaks;
    FloatSpool coarsePower;
    FrameCount coarseFactor = 1;
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

/// Whether a second decode of `info`'s file costs less than spooling its samples: uncompressed
/// PCM (a conversion of bytes the page cache already holds).
bool rewindsCheaply(const AudioFileInfo& info) {
    return !info.lossy && (info.container == "wav" || info.container == "aiff") &&
           (info.encoding.starts_with("pcm_") || info.encoding == "float" || info.encoding == "double");
}

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

/// The coarse proxy's decimation factor: the largest D <= kMaxCoarseFactor dividing the
/// loudness hop, so coarse records tile the hops exactly (15 at 44.1 and 48 kHz, 16 at 96 kHz).
/// 1 (no coarse stage) when no useful factor exists, e.g. at 11.025 kHz (hop 1103, a prime).
FrameCount coarseFactorFor(double sampleRate) {
    constexpr FrameCount kMaxCoarseFactor = 16, kMinCoarseFactor = 4;
    const FrameCount hop = LoudnessMeter::hopFramesFor(sampleRate);
    for (FrameCount d = kMaxCoarseFactor; d >= kMinCoarseFactor; --d)
        if (hop % d == 0)
            return d;
    return 1;
}

/// Reduces a stream of per-frame values to one record per `factor` frames (max or sum), the
/// last record covering what is left, and spools the records.
class CoarseStream {
  public:
    enum class Op { Max, Sum };
    CoarseStream(FrameCount factor, Op op) : factor_(factor), op_(op) {
        records_.reserve(static_cast<size_t>(kBlockFrames));
    }
    void add(const float* v, FrameCount n) {
        for (FrameCount i = 0; i < n;) {
            const FrameCount run = std::min(n - i, factor_ - fill_);
            double acc = acc_;
            if (op_ == Op::Max)
                for (FrameCount k = 0; k < run; ++k)
                    acc = std::max(acc, static_cast<double>(v[i + k]));
            else
                for (FrameCount k = 0; k < run; ++k)
                    acc += static_cast<double>(v[i + k]);
            acc_ = acc;
            fill_ += run;
            i += run;
            if (fill_ == factor_)
                close();
        }
    }
    /// Spools the finished records (and, at the end, the partial last one).
    Status flush(FloatSpool& spool, bool atEnd) {
        if (atEnd && fill_ > 0)
            close();
        auto s = spool.append(records_.data(), static_cast<FrameCount>(records_.size()));
        records_.clear();
        return s;
    }

  private:
    void close() {
        records_.push_back(static_cast<float>(acc_));
        acc_ = 0.0;
        fill_ = 0;
    }
    FrameCount factor_;
    Op op_;
    double acc_ = 0.0;
    FrameCount fill_ = 0;
    std::vector<float> records_;
};

/// Pass 2: clean-up, EQ, multiband -> spools (audio, sidechain peaks, K-weighted power).
Result<Spools> processPass(AudioSource& src, const ChainParams& params, const ProgressFn& progress,
                           ResourceGuard* guard) {
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
    auto coarsePeaks = FloatSpool::create(1);
    auto coarsePower = FloatSpool::create(1);
    if (!audio)
        return audio.error();
    if (!peaks)
        return peaks.error();
    if (!kPower)
        return kPower.error();
    if (!coarsePeaks)
        return coarsePeaks.error();
    if (!coarsePower)
        return coarsePower.error();
    for (FloatSpool* s : {&*audio, &*peaks, &*kPower, &*coarsePeaks, &*coarsePower})
        s->setGuard(guard);
    const FrameCount coarseFactor = coarseFactorFor(fs);
    const bool coarse = coarseFactor > 1;
    CoarseStream coarsePeakStream(coarseFactor, CoarseStream::Op::Max);
    CoarseStream coarsePowerStream(coarseFactor, CoarseStream::Op::Sum);

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
        if (coarse) {
            coarsePeakStream.add(linked.data() + skip, block.numFrames - skip);
            if (auto s = coarsePeakStream.flush(*coarsePeaks, false); !s)
                return s;
        }
        return peaks->append(linked.data() + skip, block.numFrames - skip);
    };

    auto status = forEachBlock(src, buf, [&](AudioView block) -> Status {
        const FrameCount n = block.numFrames;
        if (useEq)
            eq.process(block);
        if (useMultiband)
            multiband.process(block);
        kWeighted.process(block, zBlock.data());
        const double* z = zBlock.data();
        for (FrameCount i = 0; i < n; ++i)
            power[static_cast<size_t>(i)] = static_cast<float>(z[i]);
        // Hop sums over runs that end at hop boundaries, in four interleaved partial sums (one
        // chain of dependent additions through memory cost ~10 cycles a frame).
        for (FrameCount i = 0; i < n;) {
            const FrameCount run = std::min(n - i, hop - hopFill);
            std::array<double, 4> part{};
            FrameCount k = 0;
            for (; k + 4 <= run; k += 4)
                for (size_t l = 0; l < 4; ++l)
                    part[l] += z[i + k + static_cast<FrameCount>(l)];
            for (; k < run; ++k)
                part[0] += z[i + k];
            hopSum += (part[0] + part[1]) + (part[2] + part[3]);
            hopFill += run;
            i += run;
            if (hopFill == hop) {
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
        if (coarse) {
            coarsePowerStream.add(power.data(), n);
            if (auto s = coarsePowerStream.flush(*coarsePower, false); !s)
                return s;
        }
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
    if (coarse) {
        if (auto s = coarsePeakStream.flush(*coarsePeaks, true); !s)
            return s.error();
        if (auto s = coarsePowerStream.flush(*coarsePower, true); !s)
            return s.error();
    }
    std::fill(power.begin(), power.end(), 0.0f);
    for (FrameCount left = lookahead; left > 0;) {
        const FrameCount n = std::min<FrameCount>(left, static_cast<FrameCount>(power.size()));
        if (auto s = peaks->append(power.data(), n); !s)
            return s.error();
        left -= n;
    }
    Spools spools{std::move(audio).value(),
                  std::move(peaks).value(),
                  std::move(kPower).value(),
                  std::move(coarsePeaks).value(),
                  std::move(coarsePower).value(),
                  coarseFactor,
                  0,
                  0,
                  kSilenceLufs,
                  {}};
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

/// The proxy on the coarse spools: the same computation at 1/D of the rate (D =
/// coarseFactor), a gain computer prepared for fs / D running on the max of each D frames'
/// sidechain, applied to the sum of their K-weighted power. It over-limits a little (the max
/// widens every peak to whole records) and is about D times cheaper than proxyLoudness(), so
/// the drive is searched on it and only checked on the full proxy (solveDrive).
Result<double> coarseProxyLoudness(Spools& spools, double fs, const LimiterParams& limiter, double gainDb) {
    const FrameCount d = spools.coarseFactor;
    LimiterGainComputer gc;
    gc.prepare(fs / static_cast<double>(d), limiter);
    const FrameCount latency = gc.latencyFrames();
    const double g = dbToLin(gainDb);
    if (auto s = spools.coarsePeaks.rewind(); !s)
        return s.error();
    if (auto s = spools.coarsePower.rewind(); !s)
        return s.error();
    const FrameCount hop = LoudnessMeter::hopFramesFor(fs) / d; // records per hop (d divides it)
    const FrameCount records = spools.coarsePeaks.frames();
    if (spools.coarsePower.frames() != records)
        return makeError(ErrorCode::Internal, "coarse spool length mismatch");
    std::vector<float> gain(static_cast<size_t>(kBlockFrames));
    std::vector<float> zeros(static_cast<size_t>(kBlockFrames), 0.0f);
    std::vector<float> z(static_cast<size_t>(kBlockFrames));
    std::vector<double> hops;
    hops.reserve(static_cast<size_t>(records / hop + 1));
    double sum = 0.0;
    FrameCount fill = 0;
    // Output k of the gain computer is the gain of record k - latency; after the last record,
    // `latency` zero peaks flush it.
    for (FrameCount index = 0; index < records + latency;) {
        const float* p = zeros.data();
        FrameCount n = std::min(kBlockFrames, records + latency - index);
        if (index < records) {
            auto v = spools.coarsePeaks.next(std::min(n, records - index));
            if (!v)
                return v.error();
            if (v->empty())
                return makeError(ErrorCode::Internal, "coarse spool ended early");
            p = v->data();
            n = static_cast<FrameCount>(v->size());
        }
        gc.processScaled(p, g, gain.data(), n);
        const FrameCount first = std::clamp<FrameCount>(latency - index, 0, n);
        index += n;
        auto got = spools.coarsePower.read(z.data(), n - first);
        if (!got)
            return got.error();
        if (*got != n - first)
            return makeError(ErrorCode::Internal, "coarse spool ended early");
        for (FrameCount i = first; i < n; ++i) {
            const auto e = static_cast<double>(gain[static_cast<size_t>(i)]);
            sum += e * e * static_cast<double>(z[static_cast<size_t>(i - first)]);
            if (++fill == hop) {
                hops.push_back(sum * g * g / static_cast<double>(hop * d));
                sum = 0.0;
                fill = 0;
            }
        }
    }
    return gatedIntegratedLoudness(hops);
}

struct DriveSolution {
    double driveDb = 0.0;
    double proxyLufs = 0.0; ///< the full proxy loudness at driveDb (predicted: see solveDrive)
};

/// Secant search for the drive at which `eval` reads `target` (within toleranceLu), from
/// `x0` (whose reading is f0). Loudness rises monotonically with drive, at most dB for dB
/// (limiting only takes away), so a first step at slope 1 approaches from below; the secant
/// of the last two points then converges in a few evaluations. Returns the last point and its
/// reading; `slope` carries the last secant slope in and out.
template <typename Eval>
Result<std::pair<double, double>> secantSolve(Eval&& eval, double target, double x0, double f0, double minX,
                                              double maxX, double toleranceLu, int maxSteps, double& slope) {
    double e0 = f0 - target;
    for (int it = 0; it < maxSteps && std::abs(e0) >= toleranceLu; ++it) {
        const double x1 = std::clamp(x0 - e0 / slope, minX, maxX);
        if (x1 == x0)
            break; // pinned at a bound
        auto f1 = eval(x1);
        if (!f1)
            return f1.error();
        const double e1 = *f1 - target;
        slope = std::clamp((e1 - e0) / (x1 - x0), 0.02, 1.0);
        x0 = x1;
        e0 = e1;
    }
    return std::pair{x0, e0 + target};
}

/// Finds the drive that makes the proxy loudness `target`. The search runs on the coarse
/// proxy; the full proxy is evaluated at its answer, and their difference there (the coarse
/// proxy's bias, which changes slowly with the drive) shifts the coarse target for a second
/// search. When that correction is small (kPredictLu) its result is returned with the full
/// proxy's value predicted as `target` instead of measured: an error in the prediction is
/// second order (the bias's change over a drive step of a few hundredths of a dB), and the
/// render measures the truth anyway. Larger corrections are checked on the full proxy again.
/// `iterations` counts full-proxy evaluations.
Result<DriveSolution> solveDrive(Spools& spools, double fs, const LimiterParams& limiter, double target,
                                 double startDb, int* iterations) {
    // Well inside the render's acceptance (kLoudnessToleranceLu), so one render usually lands.
    constexpr double kToleranceLu = 0.01;
    constexpr double kCoarseToleranceLu = 0.002;
    constexpr double kPredictLu = 0.1;
    constexpr int kMaxFullEvaluations = 8;
    const double minX = startDb - 30.0, maxX = startDb + kMaxExtraDriveDb;
    auto full = [&](double x) {
        ++*iterations;
        return proxyLoudness(spools, fs, limiter, x);
    };
    auto unreachable = [] {
        return makeError(ErrorCode::TargetUnreachable,
                         "the target loudness cannot be reached under this ceiling without more "
                         "than " + std::to_string(int(kMaxExtraDriveDb)) +
                             " dB of limiting; choose a lower target or a higher ceiling");
    };
    double slope = 1.0;
    if (spools.coarseFactor <= 1) {
        // No coarse stage: the secant on the full proxy.
        auto f0 = full(startDb);
        if (!f0)
            return f0.error();
        auto r = secantSolve(full, target, startDb, *f0, minX, maxX, kToleranceLu, 12, slope);
        if (!r)
            return r.error();
        if (r->first >= maxX && r->second - target < -0.05)
            return unreachable();
        return DriveSolution{r->first, r->second};
    }
    auto coarse = [&](double x) { return coarseProxyLoudness(spools, fs, limiter, x); };
    double x = startDb;
    auto c0 = coarse(x);
    if (!c0)
        return c0.error();
    double cx = *c0;     // coarse reading at x
    double aim = target; // what the coarse proxy must read for the full one to read target
    for (int round = 0; round < kMaxFullEvaluations; ++round) {
        auto r = secantSolve(coarse, aim, x, cx, minX, maxX, kCoarseToleranceLu, 16, slope);
        if (!r)
            return r.error();
        std::tie(x, cx) = *r;
        auto f = full(x);
        if (!f)
            return f.error();
        const double e = *f - target;
        if (std::abs(e) < kCoarseToleranceLu)
            return DriveSolution{x, *f};
        if (x >= maxX && e < -0.05)
            return unreachable();
        aim = target - (*f - cx);
        if (std::abs(e) < kPredictLu) {
            auto p = secantSolve(coarse, aim, x, cx, minX, maxX, kCoarseToleranceLu, 16, slope);
            if (!p)
                return p.error();
            return DriveSolution{p->first, p->second - aim + target};
        }
    }
    return DriveSolution{x, cx - aim + target};
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
    [[maybe_unused]] static constexpr FrameCount kEveryFrames = 1 << 18; ///< ~1.5 MB of 24-bit stereo
    int fd_ = -1;
    [[maybe_unused]] FrameCount last_ = 0; ///< used on Linux only
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
        const double strict = std::max(a.truePeakDbtp, linToDb(static_cast<double>(peak_)));
        return {std::move(a), strict};
    }

  private:
    void track(TruePeakDetector& d, const float* x, FrameCount n) {
        // Only the maximum is kept: frames whose cheap bound is <= the maximum so far cannot
        // raise it, so they need no exact value (the maximum is the same as exact everywhere).
        d.process(x, scratch_.data(), n, peak_);
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
                                std::uint64_t seed, const ProgressFn& progress, double from, double to,
                                const FadeShape& fade = {}) {
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
        // Fades shape the limited signal (gain <= 1 cannot raise a peak), before dither.
        fade.apply(out, written);
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

/// Removes a temporary file unless it was committed.
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

namespace {

/// Reference mode refines the curves when the master still deviates more than this from the
/// reference in the bands within the bound (dB RMS): half the 1.0 dB budget, so one
/// refinement usually suffices and most masters need none.
constexpr double kMatchRefineAboveDb = 0.5;

/// Reference mode's closed loop (render, measure, correct, as for loudness): measures the
/// master's third-octave deviation from the reference; above kMatchRefineAboveDb it refines
/// the curves on that measurement and masters once more (the output is replaced whole, by
/// rename). If the second pass fails, the first, complete master stands, with a warning.
/// Adds the "reference" section to the report.
Result<MasterOutcome> closeReferenceLoop(const MasterRequest& request, MasterOutcome outcome,
                                         const ProgressFn& progress) {
    const Analysis& ref = *outcome.reference;
    const ReferenceMatch& m = *outcome.match;
    const double deviation =
        spectralDeviationDb(outcome.after.midSpectrum, ref.midSpectrum, 40.0, 16000.0, m.boundedHz);
    if (!request.referenceState && request.match.eq && m.eqActive && deviation > kMatchRefineAboveDb) {
        ReferenceMatch refined = m;
        if (refineMatch(refined, outcome.after, ref, request.match) > 0) {
            MasterRequest again = request;
            again.referenceState = MasterRequest::ReferenceState{ref, std::move(refined), deviation};
            ProgressFn second;
            if (progress)
                second = [&](std::string_view, double f) { progress("refine", f); };
            auto refinedOutcome = masterFile(again, second);
            if (refinedOutcome)
                return refinedOutcome;
            const Warning w{"match_not_refined",
                            "the refinement pass failed (" + refinedOutcome.error().message +
                                "); the first pass's master is kept"};
            outcome.params.warnings.push_back(w);
            outcome.report["warnings"].push_back({{"code", w.code}, {"message", w.message}});
        }
    }
    const double before =
        spectralDeviationDb(outcome.before.midSpectrum, ref.midSpectrum, 40.0, 16000.0, m.boundedHz);
    outcome.report["reference"] = {
        {"file", std::filesystem::path(*request.referencePath).filename().string()},
        {"integrated_lufs", num(ref.integratedLufs)},
        {"true_peak_dbtp", num(ref.truePeakDbtp)},
        {"loudness_range_lu", num(ref.loudnessRangeLu)},
        {"sample_rate_hz", ref.sampleRate},
        {"channels", ref.channels},
        {"match",
         {{"strength_percent", num(request.match.strength * 100.0)},
          {"eq", request.match.eq},
          {"width", request.match.width},
          {"loudness", request.match.loudness}}},
        {"spectral_deviation_db",
         {{"mix", num(before)},
          {"master", num(deviation)},
          {"first_pass", request.referenceState ? num(request.referenceState->firstPassDeviationDb)
                                                : nlohmann::json(nullptr)},
          {"bands_within_bound", m.curves.centerHz.size() - m.boundedHz.size()},
          {"bands_bounded", m.boundedBands},
          {"measure", "third-octave bands 40 Hz-16 kHz, mid, each relative to its 100 Hz-4 kHz mean, "
                      "constant offset removed, RMS over the bands within the +-6 dB bound"}}},
    };
    return outcome;
}

} // namespace

Result<MasterOutcome> masterFile(const MasterRequest& request, const ProgressFn& progress) {
    const auto t0 = Clock::now();
    auto format = request.format ? Result<OutputFormat>(*request.format) : outputFormatFromPath(request.outputPath);
    if (!format)
        return format.error();
    // Settled before any work: the codec-aware ceiling (intent.h) and the user's tags (tags.h).
    MasterRequest req = request;
    auto ceiling = chooseCeiling(req.intent, outputFormatInfo(*format).lossy, outputFormatInfo(*format).name);
    if (!ceiling)
        return ceiling.error();
    req.intent.ceilingDbtp = ceiling->ceilingDbtp;
    auto userTagMap = userTags(req.tags);
    if (!userTagMap)
        return userTagMap.error();
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
    ResourceGuard guard(req.limits);
    auto source = openAudioFile(req.inputPath);
    if (!source)
        return source.error();
    if (req.limits.any()) {
        // Before decoding: the header's declared length against the limits (and the disks);
        // while decoding, the guarded source counts what is actually decoded.
        const std::string outDir = std::filesystem::absolute(req.outputPath).parent_path().string();
        if (auto s = checkEstimate(estimateResources((*source)->info(), *format, req.sampleRate), req.limits,
                                   spoolDirectory(), outDir);
            !s)
            return s.error();
        source = makeGuardedSource(std::move(source).value(), guard);
    }
    std::optional<int> rate = req.sampleRate;
    std::vector<Decision> ioDecisions;
    const int inRate = (*source)->info().sampleRate;
    ioDecisions.push_back({"output.ceiling_dbtp", req.intent.ceilingDbtp, ceiling->reason});
    if (const int want = codecOutputRate(*format, rate.value_or(inRate)); want != rate.value_or(inRate)) {
        ioDecisions.push_back({"output.sample_rate_hz", want, std::string(codecRateReason(*format))});
        rate = want;
    }
    const bool resampled = rate && *rate != inRate;
    if (resampled) {
        source = makeResamplingSource(std::move(source).value(), *rate);
        if (!source)
            return source.error();
    }
    // Optional trim of leading/trailing digital silence: one extra scan, then the rest of the
    // pipeline sees only the frames with sound.
    std::unique_ptr<AudioSource> trimmed;
    SoundRange trimRange{0, (*source)->info().frames};
    const FrameCount untrimmedFrames = (*source)->info().frames;
    if (req.trimSilence) {
        auto range = findSoundRange(**source);
        if (!range)
            return range.error();
        if (range->frames > 0) {
            trimRange = *range;
            trimmed = makeTrimmedSource(**source, *range);
        }
    }
    const AudioFileInfo info = trimmed ? trimmed->info() : (*source)->info();
    AudioSource& src = trimmed ? *trimmed : **source;
    if (req.fadeInMs < 0.0 || req.fadeInMs > kMaxFadeMs || req.fadeOutMs < 0.0 || req.fadeOutMs > kMaxFadeMs)
        return makeError(ErrorCode::InvalidArgument, "fades must be 0 to 60000 ms");
    FadeShape fade;
    fade.totalFrames = info.frames;
    fade.fadeInFrames = std::min(info.frames / 2, static_cast<FrameCount>(std::llround(req.fadeInMs * 1e-3 * info.sampleRate)));
    fade.fadeOutFrames = std::min(info.frames / 2, static_cast<FrameCount>(std::llround(req.fadeOutMs * 1e-3 * info.sampleRate)));

    // Pass 1: analyse. Uncompressed PCM is decoded again for pass 2 (a copy from the page
    // cache, cheaper than writing and reading a float spool of it); anything costlier to decode
    // (FLAC, lossy codecs, resampling) is kept as decoded for pass 2, so it is decoded once.
    const bool decodeAgain = !resampled && rewindsCheaply(info);
    std::optional<FloatSpool> inputSpool;
    if (!decodeAgain) {
        auto spool = FloatSpool::create(info.channels);
        if (!spool)
            return spool.error();
        inputSpool.emplace(std::move(spool).value());
        inputSpool->setGuard(&guard);
    }
    auto before = analysePass(src, progress, 0.0, 0.3, "analyze", inputSpool ? &*inputSpool : nullptr);
    if (!before)
        return before.error();
    std::optional<SpoolSource> spooled;
    if (inputSpool) {
        trimmed.reset();
        source.value().reset(); // closes the input file
        spooled.emplace(std::move(*inputSpool), info);
    }
    AudioSource& decoded = spooled ? static_cast<AudioSource&>(*spooled) : src;
    const auto tAnalysed = Clock::now();

    // Decide.
    MasterOutcome outcome;
    outcome.before = std::move(before).value();
    // Reference mode: the reference's analysis (once; the closed loop's second pass gets it)
    // and the match, whose loudness target replaces the intent's before deciding.
    if (req.referencePath) {
        if (req.referenceState) {
            outcome.reference = req.referenceState->reference;
            outcome.match = req.referenceState->match;
        } else {
            auto ref = analyzeFile(*req.referencePath);
            if (!ref) {
                Error e = ref.error();
                e.message = "reference: " + e.message;
                return e;
            }
            outcome.reference = std::move(ref->analysis);
            outcome.match = decideReferenceMatch(outcome.before, *outcome.reference, req.match);
        }
        if (outcome.match->targetLufs)
            req.intent.targetLufs = std::clamp(*outcome.match->targetLufs, kMinTargetLufs,
                                               std::min(kMaxTargetLufs, req.intent.ceilingDbtp - 4.0));
        req.intent.presetName = "reference";
    }
    outcome.params = decide(outcome.before, InputFacts{info.lossy, req.referencePath.has_value()}, req.intent,
                            defaultTargetBalance());
    if (req.eqOverride)
        applyEqOverride(outcome.params, *req.eqOverride, req.eqOverrideReason);
    if (outcome.match)
        applyReferenceMode(outcome.params, *outcome.match);
    ChainParams& params = outcome.params;
    for (auto& d : ioDecisions)
        params.decisions.push_back(d);

    // Pass 2: process into spools. The sidechain is exact everywhere: on music loud enough to
    // master, the detector's skip bound rarely pays for its own cost (measured in bench/).
    std::unique_ptr<AudioSource> matched;
    if (outcome.match && outcome.match->eqActive && !params.silent)
        matched = makeMatchedSource(decoded, outcome.match->curves);
    auto spools = processPass(matched ? *matched : decoded, params, progress, &guard);
    if (!spools)
        return spools.error();
    // The frames actually decoded (a lossy header's count is an estimate) place the fade-out.
    fade.totalFrames = spools->frames;
    fade.fadeInFrames = std::min(fade.fadeInFrames, spools->frames / 2);
    fade.fadeOutFrames = std::min(fade.fadeOutFrames, spools->frames / 2);
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
    if (auto s = guard.addTempBytes(outputBytesBound(*format, spools->frames, info.channels, info.sampleRate)); !s)
        return s.error();
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
                            progress, 0.6, 0.99, fade);
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
                // A peak that rose while the aim fell is the codec's noise, not a slope: dividing
                // by the clamp's 0.2 then stepped 5x too far (issue 9 finding 12), so step by 1.
                const double measured = a.limiterCeilingDbtp != b.limiterCeilingDbtp
                                            ? (a.truePeakDbtp - b.truePeakDbtp) /
                                                  (a.limiterCeilingDbtp - b.limiterCeilingDbtp)
                                            : 1.0;
                slope = measured > 0.0 ? std::clamp(measured, 0.2, 1.0) : 1.0;
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

    // Tags go into the temporary file, so the output still appears only complete.
    auto tagged = tagFile(req.inputPath, temp.path, *format, req.tags.carryInput, *userTagMap);
    if (!tagged)
        return tagged.error();
    // The spools are done with: close them while the output is synced to disk. Closing drops
    // their ~200 MB of page cache, kernel work the fsync's wait for the disk can hide.
    const double processedLufs = spools->processedLufs;
    const std::vector<BandStats> multibandStats = spools->multibandStats;
    Status committed;
    {
#ifdef __EMSCRIPTEN__
        // WebAssembly runs one thread (Workers have no shared memory): commit, then release.
        committed = commitFile(temp.path, req.outputPath);
        Spools released = std::move(spools).value();
#else
        std::jthread commit([&] { committed = commitFile(temp.path, req.outputPath); });
        Spools released = std::move(spools).value();
#endif
    }
    if (!committed)
        return committed.error();
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
         {{"processed_lufs_before_limiter", num(processedLufs)},
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
        {"multiband", multibandJson(params, multibandStats)},
        {"warnings", warnings},
        {"timing_ms",
         {{"analyze", num(ms(tAnalysed - t0))},
          {"process", num(ms(tProcessed - tAnalysed))},
          {"loudness_loop", num(ms(proxyTime))},
          {"render_and_verify", num(ms(renderTime))},
          {"total", num(ms(tDone - t0))}}},
    };
    outcome.report["output"]["tags"] = {{"written", tagged->written},
                                        {"dropped_from_input", tagged->droppedInput},
                                        {"not_supported_by_format", tagged->unsupported}};
    if (req.trimSilence || fade.active()) {
        const double fsOut = info.sampleRate;
        outcome.report["edits"] = {
            {"trim_silence", req.trimSilence},
            {"trimmed_leading_seconds", num(static_cast<double>(trimRange.start) / fsOut)},
            {"trimmed_trailing_seconds",
             num(static_cast<double>(untrimmedFrames - trimRange.start - trimRange.frames) / fsOut)},
            {"fade_in_ms", num(static_cast<double>(fade.fadeInFrames) * 1e3 / fsOut)},
            {"fade_out_ms", num(static_cast<double>(fade.fadeOutFrames) * 1e3 / fsOut)},
        };
    }
    if (outcome.reference)
        return closeReferenceLoop(request, std::move(outcome), progress);
    return outcome;
}

} // namespace quack
