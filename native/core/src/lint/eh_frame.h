// eh_frame.h: function ranges from .eh_frame FDEs, which survive stripping:
// how lint finds functions (and the allocator) in a binary without symbols.
// Read through libdw (see eh_frame.cpp for how the FDEs are enumerated).
#pragma once

#include <cstdint>
#include <vector>

#include "lint/elf_image.h"

namespace frameaudit::lint {

struct CodeRange {
  uint64_t start = 0;
  uint64_t end = 0; ///< one past the last byte
};

/// Every FDE's [pc_begin, pc_begin + pc_range), sorted by start (also in a
/// file without section headers, through PT_GNU_EH_FRAME). What cannot be
/// read is left out; what was read stays.
std::vector<CodeRange> fde_ranges(const ElfImage &image);

} // namespace frameaudit::lint
