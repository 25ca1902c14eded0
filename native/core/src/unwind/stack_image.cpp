// stack_image.cpp: the bulk stack read with its page-wise fallback.
#include "unwind/stack_image.h"

#include <algorithm>

#include "unwind/huge_pages.h"

namespace frameaudit::detail {

void StackImage::mark(uint64_t a, uint64_t b) {
  a = std::max(a, low_);
  b = std::min(b, high());
  if (a >= b || chunk_ok_.empty())
    return;
  const uint64_t base = low_ & ~(kChunk - 1);
  // A chunk is good if all of its bytes inside [low_, high()) were read: the
  // good chunks are those from the first starting at or after a to the last
  // ending at or before b, a contiguous run filled at once (the bulk read
  // marks megabytes).
  auto start = [&](uint64_t c) { return std::max(low_, base + c * kChunk); };
  auto end = [&](uint64_t c) { return std::min(high(), base + (c + 1) * kChunk); };
  uint64_t first = chunk_of(a);
  if (start(first) < a)
    ++first;
  uint64_t last = chunk_of(b - 1); // inclusive candidate
  if (end(last) > b) {
    if (last == 0)
      return;
    --last;
  }
  if (first >= chunk_ok_.size() || first > last)
    return;
  last = std::min<uint64_t>(last, chunk_ok_.size() - 1);
  std::fill(chunk_ok_.begin() + static_cast<std::ptrdiff_t>(first),
            chunk_ok_.begin() + static_cast<std::ptrdiff_t>(last + 1), true);
}

void StackImage::load(Target &target, uint64_t low, uint64_t high) {
  low_ = low;
  bytes_.clear();
  chunk_ok_.clear();
  holes_ = 0;
  if (high <= low)
    return;
  // A deep stack is hundreds of MiB: on huge pages, zeroing and reading it
  // faults 512 times less often.
  std::vector<uint8_t>().swap(bytes_);
  reserve_on_huge_pages(bytes_, high - low);
  bytes_.assign(high - low, 0);
  const uint64_t first_page = low & ~(kPage - 1);
  const uint64_t pages = (high - 1 - first_page) / kPage + 1;
  chunk_ok_.assign((high - 1 - (low & ~(kChunk - 1))) / kChunk + 1, false);

  auto span_at = [&](uint64_t a, uint64_t n) {
    return std::span<std::byte>(reinterpret_cast<std::byte *>(&bytes_[a - low_]), n);
  };
  auto read = [&](uint64_t a, uint64_t b) {
    return std::min<uint64_t>(target.read_memory(a, span_at(a, b - a)), b - a);
  };
  const uint64_t got = read(low, high);
  mark(low, low + got);
  // Pages the bulk read left out, one by one. A page that is only partly
  // there keeps its readable prefix, and its readable suffix is found by a
  // bounded binary search over chunk offsets (a dump that starts at RSP).
  for (uint64_t p = 0; p < pages; ++p) {
    const uint64_t a = std::max(low, first_page + p * kPage);
    const uint64_t b = std::min(high, first_page + (p + 1) * kPage);
    if (b <= low + got)
      continue;
    const uint64_t n = read(a, b);
    if (n == b - a) {
      mark(a, b);
      continue;
    }
    ++holes_;
    std::fill(bytes_.begin() + (a + n - low_), bytes_.begin() + (b - low_), 0);
    mark(a, a + n);
    uint64_t lo = (a + n + kChunk - 1) & ~(kChunk - 1), hi = b; // hi: known readable start (empty)
    uint64_t best = b;
    for (int step = 0; step < 16 && lo < hi; ++step) {
      const uint64_t mid =
          lo + (hi - lo) / (2 * kChunk) * kChunk; // lo itself when one chunk is left
      if (read(mid, b) == b - mid) {
        best = mid;
        hi = mid;
      } else {
        std::fill(bytes_.begin() + (mid - low_), bytes_.begin() + (b - low_), 0);
        lo = mid + kChunk;
      }
    }
    if (best < b) {
      // Re-read: a failed probe above may have zeroed part of it.
      if (read(best, b) == b - best)
        mark(best, b);
    }
  }
}

void StackImage::assign(uint64_t low, std::vector<uint8_t> bytes) {
  low_ = low;
  bytes_ = std::move(bytes);
  holes_ = 0;
  if (bytes_.empty()) {
    chunk_ok_.clear();
    return;
  }
  chunk_ok_.assign((low_ + bytes_.size() - 1 - (low & ~(kChunk - 1))) / kChunk + 1, true);
}

} // namespace frameaudit::detail
