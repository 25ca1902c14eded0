// report.h: the analysis result. It mirrors the JSON document of
// docs/formats.md, "JSON document" one to one (plus a few fields only the text renderers
// use); renderers read it, analysis writes it, nothing else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frameaudit/name.h"
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
/// How a frame was found (docs/formats.md, `frames[].unwind`), best evidence first.
enum class UnwindMethod : uint8_t {
  Context,      ///< the thread's registers, or the context a kernel signal frame saved
  Cfi,          ///< the callee's CFI row (.eh_frame / .debug_frame)
  FramePointer, ///< the callee's [saved RBP][return address] pair at RBP
  Decoded,      ///< the callee's decoded prologue (frame size without CFI)
  Scan,         ///< a bounded stack scan for a return address after a call
};

/// Contract spellings: "normal", "null_rbp", "live", "header", "error", ...
const char *to_string(FrameKind);
const char *to_string(ChainEnd);
const char *to_string(RegionState);
const char *to_string(Evidence);
const char *to_string(Severity);
const char *to_string(UnwindMethod);

/// The checks the walker makes on a link (docs/analysis.md, "The RBP chain").
enum class CheckKind : uint8_t {
  Aligned,
  InStack,
  Monotonic,
  NoCycle,
  Readable,
  ReturnInCode,
  CallBeforeReturn,
  Frame0,           ///< a frame found without a pair at RBP (frame 0, an interrupted context)
  FrameSize,        ///< a function without frame pointer, unwound by its decoded size
  SignalTrampoline, ///< the return address is the sigreturn trampoline
  SignalFrame,      ///< the kernel's signal frame gave the interrupted context
  Cfi,              ///< the callee's CFI row located the return address and the caller's registers
};
/// "aligned", "in_stack", "monotonic", "no_cycle", "readable", "return_in_code",
/// "call_before_return", "frame0", "frame_size", "signal_trampoline", "signal_frame", "cfi".
const char *to_string(CheckKind);

/// One check made on one link of the RBP chain (shown by `fa chain`): a view
/// into the ChainLink it came from.
struct LinkCheck {
  std::string_view name;
  bool passed = false;
  std::string_view detail; ///< e.g. why it failed; empty for most passed checks
};

/// A link's checks in the order they were made. Kept inline: a link whose
/// checks all passed without comment (nearly every link of a deep stack)
/// costs no heap; only a detail is stored out of line.
class LinkChecks {
public:
  static constexpr size_t kCapacity = 8;

  /// Record a check (ignored past kCapacity; the walker makes at most 7).
  void add(CheckKind kind, bool passed) {
    if (count_ >= kCapacity)
      return;
    if (passed)
      passed_ = static_cast<uint8_t>(passed_ | 1u << count_);
    kinds_[count_++] = kind;
  }
  /// Record a check with its detail (stored only if not empty).
  void add(CheckKind kind, bool passed, std::string detail);

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  LinkCheck operator[](size_t i) const;
  LinkCheck front() const { return (*this)[0]; }
  LinkCheck back() const { return (*this)[count_ - 1]; }

  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = LinkCheck;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = LinkCheck;
    iterator() = default;
    iterator(const LinkChecks *checks, size_t i) : checks_(checks), i_(i) {}
    LinkCheck operator*() const { return (*checks_)[i_]; }
    iterator &operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++i_;
      return old;
    }
    friend bool operator==(const iterator &a, const iterator &b) { return a.i_ == b.i_; }

  private:
    const LinkChecks *checks_ = nullptr;
    size_t i_ = 0;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }

private:
  std::array<CheckKind, kCapacity> kinds_{};
  uint8_t count_ = 0;
  uint8_t passed_ = 0; ///< bit i: check i passed
  std::vector<std::pair<uint8_t, std::string>> details_; ///< (check index, detail)
};

/// One link of the raw RBP chain: the saved-RBP slot at `address`.
struct ChainLink {
  uint64_t address = 0;        ///< where the pair [saved rbp][return address] lives
  uint64_t saved_rbp = 0;      ///< value read at address
  uint64_t return_address = 0; ///< value read at address + 8
  std::optional<uint64_t> call_target; ///< direct target of the call before the return address
  LinkChecks checks;
};

/// A variable or parameter in scope at a frame's pc, per the debug info
/// (DWARF scopes and location lists read with libdw), and where it lives in
/// that frame. Filled only with AnalysisOptions::frame_variables; not in the
/// JSON document.
struct FrameVariable {
  enum class Where : uint8_t {
    Memory,      ///< at `address`
    Register,    ///< in register `reg`; `value` when the walk recovered it
    Value,       ///< no storage: the debug info gives `value` itself
    Unavailable, ///< optimized out here, or a form not evaluated (`why`)
  };
  std::string name;
  std::string type; ///< C spelling ("char[64]", "struct rec *")
  uint64_t size = 0;
  bool parameter = false;
  bool pointer = false; ///< a pointer type, after typedefs and qualifiers
  Where where = Where::Unavailable;
  uint64_t address = 0;
  std::string reg;
  std::optional<uint64_t> value; ///< Register, Value; and a Memory pointer's value read there
  std::string why;
};

/// What AnalysisOptions::frame_variables adds to a frame: the debug-info
/// variables in scope at the pc, and the registers of the frame as far as
/// the walk recovered them (by name; RSP is the static frame's in a
/// repaired frame).
struct FrameDetails {
  std::vector<FrameVariable> variables;
  std::vector<std::pair<std::string, uint64_t>> registers;
};

struct Frame {
  uint32_t index = 0;
  uint64_t pc = 0;
  std::optional<uint64_t> cfa;
  std::optional<uint64_t> rsp;
  std::optional<uint64_t> rbp;
  // Names are interned (frameaudit/name.h): a deep stack repeats them.
  Name function;
  std::vector<Name> inlined;
  Name module;
  Name file;
  std::optional<uint32_t> line;
  std::optional<int64_t> static_size;
  std::optional<int64_t> span;
  std::optional<int64_t> dynamic_bytes;
  FrameKind kind = FrameKind::Unknown;
  std::vector<std::string> regions; ///< region ids
  UnwindMethod unwind = UnwindMethod::Context;
  /// The walk added bytes the allocator reserved to an RSP-based CFA (an
  /// unsafe caller at run time) to reach this frame's caller.
  bool repaired = false;

  // Not in the JSON document; used by the text and map renderers.
  std::optional<uint64_t> function_start;
  std::optional<uint64_t> saved_rbp_slot;      ///< address of this frame's [saved rbp][ret] pair
  /// Short explanation of the kind. Interned like the names: the notes are
  /// a few sentences that deep stacks repeat on every frame.
  Name note;
  /// With AnalysisOptions::frame_variables only (null otherwise: a deep
  /// stack's frames carry one pointer, not two empty vectors).
  std::shared_ptr<const FrameDetails> details;
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

/// The kinds of finding, one spelling each (docs/analysis.md, "Findings").
namespace finding_kind {
inline constexpr const char *kBrokenChain = "broken-chain";
inline constexpr const char *kUnwinderMismatch = "unwinder-mismatch";
inline constexpr const char *kRelocatedFrame = "relocated-frame";
inline constexpr const char *kRegionOverflow = "region-overflow";
inline constexpr const char *kDanglingPointer = "dangling-pointer";
inline constexpr const char *kUnsafeCaller = "unsafe-caller";
inline constexpr const char *kUnexplainedDynamic = "unexplained-dynamic";
inline constexpr const char *kMisalignedFrame = "misaligned-frame";
inline constexpr const char *kStackExhaustionRisk = "stack-exhaustion-risk";
inline constexpr const char *kMissingSymbols = "missing-symbols";
inline constexpr const char *kModuleMismatch = "module-mismatch";
inline constexpr const char *kCfiMismatch = "cfi-mismatch";
inline constexpr const char *kUnjudgedCaller = "unjudged-caller";
} // namespace finding_kind

struct Finding {
  std::string kind; ///< a finding_kind
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

/// A module that holds a frame (docs/formats.md, `modules[]`).
struct ModuleReport {
  std::string path;                    ///< the file that was mapped (as the core or the debugger names it)
  std::optional<std::string> build_id; ///< hex, of the file on this machine (null if not found)
  uint64_t load_bias = 0;
  /// The file's build ID equals the one in the target's memory; null when
  /// either is unknown (no file, or the core holds no ELF header for it).
  std::optional<bool> matches;
  bool symbols = false;     ///< function symbols found (.symtab, .dynsym or a separate debug file)
  bool line_tables = false; ///< DWARF (with line tables) found
  bool found = false;       ///< the file was found and opened (not in the JSON: `build_id` null says it)
};

struct Summary {
  uint64_t threads = 0, frames = 0, regions = 0;
  uint64_t errors = 0, warnings = 0, notes = 0;
  /// Modules the verdict could not fully rely on (missing-symbols and
  /// module-mismatch findings); not in the JSON summary, the findings are.
  uint64_t incomplete = 0;
};

struct Report {
  std::string tool_version;
  TargetInfo target;
  std::vector<ThreadReport> threads;
  std::vector<Finding> findings;
  std::vector<ModuleReport> modules; ///< every module holding a frame, in address order
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
  /// What to do about it (SARIF help.text), or null: help is used instead.
  const char *remedy = nullptr;
};
const std::vector<FindingKindInfo> &finding_kinds();

} // namespace frameaudit
