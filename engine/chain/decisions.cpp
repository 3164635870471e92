#include "engine/chain/decisions.h"

#include "engine/chain/report_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>

namespace quack {
namespace {

using chain_detail::fmt;

double dbToPower(double db) { return std::pow(10.0, db / 10.0); }
double powerToDb(double p) { return p > 0.0 ? 10.0 * std::log10(p) : -std::numeric_limits<double>::infinity(); }

/// Per-intensity strengths. Low keeps the mix's character; high moves further toward the
/// target. The EQ bounds keep corrections gentle (mastering moves are rarely > 3-4 dB).
struct IntensityTable {
    double eqStrength;     ///< fraction of the measured deviation corrected
    double eqMaxDb;        ///< bound on any band's gain
    double dynShare;       ///< fraction of the excess crest handled by the multiband stage
    double dynMaxDb;       ///< most crest reduction asked of the multiband stage
    double lowWidth;       ///< side gain below the first crossover (mono-safe low end)
    double releaseMs;      ///< limiter release
};

IntensityTable intensityTable(Intensity i) {
    switch (i) {
    case Intensity::Low: return {0.35, 2.0, 0.25, 2.0, 0.7, 90.0};
    case Intensity::Medium: return {0.6, 3.0, 0.4, 3.5, 0.5, 60.0};
    case Intensity::High: return {0.8, 4.5, 0.55, 5.0, 0.3, 40.0};
    }
    return {0.6, 3.0, 0.4, 3.5, 0.5, 60.0};
}

/// Style as a spectral tilt in dB per octave about 1 kHz, bounded at +-2 dB.
double styleTiltDb(Style style, double hz) {
    const double perOctave = style == Style::Warm ? -0.4 : style == Style::Bright ? 0.4 : 0.0;
    return std::clamp(perOctave * std::log2(hz / 1000.0), -2.0, 2.0);
}

/// Linear interpolation of the target balance on log-frequency.
double balanceAt(const TargetBalance& balance, double hz) {
    const auto& f = balance.centerHz;
    if (f.empty())
        return 0.0;
    if (hz <= f.front())
        return balance.levelDb.front();
    if (hz >= f.back())
        return balance.levelDb.back();
    const auto it = std::upper_bound(f.begin(), f.end(), hz);
    const auto i = static_cast<size_t>(it - f.begin());
    const double t = std::log(hz / f[i - 1]) / std::log(f[i] / f[i - 1]);
    return balance.levelDb[i - 1] + t * (balance.levelDb[i] - balance.levelDb[i - 1]);
}

/// Power of the spectrum between lowHz and highHz, in dB re a full-scale sine.
double bandPowerDb(const Spectrum& s, double lowHz, double highHz) {
    double p = 0.0;
    for (size_t i = 0; i < s.centerHz.size(); ++i)
        if (s.centerHz[i] >= lowHz && s.centerHz[i] < highHz)
            p += dbToPower(s.levelDb[i]);
    return powerToDb(p);
}

constexpr double kCrossoverLowHz = 120.0;  ///< below: the mono-safe low end
constexpr double kCrossoverHighHz = 2500.0; ///< presence and air above

} // namespace

std::vector<double> relativeBalance(const Spectrum& spectrum) {
    double sum = 0.0;
    int count = 0;
    for (size_t i = 0; i < spectrum.centerHz.size(); ++i) {
        if (spectrum.centerHz[i] >= kBalanceRefLowHz && spectrum.centerHz[i] <= kBalanceRefHighHz &&
            std::isfinite(spectrum.levelDb[i])) {
            sum += spectrum.levelDb[i];
            ++count;
        }
    }
    const double ref = count > 0 ? sum / count : 0.0;
    std::vector<double> rel(spectrum.levelDb.size());
    for (size_t i = 0; i < rel.size(); ++i)
        rel[i] = spectrum.levelDb[i] - ref;
    return rel;
}

ChainParams decide(const Analysis& in, const InputFacts& facts, const Intent& intent,
                   const TargetBalance& balance) {
    ChainParams p;
    const IntensityTable table = intensityTable(intent.intensity);
    auto decideNote = [&](std::string name, nlohmann::json value, std::string reason) {
        p.decisions.push_back({std::move(name), std::move(value), std::move(reason)});
    };
    auto warn = [&](std::string code, std::string message) {
        p.warnings.push_back({std::move(code), std::move(message)});
    };

    // --- Warnings about the input -------------------------------------------------------
    if (in.clipping.clipRuns > 0)
        warn("clipped_input", std::to_string(in.clipping.clipRuns) +
                                  " runs of clipped samples in the input (longest " +
                                  std::to_string(in.clipping.longestRunFrames) +
                                  " samples): clipping cannot be undone by mastering; export the mix "
                                  "with headroom if you can");
    // A PLR under 8 dB with peaks near full scale is the signature of a limiter already applied.
    if (std::isfinite(in.integratedLufs) && in.plrDb < 8.0 && in.truePeakDbtp > -1.5)
        warn("already_limited", "the input is already heavily limited (PLR " + fmt("%.1f", in.plrDb) +
                                    " dB): send an unlimited mix for the best result");
    if (facts.lossy)
        warn("lossy_input", "the input was decoded from a lossy format; its artefacts will be "
                            "mastered too: use WAV or FLAC when you can");
    for (size_t c = 0; c < in.dcOffset.size(); ++c)
        if (std::abs(in.dcOffset[c]) > 1e-3)
            warn("dc_offset", "channel " + std::to_string(c + 1) + " has a DC offset of " +
                                  fmt("%.4f", in.dcOffset[c]) + " (removed)");

    // --- Limiter: always present, the guarantee of the ceiling ---------------------------
    // Aim a little under the promised ceiling: the rendered file is re-measured and corrected,
    // and codecs and other meters read a few hundredths of a dB differently (shared/notes).
    p.limiterMarginDb = 0.1;
    p.limiter.ceilingDbtp = intent.ceilingDbtp - p.limiterMarginDb;
    p.limiter.lookaheadMs = 2.0;
    p.limiter.releaseMs = table.releaseMs;
    decideNote("limiter.ceiling_dbtp", p.limiter.ceilingDbtp,
               "aim " + fmt("%.2f", p.limiterMarginDb) + " dB under the " +
                   fmt("%.1f", intent.ceilingDbtp) +
                   " dBTP ceiling; the rendered file is measured and corrected until it holds");
    decideNote("limiter.release_ms", p.limiter.releaseMs,
               std::string("release for intensity '") + std::string(intensityName(intent.intensity)) +
                   "': slower is cleaner, faster is louder");

    if (!std::isfinite(in.integratedLufs)) {
        p.silent = true;
        decideNote("mode", "silent", "the input has no audible signal (below the -70 LUFS gate): "
                                     "it is passed through unchanged, never amplified into noise");
        warn("silent_input", "the input is silent; the output is silent too");
        return p;
    }

    // --- Already finished at this target? Then do no harm. -----------------------------
    const double loudnessError = intent.targetLufs - in.integratedLufs;
    if (!facts.reshaping && std::abs(loudnessError) <= 0.5 && in.truePeakDbtp <= intent.ceilingDbtp &&
        in.clipping.clipRuns == 0) {
        p.gainOnly = true;
        decideNote("mode", "gain_only",
                   "the input already sits at " + fmt("%.2f", in.integratedLufs) + " LUFS with true peak " +
                       fmt("%.2f", in.truePeakDbtp) +
                       " dBTP, within 0.5 LU of the target and under the ceiling: it is treated as "
                       "finished, so only a gain trim is applied and nothing is re-processed");
        return p;
    }
    decideNote("mode", "master", "the input is " + fmt("%.1f", std::abs(loudnessError)) + " LU " +
                                     (loudnessError > 0 ? "below" : "above") + " the " +
                                     fmt("%.1f", intent.targetLufs) + " LUFS target");

    // --- DC and subsonic clean-up ------------------------------------------------------
    {
        const double sub = bandPowerDb(in.spectrum, 0.0, 30.0);
        const double body = bandPowerDb(in.spectrum, 30.0, 20000.0);
        bool dc = false;
        for (double d : in.dcOffset)
            dc = dc || std::abs(d) > 1e-4;
        // Rumble that carries more than 1/10 of the energy (-10 dB) is worth a steeper cut.
        p.subsonicHz = (std::isfinite(sub) && sub - body > -10.0) ? 30.0 : 20.0;
        decideNote("subsonic.cutoff_hz", p.subsonicHz,
                   std::string(dc ? "removes the DC offset and " : "removes ") +
                       (p.subsonicHz > 20.0 ? "strong sub-30 Hz rumble (" + fmt("%.1f", sub - body) +
                                                  " dB of the energy) that would waste headroom"
                                            : "inaudible energy below 20 Hz that would waste headroom"));
    }

    // --- Tonal balance -------------------------------------------------------------------
    {
        const Spectrum& s = in.midSpectrum.centerHz.empty() ? in.spectrum : in.midSpectrum;
        const std::vector<double> rel = relativeBalance(in.spectrum);
        std::vector<double> hz, diff;
        for (size_t i = 0; i < s.centerHz.size() && i < rel.size(); ++i) {
            const double f = in.spectrum.centerHz[i];
            if (f < 31.0 || f > 16500.0 || f > 0.45 * in.sampleRate)
                continue;
            const double want = balanceAt(balance, f) + styleTiltDb(intent.style, f);
            // Bands with almost nothing in them (more than 45 dB under the reference range)
            // are not boosted: that would only raise noise.
            const double d = std::isfinite(rel[i]) ? want - rel[i] : 0.0;
            hz.push_back(f);
            diff.push_back(std::isfinite(rel[i]) && rel[i] < -45.0 ? std::min(d, 0.0) : d);
        }
        // Smooth over about an octave twice (1-2-1 kernel on third-octave bands), so the EQ
        // follows the broad balance, never individual notes.
        for (int pass = 0; pass < 2 && diff.size() > 2; ++pass) {
            std::vector<double> sm(diff.size());
            for (size_t i = 0; i < diff.size(); ++i) {
                const double l = diff[i == 0 ? 0 : i - 1], r = diff[i + 1 < diff.size() ? i + 1 : i];
                sm[i] = 0.25 * l + 0.5 * diff[i] + 0.25 * r;
            }
            diff = std::move(sm);
        }
        // Scale by intensity; remove the mean over the reference range (overall level is the
        // loudness stage's job); bound; hold boosts at the extremes to 1 dB.
        double mean = 0.0;
        int n = 0;
        for (size_t i = 0; i < diff.size(); ++i) {
            diff[i] *= table.eqStrength;
            if (hz[i] >= kBalanceRefLowHz && hz[i] <= kBalanceRefHighHz) {
                mean += diff[i];
                ++n;
            }
        }
        mean = n > 0 ? mean / n : 0.0;
        double maxAbs = 0.0;
        for (size_t i = 0; i < diff.size(); ++i) {
            double g = std::clamp(diff[i] - mean, -table.eqMaxDb, table.eqMaxDb);
            if (hz[i] < 40.0 || hz[i] > 14000.0)
                g = std::min(g, 1.0);
            diff[i] = g;
            maxAbs = std::max(maxAbs, std::abs(g));
        }
        p.eqActive = maxAbs >= 0.25;
        p.eqCurve = {hz, diff};
        nlohmann::json curve = nlohmann::json::array();
        for (size_t i = 0; i < hz.size(); ++i)
            curve.push_back({{"hz", hz[i]}, {"gain_db", std::round(diff[i] * 100.0) / 100.0}});
        decideNote("eq.curve", curve,
                   p.eqActive
                       ? "moves the mix " + fmt("%.0f", table.eqStrength * 100.0) +
                             "% of the way toward the balance of professionally mastered music (" +
                             balance.source + ")" +
                             (intent.style == Style::Balanced
                                  ? std::string()
                                  : std::string(" with a ") + std::string(styleName(intent.style)) +
                                        " tilt of 0.4 dB/octave") +
                             ", smoothed over an octave and bounded to +-" + fmt("%.1f", table.eqMaxDb) +
                             " dB"
                       : "the mix is already within 0.25 dB of the target balance: no EQ");
    }

    // --- Dynamics ------------------------------------------------------------------------
    {
        // The limiter alone would have to take (input PLR - wanted PLR) dB off the peaks. Hand
        // a share of that to slower, gentler multiband compression so the limiter works less.
        const double wantedPlr = intent.ceilingDbtp - intent.targetLufs;
        const double excess = in.plrDb - wantedPlr;
        const double crestCut = std::clamp(excess * table.dynShare, 0.0, table.dynMaxDb);
        const double lraBoost = in.loudnessRangeLu > 15.0 && wantedPlr < 15.0 ? 0.5 : 0.0;
        p.multiband.crossoverHz = {kCrossoverLowHz, kCrossoverHighHz};
        const double edges[4] = {0.0, kCrossoverLowHz, kCrossoverHighHz, 0.5 * in.sampleRate};
        const double attackMs[3] = {30.0, 15.0, 8.0};
        const double releaseMs[3] = {250.0, 180.0, 120.0};
        const char* names[3] = {"low", "mid", "high"};
        p.multibandActive = crestCut >= 0.5;
        // Ratio from the crest reduction wanted: passages ~6 dB over the threshold lose
        // 6 * (1 - 1/ratio) dB, so 1 + cut/3 asks for about half the cut on those passages and
        // leaves the rest (the fast peaks) to the limiter.
        const double ratio =
            p.multibandActive ? std::clamp(1.0 + crestCut / 3.0, 1.1, 3.0) + lraBoost : 1.0;
        for (int b = 0; b < 3; ++b) {
            BandDynamics d;
            const double level = bandPowerDb(in.spectrum, edges[b], edges[b + 1]);
            d.thresholdDb = std::isfinite(level) ? level + 2.0 : -60.0;
            d.ratio = ratio;
            d.kneeDb = 6.0;
            d.attackMs = attackMs[b];
            d.releaseMs = releaseMs[b];
            d.makeupDb = 0.0;
            d.width = 1.0;
            p.multiband.bands.push_back(d);
            if (p.multibandActive)
                decideNote(std::string("multiband.") + names[b],
                           {{"threshold_db", std::round(d.thresholdDb * 10) / 10},
                            {"ratio", std::round(d.ratio * 100) / 100},
                            {"attack_ms", d.attackMs},
                            {"release_ms", d.releaseMs}},
                           "threshold 2 dB over the band's average level so only its louder "
                           "passages are tamed");
        }
        decideNote("multiband.active", p.multibandActive,
                   p.multibandActive
                       ? "the mix's PLR is " + fmt("%.1f", in.plrDb) + " dB but the target allows " +
                             fmt("%.1f", wantedPlr) + " dB; gentle multiband compression takes about " +
                             fmt("%.1f", crestCut) + " dB of that so the limiter works less" +
                             (lraBoost > 0 ? " (a little more because the loudness range is " +
                                                 fmt("%.1f", in.loudnessRangeLu) + " LU)"
                                           : std::string())
                       : "the mix's PLR of " + fmt("%.1f", in.plrDb) + " dB already fits the target's " +
                             fmt("%.1f", wantedPlr) + " dB (or the intensity is low): no compression");
    }

    // --- Stereo --------------------------------------------------------------------------
    if (in.channels == 2 && !in.bandStereo.empty()) {
        const BandStereo& low = in.bandStereo.front();
        double lowWidth = 1.0;
        std::string lowReason = "the low end is already close to mono: left as it is";
        if (low.width > 0.02 || low.correlation < 0.9) {
            lowWidth = table.lowWidth;
            lowReason = "side energy below " + fmt("%.0f", kCrossoverLowHz) + " Hz (width " +
                        fmt("%.2f", low.width) + ") is reduced to " + fmt("%.0f", lowWidth * 100) +
                        "% so the bass stays solid in mono and on vinyl/club systems";
        }
        double highWidth = 1.0;
        std::string highReason = "the stereo image is healthy: left as it is";
        if (in.correlation < 0.1) {
            highWidth = 0.85;
            highReason = "the channels are nearly uncorrelated (" + fmt("%.2f", in.correlation) +
                         "): the highs are narrowed slightly for mono compatibility";
        } else if (in.correlation > 0.9 && in.width < 0.05 && intent.intensity != Intensity::Low) {
            highWidth = 1.15;
            highReason = "the mix is nearly mono (correlation " + fmt("%.2f", in.correlation) +
                         "): the highs are widened slightly";
        }
        p.multiband.bands[0].width = lowWidth;
        p.multiband.bands[2].width = highWidth;
        p.multibandActive = p.multibandActive || lowWidth != 1.0 || highWidth != 1.0;
        decideNote("stereo.low_width", lowWidth, lowReason);
        decideNote("stereo.high_width", highWidth, highReason);
    } else {
        decideNote("stereo", "mono", "mono input: no stereo processing");
    }
    return p;
}

void applyEqOverride(ChainParams& params, const TonalCurve& curve, const std::string& reason) {
    if (params.silent || params.gainOnly)
        return;
    double maxAbs = 0.0;
    for (double g : curve.gainDb)
        maxAbs = std::max(maxAbs, std::abs(g));
    params.eqCurve = curve;
    params.eqActive = maxAbs >= 0.25;
    nlohmann::json points = nlohmann::json::array();
    for (size_t i = 0; i < curve.centerHz.size(); ++i)
        points.push_back({{"hz", curve.centerHz[i]}, {"gain_db", std::round(curve.gainDb[i] * 100.0) / 100.0}});
    for (Decision& d : params.decisions)
        if (d.name == "eq.curve") {
            d.value = points;
            d.reason = reason;
            return;
        }
    params.decisions.push_back({"eq.curve", points, reason});
}

} // namespace quack
