/// TonalEq design
/// ==============
/// Target: T(f), the caller's curve interpolated linearly in log2(f) between its points and held
/// beyond its ends. Realisation: a cascade of at most 12 minimum-phase biquads (RBJ cookbook
/// shapes, bilinear transform pre-warped at each section's centre):
///   - a low shelf at 40 Hz (Q 1/sqrt2), holding the curve below ~40 Hz,
///   - peaking sections at the octave centres 31.25 Hz .. 16 kHz with Q 0.7 (bandwidth
///     BW = 2/ln2 asinh(1/(2Q)) = 1.9 octaves, so neighbours overlap by ~half and their sum is
///     smooth: Q 1.41 left 1 dB ripple on a tilt, Q 0.7 leaves < 0.3 dB), kept while
///     fc <= 0.4 fs,
///   - a high shelf at min(10 kHz, 0.2 fs), holding the top octave.
/// The centres and Qs are fixed; only the gains g_k (dB) are free. A cascade multiplies
/// magnitudes, so in dB the realised response is the sum of the sections' responses:
///   R(f; g) = sum_k H_k(f; g_k),   H_k(f; g) = 20 log10 |h_k(e^{j 2 pi f / fs}; g)|.
/// H_k is nearly, not exactly, linear in g (a cookbook peak's shape narrows as its gain grows),
/// so the gains solve the regularised non-linear least-squares problem
///   min_g  sum_i w_i (T(f_i) - R(f_i; g))^2 + mu sum_k g_k^2
/// on a fit grid f_i (1/6 octave from 20 Hz to min(20 kHz, 0.45 fs), plus the curve's own
/// points; points outside 40 Hz..16 kHz weigh 0.3 so the edges do not spend the sections
/// freedom) by Gauss-Newton: with the Jacobian J_ik = dH_k(f_i; g_k)/dg_k (central difference)
/// and residual r_i = T(f_i) - R(f_i; g), each step solves the normal equations
///   (J^T W J + mu I) dg = J^T W r - mu g
/// and iterates to convergence (|dg| < 1e-6 dB, typically 3-5 steps). mu is tiny; it only keeps
/// the system well conditioned where sections overlap and stops opposing gains from growing
/// where the grid does not constrain them (e.g. the high shelf at low sample rates). Sections
/// whose fitted gain is below kNegligibleGainDb are then dropped and the rest refitted, so a flat
/// curve yields no sections at all (bit-exact pass-through) and a mild curve costs only the
/// sections it needs.
///
/// Processing: both channels go through the cascade together as the two lanes of a double
/// vector (dsp_detail::Cascade: on AVX2+FMA CPUs two sections per 256-bit register in a skewed
/// pipeline, else SSE2/portable, in groups of four frames). The optional high-pass (the
/// SubsonicFilter design) is two more sections at the front of the same cascade.
#include "engine/dsp/tonal_eq.h"

#include "engine/core/flush_to_zero.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <numbers>

namespace quack {

namespace {

constexpr double kMaxCurveFs = 0.45;     ///< curve points above 0.45 fs are ignored
constexpr double kLowShelfHz = 40.0;     ///< low-shelf corner
constexpr double kHighShelfHz = 10000.0; ///< high-shelf corner (at most kMaxShelfFs * fs)
constexpr double kMaxShelfFs = 0.2;      ///< keeps the high shelf clear of Nyquist cramping
constexpr double kMaxPeakFs = 0.4;       ///< peaks above 0.4 fs are left out
constexpr double kShelfQ = std::numbers::sqrt2 / 2.0;
constexpr double kPeakQ = 0.7;         ///< bandwidth ~1.9 octaves (RBJ: 1/Q = 2 sinh(ln2/2 BW))
constexpr double kFirstPeakHz = 31.25; ///< octave centres 31.25 .. 16000 Hz
constexpr double kLastPeakHz = 16000.0;
constexpr double kGridLowHz = 20.0;
constexpr double kGridHighHz = 20000.0;
constexpr double kGridStepOctaves = 1.0 / 6.0;
constexpr double kCoreLowHz = 40.0; ///< the band that matters most: full weight
constexpr double kCoreHighHz = 16000.0;
constexpr double kEdgeWeight = 0.3;        ///< weight of grid points outside the core band
constexpr double kRegularisation = 1e-4;   ///< mu, dB^-2 relative to one grid point's weight
constexpr double kMaxSectionGainDb = 24.0; ///< clamp, far outside any sane fit
constexpr double kNegligibleGainDb = 0.01; ///< sections below this are dropped
constexpr double kDerivativeStepDb = 0.01;
constexpr int kMaxIterations = 30;
constexpr double kConvergedDb = 1e-6;

enum class SectionKind { LowShelf, Peak, HighShelf };

struct SectionSpec {
    SectionKind kind;
    double hz;
    double q;
};

BiquadCoeffs designSection(const SectionSpec& s, double gainDb, double fs) {
    switch (s.kind) {
    case SectionKind::LowShelf:
        return BiquadCoeffs::lowShelf(s.hz, s.q, gainDb, fs);
    case SectionKind::HighShelf:
        return BiquadCoeffs::highShelf(s.hz, s.q, gainDb, fs);
    case SectionKind::Peak:
        break;
    }
    return BiquadCoeffs::peaking(s.hz, s.q, gainDb, fs);
}

std::vector<SectionSpec> candidateSections(double fs) {
    std::vector<SectionSpec> specs;
    specs.push_back({SectionKind::LowShelf, kLowShelfHz, kShelfQ});
    for (double hz = kFirstPeakHz; hz <= kLastPeakHz * 1.001; hz *= 2.0)
        if (hz <= kMaxPeakFs * fs)
            specs.push_back({SectionKind::Peak, hz, kPeakQ});
    specs.push_back({SectionKind::HighShelf, std::min(kHighShelfHz, kMaxShelfFs * fs), kShelfQ});
    return specs;
}

/// T(f): linear in log2(f) between points, held outside.
double interpolateCurve(const TonalCurve& curve, double hz) {
    const auto& fc = curve.centerHz;
    const auto& g = curve.gainDb;
    if (fc.empty())
        return 0.0;
    if (hz <= fc.front())
        return g.front();
    if (hz >= fc.back())
        return g.back();
    const auto it = std::upper_bound(fc.begin(), fc.end(), hz);
    const auto i = static_cast<size_t>(it - fc.begin());
    const double t = std::log2(hz / fc[i - 1]) / std::log2(fc[i] / fc[i - 1]);
    return g[i - 1] + t * (g[i] - g[i - 1]);
}

/// Solves a x = b for small dense symmetric positive-definite a (n x n, row-major) by Gaussian
/// elimination with partial pivoting; b is replaced by x. Returns false if singular.
bool solveInPlace(std::vector<double>& a, std::vector<double>& b, size_t n) {
    for (size_t col = 0; col < n; ++col) {
        size_t pivot = col;
        for (size_t r = col + 1; r < n; ++r)
            if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col]))
                pivot = r;
        if (std::abs(a[pivot * n + col]) < 1e-300)
            return false;
        if (pivot != col) {
            for (size_t c = 0; c < n; ++c)
                std::swap(a[col * n + c], a[pivot * n + c]);
            std::swap(b[col], b[pivot]);
        }
        for (size_t r = col + 1; r < n; ++r) {
            const double f = a[r * n + col] / a[col * n + col];
            for (size_t c = col; c < n; ++c)
                a[r * n + c] -= f * a[col * n + c];
            b[r] -= f * b[col];
        }
    }
    for (size_t i = n; i-- > 0;) {
        double sum = b[i];
        for (size_t c = i + 1; c < n; ++c)
            sum -= a[i * n + c] * b[c];
        b[i] = sum / a[i * n + i];
    }
    return true;
}

/// Gauss-Newton fit of the gains of `specs` (see the file comment). `gains` is the start point
/// and the result.
void fitGains(const std::vector<SectionSpec>& specs, const std::vector<double>& gridHz,
              const std::vector<double>& targetDb, const std::vector<double>& weight, double fs,
              std::vector<double>& gains) {
    const size_t k = specs.size(), m = gridHz.size();
    std::vector<double> jac(m * k), resid(m), ata(k * k), atr(k);
    for (int iter = 0; iter < kMaxIterations; ++iter) {
        for (size_t i = 0; i < m; ++i)
            resid[i] = targetDb[i];
        for (size_t s = 0; s < k; ++s) {
            const BiquadCoeffs c = designSection(specs[s], gains[s], fs);
            const BiquadCoeffs up = designSection(specs[s], gains[s] + kDerivativeStepDb, fs);
            const BiquadCoeffs down = designSection(specs[s], gains[s] - kDerivativeStepDb, fs);
            for (size_t i = 0; i < m; ++i) {
                resid[i] -= c.magnitudeDb(gridHz[i], fs);
                jac[i * k + s] = (up.magnitudeDb(gridHz[i], fs) - down.magnitudeDb(gridHz[i], fs)) /
                                 (2.0 * kDerivativeStepDb);
            }
        }
        for (size_t a = 0; a < k; ++a) {
            double sr = 0.0;
            for (size_t i = 0; i < m; ++i)
                sr += weight[i] * jac[i * k + a] * resid[i];
            atr[a] = sr - kRegularisation * gains[a];
            for (size_t b = 0; b < k; ++b) {
                double sum = 0.0;
                for (size_t i = 0; i < m; ++i)
                    sum += weight[i] * jac[i * k + a] * jac[i * k + b];
                ata[a * k + b] = sum + (a == b ? kRegularisation : 0.0);
            }
        }
        if (!solveInPlace(ata, atr, k))
            return;
        double maxStep = 0.0;
        for (size_t s = 0; s < k; ++s) {
            gains[s] = std::clamp(gains[s] + atr[s], -kMaxSectionGainDb, kMaxSectionGainDb);
            maxStep = std::max(maxStep, std::abs(atr[s]));
        }
        if (maxStep < kConvergedDb)
            return;
    }
}

} // namespace

namespace {
/// Butterworth 4th order = two 2nd-order sections with Q_k = 1 / (2 cos((2k - 1) pi / 8)).
constexpr double kSubsonicQ[2] = {0.54119610014619698, 1.3065629648763766};
constexpr double kMaxSubsonicFs = 0.4;
} // namespace

void TonalEq::prepare(double sampleRate, ChannelCount channels, const TonalCurve& curve) {
    prepare(sampleRate, channels, curve, 0.0);
}

void TonalEq::prepare(double sampleRate, ChannelCount channels, const TonalCurve& curve,
                      double highPassHz) {
    assert(sampleRate > 0.0 && channels >= 1 && channels <= kMaxChannels);
    assert(curve.centerHz.size() == curve.gainDb.size());
    assert(std::is_sorted(curve.centerHz.begin(), curve.centerHz.end()));
    sampleRate_ = sampleRate;
    channels_ = channels;
    sections_.clear();
    hasHighPass_ = false;
    maxFitErrorDb_ = 0.0;

    const double maxHz = kMaxCurveFs * sampleRate;
    double maxAbsTarget = 0.0;
    for (size_t i = 0; i < curve.centerHz.size(); ++i) {
        assert(std::isfinite(curve.gainDb[i]) && curve.centerHz[i] > 0.0);
        if (curve.centerHz[i] <= maxHz)
            maxAbsTarget = std::max(maxAbsTarget, std::abs(curve.gainDb[i]));
    }
    if (maxAbsTarget > 0.0) {
        // Fit grid: 1/6 octave over the audio band below 0.45 fs, plus the curve's own points.
        std::vector<double> gridHz;
        const double topHz = std::min(kGridHighHz, maxHz);
        for (double hz = kGridLowHz; hz <= topHz; hz *= std::exp2(kGridStepOctaves))
            gridHz.push_back(hz);
        for (double hz : curve.centerHz)
            if (hz <= maxHz)
                gridHz.push_back(hz);
        std::sort(gridHz.begin(), gridHz.end());
        std::vector<double> targetDb(gridHz.size()), weight(gridHz.size());
        for (size_t i = 0; i < gridHz.size(); ++i) {
            targetDb[i] = interpolateCurve(curve, gridHz[i]);
            const bool core = gridHz[i] >= kCoreLowHz && gridHz[i] <= kCoreHighHz;
            weight[i] = core ? 1.0 : kEdgeWeight;
        }

        std::vector<SectionSpec> specs = candidateSections(sampleRate);
        std::vector<double> gains(specs.size(), 0.0);
        for (;;) {
            fitGains(specs, gridHz, targetDb, weight, sampleRate, gains);
            std::vector<SectionSpec> keptSpecs;
            std::vector<double> keptGains;
            for (size_t s = 0; s < specs.size(); ++s)
                if (std::abs(gains[s]) >= kNegligibleGainDb) {
                    keptSpecs.push_back(specs[s]);
                    keptGains.push_back(gains[s]);
                }
            if (keptSpecs.size() == specs.size() || keptSpecs.empty()) {
                specs = std::move(keptSpecs);
                gains = std::move(keptGains);
                break;
            }
            specs = std::move(keptSpecs);
            gains = std::move(keptGains);
        }
        for (size_t s = 0; s < specs.size(); ++s)
            sections_.push_back(designSection(specs[s], gains[s], sampleRate));
    }
    assert(sections_.size() <= static_cast<size_t>(kMaxSections));

    // The cascade: the high-pass (same design and clamp as SubsonicFilter) then the EQ.
    std::array<BiquadCoeffs, kMaxCascade> cascade{};
    size_t count = 0;
    if (highPassHz > 0.0) {
        hasHighPass_ = true;
        const double hz = std::min(highPassHz, kMaxSubsonicFs * sampleRate);
        for (int k = 0; k < 2; ++k)
            cascade[count++] = highPass_[k] = BiquadCoeffs::highPass(hz, kSubsonicQ[k], sampleRate);
    }
    for (const BiquadCoeffs& c : sections_)
        cascade[count++] = c;
    cascade_.setSections(std::span<const BiquadCoeffs>(cascade.data(), count));

    for (size_t i = 0; i < curve.centerHz.size(); ++i)
        if (curve.centerHz[i] <= maxHz && curve.centerHz[i] >= kCoreLowHz &&
            curve.centerHz[i] <= kCoreHighHz)
            maxFitErrorDb_ = std::max(maxFitErrorDb_,
                                      std::abs(eqResponseDb(curve.centerHz[i]) - curve.gainDb[i]));
}

void TonalEq::reset() {
    cascade_.reset();
}

void TonalEq::process(AudioView block) {
    assert(block.numChannels == channels_);
    if (cascade_.size() == 0)
        return;
    const detail::ScopedFlushToZero ftz;
    cascade_.process(block);
}

double TonalEq::eqResponseDb(double hz) const {
    double sum = 0.0;
    for (const auto& s : sections_)
        sum += s.magnitudeDb(hz, sampleRate_);
    return sum;
}

double TonalEq::responseDb(double hz) const {
    double sum = eqResponseDb(hz);
    if (hasHighPass_)
        sum += highPass_[0].magnitudeDb(hz, sampleRate_) + highPass_[1].magnitudeDb(hz, sampleRate_);
    return sum;
}

// ---------------------------------------------------------------------------------------------

void SubsonicFilter::prepare(double sampleRate, ChannelCount channels, double cutoffHz) {
    assert(sampleRate > 0.0 && channels >= 1 && channels <= kMaxChannels);
    sampleRate_ = sampleRate;
    channels_ = channels;
    enabled_ = cutoffHz > 0.0;
    const double hz = std::min(cutoffHz, kMaxSubsonicFs * sampleRate);
    for (int k = 0; k < 2; ++k) {
        coeffs_[k] = enabled_ ? BiquadCoeffs::highPass(hz, kSubsonicQ[k], sampleRate)
                              : BiquadCoeffs::identity();
        sections_[k].setCoeffs(coeffs_[k]);
        sections_[k].reset();
    }
}

void SubsonicFilter::reset() {
    for (auto& s : sections_)
        s.reset();
}

void SubsonicFilter::process(AudioView block) {
    assert(block.numChannels == channels_);
    if (!enabled_)
        return;
    const detail::ScopedFlushToZero ftz;
    dsp_detail::processCascade(sections_, block);
}

double SubsonicFilter::responseDb(double hz) const {
    if (!enabled_)
        return 0.0;
    return coeffs_[0].magnitudeDb(hz, sampleRate_) + coeffs_[1].magnitudeDb(hz, sampleRate_);
}

} // namespace quack
