// module.cpp: frameaudit._core, the analysis core for Python. It never links
// liblldb and never sees an SB object: Python hands it plain values through
// a frameaudit.Target subclass (frameaudit.lldb_target does that for LLDB).
#include "bindings.h"

#include "sra.h"

PYBIND11_MODULE(_core, m) {
  namespace fp = frameaudit::python;
  m.doc() = "frameaudit's analysis core: audit stacks that use the sra stack allocator.";
  fp::bind_errors(m);
  fp::bind_target_types(m);
  fp::bind_target(m);
  fp::bind_report(m);
  fp::bind_lint_types(m);
  fp::bind_api(m);
  fp::bind_elf_core(m);
  fp::bind_commands(m);
  // The allocator's layout, from its own header (docs/allocator.md).
  m.attr("SRA_AUDIT_HEADER_SIZE") = SRA_AUDIT_HEADER_SIZE;
  m.attr("SRA_STUB_SIZE") = SRA_STUB_SIZE;
  m.attr("SRA_STACK_RESERVE") = SRA_STACK_RESERVE;
  m.attr("SRA_AUDIT_MAGIC") = SRA_AUDIT_MAGIC;
}
