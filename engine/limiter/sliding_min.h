#pragma once
/// Private to engine/limiter: sliding-window minimum in O(1) amortised per value (monotonic
/// deque, Lemire 2006) over fixed-capacity storage that never reallocates after prepare().
#include "engine/core/types.h"

#include <cassert>
#include <cstddef>
#include <vector>

namespace quack::detail {

class SlidingMin {
  public:
    /// Window of `windowFrames` values (the newest and the windowFrames - 1 before it).
    /// Allocates.
    void prepare(FrameCount windowFrames) {
        assert(windowFrames >= 1);
        window_ = windowFrames;
        values_.assign(static_cast<size_t>(windowFrames + 1), 0.0);
        indices_.assign(static_cast<size_t>(windowFrames + 1), 0);
        reset();
    }
    void reset() {
        head_ = 0;
        size_ = 0;
        next_ = 0;
    }
    /// Push the next value; returns the minimum of the last windowFrames values (fewer at the
    /// start). Real-time safe.
    double push(double v) {
        const auto cap = static_cast<FrameCount>(values_.size());
        // Drop values that can never be the minimum again (>= the new one).
        while (size_ > 0 && values_[slot(size_ - 1, cap)] >= v)
            --size_;
        const size_t s = slot(size_, cap);
        values_[s] = v;
        indices_[s] = next_;
        ++size_;
        // Drop the front if it left the window.
        if (indices_[slot(0, cap)] <= next_ - window_) {
            head_ = (head_ + 1) % cap;
            --size_;
        }
        ++next_;
        return values_[slot(0, cap)];
    }

  private:
    size_t slot(FrameCount i, FrameCount cap) const { return static_cast<size_t>((head_ + i) % cap); }

    std::vector<double> values_;
    std::vector<FrameCount> indices_;
    FrameCount window_ = 1;
    FrameCount head_ = 0, size_ = 0, next_ = 0;
};

} // namespace quack::detail
