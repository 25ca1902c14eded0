// render_json_bench.cpp: how fast the frameaudit/1 JSON document (and the
// text report beside it) is written for a deep report, the shape
// tests/bench/lldb/bench_lldb.py audits (THREADS threads of DEPTH recursive
// frames, a stack block every 10 frames):
//   BM_RenderJson/THREADS/DEPTH   render_json(report)
//   BM_RenderText/THREADS/DEPTH   render_text(report) plus render_map of the
//                                 selected thread: what `analyze --format text`
//                                 prints (the target: text <= 1.2x JSON)
// Counters: time_per_frame (s, SI prefix), bytes_per_frame (document bytes
// per frame), bytes_per_second (document bytes written per second). The
// report is built once, outside the timing.
#include <benchmark/benchmark.h>

#include <string>

#include "frameaudit/render.h"
#include "frameaudit/report.h"

namespace {

using namespace frameaudit;

/// What analyze() makes of deep_recursion.c's core: one `recurse` frame per
/// level with its source line, a 64-byte block every `every` levels.
Report deep_report(uint32_t threads, uint32_t depth, uint32_t every = 10) {
  Report r;
  r.tool_version = "0.1.0";
  r.target.executable = "/work/main/build/bench/fa_bench_deep_recursion";
  r.target.core = "/work/main/build/bench/cores/8x10000-every10/core";
  r.target.pid = 31337;
  for (uint32_t ti = 0; ti < threads; ++ti) {
    ThreadReport t;
    t.tid = 31337 + ti;
    t.index = ti + 1;
    t.name = "fa_bench_deep_r";
    const uint64_t high = 0x7f0000000000 - uint64_t{ti} * 0x1000000;
    t.stack = StackRange{high - 0x800000, high};
    t.registers.rip = 0x555555555189;
    t.registers.rsp = high - 0x1000 - uint64_t{depth} * 96;
    t.registers.rbp = t.registers.rsp + 16;
    t.stop_reason = ti == 0 ? "signal SIGABRT" : "";
    t.is_selected = ti == 0;
    for (uint32_t i = 0; i < depth; ++i) {
      Frame f;
      f.index = i;
      f.pc = i == 0 ? 0x555555555189 : 0x5555555551d4;
      const uint64_t cfa = t.registers.rsp + uint64_t{i + 1} * 96;
      f.cfa = cfa;
      f.rsp = cfa - 96;
      f.rbp = cfa - 16;
      f.function = i + 1 == depth ? "main" : "recurse";
      f.module = "fa_bench_deep_recursion";
      f.file = "/work/main/tests/bench/lldb/deep_recursion.c";
      f.line = 40 + i % 7;
      f.static_size = 32;
      f.span = 96;
      f.dynamic_bytes = 64;
      f.kind = i % every == 0 ? FrameKind::Relocated : FrameKind::Normal;
      if (i % every == 0) {
        Region reg;
        reg.id = "t" + std::to_string(t.index) + ".r" + std::to_string(i / every);
        reg.base = cfa - 80;
        reg.size = 48;
        reg.reserved = 64;
        reg.frame = i;
        reg.function = "recurse";
        reg.call_site = CallSite{0x5555555551b0, "recurse", f.file, 38};
        reg.state = RegionState::Live;
        reg.evidence = Evidence::Header;
        f.regions.push_back(reg.id);
        t.regions.push_back(std::move(reg));
      }
      t.frames.push_back(std::move(f));
    }
    t.chain_end = ChainEnd::Outermost;
    t.chain_end_detail = "frame " + std::to_string(depth - 1) + " (main): the caller is _start.";
    Finding finding;
    finding.kind = "stack-exhaustion-risk";
    finding.severity = Severity::Note;
    finding.thread = t.index;
    finding.function = "recurse";
    finding.message =
        "Thread uses most of its stack in a recursion of recurse; \"check\" the depth.";
    r.findings.push_back(std::move(finding));
    r.threads.push_back(std::move(t));
  }
  summarize(r);
  return r;
}

/// Time render(report) for the state's THREADSxDEPTH report; set the counters.
template <typename Render> void time_rendering(benchmark::State &state, Render render) {
  const auto threads = static_cast<uint32_t>(state.range(0));
  const auto depth = static_cast<uint32_t>(state.range(1));
  const Report report = deep_report(threads, depth);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = render(report);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  const double frames = static_cast<double>(report.summary.frames);
  state.counters["time_per_frame"] = benchmark::Counter(
      frames, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_frame"] = static_cast<double>(bytes) / frames;
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}

void BM_RenderJson(benchmark::State &state) {
  time_rendering(state, [](const Report &report) { return render_json(report); });
}

BENCHMARK(BM_RenderJson)->Args({1, 1000})->Args({8, 10000})->Unit(benchmark::kMillisecond);

void BM_RenderText(benchmark::State &state) {
  time_rendering(state, [](const Report &report) {
    RenderOptions options; // Unicode, no colour, 120 columns: a -o file's text
    std::string text = render_text(report, options);
    text += render_map(report, report.threads.front(), options);
    return text;
  });
}

BENCHMARK(BM_RenderText)->Args({1, 1000})->Args({8, 10000})->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
