// text_format.cpp: UTF-8 repair, terminal-safe text, widths and number
// formatting for the renderers. Hand-written rather than locale-based so every
// front-end prints the same bytes on every machine.
#include "render/text_format.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "frameaudit/names.h"

namespace frameaudit::render {
namespace {

constexpr uint32_t kReplacement = 0xFFFD;

/// Decode one well-formed UTF-8 sequence at s[i]. Returns its length, or 0 if
/// the bytes there are not a well-formed sequence (overlong, surrogate, out
/// of range, truncated, stray continuation byte).
size_t decode(std::string_view s, size_t i, uint32_t &cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len = 0;
  uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size())
    return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

void append_utf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Characters that would let a name move the cursor, recolour the terminal
/// or reorder the line it is printed on.
bool unsafe_on_terminal(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

int cp_width(uint32_t cp) {
  if (cp < 0x0300) // ASCII and Latin: one column each (the common case)
    return 1;
  // Combining marks and zero-width characters take no column.
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
      (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF)
    return 0;
  // East Asian wide and fullwidth ranges, and the common emoji blocks.
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
    return 2;
  return 1;
}

constexpr uint64_t kOnes = ~uint64_t{0} / 255; // 0x0101...01
constexpr uint64_t kHighs = kOnes * 0x80;      // 0x8080...80

/// Some byte of w is below n (n <= 128), or above m (m <= 127): exact for
/// "is there such a byte" (which byte may be misreported, but no caller
/// needs that).
constexpr uint64_t any_below(uint64_t w, unsigned n) {
  return (w - kOnes * n) & ~w & kHighs;
}
constexpr uint64_t any_above(uint64_t w, unsigned m) {
  return ((w + kOnes * (127 - m)) | w) & kHighs;
}

/// Width of one code point as clean_text would print it: U+FFFD (one
/// column) for what it replaces, '?' for anything non-ASCII in ASCII mode.
int cleaned_cp_width(uint32_t cp, bool ascii) {
  if (unsafe_on_terminal(cp) || ascii)
    return 1;
  return cp_width(cp);
}

/// The cleaned width of s, and (when out is given) its cleaned text appended
/// to *out: clean_text and display_width in one pass, the slow path of
/// clean_width/append_clean for strings that are not plain ASCII.
size_t clean_slow(std::string_view s, bool ascii, std::string *out) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t len = decode(s, i, cp);
    if (len == 0) {
      cp = kReplacement;
      len = 1;
    } else if (unsafe_on_terminal(cp)) {
      cp = kReplacement;
    }
    width += static_cast<size_t>(cleaned_cp_width(cp, ascii));
    if (out) {
      if (ascii && cp >= 0x80)
        *out += '?';
      else if (cp < 0x80)
        *out += static_cast<char>(cp);
      else if (len > 1 && cp != kReplacement)
        out->append(s.substr(i, len)); // well-formed and kept: the bytes as they are
      else
        append_utf8(*out, cp);
    }
    i += len;
  }
  return width;
}

} // namespace

bool plain_ascii(std::string_view s) {
  const char *p = s.data();
  const size_t n = s.size();
  size_t i = 0;
  uint64_t bad = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    bad |= any_below(w, 0x20) | any_above(w, 0x7E);
  }
  if (bad)
    return false;
  for (; i < n; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    if (b < 0x20 || b > 0x7E)
      return false;
  }
  return true;
}

size_t clean_width(std::string_view s, bool ascii) {
  return plain_ascii(s) ? s.size() : clean_slow(s, ascii, nullptr);
}

size_t append_clean(std::string &out, std::string_view s, bool ascii) {
  if (plain_ascii(s)) {
    out.append(s);
    return s.size();
  }
  return clean_slow(s, ascii, &out);
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t len = decode(s, i, cp);
    if (len == 0) {
      append_utf8(out, kReplacement);
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string clean_text(std::string_view s, bool ascii) {
  if (plain_ascii(s))
    return std::string(s);
  std::string out;
  out.reserve(s.size());
  clean_slow(s, ascii, &out);
  return out;
}

size_t display_width(std::string_view cleaned) {
  // ASCII bytes take one column each (cp_width); only a string with other
  // bytes needs decoding.
  const char *p = cleaned.data();
  const size_t n = cleaned.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & kHighs)
      break;
  }
  while (i < n && static_cast<unsigned char>(p[i]) < 0x80)
    ++i;
  if (i == n)
    return n;
  size_t width = i;
  for (; i < cleaned.size();) {
    uint32_t cp = 0;
    const size_t len = decode(cleaned, i, cp);
    if (len == 0) {
      ++width; // cannot happen for cleaned text; count it like U+FFFD
      ++i;
      continue;
    }
    width += static_cast<size_t>(cp_width(cp));
    i += len;
  }
  return width;
}

std::string fit(std::string_view cleaned, size_t width, bool ascii, bool keep_tail) {
  if (display_width(cleaned) <= width)
    return std::string(cleaned);
  const std::string_view ellipsis = ascii ? "..." : "\u2026";
  const size_t ell_width = ascii ? 3 : 1;
  if (width <= ell_width)
    return std::string(ellipsis.substr(0, ascii ? width : (width ? ellipsis.size() : 0)));
  const size_t budget = width - ell_width;
  // Split into code points once, then take them from the kept end.
  struct Cp {
    size_t pos, len;
    int width;
  };
  std::string_view s = cleaned;
  std::vector<Cp> cps;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t len = decode(s, i, cp);
    int w = 1;
    if (len == 0)
      len = 1;
    else
      w = cp_width(cp);
    cps.push_back({i, len, w});
    i += len;
  }
  size_t used = 0;
  if (!keep_tail) {
    size_t end = 0;
    for (const auto &c : cps) {
      if (used + static_cast<size_t>(c.width) > budget)
        break;
      used += static_cast<size_t>(c.width);
      end = c.pos + c.len;
    }
    return std::string(s.substr(0, end)) + std::string(ellipsis);
  }
  size_t begin = s.size();
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) {
    if (used + static_cast<size_t>(it->width) > budget)
      break;
    used += static_cast<size_t>(it->width);
    begin = it->pos;
  }
  return std::string(ellipsis) + std::string(s.substr(begin));
}

size_t prefix_bytes(std::string_view cleaned, size_t width) {
  size_t used = 0, end = 0;
  for (size_t i = 0; i < cleaned.size();) {
    uint32_t cp = 0;
    size_t len = decode(cleaned, i, cp);
    int w = 1;
    if (len == 0)
      len = 1;
    else
      w = cp_width(cp);
    if (used + static_cast<size_t>(w) > width && end > 0)
      break;
    used += static_cast<size_t>(w);
    i += len;
    end = i;
  }
  return end;
}

std::string pad_right(std::string_view cleaned, size_t width) {
  std::string out(cleaned);
  const size_t w = display_width(cleaned);
  if (w < width)
    out.append(width - w, ' ');
  return out;
}

std::string pad_left(std::string_view cleaned, size_t width) {
  const size_t w = display_width(cleaned);
  std::string out;
  if (w < width)
    out.append(width - w, ' ');
  out.append(cleaned);
  return out;
}

std::string thousands(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(uint64_t value) {
  if (value < 1024)
    return std::to_string(value) + " B";
  static constexpr const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  // Tenths by integer arithmetic, rounded half up: no floating point, so no
  // platform-dependent rounding in the output.
  unsigned unit = 0;
  unsigned __int128 scaled = value;
  unsigned __int128 divisor = 1024;
  while (unit + 1 < 6 && value / divisor >= 1024) {
    divisor *= 1024;
    ++unit;
  }
  const unsigned __int128 tenths = (scaled * 10 + divisor / 2) / divisor;
  return std::to_string(static_cast<uint64_t>(tenths / 10)) + "." +
         std::to_string(static_cast<uint64_t>(tenths % 10)) + " " + units[unit];
}

std::string opt_int(const std::optional<int64_t> &value) {
  return value ? std::to_string(*value) : std::string("-");
}

std::string file_line(const std::optional<std::string> &file, const std::optional<uint32_t> &line,
                      bool full_path) {
  if (!file || file->empty())
    return "";
  std::string out(full_path ? std::string_view(*file) : basename(*file));
  if (line)
    out += ":" + std::to_string(*line);
  return out;
}

void trim_right(std::string &line) {
  const size_t end = line.find_last_not_of(' ');
  line.erase(end == std::string::npos ? 0 : end + 1);
}

} // namespace frameaudit::render
