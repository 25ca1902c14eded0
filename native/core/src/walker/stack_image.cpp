// stack_image.cpp: the bulk stack read with its page-wise fallback.
#include "walker/stack_image.h"

#include <algorithm>

namespace frameaudit::detail {

void StackImage::load(Target &target, uint64_t low, uint64_t high) {
  low_ = low;
  bytes_.clear();
  page_ok_.clear();
  holes_ = 0;
  if (high <= low)
    return;
  bytes_.assign(high - low, 0);
  const uint64_t first_page = low & ~(kPage - 1);
  const uint64_t pages = (high - 1 - first_page) / kPage + 1;
  page_ok_.assign(pages, false);

  auto span_at = [&](uint64_t a, uint64_t n) {
    return std::span<std::byte>(reinterpret_cast<std::byte *>(&bytes_[a - low_]), n);
  };
  uint64_t got = std::min<uint64_t>(target.read_memory(low, span_at(low, high - low)), high - low);
  // Pages wholly covered by the bulk read are good; the rest one by one.
  for (uint64_t p = 0; p < pages; ++p) {
    const uint64_t a = std::max(low, first_page + p * kPage);
    const uint64_t b = std::min(high, first_page + (p + 1) * kPage);
    if (b <= low + got) {
      page_ok_[p] = true;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(target.read_memory(a, span_at(a, b - a)), b - a);
    if (n == b - a) {
      page_ok_[p] = true;
    } else {
      std::fill(bytes_.begin() + (a - low_), bytes_.begin() + (b - low_), 0);
      ++holes_;
    }
  }
}

void StackImage::assign(uint64_t low, std::vector<uint8_t> bytes) {
  low_ = low;
  bytes_ = std::move(bytes);
  holes_ = 0;
  if (bytes_.empty()) {
    page_ok_.clear();
    return;
  }
  const uint64_t first_page = low & ~(kPage - 1);
  page_ok_.assign((low_ + bytes_.size() - 1 - first_page) / kPage + 1, true);
}

} // namespace frameaudit::detail
