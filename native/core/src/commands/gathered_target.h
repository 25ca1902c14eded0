// gathered_target.h: a Target decorator that asks the debugger once per
// command for what the command needs more than once (the thread list, the
// target facts, each symbol). Checking the thread selection and analysing
// then see the same data and the debugger unwinds each thread only once.
#pragma once

#include <map>
#include <optional>

#include "frameaudit/target.h"

namespace frameaudit::commands {

class GatheredTarget final : public Target {
public:
  explicit GatheredTarget(Target &inner) : inner_(inner) {}

  TargetInfo info() override {
    if (!info_)
      info_ = inner_.info();
    return *info_;
  }
  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override {
    return inner_.read_memory(addr, buf);
  }
  std::vector<MemoryRegion> memory_regions() override {
    if (!regions_)
      regions_ = inner_.memory_regions();
    return *regions_;
  }
  std::vector<ThreadInfo> threads() override {
    if (!threads_)
      threads_ = inner_.threads();
    return *threads_;
  }
  Symbol symbolize(uint64_t pc) override {
    auto it = symbols_.find(pc);
    if (it == symbols_.end())
      it = symbols_.emplace(pc, inner_.symbolize(pc)).first;
    return it->second;
  }
  std::vector<uint64_t> allocator_entries() override {
    if (!allocator_entries_)
      allocator_entries_ = inner_.allocator_entries();
    return *allocator_entries_;
  }
  std::vector<Module> modules() override {
    if (!modules_)
      modules_ = inner_.modules();
    return *modules_;
  }

private:
  Target &inner_;
  std::optional<TargetInfo> info_;
  std::optional<std::vector<MemoryRegion>> regions_;
  std::optional<std::vector<ThreadInfo>> threads_;
  std::optional<std::vector<uint64_t>> allocator_entries_;
  std::optional<std::vector<Module>> modules_;
  std::map<uint64_t, Symbol> symbols_;
};

} // namespace frameaudit::commands
