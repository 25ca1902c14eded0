// data_sections.cpp: the writable data of the executable and its libraries
// (.data, .bss), where globals and statics live, read at most once per
// analysis for the dangling-pointer rule (docs/analysis.md, "Findings"): the
// allocator's users' data when a thread has released stack, everyone else's
// only when a dead block was recovered. The memory map
// shows them as writable mappings of the module files, each followed by the
// anonymous mapping that holds the rest of .bss.
#include <algorithm>

#include "analysis/thread_work.h"
#include "unwind/huge_pages.h"

namespace frameaudit::detail {
namespace {

// A program's own data is small; the bound keeps a huge mapped data file
// from costing more than a moment (the scan is linear in what is read).
constexpr uint64_t kMaxDataBytes = 32ull << 20;
constexpr uint64_t kMaxMappingBytes = 8ull << 20;
constexpr uint64_t kReadChunk = 64 * 1024;

bool file_backed(const MemoryRegion &r) {
  return !r.name.empty() && r.name.front() != '[';
}

} // namespace

const std::vector<DataChunk> &DataWords::part(bool users) {
  std::optional<std::vector<DataChunk>> &slot = users ? users_ : others_;
  if (slot)
    return *slot;
  std::vector<DataChunk> &out = slot.emplace();
  TargetCache &cache = *cache_;
  const std::vector<uint64_t> &stack_pointers = stack_pointers_;
  // A hand-made image has no modules to tell users from others: all its
  // data is the users'.
  const bool any_modules = cache.modules().listed() > 0;
  auto belongs = [&](uint64_t addr) {
    if (!any_modules)
      return users;
    const ModuleFacts *m = cache.modules().module_at(addr);
    return (m && m->module.references_allocator) == users;
  };
  const auto &regions = cache.regions();
  uint64_t budget = kMaxDataBytes;
  bool prev_taken = false;
  for (size_t i = 0; i < regions.size() && budget > 0; ++i) {
    const MemoryRegion &r = regions[i];
    const bool was = prev_taken;
    prev_taken = false;
    if (!r.writable || !r.readable || r.executable || (r.is_stack && *r.is_stack))
      continue;
    if (std::any_of(stack_pointers.begin(), stack_pointers.end(),
                    [&](uint64_t sp) { return sp >= r.start && sp < r.end; }))
      continue; // a thread's stack
    // Named mappings say what they are. Cores name none: there a module's
    // data follows its read-only segment without a gap, and .bss follows
    // its data (a heap, a thread stack or an anonymous mapping does not).
    bool take = file_backed(r);
    if (!take && r.name.empty() && i > 0 && regions[i - 1].end == r.start &&
        regions[i - 1].readable) {
      const MemoryRegion &prev = regions[i - 1];
      take = was || (!prev.writable && (prev.name.empty() || file_backed(prev)));
    }
    if (!take || r.end <= r.start)
      continue;
    prev_taken = true;
    if (!belongs(r.start))
      continue;
    const uint64_t start = (r.start + 7) & ~uint64_t{7};
    const uint64_t end = std::min({r.end & ~uint64_t{7}, start + kMaxMappingBytes, start + budget});
    if (end <= start)
      continue;
    DataChunk c;
    c.address = start;
    c.module = file_backed(r) ? r.name : i > 0 ? regions[i - 1].name : std::string();
    if (const auto slash = c.module.rfind('/'); slash != std::string::npos)
      c.module = c.module.substr(slash + 1);
    reserve_on_huge_pages(c.words, (end - start) / 8);
    std::vector<std::byte> buf;
    for (uint64_t a = start; a < end; a += kReadChunk) {
      const uint64_t n = std::min(kReadChunk, end - a);
      buf.resize(n);
      const size_t got = cache.read(a, buf) & ~size_t{7};
      if (got < n) {
        // A hole ends the chunk; what follows is a new one.
        for (size_t k = 0; k < got; k += 8) {
          uint64_t w;
          std::memcpy(&w, buf.data() + k, 8);
          c.words.push_back(w);
        }
        break;
      }
      for (size_t k = 0; k < n; k += 8) {
        uint64_t w;
        std::memcpy(&w, buf.data() + k, 8);
        c.words.push_back(w);
      }
    }
    budget -= std::min(budget, c.words.size() * 8);
    if (!c.words.empty())
      out.push_back(std::move(c));
  }
  return out;
}

} // namespace frameaudit::detail
