// self_target_test_util.h: this process as a Target, with its stack frozen
// in a snapshot: the CFI unwinder test and the CFI benchmark unwind real
// frameless code with the real modules of the running process.
#pragma once

#include <execinfo.h>
#include <link.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frameaudit/target.h"

namespace frameaudit::detail {

struct Snapshot {
  Registers regs;
  uint64_t low = 0;
  std::vector<uint8_t> stack; ///< [low, low + size): the stack as it was
  std::vector<uint64_t> backtrace;
  /// Another stack frozen too: the one a signal handler interrupted.
  uint64_t other_low = 0;
  std::vector<uint8_t> other;
};

// This process, read-only, with the stack frozen at the snapshot.
class SelfTarget : public Target {
public:
  explicit SelfTarget(const Snapshot &s) : s_(s) {}
  TargetInfo info() override { return {}; }
  // The frozen stacks as they were at the snapshot; everything else (and
  // what lies between them) is read live, never across into a frozen one.
  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override {
    if (buf.empty())
      return 0;
    const std::pair<uint64_t, const std::vector<uint8_t> *> frozen[] = {{s_.low, &s_.stack},
                                                                        {s_.other_low, &s_.other}};
    size_t want = buf.size();
    for (const auto &[low, bytes] : frozen) {
      if (bytes->empty())
        continue;
      if (addr >= low && addr - low < bytes->size()) {
        const size_t n = std::min<size_t>(buf.size(), bytes->size() - (addr - low));
        std::memcpy(buf.data(), bytes->data() + (addr - low), n);
        return n < buf.size() ? n + read_memory(addr + n, buf.subspan(n)) : n;
      }
      if (addr < low && low - addr < want)
        want = static_cast<size_t>(low - addr);
    }
    iovec local{buf.data(), want}, remote{reinterpret_cast<void *>(addr), want};
    const ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (n <= 0)
      return 0;
    if (static_cast<size_t>(n) < want || want == buf.size())
      return static_cast<size_t>(n);
    return want + read_memory(addr + want, buf.subspan(want));
  }
  std::vector<MemoryRegion> memory_regions() override {
    std::vector<MemoryRegion> out;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      std::istringstream in(line);
      std::string range, perms, off, dev, inode, name;
      in >> range >> perms >> off >> dev >> inode;
      std::getline(in >> std::ws, name);
      MemoryRegion r;
      r.start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
      r.end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
      r.readable = perms[0] == 'r';
      r.writable = perms[1] == 'w';
      r.executable = perms[2] == 'x';
      r.name = name;
      out.push_back(r);
    }
    return out;
  }
  std::vector<ThreadInfo> threads() override {
    ThreadInfo t;
    t.tid = static_cast<uint64_t>(gettid());
    t.index = 1;
    t.registers = s_.regs;
    t.is_selected = true;
    return {t};
  }
  Symbol symbolize(uint64_t) override { return {}; } // no symbols: CFI alone
  std::vector<uint64_t> allocator_entries() override { return {}; }
  std::vector<Module> modules() override {
    std::vector<Module> out;
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *data) {
          auto &mods = *static_cast<std::vector<Module> *>(data);
          std::string path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "";
          if (path.empty() && mods.empty()) {
            char exe[4096];
            const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
            path = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "";
          }
          if (!path.empty() && path.front() == '/')
            mods.push_back(
                Module{path, path.substr(path.rfind('/') + 1), info->dlpi_addr, false, false});
          return 0;
        },
        &out);
    return out;
  }

private:
  const Snapshot &s_;
};

// Freeze the caller's registers and stack (and, if asked, glibc's
// backtrace() of it). Keeps a frame pointer of its own, so its caller's
// registers are at hand: RSP is its CFA, RBP the value it saved, RIP its
// return address.
__attribute__((noinline, optimize("no-omit-frame-pointer"))) inline void
snapshot_caller(Snapshot &snap, bool with_backtrace) {
  auto *fp = static_cast<uint64_t *>(__builtin_frame_address(0));
  snap.regs.rip = reinterpret_cast<uint64_t>(__builtin_return_address(0));
  snap.regs.rsp = reinterpret_cast<uint64_t>(fp) + 16;
  snap.regs.rbp = fp[0];
  snap.backtrace.clear();
  if (with_backtrace) {
    std::vector<void *> bt(1 << 12);
    const int n = backtrace(bt.data(), static_cast<int>(bt.size()));
    for (int i = 1; i < n; ++i) // bt[0] is in this function
      snap.backtrace.push_back(reinterpret_cast<uint64_t>(bt[static_cast<size_t>(i)]));
  }
  // The stack from here up to the top of its mapping, as it is now.
  SelfTarget probe(snap);
  for (const MemoryRegion &r : probe.memory_regions())
    if (snap.regs.rsp >= r.start && snap.regs.rsp < r.end) {
      snap.low = reinterpret_cast<uint64_t>(fp) & ~uint64_t{15};
      snap.stack.assign(reinterpret_cast<uint8_t *>(snap.low), reinterpret_cast<uint8_t *>(r.end));
    }
}

} // namespace frameaudit::detail
