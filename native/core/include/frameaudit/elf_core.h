// elf_core.h: an ELF core file (the kernel's or gdb's gcore) read without a
// debugger, through elfutils (libelf for the notes, libdwfl for the modules
// and unwinding, libdw for symbols, inlines and lines). It is the third
// Target next to the two LLDB adapters and hands the core what they hand it
// for the same core (docs/design/gathering.md; differences: docs/formats.md,
// "Engines").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frameaudit/result.h"
#include "frameaudit/target.h"

namespace frameaudit {

/// Where the modules of a core and their debug files are found.
struct ElfCoreOptions {
  /// The core's executable; default: the path the core names.
  std::optional<std::string> executable;
  /// Every module path is tried under this directory first, then as it is
  /// (as the LLDB engine's `target modules search-paths add / DIR`).
  std::optional<std::string> sysroot;
  /// Directories searched for a module by its file name (after the sysroot).
  std::vector<std::string> solib_search_paths;
  /// Searched for separate debug files after the standard places.
  std::vector<std::string> debug_dirs;
};

/// True if path names a readable ELF file of type ET_CORE (any machine).
bool is_elf_core(const std::string &path);

/// Open an x86-64 ELF core. Errors: BadInput (not an ELF core, truncated,
/// unusable notes), UnsupportedArch (another machine), Unreadable (the file
/// cannot be read). The Target keeps the file open until destroyed.
Result<std::unique_ptr<Target>> open_elf_core(const std::string &core_path,
                                              const ElfCoreOptions &options = {});

} // namespace frameaudit
