// memory_image_test_util.h: hand-made targets for the core's unit tests.
//
// MemoryImage is a frameaudit::Target over a code mapping filled with real
// x86-64 machine code (functions described by FnSpec and assembled here, so
// the Zydis decoder sees genuine prologues, calls and epilogues) and a stack
// mapping whose every 8-byte word can carry a note saying what it is.
// StackSim writes the stack the way execution would (call, prologue, alloca,
// sra_alloc's stub and header), so images look like real stacks without
// hand-computed addresses. dump() prints the annotated stack on failure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "frameaudit/hex.h"
#include "frameaudit/target.h"
#include "sra.h"

namespace fa_test {

using frameaudit::DebuggerFrame;
using frameaudit::MemoryRegion;
using frameaudit::Registers;
using frameaudit::Symbol;
using frameaudit::TargetInfo;
using frameaudit::ThreadInfo;

/// "0x7ffd..." as the core spells addresses in messages.
inline std::string hexstr(uint64_t v) { return frameaudit::hex(v); }

/// The audit header's check, as the allocator computes it (sra.h).
inline uint32_t audit_check(uint64_t size, uint32_t seq, uint64_t saved_rbp, uint64_t call_site, uint64_t addr) {
  return sra_audit_check(size, seq, saved_rbp, call_site, addr);
}

/// How a function returns. NoReturn: nothing after the body (it ends in a
/// noreturn call or a trap).
enum class Exit { Leave, LeaPops, PopRbp, AddRsp, PopsOnly, NoReturn };

/// One function to assemble. Registers in `pushes`: 3 = rbx, 12..15 = r12..r15.
struct FnSpec {
  std::string name;
  bool frame_pointer = true;
  bool endbr = false;
  std::vector<int> pushes;
  uint32_t sub = 0;
  bool alloca = false;  ///< sub %rax,%rsp after the prologue (compiler alloca)
  bool realign = false; ///< and $-32,%rsp after the frame setup
  Exit exit = Exit::Leave;
  /// Body, in order: (label, callee). Callee "*" is an indirect `call *%rax`,
  /// "push" a `push $0` (a stack argument), "" a plain `nop` the tests can
  /// stop at, "ud2" a trap, "jne:F" / "jne:F:POINT" a conditional jump to
  /// function F (at one of its named points, see MemoryImage::pc).
  std::vector<std::pair<std::string, std::string>> body;
  /// A split-off part of a function (GCC's `f.cold`): no prologue of its
  /// own; `frame_pointer` and `pushes` describe its parent's frame, which
  /// its exit restores.
  bool part = false;
  /// The name the debugger reports, if not `name` (with debug info a
  /// split-off part is named after its parent).
  std::optional<std::string> symbol_name;
  std::optional<std::string> file = std::string("/src/test.c");
  uint32_t line = 100; ///< line of the first byte; each byte adds one (cheap, unique lines)
  bool allocator = false; ///< emit an sra_alloc-like body instead
  bool audit = false;     ///< with the audit build's magic constant
  bool symbolized = true; ///< false: the debugger knows nothing here (stripped)
  std::vector<uint8_t> raw_code; ///< if set: these bytes, nothing assembled
};

class MemoryImage : public frameaudit::Target {
public:
  static constexpr uint64_t kCodeBase = 0x401000;
  static constexpr uint64_t kPage = 4096;

  explicit MemoryImage(uint64_t stack_low = 0x7ffffffdd000, uint64_t stack_high = 0x7ffffffff000)
      : stack_low_(stack_low), stack_high_(stack_high), stack_(stack_high - stack_low, 0) {}

  // ---- code ---------------------------------------------------------------
  FnSpec &fn(const std::string &name) {
    specs_.push_back(FnSpec{});
    specs_.back().name = name;
    return specs_.back();
  }
  /// sra_alloc as far as the analysis can tell (prologue, dynamic sub,
  /// relocation, optional audit magic, leave; ret).
  FnSpec &allocator(bool audit) {
    FnSpec &s = fn("sra_alloc");
    s.allocator = true;
    s.audit = audit;
    s.endbr = true;
    return s;
  }

  /// Lay out every function and resolve calls. Call once, after fn().
  void build() {
    uint64_t at = kCodeBase;
    layout_.clear();
    for (const FnSpec &s : specs_) {
      Layout l;
      l.start = at;
      assemble(s, l);
      at += (l.bytes.size() + 15) & ~size_t{15};
      layout_[s.name] = std::move(l);
    }
    code_end_ = (at + kPage - 1) & ~(kPage - 1);
    code_.assign(code_end_ - kCodeBase, 0xcc);
    for (auto &[name, l] : layout_) {
      for (auto &[off, callee] : l.fixups) {
        const size_t colon = callee.find(':');
        const uint64_t target = callee.rfind("0x", 0) == 0 ? std::stoull(callee, nullptr, 16)
                                : colon != std::string::npos
                                    ? pc(callee.substr(0, colon), callee.substr(colon + 1))
                                    : addr(callee);
        const int32_t rel = static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(l.start + off + 4));
        std::memcpy(&l.bytes[off], &rel, 4);
      }
      std::copy(l.bytes.begin(), l.bytes.end(), code_.begin() + (l.start - kCodeBase));
    }
  }

  uint64_t addr(const std::string &name) const { return at(name).start; }
  uint64_t end(const std::string &name) const { return at(name).start + at(name).bytes.size(); }
  /// The address after the call labelled `label` in fn (a return address).
  uint64_t ret_after(const std::string &fn, const std::string &label) const {
    return at(fn).start + at(fn).labels.at(label).second;
  }
  /// The call instruction itself.
  uint64_t call_at(const std::string &fn, const std::string &label) const {
    return at(fn).start + at(fn).labels.at(label).first;
  }
  /// Named points: "entry", "after_push" (after push %rbp), "after_mov",
  /// "body" (first body instruction), "exit" (the RSP restore), "after_restore"
  /// (after leave / pops, at the ret), "ret".
  uint64_t pc(const std::string &fn, const std::string &point) const {
    return at(fn).start + at(fn).points.at(point);
  }
  std::vector<uint8_t> &code_bytes() { return code_; }
  uint64_t data_low_ = 0;
  std::vector<uint8_t> data_;

  // ---- stack --------------------------------------------------------------
  uint64_t stack_low() const { return stack_low_; }
  uint64_t stack_high() const { return stack_high_; }
  void put64(uint64_t a, uint64_t v, const std::string &note) {
    if (a < stack_low_ || a + 8 > stack_high_)
      throw std::out_of_range("put64 outside the stack");
    std::memcpy(&stack_[a - stack_low_], &v, 8);
    if (!note.empty())
      notes_[a] = note;
  }
  void put8(uint64_t a, uint8_t v) { stack_[a - stack_low_] = v; }
  void put32(uint64_t a, uint32_t v) { std::memcpy(&stack_[a - stack_low_], &v, 4); }
  uint64_t get64(uint64_t a) const {
    uint64_t v;
    std::memcpy(&v, &stack_[a - stack_low_], 8);
    return v;
  }
  /// Make [a, a + kPage) unreadable (a hole in a core file).
  void hole(uint64_t page) { holes_.insert(page & ~(kPage - 1)); }

  /// The annotated stack from `from` up to `to` (for failure messages).
  std::string dump(uint64_t from, uint64_t to) const {
    std::ostringstream o;
    for (uint64_t a = from & ~uint64_t{7}; a < to && a + 8 <= stack_high_; a += 8) {
      auto it = notes_.find(a);
      o << std::hex << "0x" << a << ": 0x" << get64(a) << (it != notes_.end() ? "  " + it->second : "") << "\n";
    }
    return o.str();
  }

  // ---- writable data (.data/.bss of /bin/test) -----------------------------
  /// Map `n` zero bytes of writable data of the program at `low`.
  void map_data(uint64_t low, size_t n) {
    data_low_ = low;
    data_.assign(n, 0);
  }
  void put_data64(uint64_t a, uint64_t v) { std::memcpy(&data_[a - data_low_], &v, 8); }

  // ---- threads, regions ---------------------------------------------------
  std::vector<ThreadInfo> thread_list;
  std::vector<MemoryRegion> extra_regions; ///< e.g. a data mapping for bad return addresses
  std::optional<std::vector<uint64_t>> entries_override;
  TargetInfo target_info;
  bool no_regions = false; ///< memory_regions() returns nothing
  std::string stack_name = "[stack]"; ///< "" for a pthread stack (cannot grow)

  ThreadInfo &thread(const Registers &regs, uint64_t tid = 1000) {
    ThreadInfo t;
    t.tid = tid;
    t.index = static_cast<uint32_t>(thread_list.size() + 1);
    t.registers = regs;
    t.is_selected = thread_list.empty();
    thread_list.push_back(t);
    return thread_list.back();
  }

  // ---- Target ---------------------------------------------------------------
  TargetInfo info() override { return target_info; }

  size_t read_memory(uint64_t a, std::span<std::byte> buf) override {
    ++reads;
    size_t n = 0;
    while (n < buf.size()) {
      const uint64_t cur = a + n;
      if (cur < a)
        break;
      const uint8_t *src = nullptr;
      uint64_t avail = 0;
      if (cur >= stack_low_ && cur < stack_high_) {
        if (holes_.count(cur & ~(kPage - 1)))
          break;
        src = &stack_[cur - stack_low_];
        avail = std::min<uint64_t>(stack_high_ - cur, kPage - (cur & (kPage - 1)));
      } else if (!data_.empty() && cur >= data_low_ && cur < data_low_ + data_.size()) {
        src = &data_[cur - data_low_];
        avail = data_low_ + data_.size() - cur;
      } else if (cur >= kCodeBase && cur < code_end_) {
        src = &code_[cur - kCodeBase];
        avail = code_end_ - cur;
      } else {
        break;
      }
      const size_t k = static_cast<size_t>(std::min<uint64_t>(avail, buf.size() - n));
      std::memcpy(buf.data() + n, src, k);
      n += k;
    }
    return n;
  }

  std::vector<MemoryRegion> memory_regions() override {
    if (no_regions)
      return {};
    std::vector<MemoryRegion> r;
    MemoryRegion code{kCodeBase, code_end_, true, false, true, false, "/bin/test"};
    MemoryRegion stack{stack_low_, stack_high_, true, true, false, std::nullopt, stack_name};
    if (stack_name == "[stack]")
      stack.is_stack = true;
    r.push_back(code);
    r.push_back(stack);
    for (const auto &e : extra_regions)
      r.push_back(e);
    if (!data_.empty())
      r.push_back(MemoryRegion{data_low_, data_low_ + data_.size(), true, true, false, false, "/bin/test"});
    std::sort(r.begin(), r.end(), [](const MemoryRegion &a, const MemoryRegion &b) { return a.start < b.start; });
    return r;
  }

  std::vector<ThreadInfo> threads() override { return thread_list; }

  Symbol symbolize(uint64_t pc) override {
    ++symbolize_count;
    Symbol s;
    for (const FnSpec &spec : specs_) {
      const Layout &l = layout_.at(spec.name);
      if (pc >= l.start && pc < l.start + l.bytes.size()) {
        if (!spec.symbolized)
          return s;
        s.module = "test";
        s.function = spec.symbol_name.value_or(spec.name);
        s.function_start = l.start;
        s.function_end = l.start + l.bytes.size();
        s.file = spec.file;
        if (spec.file)
          s.line = spec.line + static_cast<uint32_t>(pc - l.start);
        return s;
      }
    }
    return s;
  }

  std::vector<uint64_t> allocator_entries() override {
    if (entries_override)
      return *entries_override;
    std::vector<uint64_t> e;
    for (const FnSpec &s : specs_)
      if (s.allocator && s.symbolized)
        e.push_back(addr(s.name));
    return e;
  }

  size_t symbolize_count = 0;
  size_t reads = 0;

private:
  struct Layout {
    uint64_t start = 0;
    std::vector<uint8_t> bytes;
    std::vector<std::pair<size_t, std::string>> fixups; ///< rel32 offset, callee
    std::map<std::string, std::pair<size_t, size_t>> labels; ///< call start, end
    std::map<std::string, size_t> points;
  };

  const Layout &at(const std::string &name) const {
    auto it = layout_.find(name);
    if (it == layout_.end())
      throw std::out_of_range("no function " + name);
    return it->second;
  }

  static void emit(Layout &l, std::initializer_list<uint8_t> b) { l.bytes.insert(l.bytes.end(), b); }
  static void emit_push(Layout &l, int reg) {
    if (reg >= 8)
      emit(l, {0x41, static_cast<uint8_t>(0x50 + reg - 8)});
    else
      emit(l, {static_cast<uint8_t>(0x50 + reg)});
  }
  static void emit_pop(Layout &l, int reg) {
    if (reg >= 8)
      emit(l, {0x41, static_cast<uint8_t>(0x58 + reg - 8)});
    else
      emit(l, {static_cast<uint8_t>(0x58 + reg)});
  }
  static void emit_imm32(Layout &l, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      l.bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }

  void assemble(const FnSpec &s, Layout &l) {
    l.points["entry"] = 0;
    if (!s.raw_code.empty()) {
      l.bytes = s.raw_code;
      return;
    }
    if (s.endbr)
      emit(l, {0xf3, 0x0f, 0x1e, 0xfa});
    if (s.allocator) {
      assemble_allocator(s, l);
      return;
    }
    if (s.frame_pointer && !s.part) {
      emit(l, {0x55});
      l.points["after_push"] = l.bytes.size();
      emit(l, {0x48, 0x89, 0xe5});
      l.points["after_mov"] = l.bytes.size();
    }
    if (!s.part) {
      for (int r : s.pushes)
        emit_push(l, r);
      if (s.realign)
        emit(l, {0x48, 0x83, 0xe4, 0xe0}); // and $-32,%rsp
      if (s.sub > 0 && s.sub < 128) {
        emit(l, {0x48, 0x83, 0xec, static_cast<uint8_t>(s.sub)});
      } else if (s.sub > 0) {
        emit(l, {0x48, 0x81, 0xec});
        emit_imm32(l, s.sub);
      }
    }
    l.points["body"] = l.bytes.size();
    emit(l, {0x48, 0x89, 0xc7}); // mov %rax,%rdi: ordinary body work
    if (s.alloca)
      emit(l, {0x48, 0x29, 0xc4}); // sub %rax,%rsp
    for (const auto &[label, callee] : s.body) {
      const size_t start = l.bytes.size();
      if (callee == "*") {
        emit(l, {0xff, 0xd0});
      } else if (callee == "alloca") {
        emit(l, {0x48, 0x29, 0xc4}); // sub %rax,%rsp: SRA_ALLOC's zero-sized alloca
      } else if (callee == "push") {
        emit(l, {0x6a, 0x00}); // push $0: a stack argument
      } else if (callee.empty()) {
        emit(l, {0x90});
      } else if (callee == "ud2") {
        emit(l, {0x0f, 0x0b});
      } else if (callee.rfind("jne:", 0) == 0) {
        emit(l, {0x0f, 0x85});
        l.fixups.emplace_back(l.bytes.size(), callee.substr(4));
        emit_imm32(l, 0);
      } else {
        emit(l, {0xe8});
        l.fixups.emplace_back(l.bytes.size(), callee);
        emit_imm32(l, 0);
      }
      l.labels[label] = {start, l.bytes.size()};
    }
    l.points["exit"] = l.bytes.size();
    switch (s.exit) {
    case Exit::Leave:
      if (!s.frame_pointer) {
        if (s.sub > 0)
          emit(l, {0x48, 0x81, 0xc4}), emit_imm32(l, s.sub); // add $sub,%rsp
        for (auto it = s.pushes.rbegin(); it != s.pushes.rend(); ++it)
          emit_pop(l, *it);
      } else if (!s.pushes.empty()) {
        // lea -8k(%rbp),%rsp; pops; pop %rbp
        emit(l, {0x48, 0x8d, 0x65, static_cast<uint8_t>(-8 * static_cast<int>(s.pushes.size()))});
        for (auto it = s.pushes.rbegin(); it != s.pushes.rend(); ++it)
          emit_pop(l, *it);
        emit(l, {0x5d});
      } else {
        emit(l, {0xc9});
      }
      break;
    case Exit::LeaPops:
      emit(l, {0x48, 0x8d, 0x65, static_cast<uint8_t>(-8 * static_cast<int>(s.pushes.size()))});
      for (auto it = s.pushes.rbegin(); it != s.pushes.rend(); ++it)
        emit_pop(l, *it);
      if (s.frame_pointer)
        emit(l, {0x5d});
      break;
    case Exit::PopRbp:
      emit(l, {0x48, 0x89, 0xec}); // mov %rbp,%rsp
      for (auto it = s.pushes.rbegin(); it != s.pushes.rend(); ++it)
        emit_pop(l, *it);
      if (s.frame_pointer)
        emit(l, {0x5d});
      break;
    case Exit::AddRsp:
      if (s.sub > 0 && s.sub < 128) {
        emit(l, {0x48, 0x83, 0xc4, static_cast<uint8_t>(s.sub)});
      } else if (s.sub > 0) {
        emit(l, {0x48, 0x81, 0xc4});
        emit_imm32(l, s.sub);
      }
      for (auto it = s.pushes.rbegin(); it != s.pushes.rend(); ++it)
        emit_pop(l, *it);
      if (s.frame_pointer)
        emit(l, {0x5d});
      break;
    case Exit::PopsOnly:
      for (auto it = s.pushes.rbegin(); it != s.pushes.rend(); ++it)
        emit_pop(l, *it);
      if (s.frame_pointer)
        emit(l, {0x5d});
      break;
    case Exit::NoReturn:
      return;
    }
    l.points["after_restore"] = l.bytes.size();
    l.points["ret"] = l.bytes.size();
    emit(l, {0xc3});
  }

  void assemble_allocator(const FnSpec &s, Layout &l) {
    emit(l, {0x55});
    l.points["after_push"] = l.bytes.size();
    emit(l, {0x48, 0x89, 0xe5}); // mov %rsp,%rbp
    l.points["after_mov"] = l.bytes.size();
    l.points["body"] = l.bytes.size();
    emit(l, {0x48, 0x8d, 0x57, 0x0f});       // lea 15(%rdi),%rdx
    emit(l, {0x48, 0x83, 0xe2, 0xf0});       // and $-16,%rdx
    emit(l, {0x48, 0x83, 0xc2, static_cast<uint8_t>(s.audit ? 0x20 : 0x10)}); // add $EXTRA,%rdx
    l.points["before_sub"] = l.bytes.size();
    emit(l, {0x48, 0x29, 0xd4});             // sub %rdx,%rsp
    l.points["after_sub"] = l.bytes.size();
    emit(l, {0x48, 0x8b, 0x45, 0x00});       // mov 0(%rbp),%rax
    emit(l, {0x48, 0x89, 0x04, 0x24});       // mov %rax,(%rsp)
    emit(l, {0x48, 0x8b, 0x45, 0x08});       // mov 8(%rbp),%rax
    emit(l, {0x48, 0x89, 0x44, 0x24, 0x08}); // mov %rax,8(%rsp)
    if (s.audit) {
      emit(l, {0x48, 0xb8, 0x74, 0x69, 0x64, 0x75, 0x61, 0x41, 0x52, 0x53}); // movabs $MAGIC,%rax
      emit(l, {0x48, 0x31, 0xf8});                                           // xor %rdi,%rax
    }
    l.points["relocate"] = l.bytes.size();
    emit(l, {0x48, 0x89, 0xe5}); // mov %rsp,%rbp: RBP = relocated stub
    l.points["after_relocate"] = l.bytes.size();
    emit(l, {0x48, 0x8d, 0x44, 0x24, 0x10}); // lea 16(%rsp),%rax
    l.points["exit"] = l.bytes.size();
    emit(l, {0xc9}); // leave
    l.points["after_restore"] = l.bytes.size();
    l.points["ret"] = l.bytes.size();
    emit(l, {0xc3});
  }

  uint64_t stack_low_, stack_high_;
  std::vector<uint8_t> stack_;
  std::map<uint64_t, std::string> notes_;
  std::set<uint64_t> holes_;
  std::deque<FnSpec> specs_; ///< deque: fn() references stay valid
  std::map<std::string, Layout> layout_;
  std::vector<uint8_t> code_;
  uint64_t code_end_ = kCodeBase;
};

/// A frame-pointer function's prologue shape, for StackSim::enter.
inline FnSpec frame_of(const std::string &name, uint32_t sub, std::vector<int> pushes = {},
                       bool frame_pointer = true) {
  FnSpec s;
  s.name = name;
  s.sub = sub;
  s.pushes = std::move(pushes);
  s.frame_pointer = frame_pointer;
  return s;
}

/// Writes a stack the way execution would. Every write is annotated.
class StackSim {
public:
  StackSim(MemoryImage &img, uint64_t start_rsp) : rsp(start_rsp), img_(img) {}

  uint64_t rsp;
  uint64_t rbp = 0;
  uint32_t seq = 0; ///< audit sequence number of the last allocation

  void push(uint64_t v, const std::string &note) {
    rsp -= 8;
    img_.put64(rsp, v, note);
  }
  /// `call` from caller at label: pushes the return address.
  void call(const std::string &caller, const std::string &label) {
    push(img_.ret_after(caller, label), "return address into " + caller + " (" + label + ")");
  }
  /// Run fn's whole prologue (as FnSpec describes it).
  void enter(const FnSpec &spec) {
    if (spec.frame_pointer) {
      push(rbp, "saved rbp of " + spec.name + "'s caller");
      rbp = rsp;
    }
    for (int r : spec.pushes)
      push(0x1111 * static_cast<uint64_t>(r), "saved callee-saved register " + std::to_string(r));
    if (spec.realign)
      rsp &= ~uint64_t{31};
    rsp -= spec.sub;
  }
  void alloca(uint64_t n) { rsp -= n; }

  /// sra_alloc(size) called from caller at label, run to completion.
  /// Returns the block pointer. Leaves the relocated stub copy below RSP.
  uint64_t sra_alloc(const std::string &caller, const std::string &label, uint64_t size, bool audit) {
    const uint64_t R = rsp;
    const uint64_t ret = img_.ret_after(caller, label);
    const uint64_t reserved = ((size + 15) & ~uint64_t{15}) + (audit ? 32 : 16);
    img_.put64(R - 8, ret, "stub: return address into " + caller + " (" + label + ")");
    img_.put64(R - 16, rbp, "stub: " + caller + "'s rbp");
    if (audit) {
      ++seq;
      const uint64_t h = R - 32;
      img_.put64(h, size, "audit header: size " + std::to_string(size));
      img_.put32(h + 8, seq);
      img_.put32(h + 12, audit_check(size, seq, rbp, ret, h));
      notes_seq(h + 8, seq);
    }
    const uint64_t copy = R - reserved - 16;
    img_.put64(copy, rbp, "relocated stub copy: rbp (released)");
    img_.put64(copy + 8, ret, "relocated stub copy: return address (released)");
    rsp = R - reserved;
    return rsp;
  }

  /// Return from the current frame (leave; ret): RSP and RBP restored.
  void leave_ret() {
    rsp = rbp + 16;
    rbp = img_.get64(rsp - 16);
  }

  Registers regs(uint64_t rip) const {
    Registers r;
    r.rip = rip;
    r.rsp = rsp;
    r.rbp = rbp;
    return r;
  }

private:
  void notes_seq(uint64_t a, uint32_t s) {
    // put32 has no note: record sequence and check on the word.
    img_.put64(a, img_.get64(a), "audit header: seq " + std::to_string(s) + ", check");
  }
  MemoryImage &img_;
};

/// The program most tests start from:
///   _start (no frame pointer) -> main (sub 32) -> work (push rbx, sub 24,
///   alloca, two sra_alloc calls "a" and "b", calls leaf at "c")
///   -> leaf (no frame pointer, sub 24)
inline void standard_functions(MemoryImage &img, bool audit) {
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 32;
  m.body = {{"c", "work"}, {"c2", "work"}, {"stop", ""}};
  auto &w = img.fn("work");
  w.pushes = {3};
  w.sub = 24;
  w.alloca = true;
  w.body = {{"a", "sra_alloc"}, {"b", "sra_alloc"}, {"c", "leaf"}, {"stop", ""}};
  auto &l = img.fn("leaf");
  l.frame_pointer = false;
  l.sub = 24;
  l.exit = Exit::AddRsp;
  l.body = {{"stop", ""}};
  img.allocator(audit);
  img.build();
}

/// A stack for standard_functions: _start called main, main called work
/// (or another function with work's prologue, at main's call "c").
/// Returns the simulator positioned in work's body (after its prologue).
inline StackSim enter_work(MemoryImage &img, const std::string &name = "work") {
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.call("main", "c");
  FnSpec w;
  w.name = name;
  w.pushes = {3};
  w.sub = 24;
  sim.enter(w);
  return sim;
}

} // namespace fa_test
