#include "engine/analysis/analyzer.h"

#include "engine/core/flush_to_zero.h"
#include "engine/analysis/simd.h"
#include "engine/analysis/true_peak.h"

#include <fftw3.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numbers>
#include <utility>

namespace quack {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// Clipping: a sample at or above -0.1 dBFS; a clip is a run of at least 3 such samples
/// (shorter runs are legitimate peaks of a limited master).
constexpr double kClipThresholdDbfs = -0.1;
constexpr FrameCount kMinClipRunFrames = 3;
/// Silence: every channel at or below -60 dBFS.
constexpr double kSilenceThresholdDbfs = -60.0;

/// ISO 266 nominal 1/3-octave centres, 20 Hz .. 20 kHz; exact centres are 1000 * 2^(n/3),
/// n = -17..13 (IEC 61260-1 base-2), band edges at exact centre * 2^(+-1/6).
constexpr std::array<double, 31> kIsoCentresHz = {
    20,   25,   31.5, 40,   50,   63,   80,   100,  125,   160,   200,   250,   315,   400,   500,  630,
    800,  1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500, 16000, 20000};
constexpr int kFirstIsoIndex = -17; ///< n of the 20 Hz band
/// Bands whose centre is above this fraction of fs are dropped (anti-alias roll-off region).
constexpr double kMaxBandCentreFraction = 0.45;
/// Per-band stereo edges (Hz): sub/bass, low-mid, mid, presence, air.
constexpr std::array<double, 6> kStereoBandEdgesHz = {0.0, 120.0, 500.0, 2000.0, 8000.0, kInf};

/// TruePeakDetector output scratch size (frames); process() splits larger blocks.
constexpr FrameCount kTruePeakScratchFrames = 1024;

double toDb(double linear) { return linear > 0.0 ? 20.0 * std::log10(linear) : -kInf; }

/// FFT size: the power of two nearest fs / 10 (~100 ms, ~10 Hz resolution) in log terms.
int fftSizeFor(double sampleRate) {
    const double exponent = std::round(std::log2(sampleRate / 10.0));
    return 1 << static_cast<int>(std::clamp(exponent, 8.0, 16.0));
}

/// FFTW's planner is not thread-safe (fftw3 manual s.5): plan creation and destruction are
/// serialised; fftwf_execute_dft_r2c on distinct arrays is thread-safe.
std::mutex& fftwPlannerMutex() {
    static std::mutex m;
    return m;
}

struct FftwFree {
    void operator()(void* p) const { fftwf_free(p); }
};
using FftFloats = std::unique_ptr<float[], FftwFree>;
using FftComplex = std::unique_ptr<fftwf_complex[], FftwFree>;

FftFloats allocFloats(size_t n) {
    auto* p = static_cast<float*>(fftwf_malloc(sizeof(float) * n));
    std::fill(p, p + n, 0.0f);
    return FftFloats(p);
}
FftComplex allocComplex(size_t n) {
    auto* p = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * n));
    std::memset(p, 0, sizeof(fftwf_complex) * n);
    return FftComplex(p);
}

/// Per-bin weights of one frequency band: bin k stands for [k - 1/2, k + 1/2] * df, and
/// contributes the fraction of that interval inside the band (so bands narrower than a bin, at
/// 20-40 Hz, still get a level and total power is conserved). The DC bin is excluded (DC offset
/// is reported separately and would swamp the lowest band).
struct BandWeights {
    double lowHz = 0.0, highHz = 0.0;
    std::vector<std::pair<int, double>> bins;
};

BandWeights makeBand(double lowHz, double highHz, double sampleRate, int fftSize) {
    BandWeights b{lowHz, highHz, {}};
    const double df = sampleRate / fftSize;
    const double nyquist = sampleRate / 2.0;
    const double hi = std::min(highHz, nyquist);
    for (int k = 1; k <= fftSize / 2; ++k) {
        const double binLo = (k - 0.5) * df, binHi = std::min((k + 0.5) * df, nyquist);
        const double overlap = std::min(binHi, hi) - std::max(binLo, lowHz);
        if (overlap > 0.0) {
            // One-sided spectrum: bins strictly between DC and Nyquist stand for two.
            const double sides = (k == fftSize / 2) ? 1.0 : 2.0;
            b.bins.emplace_back(k, sides * overlap / df);
        }
    }
    return b;
}

double weightedSum(const BandWeights& band, const std::vector<double>& v) {
    double s = 0.0;
    for (const auto& [k, w] : band.bins)
        s += w * v[static_cast<size_t>(k)];
    return s;
}

/// Correlation and width from energies: sum L*R, sum L^2, sum R^2 (any common scale).
std::pair<double, double> correlationAndWidth(double lr, double ll, double rr) {
    double corr;
    if (ll > 0.0 && rr > 0.0)
        corr = std::clamp(lr / std::sqrt(ll * rr), -1.0, 1.0);
    else
        corr = (ll == rr) ? 1.0 : 0.0; // both silent: identical; one silent: no relation
    // mid = (L+R)/2, side = (L-R)/2: sum m^2 = (ll + rr + 2 lr)/4, sum s^2 = (ll + rr - 2 lr)/4.
    const double mid = std::max(0.0, ll + rr + 2.0 * lr), side = std::max(0.0, ll + rr - 2.0 * lr);
    const double width = mid > 0.0 ? side / mid : (side > 0.0 ? kInf : 0.0);
    return {corr, width};
}

/// Everything accumulated per internal chunk: plain values, cheap to copy so that finish()
/// (const) can fold the pending partial chunk into a copy.
struct Stats {
    FrameCount frames = 0;
    std::array<double, kMaxChannels> sum{};   ///< sum x (DC offset)
    std::array<double, kMaxChannels> sumSq{}; ///< sum x^2 (RMS, correlation)
    double sumLr = 0.0;                       ///< sum L*R (correlation)
    float samplePeak = 0.0f;

    std::array<FrameCount, kMaxChannels> runFrames{}; ///< current run of clipped samples
    ClippingStats clipping;
    FrameCount firstLoudFrame = -1, lastLoudFrame = -1;

    // Long-term spectrum (Welch: Hann, 50 % overlap): per-bin sums over FFT frames of |M|^2,
    // |S|^2 and Re(M S*), each kept as its (real-part, imaginary-part) pair of terms, and the
    // window energy sum_frames sum_n w[n]^2 over real samples.
    std::vector<double> powMid, powSide, crossMidSide;
    double windowEnergy = 0.0;

    void closeRun(size_t c) {
        const FrameCount run = runFrames[c];
        if (run >= kMinClipRunFrames) {
            ++clipping.clipRuns;
            clipping.clippedSamples += run;
            clipping.longestRunFrames = std::max(clipping.longestRunFrames, run);
        }
        runFrames[c] = 0;
    }
};

/// Scratch of one FFT pass; process() owns one, finish() makes its own (it is const).
struct FftWork {
    FftFloats in;
    FftComplex outMid, outSide;
    FftWork(int n) : in(allocFloats(static_cast<size_t>(n))), outMid(allocComplex(static_cast<size_t>(n / 2 + 1))),
                     outSide(allocComplex(static_cast<size_t>(n / 2 + 1))) {}
};

} // namespace

struct Analyzer::Impl {
    double sampleRate;
    ChannelCount channels;
    AnalysisOptions options;
    FrameCount hop;  ///< internal chunk = FFT hop = fftSize / 2 frames, at absolute positions
    int fftSize;
    float clipThreshold;
    float silenceThreshold;

    LoudnessMeter meter;

    std::array<TruePeakDetector, kMaxChannels> truePeak;
    FrameCount truePeakLatency = 0;
    float truePeakMax = 0.0f; ///< running max of detector output (linear); the exactAbove hint
    std::vector<float> truePeakScratch;

    // Chunker: the current partial chunk and the previous complete one (raw and mid/side).
    std::array<std::vector<float>, kMaxChannels> cur, prev;
    FrameCount curFill = 0, prevFill = 0;
    std::vector<float> curMid, curSide, prevMid, prevSide;

    Stats stats;

    // Spectrum machinery.
    FftFloats window;              ///< periodic Hann, fftSize
    std::vector<double> w2Prefix;  ///< prefix sums of window^2, fftSize + 1
    fftwf_plan plan = nullptr;
    std::unique_ptr<FftWork> work;
    std::vector<BandWeights> thirdOctaves, stereoBands;
    std::vector<double> thirdOctaveCentresHz;

    Impl(double fs, ChannelCount ch, AnalysisOptions opt)
        : sampleRate(fs), channels(ch), options(opt), fftSize(fftSizeFor(fs)),
          clipThreshold(static_cast<float>(std::pow(10.0, kClipThresholdDbfs / 20.0))),
          silenceThreshold(static_cast<float>(std::pow(10.0, kSilenceThresholdDbfs / 20.0))), meter(fs, ch) {
        hop = fftSize / 2;
        for (ChannelCount c = 0; c < channels; ++c) {
            const auto i = static_cast<size_t>(c);
            truePeak[i].prepare(fs, TruePeakDesign::Accurate8x);
            cur[i].assign(static_cast<size_t>(hop), 0.0f);
            prev[i].assign(static_cast<size_t>(hop), 0.0f);
        }
        truePeakLatency = truePeak[0].latencyFrames();
        truePeakScratch.assign(static_cast<size_t>(kTruePeakScratchFrames), 0.0f);
        for (auto* v : {&curMid, &curSide, &prevMid, &prevSide})
            v->assign(static_cast<size_t>(hop), 0.0f);

        if (!options.spectrum)
            return;
        const auto n = static_cast<size_t>(fftSize);
        window = allocFloats(n);
        w2Prefix.assign(n + 1, 0.0);
        for (size_t i = 0; i < n; ++i) {
            // Periodic Hann: w[n] = 0.5 - 0.5 cos(2 pi n / N); 50 % overlap sums to 1 (COLA).
            const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / fftSize);
            window[i] = static_cast<float>(w);
            const double wf = static_cast<double>(window[i]);
            w2Prefix[i + 1] = w2Prefix[i] + wf * wf;
        }
        work = std::make_unique<FftWork>(fftSize);
        {
            std::lock_guard lock(fftwPlannerMutex());
            // ESTIMATE: planning costs microseconds; MEASURE would cost more than it saves on
            // one track. Arrays from fftwf_malloc keep the SIMD alignment the plan assumes.
            plan = fftwf_plan_dft_r2c_1d(fftSize, work->in.get(), work->outMid.get(), FFTW_ESTIMATE);
        }
        const size_t pairs = 2 * (n / 2 + 1); // interleaved (re, im) parts per bin
        stats.powMid.assign(pairs, 0.0);
        if (channels == 2) {
            stats.powSide.assign(pairs, 0.0);
            stats.crossMidSide.assign(pairs, 0.0);
        }
        for (size_t b = 0; b < kIsoCentresHz.size(); ++b) {
            if (kIsoCentresHz[b] > kMaxBandCentreFraction * fs)
                break;
            const double exact = 1000.0 * std::exp2((kFirstIsoIndex + static_cast<int>(b)) / 3.0);
            thirdOctaves.push_back(makeBand(exact * std::exp2(-1.0 / 6.0), exact * std::exp2(1.0 / 6.0), fs, fftSize));
            thirdOctaveCentresHz.push_back(kIsoCentresHz[b]);
        }
        if (channels == 2) {
            for (size_t b = 0; b + 1 < kStereoBandEdgesHz.size(); ++b) {
                if (kStereoBandEdgesHz[b] >= fs / 2.0)
                    break;
                BandWeights band = makeBand(kStereoBandEdgesHz[b], kStereoBandEdgesHz[b + 1], fs, fftSize);
                band.highHz = std::min(band.highHz, fs / 2.0);
                stereoBands.push_back(std::move(band));
            }
        }
    }

    ~Impl() {
        if (plan != nullptr) {
            std::lock_guard lock(fftwPlannerMutex());
            fftwf_destroy_plan(plan);
        }
    }

    /// p[0..3] += {a, b}.
    static void addTo(double* p, detail::Double2 a, detail::Double2 b) {
        detail::Double2 x, y;
        std::memcpy(&x, p, sizeof x);
        std::memcpy(&y, p + 2, sizeof y);
        x += a;
        y += b;
        std::memcpy(p, &x, sizeof x);
        std::memcpy(p + 2, &y, sizeof y);
    }

    // -----------------------------------------------------------------------------------------
    // One Welch frame: [a (na real frames, zero after), b (nb real frames, zero after)].

    void accumulateFrame(Stats& st, FftWork& w, const float* aMid, const float* aSide, FrameCount na,
                         const float* bMid, const float* bSide, FrameCount nb) const {
        const auto h = static_cast<size_t>(hop);
        const float* win = window.get();
        const size_t bins = static_cast<size_t>(fftSize / 2 + 1);
        auto transform = [&](const float* a, const float* b, fftwf_complex* out) {
            float* in = w.in.get();
            for (size_t i = 0; i < h; ++i)
                in[i] = win[i] * a[i];
            for (size_t i = 0; i < h; ++i)
                in[h + i] = win[h + i] * b[i];
            fftwf_execute_dft_r2c(plan, in, out);
        };
        transform(aMid, bMid, w.outMid.get());
        // Accumulators are interleaved (re^2, im^2) pairs per bin, folded in finish(): two bins
        // per step as two-lane double vectors.
        const auto* m = reinterpret_cast<const float*>(w.outMid.get());
        double* pm = st.powMid.data();
        size_t k = 0;
        if (channels == 2) {
            transform(aSide, bSide, w.outSide.get());
            const auto* s = reinterpret_cast<const float*>(w.outSide.get());
            double* ps = st.powSide.data();
            double* cx = st.crossMidSide.data();
            for (; k + 2 <= bins; k += 2) {
                const detail::Float4 mv = detail::load4(m + 2 * k), sv = detail::load4(s + 2 * k);
                const detail::Double2 m0 = detail::lowToDouble(mv), m1 = detail::highToDouble(mv);
                const detail::Double2 s0 = detail::lowToDouble(sv), s1 = detail::highToDouble(sv);
                addTo(pm + 2 * k, m0 * m0, m1 * m1);
                addTo(ps + 2 * k, s0 * s0, s1 * s1);
                addTo(cx + 2 * k, m0 * s0, m1 * s1); // Re(M S*) = mr sr + mi si
            }
            for (; k < bins; ++k)
                for (size_t j = 0; j < 2; ++j) {
                    const auto mr = static_cast<double>(m[2 * k + j]), sr = static_cast<double>(s[2 * k + j]);
                    pm[2 * k + j] += mr * mr;
                    ps[2 * k + j] += sr * sr;
                    cx[2 * k + j] += mr * sr;
                }
        } else {
            for (; k + 2 <= bins; k += 2) {
                const detail::Float4 mv = detail::load4(m + 2 * k);
                const detail::Double2 m0 = detail::lowToDouble(mv), m1 = detail::highToDouble(mv);
                addTo(pm + 2 * k, m0 * m0, m1 * m1);
            }
            for (; k < bins; ++k)
                for (size_t j = 0; j < 2; ++j) {
                    const auto mr = static_cast<double>(m[2 * k + j]);
                    pm[2 * k + j] += mr * mr;
                }
        }
        st.windowEnergy += w2Prefix[static_cast<size_t>(na)] +
                           (w2Prefix[h + static_cast<size_t>(nb)] - w2Prefix[h]);
    }

    // -----------------------------------------------------------------------------------------
    // One chunk of n <= hop frames starting at absolute frame st.frames.

    void processChunk(Stats& st, FftWork* w, const std::array<const float*, kMaxChannels>& raw, FrameCount n,
                      float* mid, float* side, const float* pMid, const float* pSide, FrameCount pFill) const {
        const auto len = static_cast<size_t>(n);
        // Vector reductions in a fixed order over a chunk at a fixed absolute position: results do
        // not depend on the caller's block size.
        float chunkPeak = 0.0f;
        if (channels == 2) {
            // One pass for both channels' sums, their cross sum and (for the spectrum) mid/side.
            const detail::StereoSums ss = detail::stereoSums(raw[0], raw[1], n, w != nullptr ? mid : nullptr, side);
            st.sum[0] += ss.l.sum;
            st.sumSq[0] += ss.l.sumSq;
            st.sum[1] += ss.r.sum;
            st.sumSq[1] += ss.r.sumSq;
            st.sumLr += ss.lr;
            chunkPeak = std::max(ss.l.peak, ss.r.peak);
        } else {
            const detail::ChannelSums cs = detail::channelSums(raw[0], n);
            st.sum[0] += cs.sum;
            st.sumSq[0] += cs.sumSq;
            chunkPeak = cs.peak;
        }
        st.samplePeak = std::max(st.samplePeak, chunkPeak);

        // Clipping runs: only scanned sample by sample when the chunk reaches the threshold or a
        // run is open (a run may continue across chunk boundaries).
        for (ChannelCount c = 0; c < channels; ++c) {
            const auto ci = static_cast<size_t>(c);
            if (chunkPeak < clipThreshold && st.runFrames[ci] == 0)
                continue;
            const float* x = raw[ci];
            for (size_t i = 0; i < len; ++i) {
                if (std::fabs(x[i]) >= clipThreshold)
                    ++st.runFrames[ci];
                else if (st.runFrames[ci] != 0)
                    st.closeRun(ci);
            }
        }

        // Leading / trailing silence: first and last frame where any channel exceeds -60 dBFS.
        if (chunkPeak > silenceThreshold) {
            auto loud = [&](size_t i) {
                for (ChannelCount c = 0; c < channels; ++c)
                    if (std::fabs(raw[static_cast<size_t>(c)][i]) > silenceThreshold)
                        return true;
                return false;
            };
            if (st.firstLoudFrame < 0) {
                size_t i = 0;
                while (!loud(i))
                    ++i;
                st.firstLoudFrame = st.frames + static_cast<FrameCount>(i);
            }
            size_t i = len - 1;
            while (!loud(i))
                --i;
            st.lastLoudFrame = st.frames + static_cast<FrameCount>(i);
        }

        if (w != nullptr) {
            const auto h = static_cast<size_t>(hop);
            if (channels == 2) {
                // mid = (L+R)/2, side = (L-R)/2 were written by stereoSums above.
                std::fill(side + len, side + h, 0.0f);
            } else {
                std::copy(raw[0], raw[0] + len, mid);
            }
            std::fill(mid + len, mid + h, 0.0f);
            // Welch frames lie wholly inside the track (the first starts at frame 0); edge frames
            // padded with zeros would add the onset/offset step's broadband splatter.
            if (pFill == hop && n == hop)
                accumulateFrame(st, *w, pMid, pSide, pFill, mid, side, n);
        }
        st.frames += n;
    }

    std::array<const float*, kMaxChannels> curPtrs() const {
        std::array<const float*, kMaxChannels> p{};
        for (ChannelCount c = 0; c < channels; ++c)
            p[static_cast<size_t>(c)] = cur[static_cast<size_t>(c)].data();
        return p;
    }

    void process(const ConstAudioView& block) {
        assert(block.numChannels == channels);
        detail::ScopedFlushToZero ftz;
        meter.process(block);

        // True peak (BS.1770-4 Annex 2) with the 8x detector. Frames whose cheap bound cannot
        // beat the running maximum are not interpolated exactly; the maximum is unaffected.
        // The hint may be any value <= the final maximum: the sample peak of the frames about
        // to be processed qualifies (true peak >= sample peak), and is known before the detector
        // runs, so early, still-quiet stretches are not interpolated exactly for nothing.
        for (FrameCount done = 0; done < block.numFrames;) {
            const FrameCount n = std::min(kTruePeakScratchFrames, block.numFrames - done);
            for (ChannelCount c = 0; c < channels; ++c)
                truePeakMax = std::max(truePeakMax, detail::maxAbs(block.channel(c) + done, n));
            float blockMax = truePeakMax;
            for (ChannelCount c = 0; c < channels; ++c) {
                truePeak[static_cast<size_t>(c)].process(block.channel(c) + done, truePeakScratch.data(), n,
                                                         truePeakMax);
                blockMax = std::max(blockMax, detail::maxNonNegative(truePeakScratch.data(), n));
            }
            truePeakMax = blockMax;
            done += n;
        }

        // Re-chunk to absolute multiples of `hop` for the vectorised statistics and the FFT.
        for (FrameCount done = 0; done < block.numFrames;) {
            const FrameCount n = std::min(hop - curFill, block.numFrames - done);
            for (ChannelCount c = 0; c < channels; ++c)
                std::copy_n(block.channel(c) + done, n, cur[static_cast<size_t>(c)].data() + curFill);
            curFill += n;
            done += n;
            if (curFill == hop) {
                processChunk(stats, work.get(), curPtrs(), hop, curMid.data(), curSide.data(), prevMid.data(),
                             prevSide.data(), prevFill);
                std::swap(cur, prev);
                std::swap(curMid, prevMid);
                std::swap(curSide, prevSide);
                prevFill = hop;
                curFill = 0;
            }
        }
    }

    /// Peaks the main detectors have not reported yet (their last `latency` intervals): a fresh
    /// detector replays the buffered tail (>= hop frames, far more than its 32-frame support, or
    /// the whole track) followed by `latency` zeros.
    float truePeakTail() const {
        if (truePeakLatency <= 0 || prevFill + curFill == 0)
            return 0.0f;
        const FrameCount history = prevFill + curFill;
        std::vector<float> in(static_cast<size_t>(history + truePeakLatency), 0.0f);
        std::vector<float> out(in.size(), 0.0f);
        float peak = 0.0f;
        for (ChannelCount c = 0; c < channels; ++c) {
            const auto ci = static_cast<size_t>(c);
            std::copy_n(prev[ci].data(), prevFill, in.data());
            std::copy_n(cur[ci].data(), curFill, in.data() + prevFill);
            std::fill(in.begin() + history, in.end(), 0.0f);
            TruePeakDetector d;
            d.prepare(sampleRate, TruePeakDesign::Accurate8x);
            d.process(in.data(), out.data(), static_cast<FrameCount>(in.size()), 0.0f);
            for (size_t i = static_cast<size_t>(history); i < out.size(); ++i)
                peak = std::max(peak, out[i]);
        }
        return peak;
    }

    Analysis finish() const {
        Stats st = stats;
        if (options.spectrum || curFill > 0) {
            std::unique_ptr<FftWork> w = options.spectrum ? std::make_unique<FftWork>(fftSize) : nullptr;
            const std::vector<float> zeros(static_cast<size_t>(hop), 0.0f);
            std::vector<float> mid(static_cast<size_t>(hop), 0.0f), side(static_cast<size_t>(hop), 0.0f);
            if (curFill > 0)
                processChunk(st, w.get(), curPtrs(), curFill, mid.data(), side.data(), prevMid.data(),
                             prevSide.data(), prevFill);
            // A track shorter than one FFT frame (fftSize frames) has no complete Welch frame: fall
            // back to the zero-padded frame(s) that hold its samples, normalised by the window
            // energy over the real samples only, so the level of a steady tone is still right.
            if (w && st.windowEnergy == 0.0) {
                if (curFill > 0 && prevFill > 0)
                    accumulateFrame(st, *w, prevMid.data(), prevSide.data(), prevFill, mid.data(), side.data(), curFill);
                else if (curFill > 0)
                    accumulateFrame(st, *w, zeros.data(), zeros.data(), 0, mid.data(), side.data(), curFill);
                else if (prevFill > 0)
                    accumulateFrame(st, *w, zeros.data(), zeros.data(), 0, prevMid.data(), prevSide.data(), prevFill);
            }
        }
        for (ChannelCount c = 0; c < channels; ++c)
            st.closeRun(static_cast<size_t>(c));

        Analysis a;
        a.sampleRate = sampleRate;
        a.channels = channels;
        a.frames = st.frames;
        a.durationSeconds = static_cast<double>(st.frames) / sampleRate;

        a.integratedLufs = meter.integratedLufs();
        a.loudnessRangeLu = meter.loudnessRangeLu();
        a.maxMomentaryLufs = meter.maxMomentaryLufs();
        a.maxShortTermLufs = meter.maxShortTermLufs();

        const double samplePeak = static_cast<double>(st.samplePeak);
        a.samplePeakDbfs = toDb(samplePeak);
        // Report max(sample peak, interpolated peak) (BS.1770-4 Annex 2).
        const double tp = std::max({samplePeak, static_cast<double>(truePeakMax), static_cast<double>(truePeakTail())});
        a.truePeakDbtp = toDb(tp);

        double energy = 0.0;
        for (ChannelCount c = 0; c < channels; ++c)
            energy += st.sumSq[static_cast<size_t>(c)];
        const double samples = static_cast<double>(st.frames) * channels;
        // Plain RMS: a full-scale sine reads -3.01 dBFS (not the AES17 +3 dB convention).
        a.rmsDbfs = samples > 0.0 ? toDb(std::sqrt(energy / samples)) : -kInf;
        a.crestFactorDb = std::isfinite(a.rmsDbfs) ? a.samplePeakDbfs - a.rmsDbfs : 0.0;
        a.plrDb = std::isfinite(a.integratedLufs) ? a.truePeakDbtp - a.integratedLufs : 0.0;

        a.dcOffset.assign(static_cast<size_t>(channels), 0.0);
        if (st.frames > 0)
            for (ChannelCount c = 0; c < channels; ++c)
                a.dcOffset[static_cast<size_t>(c)] = st.sum[static_cast<size_t>(c)] / static_cast<double>(st.frames);
        if (channels == 2)
            std::tie(a.correlation, a.width) = correlationAndWidth(st.sumLr, st.sumSq[0], st.sumSq[1]);

        a.clipping = st.clipping;
        if (st.firstLoudFrame < 0) {
            // Nothing above -60 dBFS: the whole track is silence, both ways.
            a.leadingSilenceSeconds = a.trailingSilenceSeconds = a.durationSeconds;
        } else {
            a.leadingSilenceSeconds = static_cast<double>(st.firstLoudFrame) / sampleRate;
            a.trailingSilenceSeconds = static_cast<double>(st.frames - 1 - st.lastLoudFrame) / sampleRate;
        }

        if (options.spectrum && st.windowEnergy > 0.0)
            fillSpectra(st, a);
        return a;
    }

    void fillSpectra(const Stats& st, Analysis& a) const {
        // Parseval: sum over the two-sided spectrum |X|^2 = N sum (w x)^2, so mean square =
        // sum_k c_k |X_k|^2 / (N sum w^2); level re a full-scale sine (mean square 1/2).
        const double norm = 1.0 / (static_cast<double>(fftSize) * st.windowEnergy);
        auto level = [norm](double power) { return 10.0 * std::log10(2.0 * power * norm); };
        const bool stereo = channels == 2;
        auto fold = [](const std::vector<double>& pairs) {
            std::vector<double> v(pairs.size() / 2);
            for (size_t k = 0; k < v.size(); ++k)
                v[k] = pairs[2 * k] + pairs[2 * k + 1];
            return v;
        };
        const std::vector<double> powMid = fold(st.powMid);
        const std::vector<double> powSide = stereo ? fold(st.powSide) : std::vector<double>{};
        const std::vector<double> cross = stereo ? fold(st.crossMidSide) : std::vector<double>{};
        std::vector<double> total;
        if (stereo) {
            // (|L|^2 + |R|^2) / 2 = |M|^2 + |S|^2 with M = (L+R)/2, S = (L-R)/2.
            total.resize(powMid.size());
            for (size_t k = 0; k < total.size(); ++k)
                total[k] = powMid[k] + powSide[k];
        }
        for (size_t b = 0; b < thirdOctaves.size(); ++b) {
            const double pm = weightedSum(thirdOctaves[b], powMid);
            a.midSpectrum.centerHz.push_back(thirdOctaveCentresHz[b]);
            a.midSpectrum.levelDb.push_back(level(pm));
            if (stereo) {
                a.sideSpectrum.centerHz.push_back(thirdOctaveCentresHz[b]);
                a.sideSpectrum.levelDb.push_back(level(weightedSum(thirdOctaves[b], powSide)));
                a.spectrum.centerHz.push_back(thirdOctaveCentresHz[b]);
                a.spectrum.levelDb.push_back(level(weightedSum(thirdOctaves[b], total)));
            }
        }
        if (!stereo) {
            a.spectrum = a.midSpectrum;
            return;
        }
        for (const BandWeights& band : stereoBands) {
            const double pm = weightedSum(band, powMid), ps = weightedSum(band, powSide);
            const double cx = weightedSum(band, cross);
            // L = M + S, R = M - S: |L|^2 = |M|^2 + |S|^2 + 2 Re(M S*), |R|^2 = ... - 2 Re(M S*),
            // Re(L R*) = |M|^2 - |S|^2.
            BandStereo bs;
            bs.lowHz = band.lowHz;
            bs.highHz = band.highHz;
            const double ll = std::max(0.0, pm + ps + 2.0 * cx), rr = std::max(0.0, pm + ps - 2.0 * cx);
            if (ll > 0.0 && rr > 0.0)
                bs.correlation = std::clamp((pm - ps) / std::sqrt(ll * rr), -1.0, 1.0);
            else
                bs.correlation = (ll == rr) ? 1.0 : 0.0;
            bs.width = pm > 0.0 ? ps / pm : (ps > 0.0 ? kInf : 0.0);
            a.bandStereo.push_back(bs);
        }
    }
};

Analyzer::Analyzer(double sampleRate, ChannelCount channels, AnalysisOptions options)
    : impl_(std::make_unique<Impl>(sampleRate, channels, options)) {
    assert(sampleRate >= kMinSampleRate && sampleRate <= kMaxSampleRate);
    assert(channels >= 1 && channels <= kMaxChannels);
}
Analyzer::~Analyzer() = default;
Analyzer::Analyzer(Analyzer&&) noexcept = default;
Analyzer& Analyzer::operator=(Analyzer&&) noexcept = default;

void Analyzer::process(ConstAudioView block) { impl_->process(block); }
Analysis Analyzer::finish() const { return impl_->finish(); }

// ---------------------------------------------------------------------------------------------
// JSON

namespace {
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json numbers(const std::vector<double>& v) {
    nlohmann::json out = nlohmann::json::array();
    for (double x : v)
        out.push_back(number(x));
    return out;
}
} // namespace

nlohmann::json toJson(const Spectrum& spectrum) {
    return {{"center_hz", numbers(spectrum.centerHz)}, {"level_dbfs", numbers(spectrum.levelDb)}};
}

nlohmann::json toJson(const Analysis& a) {
    nlohmann::json bands = nlohmann::json::array();
    for (const BandStereo& b : a.bandStereo)
        bands.push_back({{"low_hz", number(b.lowHz)},
                         {"high_hz", number(b.highHz)},
                         {"correlation", number(b.correlation)},
                         {"width_side_to_mid", number(b.width)}});
    return {
        {"sample_rate_hz", number(a.sampleRate)},
        {"channels", a.channels},
        {"frames", a.frames},
        {"duration_s", number(a.durationSeconds)},
        {"integrated_lufs", number(a.integratedLufs)},
        {"loudness_range_lu", number(a.loudnessRangeLu)},
        {"max_momentary_lufs", number(a.maxMomentaryLufs)},
        {"max_short_term_lufs", number(a.maxShortTermLufs)},
        {"sample_peak_dbfs", number(a.samplePeakDbfs)},
        {"true_peak_dbtp", number(a.truePeakDbtp)},
        {"rms_dbfs", number(a.rmsDbfs)},
        {"crest_factor_db", number(a.crestFactorDb)},
        {"plr_db", number(a.plrDb)},
        {"dc_offset_linear", numbers(a.dcOffset)},
        {"correlation", number(a.correlation)},
        {"width_side_to_mid", number(a.width)},
        {"band_stereo", bands},
        {"spectrum", toJson(a.spectrum)},
        {"mid_spectrum", toJson(a.midSpectrum)},
        {"side_spectrum", toJson(a.sideSpectrum)},
        {"clipping",
         {{"clipped_samples", a.clipping.clippedSamples},
          {"clip_runs", a.clipping.clipRuns},
          {"longest_run_frames", a.clipping.longestRunFrames}}},
        {"leading_silence_s", number(a.leadingSilenceSeconds)},
        {"trailing_silence_s", number(a.trailingSilenceSeconds)},
    };
}

} // namespace quack
