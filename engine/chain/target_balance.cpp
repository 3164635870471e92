// The measured target balance. The numbers are written by tools/derive-target-balance (do not
// edit by hand): the mean relative long-term third-octave spectrum of the mastered tracks of
// the shared corpus (shared/tools/make-corpus), each relative to its mean over
// kBalanceRefLowHz..kBalanceRefHighHz (relativeBalance()).
#include "engine/chain/decisions.h"

namespace quack {

const TargetBalance& defaultTargetBalance() {
    static const TargetBalance balance = {
#include "engine/chain/target_balance_data.inc"
    };
    return balance;
}

} // namespace quack
