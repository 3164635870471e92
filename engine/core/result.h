#pragma once
/// One value-or-error template for the engine and the service (a small stand-in for
/// std::expected, C++23). The engine uses Result<T> / Status with quack::Error; the service uses
/// the same templates with its ApiError (ApiResult<T> / ApiStatus). Expected failures are
/// values; bugs are asserts.
#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace quack {

struct Error;

/// A value or an error E.
template <typename T, typename E = Error> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const E& error() const { assert(!ok()); return std::get<1>(v_); }

  private:
    std::variant<T, E> v_;
};

/// Success or an error E (an operation with no value).
template <typename E = Error> class [[nodiscard]] BasicStatus {
  public:
    BasicStatus() = default;
    BasicStatus(E error) : error_(std::move(error)) {}
    static BasicStatus success() { return {}; }
    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const E& error() const { assert(!ok()); return *error_; }

  private:
    std::optional<E> error_;
};

} // namespace quack
