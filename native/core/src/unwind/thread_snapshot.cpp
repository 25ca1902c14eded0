// thread_snapshot.cpp: thread selection and the per-thread stack read.
#include "unwind/thread_snapshot.h"

#include <algorithm>

namespace frameaudit::detail {
namespace {

// Above RSP a stack holds live frames. No real thread stack is larger (the
// default max depth of 10^6 frames fits in far less); the bound only keeps a
// garbage memory map from asking for more than the machine has.
constexpr uint64_t kMaxLiveStack = 8ull << 30;
// Without a memory map, probe this far above RSP page by page.
constexpr uint64_t kProbeLimit = 8ull << 20;

} // namespace

Result<std::vector<ThreadInfo>> select_threads(std::vector<ThreadInfo> all, const AnalysisOptions &options) {
  if (all.empty())
    return make_error(Error::Code::NoProcess, "The target has no threads to audit.");
  if (options.all_threads)
    return all;
  std::vector<ThreadInfo> out;
  if (options.threads.empty()) {
    auto it = std::find_if(all.begin(), all.end(), [](const ThreadInfo &t) { return t.is_selected; });
    out.push_back(it != all.end() ? *it : all.front());
    return out;
  }
  for (uint64_t want : options.threads) {
    auto it = std::find_if(all.begin(), all.end(), [&](const ThreadInfo &t) { return t.index == want; });
    if (it == all.end())
      it = std::find_if(all.begin(), all.end(), [&](const ThreadInfo &t) { return t.tid == want; });
    if (it == all.end())
      return make_error(Error::Code::InvalidArgument,
                        "No thread has index or thread id " + std::to_string(want) + ".");
    const uint64_t tid = it->tid;
    const uint32_t index = it->index;
    if (std::none_of(out.begin(), out.end(),
                     [&](const ThreadInfo &t) { return t.tid == tid && t.index == index; }))
      out.push_back(*it);
  }
  // Report threads in the debugger's order whatever order they were asked in.
  std::stable_sort(out.begin(), out.end(), [](const ThreadInfo &a, const ThreadInfo &b) { return a.index < b.index; });
  return out;
}

ThreadSnapshot take_snapshot(TargetCache &cache, ThreadInfo thread, uint64_t dead_scan_bytes) {
  ThreadSnapshot s;
  s.info = std::move(thread);
  const uint64_t rsp = s.info.registers.rsp;
  const uint64_t page = StackImage::kPage;
  uint64_t low = 0, high = 0;
  if (const MemoryRegion *r = cache.region_at(rsp)) {
    if (!r->readable) {
      s.stack_problem = "its mapping is not readable";
      return s;
    }
    low = r->start;
    high = r->end;
  } else if (!cache.regions().empty()) {
    s.stack_problem = "no mapping holds it";
    return s;
  } else {
    // No memory map at all: the stack is what can be read around RSP.
    low = rsp & ~(page - 1);
    high = low;
    std::byte probe[8];
    while (high - low < kProbeLimit && high + page > high && cache.read(high, probe) == sizeof probe)
      high += page;
    while (rsp - low < dead_scan_bytes && low >= page && cache.read(low - page, probe) == sizeof probe)
      low -= page;
    if (high <= rsp) {
      s.stack_problem = "the memory at RSP cannot be read";
      return s;
    }
  }
  s.stack = StackRange{low, high};
  const uint64_t read_low = rsp - low > dead_scan_bytes ? rsp - dead_scan_bytes : low;
  const uint64_t read_high = high - rsp > kMaxLiveStack ? rsp + kMaxLiveStack : high;
  s.image.load(cache.target(), read_low, read_high);
  return s;
}

} // namespace frameaudit::detail
