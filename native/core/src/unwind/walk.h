// walk.h: the walker's input (one thread's snapshot) and output (frames, the
// raw RBP chain and why it ended), plus the per-frame facts the analysis
// stages after the walk need but the report does not carry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frameaudit/report.h"
#include "unwind/stack_image.h"
#include "unwind/target_cache.h"
#include "frameaudit/hex.h"

namespace frameaudit::detail {

/// Everything read from the target about one thread, before any analysis.
struct ThreadSnapshot {
  ThreadInfo info;
  std::optional<StackRange> stack; ///< the mapping holding RSP
  StackImage image;                ///< [max(rsp - dead_scan, low), high)
  std::string stack_problem;       ///< why `stack` is missing, if it is
};

/// Where frame 0's pc is relative to its function's frame setup.
enum class FramePosition {
  Body,      ///< frame pointer set up (or assumed): the pair is at RBP
  Entry,     ///< before push %rbp: return address at RSP
  Prologue,  ///< between push %rbp and mov %rsp,%rbp (or before the sub)
  Epilogue,  ///< after RSP was restored, before the ret
  Frameless, ///< a function without frame pointer: CFA from RSP and the decoded size
  Signal,    ///< the kernel's signal frame (pc in the sigreturn trampoline)
};

struct FrameFacts {
  const FunctionFacts *fn = nullptr; ///< nullptr when the function is unknown
  FramePosition position = FramePosition::Body;
  /// Frame 0 outside its body: CFA - RSP at the pc (the frame's static size there).
  std::optional<int64_t> static_at_pc;
  /// The decoded frame setup was contradicted by the stack (frame 0's return
  /// address was not where the prologue state put it): sizes are unknown.
  bool setup_contradicted = false;
  /// The pc is where execution stopped (frame 0, an interrupted context, the
  /// sigreturn trampoline), not a return address: symbolize pc, not pc - 1.
  bool at_instruction = false;
  /// Unwound by its decoded size: the return address was at RSP + this.
  int64_t frameless_offset = -1;
  /// For a frame whose pc is in a split-off part (fn->fragment): the part
  /// of the function whose prologue set the frame up (TargetCache::parent_of),
  /// if known. Filled by measure_frames, after the walk.
  const FunctionFacts *owner = nullptr;
};

/// A frame whose function keeps a frame pointer (its decoded prologue sets
/// RBP up) while its CFI row at the pc is not the frame-pointer row, where
/// the two lead to different callers: one of them is wrong (hand-written
/// CFI, a misread prologue, corrupted memory). Same return address and
/// caller RBP with another CFA (a realigned frame) is no disagreement.
struct UnwindDisagreement {
  uint32_t frame = 0;
  std::optional<uint64_t> cfi_cfa;    ///< none: the CFI rule gave no value
  std::optional<uint64_t> cfi_return; ///< none: CFI gave no readable return address
  uint64_t rbp = 0;                   ///< the frame's RBP: the pair [saved RBP][return address]
  uint64_t rbp_return = 0;
  bool cfi_believed = false; ///< the walk went on (or ended) by CFI, else by the RBP link
};

struct WalkResult {
  std::vector<Frame> frames;
  std::vector<FrameFacts> facts; ///< parallel to frames
  std::vector<ChainLink> links;
  std::vector<UnwindDisagreement> disagreements;
  /// Frame 0 ran on an alternate signal stack (sigaltstack): the stack the
  /// handler interrupted, and the RSP it had there. The thread's own stack
  /// is that one; the alternate stack is only the handler's.
  std::optional<StackRange> interrupted_stack;
  uint64_t interrupted_rsp = 0;
  ChainEnd end = ChainEnd::Outermost;
  std::string detail;
};

struct WalkOptions {
  uint64_t max_depth = 1'000'000;
  bool record_links = true; ///< keep every ChainLink with its checks (for `fa chain`)
  bool symbolize = true;    ///< fill function/file/line (off only in benchmarks)
};

/// Walk one thread's RBP chain. Iterative and bounded by max_depth.
WalkResult walk_rbp_chain(TargetCache &cache, const ThreadSnapshot &thread,
                          const WalkOptions &options);

/// "frame 3 (level2)" or "frame 3 (0x401136)"
std::string frame_label(const Frame &frame);

} // namespace frameaudit::detail
