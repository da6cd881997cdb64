#pragma once
// Result<T>: a value or a failed Status (C++20 has no std::expected).
#include <cassert>
#include <utility>
#include <variant>

#include "smartvm/Status.h"

namespace smartvm {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).isOk() && "Result needs a value or a failed Status");
  }

  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  Status status() const { return isOk() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace smartvm

#define SMARTVM_ASSIGN_OR_RETURN(lhs, expr)            \
  auto SMARTVM_CONCAT_(r_, __LINE__) = (expr);         \
  if (!SMARTVM_CONCAT_(r_, __LINE__).isOk()) return SMARTVM_CONCAT_(r_, __LINE__).status(); \
  lhs = std::move(SMARTVM_CONCAT_(r_, __LINE__)).value()
#define SMARTVM_CONCAT_(a, b) SMARTVM_CONCAT2_(a, b)
#define SMARTVM_CONCAT2_(a, b) a##b
