// analysis.h: the core's entry point: target -> snapshot -> analysis -> Report.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frameaudit/report.h"
#include "frameaudit/result.h"
#include "frameaudit/target.h"

namespace frameaudit {

struct AnalysisOptions {
  /// Threads to audit: empty means the selected thread only (or thread 1).
  /// Each entry is matched against the thread index first, then the tid.
  std::vector<uint64_t> threads;
  bool all_threads = false;
  uint64_t max_depth = 1'000'000;
  /// How far below RSP to look for dead headers and stubs (bytes).
  uint64_t dead_scan_bytes = 64 * 1024;
  /// Compare with the debugger's unwinder (needs ThreadInfo::debugger_frames).
  bool compare_unwinder = true;
  /// Keep every link of the raw chain with its checks (ThreadReport::links),
  /// which only `fa chain` prints. About 500 bytes per frame; front-ends may
  /// turn it off for the other commands.
  bool record_links = true;
  /// Fill every frame's debug-info variables and recovered registers
  /// (Frame::variables, Frame::registers): the frame provider's values.
  bool frame_variables = false;
  /// Extra directories searched for separate debug files (debuglink and
  /// .build-id layouts), after the standard ones.
  std::vector<std::string> debug_dirs;
  /// Called with (done, total) thread counts; may be empty.
  std::function<void(size_t, size_t)> progress;
};

/// Audit the target. Fails only when nothing can be analysed at all (no
/// threads, unsupported architecture); everything wrong with the target's
/// memory becomes a chain_end reason or a finding.
Result<Report> analyze(Target &target, const AnalysisOptions &options);

/// Version string of this build ("0.1.0").
const char *version();

} // namespace frameaudit
