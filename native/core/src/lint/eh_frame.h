// eh_frame.h: function ranges from .eh_frame FDEs, which survive stripping:
// how lint finds functions (and the allocator) in a binary without symbols.
#pragma once

#include <cstdint>
#include <vector>

#include "lint/elf_image.h"

namespace frameaudit::lint {

struct CodeRange {
  uint64_t start = 0;
  uint64_t end = 0; ///< one past the last byte
};

/// Every FDE's [pc_begin, pc_begin + pc_range), sorted by start, from the
/// .eh_frame section (or, without section headers, through
/// PT_GNU_EH_FRAME). Malformed records end the scan; what was read stays.
std::vector<CodeRange> fde_ranges(const ElfImage &image);

} // namespace frameaudit::lint
