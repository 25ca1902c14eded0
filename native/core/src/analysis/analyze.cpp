// analyze.cpp: the core's entry point. Runs the stages for each selected
// thread (snapshot -> RBP walk -> frame sizes -> regions -> frame kinds ->
// findings) and assembles the Report. Nothing here throws to the caller: an
// internal failure becomes an Error value.
#include "frameaudit/analysis.h"

#include <exception>
#include <new>

#include "analysis/thread_work.h"
#include "unwind/thread_snapshot.h"

#ifndef FRAMEAUDIT_VERSION
#error "FRAMEAUDIT_VERSION comes from project(VERSION) in the top CMakeLists.txt"
#endif

namespace frameaudit {

const char *version() { return FRAMEAUDIT_VERSION; }

namespace {

Result<Report> analyze_unchecked(Target &target, const AnalysisOptions &options) {
  Report report;
  report.tool_version = version();
  report.target = target.info();
  if (report.target.arch != "x86_64")
    return make_error(Error::Code::UnsupportedArch,
                      "frameaudit supports x86_64 targets only; this target is " +
                          (report.target.arch.empty() ? std::string("of unknown architecture")
                                                      : report.target.arch) +
                          ".");
  detail::TargetCache cache(target, options.debug_dirs);
  std::vector<ThreadInfo> all = target.threads();
  std::vector<uint64_t> stack_pointers;
  stack_pointers.reserve(all.size());
  for (const ThreadInfo &t : all)
    stack_pointers.push_back(t.registers.rsp);
  auto selected = detail::select_threads(std::move(all), options);
  if (!selected)
    return selected.error();

  detail::WalkOptions walk_options;
  walk_options.max_depth = options.max_depth;
  walk_options.record_links = options.record_links;
  // Globals are read at most once, for every thread's dangling-pointer rule.
  detail::DataWords data(cache, stack_pointers);
  const size_t total = selected->size();
  size_t done = 0;
  for (ThreadInfo &info : *selected) {
    detail::ThreadWork work;
    work.snap = detail::take_snapshot(cache, std::move(info), options.dead_scan_bytes);
    work.walk = detail::walk_rbp_chain(cache, work.snap, walk_options);
    detail::measure_frames(cache, work);
    detail::find_regions(cache, work, options);
    detail::classify_frames(cache, work);
    detail::account_frames(cache, work);
    detail::number_regions(work, work.snap.info.index);

    ThreadReport t;
    t.tid = work.snap.info.tid;
    t.index = work.snap.info.index;
    t.name = work.snap.info.name;
    t.stack = work.snap.stack;
    t.registers = work.snap.info.registers;
    t.frames = std::move(work.walk.frames);
    t.chain_end = work.walk.end;
    t.chain_end_detail = std::move(work.walk.detail);
    t.regions = work.regions;
    t.links = std::move(work.walk.links);
    t.stale_stubs = std::move(work.stale_stubs);
    t.stop_reason = work.snap.info.stop_reason;
    t.is_selected = work.snap.info.is_selected;
    if (options.frame_variables)
      detail::fill_frame_variables(cache, work, t);
    detail::add_findings(cache, work, t, options, data, report.findings);
    report.threads.push_back(std::move(t));
    ++done;
    if (options.progress)
      options.progress(done, total);
  }
  detail::report_modules(cache, report);
  summarize(report);
  return report;
}

} // namespace

Result<Report> analyze(Target &target, const AnalysisOptions &options) {
  try {
    return analyze_unchecked(target, options);
  } catch (const std::bad_alloc &) {
    return make_error(Error::Code::Internal, "frameaudit ran out of memory while analysing the target.");
  } catch (const std::exception &e) {
    return make_error(Error::Code::Internal, std::string("frameaudit failed internally: ") + e.what());
  } catch (...) {
    return make_error(Error::Code::Internal, "frameaudit failed internally.");
  }
}

} // namespace frameaudit
