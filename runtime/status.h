// Status and Result<T>: how fallible runtime calls report failure without
// exceptions. A failed *step* (HTTP 404, a timeout) is data the flow branches
// on, not a Status; a Status is for what the caller must handle (a vault it
// cannot open, a token it cannot refresh, a definition that does not exist).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace flowline {

class Status {
 public:
  Status() = default;  // ok
  Status(std::string code, std::string message)
      : code_(std::move(code)), message_(std::move(message)) {}

  bool ok() const { return code_.empty(); }
  // A stable snake_case identifier ("token_missing", "vault_key_mismatch").
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  std::string code_;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}
  Result(Status status) : data_(std::move(status)) {}

  bool ok() const { return data_.index() == 0; }
  const T& value() const& { return std::get<0>(data_); }
  T& value() & { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  // The failure; an ok Status when this holds a value.
  Status status() const { return ok() ? Status() : std::get<1>(data_); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace flowline
