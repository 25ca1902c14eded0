// name.h: an interned, immutable string for the names every frame repeats
// (function, module, source file). A deep stack names the same few functions
// and files on every frame; a Name is one pointer into a process-wide pool,
// so a frame carries 8 bytes per name instead of a string copy, and copying,
// comparing and destroying a frame never touches the heap for its names. The
// pool only grows, bounded by the distinct names a session meets, as LLDB's
// own ConstString pool. A Name reads like std::optional<std::string>: it may
// be empty (no name), `*name` is the string.
#pragma once

#include <concepts>
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace frameaudit {

class Name {
public:
  Name() = default;
  Name(std::nullopt_t) {} // NOLINT(google-explicit-constructor): reads as optional
  explicit Name(std::string_view s);
  explicit Name(const std::string &s) : Name(std::string_view(s)) {}
  explicit Name(const char *s) : Name(std::string_view(s)) {}
  explicit Name(const std::optional<std::string> &s) {
    if (s)
      str_ = intern(*s);
  }

  Name &operator=(std::nullopt_t) {
    str_ = nullptr;
    return *this;
  }
  Name &operator=(std::string_view s) {
    str_ = intern(s);
    return *this;
  }
  Name &operator=(const std::string &s) { return *this = std::string_view(s); }
  Name &operator=(const char *s) { return *this = std::string_view(s); }
  Name &operator=(const std::optional<std::string> &s) {
    str_ = s ? intern(*s) : nullptr;
    return *this;
  }

  bool has_value() const { return str_ != nullptr; }
  explicit operator bool() const { return str_ != nullptr; }
  /// The string; only valid when has_value().
  const std::string &operator*() const { return *str_; }
  const std::string *operator->() const { return str_; }
  std::string value_or(std::string_view fallback) const {
    return str_ ? *str_ : std::string(fallback);
  }
  /// The name as an optional string (for results that own their strings).
  std::optional<std::string> optional() const {
    return str_ ? std::optional<std::string>(*str_) : std::nullopt;
  }
  operator std::optional<std::string>() const { return optional(); } // NOLINT: reads as optional
  void reset() { str_ = nullptr; }

  /// Interned strings compare by identity.
  friend bool operator==(const Name &a, const Name &b) { return a.str_ == b.str_; }
  friend bool operator==(const Name &a, std::nullopt_t) { return !a.str_; }
  friend bool operator==(const Name &a, const std::optional<std::string> &b) {
    return a.str_ ? b && *a.str_ == *b : !b;
  }
  template <class T>
    requires std::convertible_to<const T &, std::string_view>
  friend bool operator==(const Name &a, const T &b) {
    return a.str_ && std::string_view(*a.str_) == std::string_view(b);
  }

private:
  /// The pool's copy of s (thread-safe; never freed).
  static const std::string *intern(std::string_view s);

  const std::string *str_ = nullptr;
};

/// "main", or "nullopt" for an empty Name (test failure messages).
std::ostream &operator<<(std::ostream &os, const Name &name);

} // namespace frameaudit
