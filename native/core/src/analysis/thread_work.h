// thread_work.h: one thread's analysis state as it moves through the stages
// snapshot -> walk -> frame sizes -> regions -> frame kinds -> findings.
#pragma once

#include <string>
#include <vector>

#include "frameaudit/analysis.h"
#include "walker/walk.h"

namespace frameaudit::detail {

/// Analysis-only facts about a region (not in the report).
struct RegionFacts {
  std::string corruption; ///< why the region is corrupt (empty if it is not)
};

struct ThreadWork {
  ThreadSnapshot snap;
  WalkResult walk;
  std::vector<Region> regions; ///< ids assigned by number_regions
  std::vector<RegionFacts> region_facts;
  std::vector<StaleStub> stale_stubs; ///< stub pairs below RSP no dead block accounts for
};

/// static_size, span and dynamic_bytes of every frame (and the owner of a
/// frame in a split-off part).
void measure_frames(TargetCache &cache, ThreadWork &work);

/// Audit headers and stub remnants in live frames, audit headers of returned
/// calls in memory live frames reuse, and the released stack below RSP with
/// its stale stubs (docs/analysis.md, "Regions").
void find_regions(TargetCache &cache, ThreadWork &work, const AnalysisOptions &options);

/// Frame kinds, then one span region for every relocated frame whose blocks
/// left no header or stub.
void classify_frames(TargetCache &cache, ThreadWork &work);

/// Sort regions high to low, give them ids, list them on their frames.
void number_regions(ThreadWork &work, uint32_t thread_index);

/// Every finding about one thread.
void add_findings(TargetCache &cache, const ThreadWork &work, const ThreadReport &thread,
                  const AnalysisOptions &options, std::vector<Finding> &out);

/// The frame (index) whose [rsp, cfa) holds addr, if any.
/// List the modules holding frames in report.modules, with a finding for
/// each one that is missing, mismatched or without symbols.
void report_modules(TargetCache &cache, Report &report);

std::optional<uint32_t> frame_holding(const std::vector<Frame> &frames, uint64_t addr);

} // namespace frameaudit::detail
