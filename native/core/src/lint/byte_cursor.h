// byte_cursor.h: a bounds-checked cursor over untrusted bytes (.eh_frame,
// .debug_line): fixed-size reads, LEB128, C strings. A read past the end
// clears ok() and returns zero, so parsers check once per record.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace frameaudit::lint {

class ByteCursor {
public:
  ByteCursor(std::span<const uint8_t> b, size_t pos = 0, size_t end = SIZE_MAX)
      : b_(b), pos_(pos), end_(std::min(end, b.size())) {
    if (pos_ > end_)
      ok_ = false;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }
  template <class T> T fixed() {
    T v{};
    if (!ok_ || end_ - pos_ < sizeof v) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  void seek(size_t p) {
    if (p > end_)
      ok_ = false;
    else
      pos_ = p;
  }
  void skip(uint64_t n) {
    if (!ok_ || end_ - pos_ < n) {
      ok_ = false;
      return;
    }
    pos_ += static_cast<size_t>(n);
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
      const uint8_t byte = fixed<uint8_t>();
      if (!ok_)
        return 0;
      if (shift < 64)
        v |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return v;
    }
    ok_ = false;
    return 0;
  }
  int64_t sleb() {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t byte = 0;
    do {
      byte = fixed<uint8_t>();
      if (!ok_)
        return 0;
      if (shift < 64)
        v |= int64_t(byte & 0x7f) << shift;
      shift += 7;
    } while ((byte & 0x80) && shift < 70);
    if (byte & 0x80) { // unterminated: malformed
      ok_ = false;
      return 0;
    }
    if (shift < 64 && (byte & 0x40))
      v |= -(int64_t(1) << shift);
    return v;
  }
  std::string cstr() {
    if (!ok_)
      return {};
    const char *s = reinterpret_cast<const char *>(b_.data() + pos_);
    const size_t n = strnlen(s, end_ - pos_);
    if (n == end_ - pos_) {
      ok_ = false;
      return {};
    }
    pos_ += n + 1;
    return std::string(s, n);
  }

protected:
  std::span<const uint8_t> b_;
  size_t pos_ = 0, end_ = 0;
  bool ok_ = true;
};

} // namespace frameaudit::lint
