// text_format.h: the string helpers every renderer shares. Names in a report
// come from target memory and debug info, so nothing here trusts them: every
// string is made valid UTF-8 before it reaches nlohmann-json or a terminal,
// and text output gets control and bidi characters neutralised. Widths are
// computed without the C locale so output is the same everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "frameaudit/hex.h"

namespace frameaudit::render {

/// Valid UTF-8: every byte that does not start a well-formed sequence becomes
/// U+FFFD. Used for JSON and SARIF, where control characters are escaped by
/// the JSON writer and need no further treatment.
std::string valid_utf8(std::string_view s);

/// A string safe to print on a terminal: valid UTF-8, with C0/C1 controls,
/// DEL and bidi overrides replaced (U+FFFD, or '?' in ASCII mode). In ASCII
/// mode every non-ASCII character becomes '?', so the output is pure ASCII.
std::string clean_text(std::string_view s, bool ascii);

/// Terminal columns of a cleaned string (combining marks 0, East Asian wide 2).
size_t display_width(std::string_view cleaned);

/// Every byte is printable ASCII (0x20..0x7E): the string is its own
/// clean_text, and its width is its length. The fast path of the functions
/// below; most names, paths and numbers in a report are such strings.
bool plain_ascii(std::string_view s);
/// display_width(clean_text(s, ascii)) in one pass, without the copy.
size_t clean_width(std::string_view s, bool ascii);
/// Append clean_text(s, ascii) to out and return its display width: one
/// pass over s (a plain ASCII string is appended as it is).
size_t append_clean(std::string &out, std::string_view s, bool ascii);

/// Fit a cleaned string into `width` columns, replacing what is cut with an
/// ellipsis ("…" or "..."). keep_tail keeps the end (file paths).
std::string fit(std::string_view cleaned, size_t width, bool ascii, bool keep_tail = false);

/// Bytes of the longest prefix of a cleaned string that fits in `width`
/// columns (whole code points; at least one if the string is not empty, so
/// a caller splitting a long word always makes progress).
size_t prefix_bytes(std::string_view cleaned, size_t width);

/// Pad a cleaned string with spaces to `width` columns (never truncates).
std::string pad_right(std::string_view cleaned, size_t width);
std::string pad_left(std::string_view cleaned, size_t width);

using frameaudit::hex; // "0x7ffd5a1c2e40" (frameaudit/hex.h)
/// 9980 -> "9,980"; no locale.
std::string thousands(uint64_t value);
/// 2097152 -> "2.0 MiB"; exact bytes below 1 KiB ("48 B").
std::string human_bytes(uint64_t value);
/// "-" for an absent value, else the decimal.
std::string opt_int(const std::optional<int64_t> &value);

/// "fixture.c:14", "fixture.c", or "" when the file is unknown.
std::string file_line(const std::optional<std::string> &file, const std::optional<uint32_t> &line,
                      bool full_path = false);

/// Remove trailing spaces (tables pad every cell).
void trim_right(std::string &line);

} // namespace frameaudit::render
