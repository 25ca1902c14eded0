// core_file.h: what an x86-64 Linux ELF core holds, read with libelf: its
// PT_LOAD segments and the notes of docs/formats.md, "Engines" (NT_PRSTATUS
// per thread, NT_SIGINFO, NT_PRPSINFO, NT_FILE, NT_AUXV). Every size and
// offset comes from the file and is checked against it: a truncated core or
// garbage notes give an error or fewer facts, never a read out of bounds.
#pragma once

#include <libelf.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frameaudit/result.h"

namespace frameaudit::detail {

/// One PT_LOAD of the core.
struct CoreSegment {
  uint64_t vaddr = 0, memsz = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0; ///< bytes the file holds (clamped to the file's size)
  bool readable = false, writable = false, executable = false;
};

/// The signal a thread stopped with, from its NT_SIGINFO.
struct CoreSiginfo {
  int32_t signo = 0, code = 0;
  uint64_t addr = 0; ///< si_addr (faults)
  int32_t pid = 0;   ///< si_pid (sent signals)
  uint32_t uid = 0;  ///< si_uid
};

/// One thread: its NT_PRSTATUS and the notes that follow it.
struct CoreThread {
  uint64_t tid = 0;
  int32_t cursig = 0;
  /// user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx
  /// rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs.
  std::vector<uint64_t> regs;
  std::optional<CoreSiginfo> siginfo;
  std::optional<std::string> name; ///< NT_PRPSINFO's pr_fname, for the thread it follows
};

/// One NT_FILE entry: a file mapping.
struct CoreFileMapping {
  uint64_t start = 0, end = 0, page_offset = 0;
  std::string path;
};

class CoreFile {
public:
  /// Open and check path: an ELF core of x86-64 with at least one thread.
  static Result<std::unique_ptr<CoreFile>> open(const std::string &path);
  ~CoreFile();
  CoreFile(const CoreFile &) = delete;
  CoreFile &operator=(const CoreFile &) = delete;

  Elf *elf() const { return elf_; }
  const std::vector<CoreSegment> &segments() const { return segments_; } ///< sorted by vaddr
  const std::vector<CoreThread> &threads() const { return threads_; }    ///< in note order
  const std::vector<CoreFileMapping> &files() const { return files_; }
  std::optional<int64_t> pid() const { return pid_; }
  /// AT_ENTRY from NT_AUXV, when the core has it.
  std::optional<uint64_t> entry() const { return entry_; }
  /// Copy the bytes the core's file holds at addr (stops at the first byte it lacks).
  size_t read(uint64_t addr, std::span<std::byte> buf) const;

private:
  CoreFile() = default;
  void parse_notes(const unsigned char *data, size_t size);
  int fd_ = -1;
  Elf *elf_ = nullptr;
  const unsigned char *raw_ = nullptr;
  size_t raw_size_ = 0;
  std::vector<CoreSegment> segments_;
  std::vector<CoreThread> threads_;
  std::vector<CoreFileMapping> files_;
  std::optional<int64_t> pid_;
  std::optional<uint64_t> entry_;
  std::optional<std::string> pending_name_; ///< NT_PRPSINFO's name seen before any thread
};

} // namespace frameaudit::detail
