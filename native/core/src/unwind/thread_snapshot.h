// thread_snapshot.h: choosing the threads to audit and reading each one's
// stack once (target -> snapshot, the first stage of the analysis).
#pragma once

#include <vector>

#include "frameaudit/analysis.h"
#include "frameaudit/result.h"
#include "unwind/walk.h"

namespace frameaudit::detail {

/// The threads AnalysisOptions asks for, in the target's order. Fails with
/// InvalidArgument when a requested index/tid does not exist.
Result<std::vector<ThreadInfo>> select_threads(std::vector<ThreadInfo> all, const AnalysisOptions &options);

/// The thread's stack mapping (the region holding RSP) and one bulk read of
/// [max(RSP - dead_scan_bytes, low), high).
ThreadSnapshot take_snapshot(TargetCache &cache, ThreadInfo thread, uint64_t dead_scan_bytes);

} // namespace frameaudit::detail
