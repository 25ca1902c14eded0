// stack_image.h: one thread's stack bytes, read once in bulk. Everything the
// walker and the region finder look at on the stack comes from here, so the
// debugger is asked for the stack once per thread; unreadable pages are holes
// that make individual reads fail instead of the whole analysis.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "frameaudit/target.h"

namespace frameaudit::detail {

class StackImage {
public:
  static constexpr uint64_t kPage = 4096;
  /// Validity is tracked per chunk, not per page: minidumps hold a thread's
  /// stack from (about) RSP upwards, so the page holding RSP is partly there.
  static constexpr uint64_t kChunk = 8;

  StackImage() = default;

  /// Read [low, high) from the target: one bulk read, then page by page for
  /// whatever the bulk read left out.
  void load(Target &target, uint64_t low, uint64_t high);

  /// Build from bytes already in hand (tests, fuzzing). All readable.
  void assign(uint64_t low, std::vector<uint8_t> bytes);

  uint64_t low() const { return low_; }
  uint64_t high() const { return low_ + bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  /// True if every byte of [addr, addr + n) was read.
  bool readable(uint64_t addr, uint64_t n) const {
    if (addr < low_ || n > bytes_.size() || addr - low_ > bytes_.size() - n)
      return false;
    if (holes_ == 0)
      return true;
    const uint64_t first = chunk_of(addr), last = chunk_of(addr + n - 1);
    for (uint64_t c = first; c <= last; ++c)
      if (!chunk_ok_[c])
        return false;
    return true;
  }

  std::optional<uint64_t> u64(uint64_t addr) const {
    if (!readable(addr, 8))
      return std::nullopt;
    uint64_t v;
    std::memcpy(&v, &bytes_[addr - low_], 8);
    return v;
  }

  /// Pointer to n readable bytes at addr, or nullptr.
  const uint8_t *data(uint64_t addr, uint64_t n) const {
    return readable(addr, n) ? &bytes_[addr - low_] : nullptr;
  }

  /// Number of pages not wholly readable.
  size_t holes() const { return holes_; }

private:
  uint64_t chunk_of(uint64_t addr) const { return (addr - (low_ & ~(kChunk - 1))) / kChunk; }
  void mark(uint64_t a, uint64_t b); ///< chunks wholly inside [a, b) are readable

  uint64_t low_ = 0;
  std::vector<uint8_t> bytes_;
  std::vector<bool> chunk_ok_; ///< per kChunk bytes, from the chunk holding low_
  size_t holes_ = 0;
};

} // namespace frameaudit::detail
