// result.h: errors as values. Every fallible core API returns Result<T>;
// front-ends map Error to a Python exception or an LLDB command error in one
// place each.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace frameaudit {

/// Why an operation failed. The code lets a front-end choose an exit status
/// or exception type; the message is one sentence a user can act on.
struct Error {
  enum class Code {
    InvalidArgument,     ///< bad option or input from the user
    NoProcess,           ///< nothing to inspect
    UnsupportedArch,     ///< not x86-64
    Unreadable,          ///< memory or file could not be read
    BadInput,            ///< file is not what it claims (not ELF, truncated, ...)
    Internal,            ///< a bug in frameaudit
  };
  Code code = Code::Internal;
  std::string message;
};

/// Either a T or an Error. Minimal std::expected stand-in (C++20).
template <class T> class Result {
public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T &value() { return std::get<0>(v_); }
  const T &value() const { return std::get<0>(v_); }
  T &operator*() { return value(); }
  const T &operator*() const { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  const Error &error() const { return std::get<1>(v_); }

private:
  std::variant<T, Error> v_;
};

inline Error make_error(Error::Code code, std::string message) {
  return Error{code, std::move(message)};
}

} // namespace frameaudit
