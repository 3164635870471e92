#pragma once
/// Private to engine/limiter: sliding-window minimum in O(1) per value without data-dependent
/// branches (van Herk 1992 / Gil & Werman 1993), over fixed-capacity storage that never
/// reallocates after prepare().
///
/// The stream is cut into blocks of W values aligned to the absolute value index (so results
/// never depend on how a caller batches its pushes). For value i = bW + k the window
/// [i - W + 1, i] is the suffix [k + 1, W) of block b - 1 plus the prefix [0, k] of block b:
///   min = min(suffixMin_{b-1}[k + 1], prefixMin_b[k]),  suffixMin_{b-1}[W] = +inf.
/// The prefix is a running min; the suffix mins of a block are computed once, backwards, when
/// it completes (one extra min per value, amortised). A monotonic deque does the same work with
/// an unpredictable number of pops per value, which costs a branch miss on noisy input.
#include "engine/core/types.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <limits>
#include <vector>

namespace quack::detail {

class SlidingMin {
  public:
    /// Window of `windowFrames` values (the newest and the windowFrames - 1 before it).
    /// Allocates.
    void prepare(FrameCount windowFrames) {
        assert(windowFrames >= 1);
        window_ = static_cast<size_t>(windowFrames);
        block_.assign(window_, kInf);
        suffix_.assign(window_ + 1, kInf);
        reset();
    }
    void reset() {
        std::fill(block_.begin(), block_.end(), kInf);
        std::fill(suffix_.begin(), suffix_.end(), kInf);
        pos_ = 0;
        prefix_ = kInf;
    }
    /// Push the next value (not NaN); returns the minimum of the last windowFrames values
    /// (fewer at the start). Real-time safe.
    double push(double v) {
        block_[pos_] = v;
        prefix_ = std::min(prefix_, v);
        const double m = std::min(prefix_, suffix_[pos_ + 1]);
        if (++pos_ == window_)
            closeBlock();
        return m;
    }
    /// The same state as `count` calls of push(v), without the results. Real-time safe.
    void pushRun(double v, FrameCount count) {
        auto left = static_cast<size_t>(count);
        while (left > 0) {
            const size_t n = std::min(left, window_ - pos_);
            if (n == window_) {
                // A whole block of v: its suffix mins are all v, no backward pass needed.
                std::fill(block_.begin(), block_.end(), v);
                std::fill(suffix_.begin(), suffix_.end() - 1, v);
                prefix_ = kInf;
            } else {
                std::fill(block_.begin() + static_cast<std::ptrdiff_t>(pos_),
                          block_.begin() + static_cast<std::ptrdiff_t>(pos_ + n), v);
                prefix_ = std::min(prefix_, v);
                pos_ += n;
                if (pos_ == window_)
                    closeBlock();
            }
            left -= n;
        }
    }

  private:
    static constexpr double kInf = std::numeric_limits<double>::infinity();

    void closeBlock() {
        double s = kInf;
        for (size_t k = window_; k-- > 0;) {
            s = std::min(s, block_[k]);
            suffix_[k] = s;
        }
        pos_ = 0;
        prefix_ = kInf;
    }

    std::vector<double> block_;  ///< values of the current block (W)
    std::vector<double> suffix_; ///< suffix minima of the previous block (W + 1, last = +inf)
    size_t window_ = 1;
    size_t pos_ = 0;             ///< index of the next value inside the current block
    double prefix_ = kInf;       ///< min of the current block so far
};

} // namespace quack::detail
