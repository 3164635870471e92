#pragma once
/// Scoped flush-to-zero / denormals-are-zero (house style: "scoped
/// flush-to-zero"). IIR states decaying after a signal ends would otherwise become subnormal and
/// run ~100x slower. Restores the caller's MXCSR on scope exit. No-op off x86.
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace quack::detail {

class ScopedFlushToZero {
  public:
#if defined(__SSE2__)
    ScopedFlushToZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
    ~ScopedFlushToZero() { _mm_setcsr(saved_); }
#else
    // WebAssembly and other targets: no control (WebAssembly keeps IEEE subnormals). User-provided
    // members, so a guard variable is not "unused".
    ScopedFlushToZero() {}
    ~ScopedFlushToZero() {}
#endif
    ScopedFlushToZero(const ScopedFlushToZero&) = delete;
    ScopedFlushToZero& operator=(const ScopedFlushToZero&) = delete;

  private:
#if defined(__SSE2__)
    static constexpr unsigned kFtzDaz = 0x8040u; ///< MXCSR bits FTZ (15) | DAZ (6)
    unsigned saved_;
#endif
};

} // namespace quack::detail
