// elf_core.cpp: the ELF core target for Python (frameaudit/elf_core.h): the
// CLI's elfutils engine analyses a core with it, LLDB never imported.
#include <pybind11/stl.h>

#include "bindings.h"
#include "frameaudit/elf_core.h"

namespace frameaudit::python {

void bind_elf_core(py::module_ &m) {
  m.def("is_elf_core", &is_elf_core, py::arg("path"),
        "True if path is a readable ELF file of type ET_CORE (any machine).");
  m.def(
      "open_elf_core",
      [](const std::string &core, std::optional<std::string> executable,
         std::optional<std::string> sysroot, std::vector<std::string> solib_search_paths,
         std::vector<std::string> debug_dirs) {
        ElfCoreOptions options;
        options.executable = std::move(executable);
        options.sysroot = std::move(sysroot);
        options.solib_search_paths = std::move(solib_search_paths);
        options.debug_dirs = std::move(debug_dirs);
        Result<std::unique_ptr<Target>> target = [&] {
          py::gil_scoped_release release;
          return open_elf_core(core, options);
        }();
        return unwrap(std::move(target));
      },
      py::arg("core"), py::kw_only(), py::arg("executable") = py::none(),
      py::arg("sysroot") = py::none(), py::arg("solib_search_paths") = std::vector<std::string>{},
      py::arg("debug_dirs") = std::vector<std::string>{},
      R"(A Target over an x86-64 ELF core read through elfutils, without LLDB
(docs/formats.md, "Engines"). Raises FrameauditError: bad_input (not an ELF
core, truncated, no thread), unsupported_arch (another machine), unreadable.
Debuginfod is used as elfutils does: set DEBUGINFOD_URLS first.)");
}

} // namespace frameaudit::python
