// cfi_bench.cpp: the unwinder's CFI path on real frameless code, per frame,
// beside libgcc's CFI unwinder (glibc backtrace()) on the same stack. A
// recursion built without frame pointers, N frames deep, in a thread with a
// 1 GiB stack, freezes its stack; then, best of 3 runs each:
//   walk          walk_rbp_chain over the snapshot: CFI rows from this
//                 process's modules (elfutils), no symbols, no link records
//                 (the modules are opened and the stack read once, untimed)
//   walk+links    the same, every link's checks recorded (what `fa chain` shows)
//   analyze       the full audit, everything timed: modules opened, stack
//                 read, walk, sizes, regions, kinds, findings (no symbols:
//                 the target has none)
//   backtrace()   glibc's backtrace() of the live stack, the baseline
// Run on purpose: build/tests/bench/core/cfi_bench [max_depth, default 1000000].
#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "frameaudit/analysis.h"
#include "self_target_test_util.h"
#include "unwind/thread_snapshot.h"
#include "unwind/walk.h"

using namespace frameaudit;
using namespace frameaudit::detail;

namespace {

Snapshot g_snap;
size_t g_depth = 0;
double g_backtrace_ns = 0;
template <class F> double best_ns_per_frame(F &&f);
size_t g_frames = 0;
double g_walk = 0, g_links = 0, g_analyze = 0;
void measure(); // runs on the recursing thread: its stack mapping must still exist

__attribute__((noinline)) void freeze() {
  snapshot_caller(g_snap, false);
  std::vector<void *> bt(g_depth + 64);
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const int n = backtrace(bt.data(), static_cast<int>(bt.size()));
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, ns / n);
  }
  g_backtrace_ns = best;
  measure();
}

__attribute__((noinline, optimize("omit-frame-pointer"))) int recurse(size_t n) {
  volatile char pad[24];
  pad[n & 7] = static_cast<char>(n);
  if (n == 0)
    freeze();
  else
    recurse(n - 1);
  return pad[n & 7];
}

void *run(void *) {
  recurse(g_depth);
  return nullptr;
}

template <class F> double best_ns_per_frame(F &&f) {
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const size_t frames = f();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, ns / static_cast<double>(frames));
  }
  return best;
}

void measure() {
    SelfTarget target(g_snap);
    size_t frames = 0;
    // The cache (modules opened, rows cached per pc) and the stack read are
    // made once, as analyze() makes them once per target and thread; the
    // timed part is the walk.
    TargetCache cache(target);
    ThreadSnapshot snap = take_snapshot(cache, target.threads().front(), 0);
    auto walk = [&](bool links) {
      WalkOptions o;
      o.record_links = links;
      o.symbolize = false;
      frames = walk_rbp_chain(cache, snap, o).frames.size();
      return frames;
    };
    g_walk = best_ns_per_frame([&] { return walk(false); });
    g_links = best_ns_per_frame([&] { return walk(true); });
    g_analyze = best_ns_per_frame([&] {
      AnalysisOptions o;
      o.compare_unwinder = false;
      auto r = analyze(target, o);
      return r ? r->threads.front().frames.size() : size_t{1};
    });
  g_frames = frames;
}

} // namespace

int main(int argc, char **argv) {
  const size_t max_depth = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::printf("%10s %10s %12s %12s %12s %14s\n", "depth", "frames", "walk ns/f", "+links ns/f", "analyze ns/f",
              "backtrace ns/f");
  for (size_t depth = 1000; depth <= max_depth; depth *= 10) {
    g_depth = depth;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, size_t{1} << 30);
    pthread_t th;
    if (pthread_create(&th, &attr, run, nullptr) != 0)
      return 1;
    pthread_join(th, nullptr);
    std::printf("%10zu %10zu %12.1f %12.1f %12.1f %14.1f\n", depth, g_frames, g_walk, g_links, g_analyze, g_backtrace_ns);
  }
  return 0;
}
