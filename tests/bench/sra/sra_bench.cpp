// sra_bench.cpp: the cost of one allocation with sra (plain and audit)
// against alloca, a VLA, malloc+free and a bump arena, for 16, 64, 256 and
// 4096 bytes.  Each iteration calls a noinline caller that allocates,
// touches the block and returns (bench_callers.c), so every strategy pays
// the same call and touches.  Run on purpose, not as a timed test:
//
//   build/tests/bench/sra/sra_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include "bench_callers.h"

namespace {

template <unsigned (*Caller)(size_t)> void BM_alloc(benchmark::State &state) {
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    size_t size = n;
    benchmark::DoNotOptimize(size); // the callers must not see a constant
    benchmark::DoNotOptimize(Caller(size));
  }
}

void sizes(benchmark::internal::Benchmark *b) {
  for (int n : {16, 64, 256, 4096})
    b->Arg(n);
}

} // namespace

BENCHMARK(BM_alloc<bench_sra_plain>)->Name("sra_plain")->Apply(sizes);
BENCHMARK(BM_alloc<bench_sra_audit>)->Name("sra_audit")->Apply(sizes);
BENCHMARK(BM_alloc<bench_alloca>)->Name("alloca")->Apply(sizes);
BENCHMARK(BM_alloc<bench_vla>)->Name("vla")->Apply(sizes);
BENCHMARK(BM_alloc<bench_malloc>)->Name("malloc_free")->Apply(sizes);
BENCHMARK(BM_alloc<bench_arena_alloc>)->Name("bump_arena")->Apply(sizes);

BENCHMARK_MAIN();
