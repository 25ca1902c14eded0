// overrun.cpp: who overwrote a header, a stub or a frame's saved pair
// (docs/analysis.md, "Overrun attribution"). A write that runs out of a
// block leaves bytes above the block's end that continue what the block
// holds: the same fill pattern, the same byte over and over, or the rest of
// a string and its NUL. Nothing else a program does puts such bytes exactly
// where a header or a saved RBP belongs.
#include "analysis/thread_work.h"

namespace frameaudit::detail {
namespace {

// How many of the block's last bytes must show the pattern before the bytes
// above it are taken to continue it.
constexpr uint64_t kEvidence = 8;
constexpr uint64_t kMinStringBytes = 4;

bool printable(uint8_t c) { return c >= 0x20 && c < 0x7f; }

std::string hex_byte(uint8_t c) {
  static const char *digits = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 15];
}

} // namespace

std::optional<Overrun> find_overrun(const StackImage &image, uint64_t base, uint64_t end, uint64_t limit) {
  if (end <= base || limit <= end || !image.readable(base, end - base))
    return std::nullopt;
  // Only readable bytes count; stop at the first hole.
  uint64_t top = end;
  while (top < limit && image.readable(top, 1))
    ++top;
  if (top == end)
    return std::nullopt;
  const uint8_t *b = image.data(base, top - base);
  if (!b)
    return std::nullopt;
  auto at = [&](uint64_t a) { return b[a - base]; };
  std::optional<Overrun> best;
  auto consider = [&](uint64_t e, std::string pattern) {
    if (e > end && (!best || e > best->end))
      best = Overrun{e, std::move(pattern)};
  };
  // Arithmetic fill: each byte is the previous plus a constant step (a step
  // of 0 is a run of one byte; memset of 0 cannot be told from untouched
  // zeros and is not taken).
  if (end - base > kEvidence) {
    const uint8_t step = static_cast<uint8_t>(at(end - 1) - at(end - 2));
    bool fill = !(step == 0 && at(end - 1) == 0);
    for (uint64_t a = end - kEvidence; fill && a < end; ++a)
      fill = static_cast<uint8_t>(at(a) - at(a - 1)) == step;
    if (fill) {
      uint64_t e = end;
      while (e < top && static_cast<uint8_t>(at(e) - at(e - 1)) == step)
        ++e;
      consider(e, step == 0 ? "a run of " + hex_byte(at(end - 1)) + " bytes"
                            : "the block's fill pattern (each byte the previous + " + hex_byte(step) + ")");
    }
  }
  // A string continuing past the end.
  if (end - base >= kMinStringBytes) {
    bool text = true;
    for (uint64_t a = end - kMinStringBytes; text && a < end; ++a)
      text = printable(at(a));
    if (text) {
      uint64_t e = end;
      while (e < top && printable(at(e)))
        ++e;
      // Its NUL is not counted: a zero right above the last character may
      // just as well have been there before. Printable bytes that were
      // already there extend it too, so where the block's own pattern
      // explains the bytes, the string must go clearly further.
      if (!best || e > best->end + kMinStringBytes - 1)
        consider(e, "a string");
    }
  }
  // A run of one non-zero byte starting right at the end (a value written
  // past the end that the block does not otherwise hold).
  if (end + kMinStringBytes <= top && at(end) != 0) {
    uint64_t e = end + 1;
    while (e < top && at(e) == at(end))
      ++e;
    if (e - end >= kMinStringBytes)
      consider(e, "a run of " + hex_byte(at(end)) + " bytes");
  }
  return best;
}

} // namespace frameaudit::detail
