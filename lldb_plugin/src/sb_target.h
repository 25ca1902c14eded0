// sb_target.h: frameaudit::Target over LLDB's C++ SB API, following the
// rule book in docs/design/gathering.md rule for rule (the Python front-end
// implements the same rules, and the output of both must match byte for byte).
#pragma once

#include <lldb/API/SBProcess.h>
#include <lldb/API/SBTarget.h>

#include "frameaudit/commands.h"
#include "frameaudit/target.h"

namespace frameaudit::lldb_plugin {

class SBTargetAdapter final : public Target {
public:
  /// `process` may be invalid (lint needs only symbols).
  SBTargetAdapter(lldb::SBTarget target, lldb::SBProcess process);

  TargetInfo info() override;
  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override;
  std::vector<MemoryRegion> memory_regions() override;
  std::vector<ThreadInfo> threads() override;
  Symbol symbolize(uint64_t pc) override;
  std::vector<uint64_t> allocator_entries() override;

  /// The target's modules as `lint` sees them (rule in commands.h, ModuleInfo).
  std::vector<commands::ModuleInfo> modules() override;

private:
  lldb::SBTarget target_;
  lldb::SBProcess process_;
};

} // namespace frameaudit::lldb_plugin
