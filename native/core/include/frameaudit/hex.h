// hex.h: how every message, table and document prints an address or a
// value: "0x7ffd5a1c2e40", lowercase, no padding (docs/formats.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace frameaudit {

/// value as "0x" and lowercase hex digits, no padding.
inline std::string hex(uint64_t value) {
  // By hand rather than snprintf: the renderers call it for every address
  // of every table row.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::array<char, 18> buf;
  size_t at = buf.size();
  do {
    buf[--at] = kDigits[value & 0xF];
    value >>= 4;
  } while (value);
  buf[--at] = 'x';
  buf[--at] = '0';
  return std::string(buf.data() + at, buf.size() - at);
}

} // namespace frameaudit
