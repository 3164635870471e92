#pragma once
/// The "AI" of QuackTracks: one pure function from (analysis of the mix, the user's intent,
/// a measured target balance) to every processing parameter, each with the reason it was
/// chosen. No I/O, no state: unit-tested directly, explained in the report.
#include "engine/analysis/analyzer.h"
#include "engine/chain/intent.h"
#include "engine/dsp/multiband.h"
#include "engine/dsp/tonal_eq.h"
#include "engine/limiter/limiter.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace quack {

/// Long-term spectral balance of professionally mastered music: levels in dB relative to the
/// mean over kBalanceRefLowHz..kBalanceRefHighHz (see tools/derive-target-balance).
struct TargetBalance {
    std::vector<double> centerHz;
    std::vector<double> levelDb;
    std::string source; ///< where the numbers came from
};

inline constexpr double kBalanceRefLowHz = 100.0;
inline constexpr double kBalanceRefHighHz = 4000.0;

/// The committed balance derived from the corpus's mastered tracks.
const TargetBalance& defaultTargetBalance();
/// `spectrum` relative to its own mean over the reference range (dB); bands with no energy are
/// -inf. Shared by the decision function and the derivation tool.
std::vector<double> relativeBalance(const Spectrum& spectrum);

/// One explained choice, for the report.
struct Decision {
    std::string name;     ///< e.g. "eq.curve", "multiband.low.ratio"
    nlohmann::json value;
    std::string reason;
};

struct Warning {
    std::string code;     ///< stable id, e.g. "clipped_input"
    std::string message;
};

/// Facts about the input that are not in the Analysis.
struct InputFacts {
    bool lossy = false;   ///< decoded from MP3/Vorbis/Opus
    /// Reference mode reshapes the mix, so it is never "already finished" (no gain-only mode).
    bool reshaping = false;
};

struct ChainParams {
    bool silent = false;        ///< nothing to master: pass silence through
    bool gainOnly = false;      ///< already finished at this target: trim gain only
    double subsonicHz = 0.0;    ///< 0 = off
    bool eqActive = false;
    TonalCurve eqCurve;
    bool multibandActive = false;
    MultibandParams multiband;
    LimiterParams limiter;      ///< ceilingDbtp here is the internal aim (below the intent's)
    double limiterMarginDb = 0.1; ///< intent ceiling - limiter aim
    std::vector<Decision> decisions;
    std::vector<Warning> warnings;
};

/// Decides the chain. Pure and deterministic.
ChainParams decide(const Analysis& input, const InputFacts& facts, const Intent& intent,
                   const TargetBalance& balance);

/// Replaces the tonal EQ decided for one track by a curve decided elsewhere (album mode's
/// shared direction), keeping every other decision; the "eq.curve" decision carries `reason`.
/// A silent or gain-only track stays as it is.
void applyEqOverride(ChainParams& params, const TonalCurve& curve, const std::string& reason);

} // namespace quack
