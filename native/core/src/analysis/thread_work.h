// thread_work.h: one thread's analysis state as it moves through the stages
// snapshot -> walk -> frame sizes -> regions -> frame kinds -> findings.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frameaudit/analysis.h"
#include "unwind/cfi_eval.h"
#include "unwind/stack_image.h"
#include "unwind/walk.h"

namespace frameaudit::detail {

/// Analysis-only facts about a region (not in the report).
struct RegionFacts {
  std::string corruption; ///< why the region is corrupt (empty if it is not)
  /// A live region whose bytes no header or stub accounts for (plain mode):
  /// its region-overflow finding is a warning, `corruption` says why.
  bool suspect = false;
  /// The header's check is valid but its size impossible: nothing ran out
  /// of the block (no overrun attribution).
  bool forged = false;
  /// Bytes the allocator reserved, above the block, that held its header or
  /// stub remnant: [block_end, block_end + 32) in audit mode, 16 in plain.
  uint64_t block_end = 0;
  uint64_t remnant_size = 0;
  /// Overrun attribution (find_overrun): the first byte above the block a
  /// write running out of it did not reach, and what the written bytes are.
  std::optional<uint64_t> overrun_end;
  std::string overrun_pattern;
};

/// A write that ran out of a block: the bytes above its end continue the
/// block's last bytes (the same fill pattern, a run of one byte, a string
/// and its NUL), or a run of one byte starts right at the end.
struct Overrun {
  uint64_t end = 0;    ///< first byte above the block not written
  std::string pattern; ///< "a run of 0x78 bytes", "a string", ...
};

/// The overrun out of [base, end) (end = the block's rounded end), looking
/// at most up to `limit`; nullopt when the bytes above do not continue it.
std::optional<Overrun> find_overrun(const StackImage &image, uint64_t base, uint64_t end, uint64_t limit);

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

/// Every byte between a relocated frame's static part and its RSP,
/// accounted for: intact headers and stubs, the alloca gap, outgoing stack
/// arguments; reserved bytes no intact header or stub covers become a lost
/// block (corrupt in audit mode). Also attributes overruns of corrupt blocks.
void account_frames(TargetCache &cache, ThreadWork &work);

/// Registers of every frame as far as the walk recovered them: frame 0's
/// from the thread; a caller's RSP, RBP and pc from the walk, its
/// callee-saved registers by its callee's CFI row; an interrupted context's
/// from the signal frame. A repaired frame's RSP is its static frame's
/// (CFA - static size), where its variables live. The first `count` frames.
std::vector<RegState> frame_registers(TargetCache &cache, const ThreadWork &w,
                                      const std::vector<Frame> &frames, size_t count);

/// The debug-info variables in scope at frame f's pc, evaluated against
/// regs; empty (and *has_debug_info false) where no DWARF describes the pc.
std::vector<FrameVariable> frame_variables(TargetCache &cache, const ThreadWork &w, const Frame &f,
                                           const FrameFacts &facts, const RegState &regs,
                                           bool *has_debug_info);

/// Frame::variables and Frame::registers of every frame of t.
void fill_frame_variables(TargetCache &cache, const ThreadWork &w, ThreadReport &t);

/// Stack arguments pushed in the basic block of the call ending at
/// return_address (they lie below a frame's static part).
int64_t outgoing_argument_bytes(const FunctionFacts &fn, uint64_t return_address);

/// A run of words of writable data.
struct DataChunk {
  uint64_t address = 0;
  std::vector<uint64_t> words; ///< 8-byte aligned words from address
  std::string module;          ///< mapping name
};

/// The writable data of the executable and its libraries (writable
/// file-backed mappings and the anonymous mapping right after each: .data,
/// .bss), bounded, split by who may hold a pointer the dangling rule
/// believes there: modules that call sra_alloc (every pointer into released
/// stack counts) and the rest (only a pointer into a recovered dead block
/// counts). Each part is read on first use, so an analysis without a dead
/// block never reads a library's data. Mappings holding one of
/// `stack_pointers` (every thread's RSP) are stacks, never data.
class DataWords {
public:
  DataWords(TargetCache &cache, std::vector<uint64_t> stack_pointers)
      : cache_(&cache), stack_pointers_(std::move(stack_pointers)) {}
  /// Data of the allocator's users (all data for a target without modules).
  const std::vector<DataChunk> &of_allocator_users() { return part(true); }
  /// Data of every other module.
  const std::vector<DataChunk> &of_others() { return part(false); }

private:
  const std::vector<DataChunk> &part(bool users);
  TargetCache *cache_;
  std::vector<uint64_t> stack_pointers_;
  std::optional<std::vector<DataChunk>> users_, others_;
};

/// Sort regions high to low, give them ids, list them on their frames.
void number_regions(ThreadWork &work, uint32_t thread_index);

/// Every finding about one thread.
void add_findings(TargetCache &cache, const ThreadWork &work, const ThreadReport &thread,
                  const AnalysisOptions &options, DataWords &data, std::vector<Finding> &out);

/// List the modules holding frames in report.modules, with a finding for
/// each one that is missing, mismatched or without symbols.
void report_modules(TargetCache &cache, Report &report);

/// The frame (index) whose [rsp, cfa) holds addr, if any.
std::optional<uint32_t> frame_holding(const std::vector<Frame> &frames, uint64_t addr);

} // namespace frameaudit::detail
