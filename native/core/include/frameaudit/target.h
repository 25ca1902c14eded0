// target.h: how the analysis core sees a debuggee. Front-ends (the LLDB
// plugin, the Python bindings, unit tests over hand-made memory images)
// implement Target; the core never talks to LLDB or Python directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace frameaudit {

/// One mapping of the target's address space.
struct MemoryRegion {
  uint64_t start = 0; ///< first address
  uint64_t end = 0;   ///< one past the last address
  bool readable = false;
  bool writable = false;
  bool executable = false;
  /// True/false when the debugger knows whether this is a thread stack.
  std::optional<bool> is_stack;
  std::string name; ///< mapped file or "[stack]", may be empty
};

/// Register values of a thread's innermost frame.
struct Registers {
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rbp = 0;
  /// Every other general-purpose register the debugger could read, by its
  /// lowercase name ("rax", "rbx", ..., "r15"), in a stable order. Used to
  /// look for pointers into dead blocks.
  std::vector<std::pair<std::string, uint64_t>> general;
};

/// A frame as the debugger's own unwinder sees it (for unwinder-mismatch).
struct DebuggerFrame {
  uint64_t pc = 0;
  std::optional<uint64_t> cfa; ///< canonical frame address, when known
  std::optional<uint64_t> sp;
  std::optional<uint64_t> fp;
};

/// One thread to audit.
struct ThreadInfo {
  uint64_t tid = 0;
  uint32_t index = 0; ///< the debugger's 1-based thread index
  std::optional<std::string> name;
  Registers registers;
  /// The debugger's frames, innermost first; std::nullopt if the front-end
  /// did not gather them (then no unwinder-mismatch check is made).
  std::optional<std::vector<DebuggerFrame>> debugger_frames;
  /// Why the thread stopped ("signal SIGSEGV", "breakpoint 1.1", ...), may be empty.
  std::string stop_reason;
  /// True for the thread that crashed or stopped the process.
  bool is_selected = false;
};

/// What the debugger knows about a code address.
struct Symbol {
  std::optional<std::string> module;   ///< file name of the module (basename)
  std::optional<std::string> function; ///< out-of-line function, plain name, no arguments
  std::optional<uint64_t> function_start;
  std::optional<uint64_t> function_end; ///< one past the last byte
  std::vector<std::string> inlined;     ///< functions inlined at this pc, innermost first
  std::optional<std::string> file;      ///< source file (full path as the debug info has it)
  std::optional<uint32_t> line;
};

/// Static facts about the target.
struct TargetInfo {
  std::optional<std::string> executable;
  std::optional<std::string> core;
  std::optional<int64_t> pid;
  std::string arch = "x86_64"; ///< the debugger's triple arch; the core rejects anything else
};

/// A module (executable or shared library) the debugger loaded for the
/// target: the file on this machine it read, and where it is mapped.
struct Module {
  std::string path;       ///< full path of the file the debugger loaded
  std::string name;       ///< its basename
  uint64_t load_bias = 0; ///< load address minus file address (0 for a fixed-address executable)
  /// True when the module has a symbol named `sra_alloc` (a definition or a
  /// PLT stub); `lint` lints those by default.
  bool references_allocator = false;
  /// True when the debugger found debug information (compile units) for it,
  /// in the file or in a separate debug file it located (a search path
  /// from an lldbinit, debuginfod): then its symbols are not missing even
  /// where the core's own search for the debug file finds nothing.
  bool debug_info = false;
};

/// The debuggee, read-only. Every method must be safe to call with any
/// argument and must not throw; failures are reported by return values.
class Target {
public:
  virtual ~Target() = default;

  virtual TargetInfo info() = 0;

  /// Read up to buf.size() bytes at addr into buf. Returns how many leading
  /// bytes were read (0 if none could be). Code addresses must be readable
  /// even from cores that do not contain them (read from the module file).
  virtual size_t read_memory(uint64_t addr, std::span<std::byte> buf) = 0;

  /// The target's memory map, sorted by start, non-overlapping.
  virtual std::vector<MemoryRegion> memory_regions() = 0;

  /// The threads to consider, in the debugger's order.
  virtual std::vector<ThreadInfo> threads() = 0;

  /// Symbolize a code address. For a return address pass the address itself;
  /// the core asks for ret-1 when it wants the call's line.
  virtual Symbol symbolize(uint64_t pc) = 0;

  /// Entry addresses of the allocator: every `sra_alloc` definition and every
  /// PLT stub that reaches it. May be empty (then the core recognises the
  /// allocator by its code signature where it can).
  virtual std::vector<uint64_t> allocator_entries() = 0;

  /// Every module the debugger loaded, in its order. The core opens each file
  /// itself (elfutils) for CFI, build IDs and code the memory lacks. A target
  /// without modules (hand-made memory images) gets frame-pointer and decoded
  /// unwinding only.
  virtual std::vector<Module> modules() { return {}; }
};

} // namespace frameaudit
