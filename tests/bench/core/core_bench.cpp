// core_bench.cpp: how the analysis scales with stack depth. A synthetic
// recursion of N frames (each: return address, saved RBP, 16 bytes of
// locals; every 16th frame holds an audit block) is walked
//   BM_Walk            the RBP walk alone, no symbolization, links kept
//   BM_WalkNoLinks     the same without the per-link check records
//   BM_WalkSymbolized  the walk with symbols (cached per address)
//   BM_Audit           analyze(): walk, sizes, regions, kinds, findings
//   BM_AuditNoLinks    the same with AnalysisOptions::record_links off
// Counters: time_per_frame (s, SI prefix), and bytes_per_frame (heap bytes the result keeps,
// counted by this binary's operator new). Floor: the walk without symbolization
// at most 100 ns per frame, growing linearly.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <memory>
#include <new>

#include "frameaudit/analysis.h"
#include "memory_image_test_util.h"
#include "unwind/thread_snapshot.h"
#include "unwind/walk.h"

namespace {

std::atomic<int64_t> g_live{0};

} // namespace

void *operator new(size_t n) {
  void *p = std::malloc(n ? n : 1);
  if (!p)
    throw std::bad_alloc();
  g_live += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}
void operator delete(void *p) noexcept {
  if (p)
    g_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void *p, size_t) noexcept { operator delete(p); }

namespace {

using namespace fa_test;

constexpr uint64_t kFrameBytes = 32;

struct Stack {
  std::unique_ptr<MemoryImage> img;
};

// rec calls rec; every 16th level allocates 48 bytes (audit) first.
Stack make_stack(int64_t depth) {
  const uint64_t size = static_cast<uint64_t>(depth) * (kFrameBytes + 6) + 0x10000;
  const uint64_t high = 0x7fff00000000 + ((size + 0xfff) & ~uint64_t{0xfff});
  Stack s;
  s.img = std::make_unique<MemoryImage>(0x7fff00000000, high);
  MemoryImage &img = *s.img;
  auto &st = img.fn("_start");
  st.frame_pointer = false;
  st.body = {{"c", "rec"}};
  auto &rec = img.fn("rec");
  rec.sub = 16;
  rec.body = {{"a", "sra_alloc"}, {"c", "rec"}, {"stop", ""}};
  img.allocator(true);
  img.build();
  StackSim sim(img, high - 0x100);
  const uint64_t start_ret = img.ret_after("_start", "c"), rec_ret = img.ret_after("rec", "c");
  img.put64(sim.rsp -= 8, start_ret, "");
  for (int64_t i = 0; i < depth; ++i) {
    img.put64(sim.rsp -= 8, sim.rbp, "");
    sim.rbp = sim.rsp;
    sim.rsp -= 16;
    if (i % 16 == 0)
      sim.sra_alloc("rec", "a", 48, true);
    if (i + 1 < depth)
      img.put64(sim.rsp -= 8, rec_ret, "");
  }
  img.thread(sim.regs(img.pc("rec", "body")));
  return s;
}

void report(benchmark::State &state, int64_t frames, int64_t kept_bytes) {
  state.counters["frames"] = static_cast<double>(frames);
  // Seconds per frame, printed with an SI prefix ("45.2n" = 45.2 ns).
  state.counters["time_per_frame"] = benchmark::Counter(
      static_cast<double>(frames),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_frame"] = static_cast<double>(kept_bytes) / static_cast<double>(frames);
}

void walk(benchmark::State &state, bool symbolize, bool links = true) {
  Stack s = make_stack(state.range(0));
  int64_t frames = 0, kept = 0;
  for (auto _ : state) {
    frameaudit::detail::TargetCache cache(*s.img);
    const int64_t before = g_live.load();
    auto snap = frameaudit::detail::take_snapshot(cache, s.img->thread_list[0], 64 * 1024);
    frameaudit::detail::WalkOptions opt;
    opt.symbolize = symbolize;
    opt.record_links = links;
    auto w = frameaudit::detail::walk_rbp_chain(cache, snap, opt);
    kept = g_live.load() - before - static_cast<int64_t>(snap.image.high() - snap.image.low());
    frames = static_cast<int64_t>(w.frames.size());
    benchmark::DoNotOptimize(w.frames.data());
  }
  report(state, frames, kept);
}

void BM_Walk(benchmark::State &state) { walk(state, false); }
void BM_WalkNoLinks(benchmark::State &state) { walk(state, false, false); }
void BM_WalkSymbolized(benchmark::State &state) { walk(state, true); }

void audit(benchmark::State &state, bool links) {
  Stack s = make_stack(state.range(0));
  int64_t frames = 0, kept = 0;
  for (auto _ : state) {
    const int64_t before = g_live.load();
    frameaudit::AnalysisOptions opt;
    opt.max_depth = 2'000'000;
    opt.record_links = links;
    auto r = frameaudit::analyze(*s.img, opt);
    kept = g_live.load() - before;
    frames = static_cast<int64_t>(r->summary.frames);
    if (r->threads[0].chain_end != frameaudit::ChainEnd::Outermost)
      state.SkipWithError("the synthetic chain did not walk to the end");
    benchmark::DoNotOptimize(r->threads.data());
  }
  report(state, frames, kept);
}

void BM_Audit(benchmark::State &state) { audit(state, true); }
void BM_AuditNoLinks(benchmark::State &state) { audit(state, false); }

BENCHMARK(BM_Walk)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WalkNoLinks)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WalkSymbolized)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Audit)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AuditNoLinks)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kMillisecond);

} // namespace

// FRAMEAUDIT_BENCH_WARM_HEAP=1 keeps freed memory in the heap (no mmap per
// large vector), so the numbers show the analysis' own work without the
// kernel zeroing fresh pages for every run: a long LLDB session's second
// audit, rather than its first.
int main(int argc, char **argv) {
  if (const char *warm = std::getenv("FRAMEAUDIT_BENCH_WARM_HEAP"); warm && *warm == '1') {
    // No mmap at all (glibc caps M_MMAP_THRESHOLD at 32 MiB, below a deep
    // stack's frame vector) and no trimming: every block comes from the heap
    // and stays there, faulted in once.
    if (mallopt(M_MMAP_MAX, 0) != 1 || mallopt(M_TRIM_THRESHOLD, -1) != 1) {
      std::fprintf(stderr, "core_bench: mallopt refused the warm-heap settings\n");
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
