// report.h: the analysis result. It mirrors the JSON document of
// CONTRACT.md section 7 one to one (plus a few fields only the text renderers
// use); renderers read it, analysis writes it, nothing else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frameaudit/target.h"

namespace frameaudit {

enum class FrameKind { Normal, Dynamic, Relocated, Allocator, Unknown };
enum class ChainEnd {
  Outermost,
  NullRbp,
  Misaligned,
  OutOfStack,
  NotMonotonic,
  Cycle,
  BadReturnAddress,
  Unreadable,
  MaxDepth
};
enum class RegionState { Live, Dead, Corrupt };
enum class Evidence { Header, Stub, Span };
enum class Severity { Error, Warning, Note };

/// Contract spellings: "normal", "null_rbp", "live", "header", "error", ...
const char *to_string(FrameKind);
const char *to_string(ChainEnd);
const char *to_string(RegionState);
const char *to_string(Evidence);
const char *to_string(Severity);

/// One check made on one link of the RBP chain (shown by `fa chain`).
struct LinkCheck {
  /// "aligned", "in_stack", "monotonic", "no_cycle", "readable", "return_in_code",
  /// "call_before_return"; for frames found without a pair at RBP "frame0"
  /// (frame 0 or an interrupted context) and "frame_size" (a function without
  /// frame pointer); across a signal "signal_trampoline" and "signal_frame"
  /// (docs/analysis.md, "The RBP chain").
  std::string name;
  bool passed = false;
  std::string detail; ///< e.g. "call 0x401136 <level2>" or why it failed
};

/// One link of the raw RBP chain: the saved-RBP slot at `address`.
struct ChainLink {
  uint64_t address = 0;        ///< where the pair [saved rbp][return address] lives
  uint64_t saved_rbp = 0;      ///< value read at address
  uint64_t return_address = 0; ///< value read at address + 8
  std::optional<uint64_t> call_target; ///< direct target of the call before the return address
  std::vector<LinkCheck> checks;
};

struct Frame {
  uint32_t index = 0;
  uint64_t pc = 0;
  std::optional<uint64_t> cfa;
  std::optional<uint64_t> rsp;
  std::optional<uint64_t> rbp;
  std::optional<std::string> function;
  std::vector<std::string> inlined;
  std::optional<std::string> module;
  std::optional<std::string> file;
  std::optional<uint32_t> line;
  std::optional<int64_t> static_size;
  std::optional<int64_t> span;
  std::optional<int64_t> dynamic_bytes;
  FrameKind kind = FrameKind::Unknown;
  std::vector<std::string> regions; ///< region ids

  // Not in the JSON document; used by the text and map renderers.
  std::optional<uint64_t> function_start;
  std::optional<uint64_t> saved_rbp_slot;      ///< address of this frame's [saved rbp][ret] pair
  std::string note;                            ///< short explanation of the kind
};

struct CallSite {
  uint64_t pc = 0; ///< return address of the allocator call
  std::optional<std::string> function;
  std::optional<std::string> file;
  std::optional<uint32_t> line;
};

struct Region {
  std::string id; ///< "t<thread index>.r<n>", n from 0 in address order, high to low
  uint64_t base = 0;
  uint64_t size = 0;
  uint64_t reserved = 0;
  std::optional<uint32_t> frame;
  std::optional<std::string> function;
  std::optional<CallSite> call_site;
  RegionState state = RegionState::Live;
  Evidence evidence = Evidence::Span;
  std::optional<uint32_t> sequence; ///< audit sequence number, when known (not in JSON)
};

struct StackRange {
  uint64_t low = 0;
  uint64_t high = 0;
};

/// A [saved rbp][return address] pair the allocator left in released stack
/// below RSP (the relocated stub its `leave; ret` consumed, or a dead
/// block's remnant). Drawn by the stack map; not in the JSON document.
struct StaleStub {
  uint64_t address = 0;        ///< where the pair lives
  uint64_t saved_rbp = 0;      ///< value read at address
  uint64_t return_address = 0; ///< value read at address + 8
  std::optional<std::string> function; ///< function the return address is in
};

struct ThreadReport {
  uint64_t tid = 0;
  uint32_t index = 0;
  std::optional<std::string> name;
  std::optional<StackRange> stack;
  Registers registers;
  std::vector<Frame> frames;
  ChainEnd chain_end = ChainEnd::Outermost;
  std::string chain_end_detail; ///< one sentence: where and why the walk stopped
  std::vector<Region> regions;
  std::vector<ChainLink> links; ///< the raw chain, for `fa chain`
  std::vector<StaleStub> stale_stubs; ///< below RSP, for `fa map` (not in JSON)
  std::string stop_reason;
  bool is_selected = false;
};

struct Finding {
  std::string kind; ///< "broken-chain", "region-overflow", ...
  Severity severity = Severity::Warning;
  std::optional<uint32_t> thread; ///< thread index
  std::optional<uint32_t> frame;
  std::optional<std::string> region;
  std::optional<std::string> function;
  std::optional<uint64_t> address;
  std::optional<std::string> file;
  std::optional<uint32_t> line;
  std::string message;
};

struct Summary {
  uint64_t threads = 0, frames = 0, regions = 0;
  uint64_t errors = 0, warnings = 0, notes = 0;
};

struct Report {
  std::string tool_version;
  TargetInfo target;
  std::vector<ThreadReport> threads;
  std::vector<Finding> findings;
  Summary summary;
};

/// Recompute report.summary from its threads and findings.
void summarize(Report &report);

/// Every finding kind frameaudit emits, with a one-line help text
/// (used by SARIF rules and `--help`).
struct FindingKindInfo {
  const char *kind;
  Severity default_severity;
  const char *summary;
  const char *help;
};
const std::vector<FindingKindInfo> &finding_kinds();

} // namespace frameaudit
