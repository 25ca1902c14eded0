// lint.h: static check of a module's allocator callers (CONTRACT.md section 5).
#pragma once

#include <string>
#include <vector>

#include "frameaudit/report.h"
#include "frameaudit/result.h"

namespace frameaudit {

struct LintCallSite {
  uint64_t address = 0;           ///< the call instruction (file virtual address, unrelocated)
  std::optional<std::string> function; ///< caller, or std::nullopt in a stripped binary
  uint64_t function_start = 0;
  bool safe = true;
  std::string reason;             ///< why unsafe: which return path, which instruction
  std::optional<std::string> file;
  std::optional<uint32_t> line;
};

struct LintResult {
  std::string module;             ///< path as given
  uint64_t code_bytes = 0;        ///< bytes of executable code scanned
  std::vector<LintCallSite> call_sites;
  std::vector<Finding> findings;  ///< one unsafe-caller finding per unsafe call site
};

/// Lint one ELF file (executable or shared object, PIE or not, stripped or
/// not). `load_bias` is added to every reported address (0 for files; the
/// module's load address when linting a loaded module in a live target).
Result<LintResult> lint_elf_file(const std::string &path, uint64_t load_bias = 0);

/// Report wrapper: a document with "threads": [] and the findings of several
/// lint results.
Report lint_report(const std::vector<LintResult> &results, const TargetInfo &target);

} // namespace frameaudit
