// huge_pages.h: growth of the walk's large per-frame vectors on transparent
// huge pages. A 10^6-frame thread fills about 350 MB of frames, facts and
// links; on 4 KiB pages every first touch is a page fault, and in a virtual
// machine a fault costs microseconds: faults were 80% of a deep walk's time
// (tests/bench/core/cfi_bench). Where the kernel runs THP in `madvise` mode
// (Debian's default), asking for huge pages before the buffer is touched
// cuts the faults by up to 512x. Elsewhere the advice is a harmless no-op.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace frameaudit::detail {

/// Below this a buffer stays on ordinary pages.
inline constexpr size_t kHugeAdviceBytes = size_t{4} << 20;

/// v.reserve(n), and for a large buffer the advice to back it with huge
/// pages, given before anything touches the new pages (reserve only maps
/// them). Call it on an empty vector: elements moved in by reserve would
/// already have faulted their pages in.
template <class T> void reserve_on_huge_pages(std::vector<T> &v, size_t n) {
  v.reserve(n);
  const size_t bytes = v.capacity() * sizeof(T);
  if (bytes < kHugeAdviceBytes)
    return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(v.data());
  const uintptr_t first = (begin + page - 1) & ~(page - 1);
  const uintptr_t end = (begin + bytes) & ~(page - 1);
  if (end > first)
    (void)madvise(reinterpret_cast<void *>(first), end - first, MADV_HUGEPAGE);
}

} // namespace frameaudit::detail
