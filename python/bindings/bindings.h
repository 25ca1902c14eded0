// bindings.h: the pieces of the frameaudit._core module, one binder per file,
// and the one place core errors become Python exceptions.
#pragma once

#include <pybind11/pybind11.h>

#include "frameaudit/result.h"

namespace frameaudit::python {

namespace py = pybind11;

/// FrameauditError (errors.cpp).
void bind_errors(py::module_ &m);
/// MemoryRegion, Registers, DebuggerFrame, ThreadInfo, Symbol, TargetInfo (target_types.cpp).
void bind_target_types(py::module_ &m);
/// The Target base class Python subclasses (py_target.cpp).
void bind_target(py::module_ &m);
/// Report, ThreadReport, Frame, Region, Finding, ... read-only (report_types.cpp).
void bind_report(py::module_ &m);
/// LintResult, LintCallSite (report_types.cpp).
void bind_lint_types(py::module_ &m);
/// analyze, render_*, lint_*, plain_function_name, version (api.cpp).
void bind_api(py::module_ &m);
/// is_elf_core, open_elf_core: the elfutils engine's Target (elf_core.cpp).
void bind_elf_core(py::module_ &m);
/// The submodule `commands`: the shared debugger command (commands.cpp).
void bind_commands(py::module_ &m);

/// The contract spelling of an error code: "no_process", "unsupported_arch", ...
const char *error_code_name(Error::Code code);

/// Raise FrameauditError(error.message, code) in Python.
[[noreturn]] void raise_error(const Error &error);

/// The value of `result`, or raise FrameauditError.
template <class T> T unwrap(Result<T> &&result) {
  if (!result)
    raise_error(result.error());
  return std::move(result.value());
}

} // namespace frameaudit::python
