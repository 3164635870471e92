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
/// it completes (one extra min per value, amortised; grouped so it is not one long chain). A monotonic deque does the same work with
/// an unpredictable number of pops per value, which costs a branch miss on noisy input.
#include "engine/core/types.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <limits>
#include <vector>

namespace quack::detail {

/// Running minima of non-NaN values without one long dependency chain: min is exact in any
/// order, so these equal the plain sequential scans. Per 64 values: the minima of 8 groups of
/// 8 (independent), a carry per group (one min each), then each group's scan from its carry
/// (8 independent chains the core overlaps). Forward: out[k] = min(init, v[0..k]); backward:
/// out[k] = min(init, v[k..n)). Both return the min over init and all of v.
inline double min8(const double* b) {
    return std::min(std::min(std::min(b[0], b[1]), std::min(b[2], b[3])),
                    std::min(std::min(b[4], b[5]), std::min(b[6], b[7])));
}

inline double runningMinForward(const double* v, double* out, double init, size_t n) {
    constexpr size_t kGroup = 8, kGroups = 8, kSpan = kGroup * kGroups;
    double c = init;
    size_t k = 0;
    for (; k + kSpan <= n; k += kSpan) {
        double carry[kGroups];
        for (size_t g = 0; g < kGroups; ++g) {
            carry[g] = c;
            c = std::min(c, min8(v + k + g * kGroup));
        }
        for (size_t g = 0; g < kGroups; ++g) {
            double r = carry[g];
            for (size_t l = k + g * kGroup; l < k + (g + 1) * kGroup; ++l) {
                r = std::min(r, v[l]);
                out[l] = r;
            }
        }
    }
    for (; k < n; ++k) {
        c = std::min(c, v[k]);
        out[k] = c;
    }
    return c;
}

inline double runningMinBackward(const double* v, double* out, double init, size_t n) {
    constexpr size_t kGroup = 8, kGroups = 8, kSpan = kGroup * kGroups;
    double c = init;
    size_t k = n;
    for (; k >= kSpan; k -= kSpan) {
        const size_t base = k - kSpan;
        double carry[kGroups];
        for (size_t g = kGroups; g-- > 0;) {
            carry[g] = c;
            c = std::min(c, min8(v + base + g * kGroup));
        }
        for (size_t g = 0; g < kGroups; ++g) {
            double r = carry[g];
            for (size_t l = base + (g + 1) * kGroup; l-- > base + g * kGroup;) {
                r = std::min(r, v[l]);
                out[l] = r;
            }
        }
    }
    while (k-- > 0) {
        c = std::min(c, v[k]);
        out[k] = c;
    }
    return c;
}

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
    /// out[k] = push(v[k]) for k < count (out must not alias v). Real-time safe. One segment
    /// per block: the running prefix min is the only dependency chain, and a completed block's
    /// backward suffix pass is independent of the next segment's prefix chain.
    void pushBatch(const double* v, double* out, FrameCount count) {
        const auto n = static_cast<size_t>(count);
        for (size_t i = 0; i < n;) {
            const size_t seg = std::min(n - i, window_ - pos_);
            std::copy(v + i, v + i + seg, block_.begin() + static_cast<std::ptrdiff_t>(pos_));
            prefix_ = runningMinForward(v + i, out + i, prefix_, seg);
            const double* suf = suffix_.data() + pos_ + 1;
            for (size_t k = 0; k < seg; ++k)
                out[i + k] = std::min(out[i + k], suf[k]);
            pos_ += seg;
            i += seg;
            if (pos_ == window_)
                closeBlock();
        }
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
        runningMinBackward(block_.data(), suffix_.data(), kInf, window_);
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
