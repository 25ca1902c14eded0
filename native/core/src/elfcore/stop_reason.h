// stop_reason.h: a core thread's stop reason in the words LLDB uses for the
// same core, so both engines print one string (docs/formats.md, "Engines").
#pragma once

#include <string>

#include "elfcore/core_file.h"

namespace frameaudit::detail {

/// "SIGSEGV: address not mapped to object (fault address=0x0)" from the
/// thread's siginfo, else "signal SIGSEGV" (or "signal 0") from pr_cursig.
std::string stop_reason(const CoreThread &thread);

} // namespace frameaudit::detail
