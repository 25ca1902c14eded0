// lint.h: static check of a module's allocator callers (docs/lint.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frameaudit/function_info.h"
#include "frameaudit/report.h"
#include "frameaudit/result.h"

namespace frameaudit {

struct LintCallSite {
  uint64_t address = 0;                ///< the call instruction (file virtual address + load_bias)
  std::optional<std::string> function; ///< caller, or std::nullopt in a stripped binary
  uint64_t function_start = 0;
  bool safe = true;
  std::string reason; ///< why unsafe: which return path, which instruction
  std::optional<std::string> file;
  std::optional<uint32_t> line;
  /// The instruction that makes the caller unsafe (the RSP-trusting restore
  /// or ret, or the RSP-based access), + load_bias.
  std::optional<uint64_t> culprit;
  bool tail_call = false; ///< a `jmp` to the allocator rather than a call
  /// false when the bound on work per function stopped lint before a
  /// verdict (docs/lint.md, "Work"); `safe` is then true and `reason` says so.
  bool judged = true;
};

struct LintResult {
  std::string module;      ///< path as given
  uint64_t code_bytes = 0; ///< bytes of executable code scanned
  std::vector<LintCallSite> call_sites;
  /// One unsafe-caller finding per unsafe call site, and one unjudged-caller
  /// warning per function whose bound on work left call sites without a verdict.
  std::vector<Finding> findings;
};

/// Lint one ELF file (executable or shared object, PIE or not, stripped or
/// not). `load_bias` is added to every reported address (0 for files; the
/// module's load address when linting a loaded module in a live target).
/// Errors: the file is missing or unreadable (Unreadable), not ELF or
/// truncated (BadInput), not x86-64 (UnsupportedArch).
Result<LintResult> lint_elf_file(const std::string &path, uint64_t load_bias = 0);

/// Knobs for lint_elf_file beyond the defaults (tests and benchmarks).
struct LintOptions {
  uint64_t load_bias = 0;
  /// Names of the allocator's entry points (defined or imported).
  std::vector<std::string> allocator_names = {"sra_alloc"};
  /// Recognise the allocator by its entry code (looks_like_allocator) at
  /// function starts when no symbol names it (stripped binaries).
  bool match_signature = true;
  /// Read file/line of call sites from the DWARF line tables: the file's
  /// own (compressed or not) or a separate debug file's.
  bool read_line_table = true;
  /// More directories to search for separate debug files (debuglink and
  /// .build-id/xx/yyyy.debug layouts), after the file's own directory, its
  /// .debug subdirectory and /usr/lib/debug.
  std::vector<std::string> debug_dirs;
};
Result<LintResult> lint_elf_file(const std::string &path, const LintOptions &options);

/// One call (or tail jump) to the allocator inside a function, judged.
struct AllocatorCallVerdict {
  uint64_t address = 0; ///< the call / jmp instruction
  bool safe = true;
  bool tail_call = false;          ///< `jmp sra_alloc`: carves the block from the caller's caller
  std::optional<uint64_t> culprit; ///< the instruction that makes it unsafe
  /// Why unsafe: which return path or access, with the instruction text,
  /// e.g. "return path at 0x401253 restores RSP with `addq $0x28, %rsp` at
  /// 0x40124d ...". Empty when safe.
  std::string reason;
  /// false when the bound on work per function (docs/lint.md, "Work") stopped
  /// lint before it found an unsafe path or followed them all; `safe` is then
  /// true (nothing found) and `reason` says why there is no verdict.
  bool judged = true;
};

/// Verdict on a whole function that calls the allocator.
struct AllocatorCallerCheck {
  FunctionInfo function; ///< the decoded function (rsp_accesses_after_alloc filled)
  std::vector<AllocatorCallVerdict>
      calls;               ///< one per call / tail jump to the allocator, address order
  uint64_t work = 0;       ///< states followed, over all its calls
  uint64_t work_bound = 0; ///< the bound on `work` for this function (docs/lint.md, "Work")
  bool unsafe() const {
    for (const auto &c : calls)
      if (!c.safe)
        return true;
    return false;
  }
};

/// The audit's hook (and lint's core rule): is the function whose machine
/// code is `code` (at `start`) an unsafe caller of the allocator, and why?
/// `allocator_targets` holds the addresses a call may go to for the
/// allocator: its entry, its PLT stubs, and GOT slots (matched against
/// `call *slot(%rip)`). From each such call it follows the function's
/// control flow (bounded) while RSP is still lowered: reaching a `ret` or a
/// tail `jmp` before RSP is restored from RBP (leave, lea -N(%rbp),%rsp,
/// mov %rbp,%rsp) is unsafe (add $N,%rsp / pops-only epilogues); so is a
/// load, store or lea through RSP above what the function itself pushed
/// since the call (outgoing stack arguments are fine). Never throws.
AllocatorCallerCheck check_allocator_caller(std::span<const uint8_t> code, uint64_t start,
                                            std::span<const uint64_t> allocator_targets);

/// Report wrapper: a document with "threads": [] and the findings of several
/// lint results.
Report lint_report(const std::vector<LintResult> &results, const TargetInfo &target);

} // namespace frameaudit
