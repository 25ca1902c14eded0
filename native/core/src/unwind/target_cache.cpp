// target_cache.cpp: memoised symbolization, code reads and decoding (see
// target_cache.h). Everything read from the target is treated as untrusted:
// sizes are capped and failures become "unknown", never errors.
#include "unwind/target_cache.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "frameaudit/hex.h"
#include "frameaudit/names.h"
#include "sra_layout.h"

namespace frameaudit::detail {
namespace {

// Functions larger than this are decoded from their first bytes only: enough
// for the prologue, and a cap on what garbage bounds can make us read.
constexpr uint64_t kMaxFunctionBytes = 256 * 1024;
// x86 instructions are at most 15 bytes long.
constexpr size_t kMaxInsn = 15;
// SRA_AUDIT_MAGIC ("SRAaudit") as the audit build's movabs stores it.
constexpr std::array<uint8_t, 8> kAuditMagic = audit_magic_bytes();
// A PLT stub is 16 bytes; sra_alloc itself is far larger.
constexpr size_t kMinAllocatorBody = 32;

// plain_function_name, and no anonymous-namespace prefix: LLDB 22 names a
// function in an anonymous namespace "::f(...)" (debug info) or
// "(anonymous namespace)::f(...)" (symbol table); the source says "f".
std::string display_name(const std::string &raw) {
  std::string name = plain_function_name(raw);
  static constexpr std::string_view kAnon = "(anonymous namespace)::";
  for (size_t pos; (pos = name.find(kAnon)) != std::string::npos;)
    name.erase(pos, kAnon.size());
  if (name.rfind("::", 0) == 0)
    name.erase(0, 2);
  return name;
}

// Two names of one function: equal, or one is the other's split-off part
// ("f.cold", "f.cold.3": the symbol table's name without debug info).
bool same_function(const std::optional<std::string> &a, const std::optional<std::string> &b) {
  if (!a || !b)
    return false;
  auto base = [](const std::string &n) { return std::string_view(n).substr(0, n.find(".cold")); };
  return base(*a) == base(*b);
}

// A fragment's jumps out of its bounds are few; a bound on what garbage
// code could make us symbolize.
constexpr size_t kMaxParentJumps = 16;

bool allocator_name(const std::optional<std::string> &name) {
  if (!name)
    return false;
  return *name == "sra_alloc" || name->rfind("sra_alloc@", 0) == 0;
}

constexpr std::array<const char *, 10> kEntryFunctions = {
    "_start",         "__libc_start_main", "__libc_start_call_main", "start_thread", "clone",
    "clone3",         "__clone",           "__clone3",               "__clone_internal",
    "thread_start"};

} // namespace

bool is_entry_function(const std::optional<std::string> &name) {
  if (!name)
    return false;
  for (const char *e : kEntryFunctions)
    if (*name == e)
      return true;
  return false;
}

TargetCache::TargetCache(Target &target, std::vector<std::string> debug_dirs)
    : target_(target), modules_(target, std::move(debug_dirs)), modules_listed_(modules_.listed_modules()) {
  regions_ = target_.memory_regions();
  // The interface promises sorted, non-overlapping regions; a front-end bug
  // must not break the binary searches below.
  std::sort(regions_.begin(), regions_.end(),
            [](const MemoryRegion &a, const MemoryRegion &b) { return a.start < b.start; });
  allocator_entries_ = target_.allocator_entries();
  std::sort(allocator_entries_.begin(), allocator_entries_.end());
  allocator_entries_.erase(std::unique(allocator_entries_.begin(), allocator_entries_.end()),
                           allocator_entries_.end());
}

const MemoryRegion *TargetCache::region_at(uint64_t addr) const {
  if (regions_.empty())
    return nullptr;
  if (last_region_ < regions_.size()) {
    const MemoryRegion &r = regions_[last_region_];
    if (addr >= r.start && addr < r.end)
      return &r;
  }
  auto it = std::upper_bound(regions_.begin(), regions_.end(), addr,
                             [](uint64_t a, const MemoryRegion &r) { return a < r.start; });
  if (it == regions_.begin())
    return nullptr;
  --it;
  if (addr >= it->start && addr < it->end) {
    last_region_ = static_cast<size_t>(it - regions_.begin());
    return &*it;
  }
  return nullptr;
}

bool TargetCache::is_executable(uint64_t addr) const {
  const MemoryRegion *r = region_at(addr);
  return r && r->executable;
}

bool TargetCache::is_code(uint64_t addr) {
  const MemoryRegion *r = region_at(addr);
  if (r && r->executable)
    return true;
  // A core may leave a module's text out (gdb's gcore of a static binary):
  // the file's executable segments say it is code.
  if (addr != 0 && !(r && r->writable) && modules_.is_module_code(addr))
    return true;
  if (addr == 0 || (r && (r->writable || r->readable)))
    return false;
  const Symbol &s = symbol(addr);
  return s.module && s.function && s.function_start && s.function_end &&
         *s.function_start <= addr && addr < *s.function_end;
}

const Symbol &TargetCache::symbol(uint64_t pc) {
  auto it = symbols_.find(pc);
  if (it != symbols_.end())
    return it->second;
  ++symbolize_calls_;
  Symbol s = target_.symbolize(pc);
  if (s.function) {
    if (s.function_start && s.function->find(".cold") != std::string::npos)
      fragments_[*s.function_start] = true;
    s.function = display_name(*s.function);
    // A function without a name: LLDB says "___lldb_unnamed_symbol_<n>",
    // the elfutils engine module+0x<file address>; one spelling for both
    // (docs/formats.md, "Engines").
    if (s.function->rfind("___lldb_unnamed_symbol", 0) == 0 && s.module && s.function_start) {
      for (const Module &m : modules_listed_)
        if (m.name == *s.module) {
          s.function = *s.module + "+" + hex(*s.function_start - m.load_bias);
          break;
        }
    }
  }
  for (auto &name : s.inlined)
    name = display_name(name);
  return symbols_.emplace(pc, std::move(s)).first->second;
}

const NamedSymbol &TargetCache::named_symbol(uint64_t pc) {
  auto it = named_symbols_.find(pc);
  if (it != named_symbols_.end())
    return it->second;
  const Symbol &s = symbol(pc);
  NamedSymbol n;
  n.module = s.module;
  n.function = s.function;
  n.function_start = s.function_start;
  n.inlined.reserve(s.inlined.size());
  for (const std::string &name : s.inlined)
    n.inlined.emplace_back(name);
  n.file = s.file;
  n.line = s.line;
  return named_symbols_.emplace(pc, std::move(n)).first->second;
}

FunctionFacts &TargetCache::facts_for(uint64_t start, uint64_t end, const Symbol &sym) {
  auto it = functions_.find(start);
  if (it != functions_.end())
    return it->second;
  FunctionFacts f;
  f.start = start;
  f.end = end;
  f.name = sym.function;
  f.is_entry = is_entry_function(f.name);
  const uint64_t size = end > start ? std::min(end - start, kMaxFunctionBytes) : 0;
  if (size > 0) {
    f.code.resize(size);
    const size_t got = target_.read_memory(
        start, std::span<std::byte>(reinterpret_cast<std::byte *>(f.code.data()), size));
    f.code.resize(std::min<size_t>(got, size));
  }
  if (!f.code.empty())
    f.info = decode_function(f.code, start);
  f.info.start = start;
  f.fragment = fragments_.count(start) > 0 || (f.info.decoded && f.info.borrows_frame);
  f.is_allocator =
      allocator_name(f.name) ||
      std::binary_search(allocator_entries_.begin(), allocator_entries_.end(), start) ||
      (allocator_entries_.empty() && !f.name && !f.code.empty() && looks_like_allocator(f.code));
  if (f.is_allocator && f.code.size() >= kMinAllocatorBody) {
    const bool audit = std::search(f.code.begin(), f.code.end(), std::begin(kAuditMagic),
                                   std::end(kAuditMagic)) != f.code.end();
    f.mode = audit ? AllocatorMode::Audit : AllocatorMode::Plain;
  }
  auto &stored = functions_.emplace(start, std::move(f)).first->second;
  // Only after the function is cached: the targets' own lookups may recurse
  // into facts_for for other functions (bounded: one level, no target data).
  if (!stored.is_allocator) {
    for (const CallSiteInfo &c : stored.info.calls) {
      if (c.target && is_allocator_address(*c.target)) {
        stored.calls_allocator = true;
        break;
      }
    }
  }
  // A fragment jumps back into the middle of its parent (the parent's entry
  // would be a tail call). Same bounded recursion as above.
  if (stored.fragment && !stored.is_allocator) {
    size_t tried = 0;
    for (uint64_t t : stored.info.jumps_out) {
      if (++tried > kMaxParentJumps)
        break;
      const Symbol &ts = symbol(t);
      if (!ts.function_start || *ts.function_start == t || !same_function(ts.function, stored.name))
        continue;
      const FunctionFacts *p = function_at(t);
      if (p && p != &stored && p->has_frame_pointer()) {
        stored.parent = p;
        break;
      }
    }
  }
  return stored;
}

const FunctionFacts *TargetCache::parent_of(const FunctionFacts &part,
                                            std::optional<uint64_t> return_address) {
  if (!part.fragment)
    return nullptr;
  if (part.parent)
    return part.parent;
  if (!return_address)
    return nullptr;
  for (const CallSiteInfo &c : calls_before(*return_address)) {
    std::optional<uint64_t> target = c.target;
    if (!target && c.slot)
      target = read_u64(*c.slot);
    if (!target)
      continue;
    const FunctionFacts *p = function_at(*target);
    if (p && p != &part && p->start == *target && p->has_frame_pointer() &&
        same_function(p->name, part.name))
      return p;
  }
  return nullptr;
}

const FunctionFacts *TargetCache::function_at(uint64_t pc) {
  Memo &memo = function_memo_[(pc ^ (pc >> 8)) % function_memo_.size()];
  if (memo.pc == pc)
    return memo.fn;
  const Symbol &sym = symbol(pc);
  const FunctionFacts *fn = nullptr;
  if (sym.function_start) {
    const uint64_t start = *sym.function_start;
    const uint64_t end = sym.function_end.value_or(start);
    // Bounds that do not hold pc are not trusted.
    if (pc >= start && (end <= start || pc < end))
      fn = &facts_for(start, end, sym);
  }
  memo = Memo{pc, fn};
  return fn;
}

bool TargetCache::is_allocator_address(uint64_t addr) {
  if (std::binary_search(allocator_entries_.begin(), allocator_entries_.end(), addr))
    return true;
  auto it = allocator_addresses_.find(addr);
  if (it != allocator_addresses_.end())
    return it->second;
  bool result = false;
  const Symbol &sym = symbol(addr);
  if (sym.function_start && *sym.function_start == addr) {
    if (allocator_name(sym.function)) {
      result = true;
    } else if (allocator_entries_.empty() && !sym.function) {
      // Stripped code: recognise sra_alloc by its instructions.
      std::vector<uint8_t> code(64);
      const size_t got = target_.read_memory(
          addr, std::span<std::byte>(reinterpret_cast<std::byte *>(code.data()), code.size()));
      code.resize(got);
      result = !code.empty() && looks_like_allocator(code);
    }
  }
  allocator_addresses_.emplace(addr, result);
  return result;
}

const PrologueState &TargetCache::state_at(const FunctionFacts &fn, uint64_t pc) {
  auto it = states_.find(pc);
  if (it != states_.end())
    return it->second;
  return states_.emplace(pc, prologue_state_at(fn.info, fn.code, pc)).first->second;
}

const std::vector<CallSiteInfo> &TargetCache::calls_before(uint64_t return_address) {
  auto it = calls_before_.find(return_address);
  if (it != calls_before_.end())
    return it->second;
  std::vector<CallSiteInfo> calls;
  if (return_address >= 2) {
    uint8_t bytes[kMaxInsn];
    size_t want = std::min<uint64_t>(kMaxInsn, return_address);
    size_t got = target_.read_memory(
        return_address - want, std::span<std::byte>(reinterpret_cast<std::byte *>(bytes), want));
    if (got < want) {
      // The 15-byte window may start in an unreadable page just before a
      // mapping; the short encodings still fit in the readable part.
      want = std::min<uint64_t>(6, return_address);
      got = target_.read_memory(return_address - want,
                                std::span<std::byte>(reinterpret_cast<std::byte *>(bytes), want));
    }
    if (got == want)
      calls = decode_calls_before(std::span<const uint8_t>(bytes, want), return_address);
  }
  return calls_before_.emplace(return_address, std::move(calls)).first->second;
}

std::optional<AllocatorCall> TargetCache::allocator_call_before(uint64_t return_address) {
  auto it = allocator_calls_.find(return_address);
  if (it != allocator_calls_.end())
    return it->second;
  std::optional<AllocatorCall> result;
  for (const CallSiteInfo &c : calls_before(return_address)) {
    std::optional<uint64_t> target = c.target;
    if (!target && c.slot)
      target = read_u64(*c.slot); // call *sra_alloc@GOTPCREL(%rip) (-fno-plt)
    if (!target || !is_allocator_address(*target))
      continue;
    AllocatorCall a;
    a.call_address = c.address;
    const FunctionFacts *fn = function_at(*target);
    a.mode = fn && fn->mode != AllocatorMode::Unknown ? fn->mode : allocator_mode();
    result = a;
    break;
  }
  allocator_calls_.emplace(return_address, result);
  return result;
}

AllocatorMode TargetCache::allocator_mode() {
  if (mode_)
    return *mode_;
  AllocatorMode mode = AllocatorMode::Unknown;
  for (uint64_t e : allocator_entries_) {
    const FunctionFacts *fn = function_at(e);
    if (fn && fn->is_allocator && fn->mode != AllocatorMode::Unknown) {
      mode = fn->mode;
      break;
    }
  }
  mode_ = mode;
  return mode;
}

size_t TargetCache::read(uint64_t addr, std::span<std::byte> buf) {
  const size_t got = target_.read_memory(addr, buf);
  return std::min(got, buf.size());
}

std::optional<uint64_t> TargetCache::read_u64(uint64_t addr) {
  uint64_t v = 0;
  std::byte buf[8];
  if (read(addr, buf) != 8)
    return std::nullopt;
  std::memcpy(&v, buf, 8);
  return v;
}

} // namespace frameaudit::detail
