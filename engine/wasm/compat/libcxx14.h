#pragma once
/// Force-included in the WebAssembly build only: Debian's emscripten 3.1.6 ships libc++ 14,
/// which lacks std::bit_cast (C++20, libc++ 14 has the compiler builtin but not the library
/// function). Defined from the builtin, with the standard's constraints, when missing.
#include <bit>
#include <type_traits>

#if !defined(__cpp_lib_bit_cast)
namespace std {
template <class To, class From>
    requires(sizeof(To) == sizeof(From) && is_trivially_copyable_v<To> && is_trivially_copyable_v<From>)
constexpr To bit_cast(const From& from) noexcept {
    return __builtin_bit_cast(To, from);
}
} // namespace std
#endif
