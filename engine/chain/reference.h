#pragma once
/// Reference matching: from the analyses of the mix and of a reference record to the curves of
/// a bounded matching EQ (mid and side separately, so width is matched band by band) and a
/// loudness target. Pure and deterministic, like decide(); every choice carries its reason.
#include "engine/analysis/analyzer.h"
#include "engine/chain/decisions.h"
#include "engine/dsp/match_eq.h"
#include "engine/io/audio_source.h"

#include <memory>

#include <optional>
#include <string_view>

namespace quack {

/// Most boost or cut the matching EQ ever applies in any band, dB. Matchering's matching EQ
/// is unbounded, a known source of harsh results; 6 dB covers the spread between mixes and
/// masters of the same genre while refusing to rebuild a mix that is far off.
inline constexpr double kMatchMaxGainDb = 6.0;
/// Below this, the side is never raised (a mono-safe low end, as in decide()).
inline constexpr double kMatchMonoSafeHz = 120.0;
/// Bands of the mix more than this far under its 100 Hz-4 kHz mean are not boosted: there is
/// nothing there but noise.
inline constexpr double kMatchEmptyBandDb = -60.0;

struct MatchOptions {
    double strength = 1.0; ///< 0 = no correction .. 1 = full match (the CLI's 0..100 / 100)
    bool eq = true;        ///< match the tonal balance (mid spectrum)
    bool width = true;     ///< match the side level relative to the mid, band by band
    bool loudness = true;  ///< match integrated loudness (else the intent's target)
};

/// Parses "eq,width,loudness" (any non-empty subset, any order). Error: InvalidArgument.
Result<MatchOptions> parseMatchList(std::string_view list, double strengthPercent);

struct ReferenceMatch {
    bool eqActive = false;         ///< some band moves by >= 0.1 dB (else no MatchEq at all)
    MatchCurves curves;            ///< third-octave centres, mid and side gains, dB
    std::optional<double> targetLufs; ///< when loudness is matched
    int boundedBands = 0;          ///< bands whose wanted correction exceeded kMatchMaxGainDb
    std::vector<double> boundedHz; ///< their centres (the figure leaves them out)
    std::vector<Decision> decisions;
    std::vector<Warning> warnings;
};

/// Decides the match. Without loudness matching targetLufs stays empty (the intent decides).
ReferenceMatch decideReferenceMatch(const Analysis& mix, const Analysis& reference,
                                    const MatchOptions& options);

/// Turns decide()'s chain into reference mode: the generic tonal EQ and the stereo-width
/// moves are switched off (the reference decides balance and width, through the MatchEq), the
/// dynamics and limiter decisions stay; the match's decisions and warnings are added.
void applyReferenceMode(ChainParams& params, const ReferenceMatch& match);

/// Closes the loop on the measured master: adds the remaining per-band difference between the
/// output's and the reference's balance (scaled by strength, constant offset removed) to the
/// curves, within the bound; bands that were bounded stay as they are. Returns how many bands
/// moved by at least 0.05 dB (0: nothing left to correct). The side curve moves with the mid,
/// so the width decision is kept.
int refineMatch(ReferenceMatch& match, const Analysis& output, const Analysis& reference,
                const MatchOptions& options);

/// Fractional-octave spectral deviation of `a` from `b` after loudness matching (the best
/// constant offset removed): the RMS over
/// third-octave bands in [loHz, hiHz] of the difference of their relative balances (each
/// spectrum relative to its own 100 Hz-4 kHz mean), dB. The figure the reference benchmark
/// prints. Bands empty in either, and bands listed in excludeHz, are skipped.
double spectralDeviationDb(const Spectrum& a, const Spectrum& b, double loHz = 40.0,
                           double hiHz = 16000.0, const std::vector<double>& excludeHz = {});

} // namespace quack

namespace quack {

/// A source that runs another through a MatchEq, time-aligned: the EQ's latency is dropped at
/// the start and flushed with zeros at the end, so frame i out is frame i in, filtered, and
/// the frame count is unchanged. rewind() rewinds the inner source and clears the EQ.
/// The inner source must outlive this one.
std::unique_ptr<AudioSource> makeMatchedSource(AudioSource& inner, const MatchCurves& curves);

} // namespace quack
