// target_cache.h: the analysis's memoised view of a Target. Every distinct
// address is symbolized once, every function's code is read and decoded once,
// and the bytes before every return address are decoded once, so a deep stack
// of repeated frames costs hash lookups, not debugger round trips.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "frameaudit/function_info.h"
#include "frameaudit/name.h"
#include "frameaudit/target.h"
#include "elf/module_set.h"

namespace frameaudit::detail {

/// How a particular copy of sra_alloc was built.
enum class AllocatorMode { Unknown, Plain, Audit };

/// What the analysis knows about one function, keyed by its start address.
struct FunctionFacts {
  uint64_t start = 0;
  uint64_t end = 0;
  std::optional<std::string> name; ///< plain name (no argument list)
  std::vector<uint8_t> code;       ///< [start, end), possibly truncated
  FunctionInfo info;               ///< info.decoded == false if undecodable
  bool is_allocator = false;       ///< this is sra_alloc (or its PLT stub)
  AllocatorMode mode = AllocatorMode::Unknown; ///< for allocators
  bool calls_allocator = false;    ///< some call inside targets the allocator
  /// A split-off part of a function (GCC's `f.cold`): it runs inside its
  /// parent's frame, so its own (absent) prologue says nothing. Known from
  /// a `.cold` symbol name or from the code (FunctionInfo::borrows_frame):
  /// with debug info the debugger names the part after its parent.
  bool fragment = false;
  /// For a fragment: the part of the function that sets up the frame (same
  /// name, keeps a frame pointer), when the fragment jumps back into it.
  /// See TargetCache::parent_of for the other way to find it.
  const FunctionFacts *parent = nullptr;
  /// Where a thread or process begins (_start, start_thread, clone3, ...).
  bool is_entry = false;
  /// The function keeps a frame pointer: the RBP pair describes its frame.
  bool has_frame_pointer() const { return info.decoded && info.has_frame_pointer && !fragment; }
};

/// The allocator call just before a return address, if there is one.
struct AllocatorCall {
  uint64_t call_address = 0;
  AllocatorMode mode = AllocatorMode::Unknown;
};

/// A Symbol with its names interned, as frames carry them.
struct NamedSymbol {
  Name module;
  Name function;
  std::optional<uint64_t> function_start;
  std::vector<Name> inlined;
  Name file;
  std::optional<uint32_t> line;
};

/// Where a thread or a process begins: RBP is 0 or garbage there (the kernel,
/// clone and _start zero it; glibc's start-up code keeps no frame pointer).
bool is_entry_function(const std::optional<std::string> &name);

class TargetCache {
public:
  explicit TargetCache(Target &target, std::vector<std::string> debug_dirs = {});

  Target &target() { return target_; }
  /// The target's modules through elfutils (CFI, build IDs, file code ranges).
  ModuleSet &modules() { return modules_; }
  const std::vector<MemoryRegion> &regions() const { return regions_; }

  /// The mapping holding addr, or nullptr.
  const MemoryRegion *region_at(uint64_t addr) const;
  /// True if addr is in an executable mapping (the memory map alone: cheap,
  /// used for every candidate stub slot).
  bool is_executable(uint64_t addr) const;
  /// True if addr is code for a return address of the chain: in an
  /// executable mapping or, where the memory map does not say (cores leave out
  /// what the debugger reads from module files: gdb's gcore omits read-only
  /// file mappings, so libc's text shows as --- or not at all), inside a
  /// function of a module the debugger symbolizes. Writable mappings are
  /// never code.
  bool is_code(uint64_t addr);

  /// Symbolize once per address. Function names are normalised to plain names.
  const Symbol &symbol(uint64_t pc);
  /// symbol(pc) with interned names (cached per address; what frames carry).
  const NamedSymbol &named_symbol(uint64_t pc);

  /// Facts about the function holding pc, or nullptr when the debugger does
  /// not know its bounds.
  const FunctionFacts *function_at(uint64_t pc);

  /// The function whose prologue set up the frame a fragment runs in: the
  /// parent its code jumps back into, else, given the frame's return
  /// address, the function the call before it entered (a function of the
  /// fragment's name that keeps a frame pointer: the frame's own entry).
  /// nullptr for a function that is no fragment, or when neither shows one.
  const FunctionFacts *parent_of(const FunctionFacts &part,
                                 std::optional<uint64_t> return_address = {});

  /// The decoded frame state at pc inside fn (cached per pc: the decoder
  /// re-reads the whole function for it, and recursion repeats pcs).
  const PrologueState &state_at(const FunctionFacts &fn, uint64_t pc);

  /// Every call instruction that ends at return_address (cached).
  const std::vector<CallSiteInfo> &calls_before(uint64_t return_address);

  /// The allocator call ending at return_address, if any candidate call
  /// reaches an allocator entry (directly, through a PLT stub or a GOT slot).
  std::optional<AllocatorCall> allocator_call_before(uint64_t return_address);

  /// True if addr is an allocator entry or the start of an allocator function.
  bool is_allocator_address(uint64_t addr);

  /// True if the target has the allocator at all: an entry the front-end
  /// listed, or a module with a symbol named sra_alloc. Rules about sra's
  /// own hazards (its stack reserve, frames it may have lowered) apply only then.
  bool uses_allocator() const {
    return !allocator_entries_.empty() || std::any_of(modules_listed_.begin(), modules_listed_.end(),
                                                      [](const Module &m) { return m.references_allocator; });
  }
  /// The allocator entries the front-end listed (sorted, unique).
  const std::vector<uint64_t> &allocator_entries() const { return allocator_entries_; }

  /// The build mode of the target's allocator, from its code (the audit
  /// build mixes SRA_AUDIT_MAGIC into the header check). Unknown without code.
  AllocatorMode allocator_mode();

  /// Read up to buf.size() bytes (never throws).
  size_t read(uint64_t addr, std::span<std::byte> buf);
  std::optional<uint64_t> read_u64(uint64_t addr);

  /// Decode counters (benchmarks and tests check caching).
  size_t symbolize_calls() const { return symbolize_calls_; }
  size_t decoded_functions() const { return functions_.size(); }

private:
  FunctionFacts &facts_for(uint64_t start, uint64_t end, const Symbol &sym);

  Target &target_;
  ModuleSet modules_;
  std::vector<Module> modules_listed_;
  std::vector<MemoryRegion> regions_;
  std::vector<uint64_t> allocator_entries_; ///< sorted, unique
  std::unordered_map<uint64_t, Symbol> symbols_;
  std::unordered_map<uint64_t, NamedSymbol> named_symbols_;
  std::unordered_map<uint64_t, FunctionFacts> functions_;
  std::unordered_map<uint64_t, std::vector<CallSiteInfo>> calls_before_;
  std::unordered_map<uint64_t, PrologueState> states_;
  std::unordered_map<uint64_t, std::optional<AllocatorCall>> allocator_calls_;
  std::unordered_map<uint64_t, bool> allocator_addresses_;
  std::unordered_map<uint64_t, bool> fragments_; ///< function start -> raw name marks a cold part
  std::optional<AllocatorMode> mode_;
  size_t symbolize_calls_ = 0;
  mutable size_t last_region_ = 0; ///< lookup hint: stacks hit the same mappings
  /// Direct-mapped memo of function_at: deep stacks repeat a few return
  /// addresses, and two hash lookups per frame dominate the walk otherwise.
  struct Memo {
    uint64_t pc = ~uint64_t{0};
    const FunctionFacts *fn = nullptr;
  };
  std::array<Memo, 256> function_memo_{};
};

} // namespace frameaudit::detail
