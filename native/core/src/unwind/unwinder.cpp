// unwinder.cpp: one loop from frame 0 to the thread's first frame. Each step
// takes the best evidence (docs/analysis.md, "Unwinding"): the context or a
// kernel signal frame, the callee's CFI row (module layer, elfutils), the
// [saved RBP][return address] pair at RBP, the decoded prologue, and for
// code without symbols or CFI a return address at RSP. Every pair the RBP
// chain gives is checked before it is believed ("The RBP chain"); the first
// failed check ends the walk with its reason. RSP-based callers of sra_alloc
// are repaired from the allocator's stub remnants. Iterative, bounded by
// max_depth; cycles are impossible past the monotonicity check, and a
// pointer back to an earlier pair is named a cycle.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "unwind/cfi_eval.h"
#include "unwind/frame_zero.h"
#include "unwind/huge_pages.h"
#include "unwind/walk.h"

namespace frameaudit::detail {

std::string frame_label(const Frame &frame) {
  return "frame " + std::to_string(frame.index) + " (" +
         (frame.function ? *frame.function : hex(frame.pc)) + ")";
}

namespace {

// The walk writes the report's frames and links directly: a Frame's names
// are interned pointers and a link's checks are inline, so a frame of a deep
// stack costs one record of each and no heap beyond the vectors. Symbols are
// filled in one pass at the end, from the cache's interned copy per address.

// A location rule's offset from the CFA ("saved at CFA - 16"), if it is one.
std::optional<int64_t> cfa_relative(const CfiRule &rule) {
  return rule.at_cfa;
}

// The row a frame-pointer function has in its body: the RBP pair step walks
// it with every link check.
bool is_pair_row(const CfiRow &row) {
  return row.pair;
}

std::string describe(const CfiRow &row) {
  std::string cfa = row.cfa_reg >= 0
                        ? std::string(register_name(row.cfa_reg)) +
                              (row.cfa_offset < 0 ? " - " : " + ") +
                              std::to_string(row.cfa_offset < 0 ? -row.cfa_offset : row.cfa_offset)
                        : "an expression";
  return std::string("CFI (") + row.source + "): CFA = " + cfa;
}

class Walker {
public:
  Walker(TargetCache &cache, const ThreadSnapshot &thread, const WalkOptions &options)
      : cache_(cache), thread_(thread), options_(options), stack_(thread.stack),
        image_(&thread.image) {}

  WalkResult run();

private:
  bool in_stack(uint64_t addr, uint64_t n) const {
    return stack_ && addr >= stack_->low && addr <= stack_->high && n <= stack_->high - addr;
  }
  void push_frame(uint64_t pc, std::optional<uint64_t> rsp, std::optional<uint64_t> rbp,
                  UnwindMethod how, bool at_instruction = false);
  // CFI: the row for frame f (nullptr if none, or if the sra-aware decoder
  // must decide: the allocator, its callers and split-off parts).
  const CfiRow *cfi_row_for(const Frame &f, const FunctionFacts *fn);
  // Recover a register or the return address by rule in a frame with regs.
  std::optional<uint64_t> recover(const CfiRule &rule, int reg, const RegState &regs, uint64_t cfa);
  // Callee-saved registers of the caller per row (rbp, rbx, r12-r15).
  RegState caller_registers(const CfiRow &row, const RegState &regs, uint64_t cfa);
  // The frame above frame 0 (or an interrupted context) by CFI; false if
  // no usable row: then the decoded prologue decides.
  bool cfi_context(const Registers &regs, FrameZero &z);
  std::optional<uint64_t> read_u64(uint64_t addr) {
    if (auto v = image_->u64(addr))
      return v;
    return cache_.read_u64(addr);
  }
  // Start unwinding the newest frame, stopped at an arbitrary instruction
  // with registers regs: sets slot/floor for the RBP loop, or ends the walk.
  bool enter_context(const Registers &regs, uint64_t &slot, uint64_t &floor);
  // The return address is the sigreturn trampoline: push the signal frame
  // and the interrupted context. False if the walk ended.
  bool through_signal_frame(uint64_t ret, uint64_t handler_cfa, uint64_t &slot, uint64_t &floor,
                            UnwindMethod how);
  bool is_sigreturn(uint64_t addr);
  // A signal handler on an alternate signal stack (sigaltstack) interrupted
  // code on another stack: walk on in the mapping holding rsp (once).
  bool switch_stack(uint64_t rsp) {
    const MemoryRegion *r = cache_.region_at(rsp);
    if (switched_ || !r || !r->readable || r->executable || (stack_ && r->start == stack_->low))
      return false;
    switched_ = true;
    other_stack_.load(cache_.target(), rsp & ~(StackImage::kPage - 1), r->end);
    stack_ = StackRange{r->start, r->end};
    r_.interrupted_stack = stack_;
    r_.interrupted_rsp = rsp;
    image_ = &other_stack_;
    visited_.clear();
    return true;
  }
  void stop(ChainEnd end, std::string detail) {
    r_.end = end;
    r_.detail = std::move(detail);
  }
  // Check helpers: record the check on the link being built and say if it passed.
  bool check(ChainLink &link, CheckKind kind, bool passed) {
    if (options_.record_links)
      link.checks.add(kind, passed);
    return passed;
  }
  bool check(ChainLink &link, CheckKind kind, bool passed, std::string detail) {
    if (options_.record_links)
      link.checks.add(kind, passed, std::move(detail));
    return passed;
  }
  // A check whose detail says why it failed: `why` runs only then.
  template <class Why> bool verify(ChainLink &link, CheckKind kind, bool passed, Why &&why) {
    if (!options_.record_links)
      return passed;
    if (passed)
      link.checks.add(kind, true);
    else
      link.checks.add(kind, false, why());
    return passed;
  }
  // How many pairs the RBP chain from rbp has (monotonic, readable, returning
  // into mapped code, at most max_depth): the vectors are sized once instead
  // of growing by copies. Only an estimate: the walk checks every link.
  // `complete`: the chain ended with a zero saved RBP (the outermost frame's
  // mark) or at max_depth, rather than at garbage.
  size_t estimate_depth(uint64_t rbp, bool &complete) const {
    size_t n = 0;
    complete = false;
    for (uint64_t slot = rbp, floor = 0;; ++n) {
      if (n == options_.max_depth || (slot == 0 && n > 0)) {
        complete = true;
        break;
      }
      if (slot < floor || slot % 8 != 0)
        break;
      const auto saved = image_->u64(slot), ret = image_->u64(slot + 8);
      if (!saved || !ret || !cache_.is_executable(*ret))
        break; // a garbage chain must not size the vectors
      floor = slot + 16;
      slot = *saved;
    }
    return n;
  }
  void keep(ChainLink &&link) {
    if (options_.record_links) {
      links_.push_back(std::move(link));
    }
  }
  enum class Ret { Ok, Signal, Bad };
  Ret check_return(ChainLink &link, uint64_t ret, uint64_t slot);
  void end_at_zero_rbp();
  enum class Step { UseRbp, Next, Done };
  Step frameless_step(Frame &f, uint64_t rbp);
  Step cfi_step(Frame &f, uint64_t &slot, uint64_t &floor);
  Step checked_cfi_step(Frame &f, const CfiRow &row, const RegState &r, uint64_t &slot,
                        uint64_t &floor);
  // The row's CFA from the frame's registers (nullopt: a register it needs is unknown).
  std::optional<uint64_t> row_cfa(const CfiRow &row, const RegState &r) {
    if (row.cfa_reg < 0)
      return eval_rule(row.cfa, r, std::nullopt, [this](uint64_t a) { return read_u64(a); });
    if (!r.has(row.cfa_reg))
      return std::nullopt;
    return r.value[row.cfa_reg] + static_cast<uint64_t>(row.cfa_offset);
  }
  Step cfi_frame(Frame &f, const CfiRow &row, const RegState &r, uint64_t cfa, bool repaired,
                 uint64_t &slot, uint64_t &floor);
  std::optional<uint64_t> repaired_cfa(const Frame &f, const CfiRow &row);
  // The function holding frame i's pc (its call, for return addresses).
  uint64_t lookup_pc(const Frame &f) const {
    return facts_[f.index].at_instruction || f.pc == 0 ? f.pc : f.pc - 1;
  }
  const std::optional<std::string> &name_of(const Frame &f) {
    const FunctionFacts *fn = facts_[f.index].fn;
    return fn && fn->name ? fn->name : cache_.symbol(lookup_pc(f)).function;
  }
  bool is_entry(const Frame &f) {
    const FunctionFacts *fn = facts_[f.index].fn;
    return fn ? fn->is_entry : is_entry_function(cache_.symbol(lookup_pc(f)).function);
  }
  std::string label(const Frame &f) {
    const auto &name = name_of(f);
    return "frame " + std::to_string(f.index) + " (" + (name ? *name : hex(f.pc)) + ")";
  }
  void fill_symbols();
  WalkResult finish() {
    fill_symbols();
    return std::move(r_);
  }
  // A return address that passes the link checks.
  bool plausible_return_value(uint64_t ret) {
    return ret != 0 && cache_.is_code(ret) && !cache_.calls_before(ret).empty();
  }
  bool plausible_return(uint64_t slot) {
    const auto ret = image_->u64(slot);
    return ret && plausible_return_value(*ret);
  }
  // A frame-pointer pair at rbp for a frame whose RSP is rsp.
  bool plausible_pair(uint64_t rbp, uint64_t rsp) {
    return rbp % 8 == 0 && rbp >= rsp && in_stack(rbp, 16) && plausible_return(rbp + 8);
  }

  TargetCache &cache_;
  const ThreadSnapshot &thread_;
  const WalkOptions &options_;
  WalkResult r_;
  std::vector<Frame> &frames_ = r_.frames;
  std::vector<FrameFacts> &facts_ = r_.facts;
  std::vector<ChainLink> &links_ = r_.links;
  std::vector<uint64_t> visited_; ///< pair addresses, ascending (the walk is monotonic)
  /// The note of a frame unwound by its decoded size, one Name per offset
  /// (a frameless recursion repeats one offset on every frame).
  Name frameless_note(int64_t offset) {
    auto [it, fresh] = frameless_notes_.try_emplace(offset);
    if (fresh)
      it->second = "no frame pointer: return address at RSP + " + std::to_string(offset);
    return it->second;
  }
  std::unordered_map<int64_t, Name> frameless_notes_;
  /// Callee-saved registers of the newest frame as far as known (rbx,
  /// r12-r15; rsp and rbp are tracked by the loop itself).
  RegState callee_;
  uint64_t reserved_ = 0; ///< bytes the last repair added
  /// The stack being walked: the thread's, until a signal frame on an
  /// alternate signal stack leads back to the stack it interrupted.
  std::optional<StackRange> stack_;
  const StackImage *image_;
  StackImage other_stack_;
  bool switched_ = false;
};

void Walker::push_frame(uint64_t pc, std::optional<uint64_t> rsp, std::optional<uint64_t> rbp,
                        UnwindMethod how, bool at_instruction) {
  Frame &f = frames_.emplace_back();
  f.index = static_cast<uint32_t>(frames_.size() - 1);
  f.pc = pc;
  f.rsp = rsp;
  f.rbp = rbp;
  f.unwind = how;
  FrameFacts &facts = facts_.emplace_back();
  facts.at_instruction = at_instruction || f.index == 0;
  facts.fn = cache_.function_at(lookup_pc(f));
}

void Walker::fill_symbols() {
  for (Frame &f : frames_) {
    const FrameFacts &facts = facts_[f.index];
    if (options_.symbolize) {
      const NamedSymbol &s = cache_.named_symbol(lookup_pc(f));
      f.function = s.function;
      f.inlined = s.inlined;
      f.module = s.module;
      f.file = s.file;
      f.line = s.line;
      f.function_start = s.function_start;
    } else if (facts.fn) {
      f.function_start = facts.fn->start;
    }
    if (!f.note && facts.frameless_offset >= 0)
      f.note = frameless_note(facts.frameless_offset);
  }
}

Walker::Ret Walker::check_return(ChainLink &link, uint64_t ret, uint64_t slot) {
  const Frame &f = frames_.back();
  if (!verify(link, CheckKind::ReturnInCode, cache_.is_code(ret),
              [&] { return hex(ret) + " is not in executable memory"; })) {
    stop(ChainEnd::BadReturnAddress, label(f) + ": the return address " + hex(ret) + " at " +
                                         hex(slot) + " is not in an executable mapping.");
    return Ret::Bad;
  }
  const auto &calls = cache_.calls_before(ret);
  if (calls.empty() && is_sigreturn(ret)) {
    // A signal handler returns into the sigreturn trampoline, which nothing calls.
    check(link, CheckKind::SignalTrampoline, true,
          "returns into the sigreturn trampoline: a signal frame follows");
    return Ret::Signal;
  }
  // A passed check's detail would only repeat link.call_target.
  if (!verify(link, CheckKind::CallBeforeReturn, !calls.empty(),
              [&] { return "no call instruction ends at " + hex(ret); })) {
    stop(ChainEnd::BadReturnAddress, label(f) + ": the return address " + hex(ret) + " at " +
                                         hex(slot) + " does not follow a call instruction.");
    return Ret::Bad;
  }
  if (options_.record_links)
    link.call_target = calls.front().target;
  return Ret::Ok;
}

// x86-64 Linux's rt_sigreturn trampoline (glibc's __restore_rt, the vDSO's):
// mov $15,%rax; syscall.
bool Walker::is_sigreturn(uint64_t addr) {
  static constexpr uint8_t kCode[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  std::byte buf[sizeof kCode];
  if (cache_.read(addr, buf) != sizeof buf)
    return false;
  return std::memcmp(buf, kCode, sizeof kCode) == 0;
}

// The kernel's rt_sigframe: the trampoline's address (the handler's return
// address), then the ucontext, whose mcontext (at +40) holds the interrupted
// registers: rbp at gregs[10], rsp at gregs[15], rip at gregs[16].
bool Walker::through_signal_frame(uint64_t ret, uint64_t handler_cfa, uint64_t &slot,
                                  uint64_t &floor, UnwindMethod how) {
  constexpr uint64_t kGregs = 40, kRbp = 10, kRsp = 15, kRip = 16;
  const uint64_t rbp = slot;
  // Nothing called the trampoline: its own address names it (no pc - 1).
  push_frame(ret, handler_cfa, rbp, how, /*at_instruction=*/true);
  Frame &sig = frames_.back();
  facts_.back().position = FramePosition::Signal;
  sig.note = "signal frame (sigreturn trampoline)";
  const uint64_t uc = handler_cfa;
  const auto irbp = image_->u64(uc + kGregs + 8 * kRbp);
  const auto irsp = image_->u64(uc + kGregs + 8 * kRsp);
  const auto irip = image_->u64(uc + kGregs + 8 * kRip);
  ChainLink link;
  link.address = uc;
  if (!verify(link, CheckKind::Readable, irbp && irsp && irip,
              [&] { return "the signal frame at " + hex(uc) + " cannot be read"; })) {
    keep(std::move(link));
    stop(ChainEnd::Unreadable,
         label(sig) + ": the signal frame at " + hex(uc) + " cannot be read.");
    return false;
  }
  link.saved_rbp = *irbp;
  link.return_address = *irip;
  check(link, CheckKind::SignalFrame, true,
        "interrupted context: rip " + hex(*irip) + ", rsp " + hex(*irsp));
  if (!(in_stack(*irsp, 8) && *irsp > uc) && switch_stack(*irsp)) {
    check(link, CheckKind::InStack, true,
          "the handler ran on an alternate signal stack; the interrupted RSP is on the stack [" +
              hex(stack_->low) + ", " + hex(stack_->high) + ")");
  } else if (!verify(link, CheckKind::InStack, in_stack(*irsp, 8) && *irsp > uc,
                     [&] { return hex(*irsp) + " is not above the signal frame in this stack"; })) {
    keep(std::move(link));
    stop(ChainEnd::OutOfStack,
         label(sig) + ": the interrupted RSP " + hex(*irsp) +
             " is not above the signal frame in this stack (an alternate signal stack?).");
    return false;
  }
  keep(std::move(link));
  sig.cfa = *irsp;
  if (frames_.size() >= options_.max_depth) {
    stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " +
                                 std::to_string(options_.max_depth) +
                                 " frames; the chain goes on.");
    return false;
  }
  Registers regs;
  regs.rip = *irip;
  regs.rsp = *irsp;
  regs.rbp = *irbp;
  // gregs: r8..r15 at 0..7, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip.
  static constexpr std::pair<const char *, int> kSaved[] = {
      {"r8", 0},  {"r9", 1},  {"r10", 2}, {"r11", 3},  {"r12", 4},  {"r13", 5},  {"r14", 6},
      {"r15", 7}, {"rdi", 8}, {"rsi", 9}, {"rbx", 11}, {"rdx", 12}, {"rax", 13}, {"rcx", 14}};
  for (const auto &[name, at] : kSaved)
    if (auto v = image_->u64(uc + kGregs + 8 * static_cast<uint64_t>(at)))
      regs.general.emplace_back(name, *v);
  push_frame(regs.rip, regs.rsp, regs.rbp, UnwindMethod::Context, /*at_instruction=*/true);
  return enter_context(regs, slot, floor);
}

void Walker::end_at_zero_rbp() {
  const Frame &f = frames_.back();
  const FunctionFacts *fn = facts_.back().fn;
  if (is_entry(f)) {
    stop(ChainEnd::Outermost, label(f) + " is where the thread begins and RBP is 0 there.");
  } else if (!fn || !fn->info.decoded) {
    stop(ChainEnd::Outermost,
         label(f) + " has RBP 0 and its code is unknown: taken as the outermost frame.");
  } else if (!fn->info.has_frame_pointer) {
    stop(ChainEnd::Outermost,
         label(f) + " keeps no frame pointer and RBP is 0 in it: the chain ends there.");
  } else {
    stop(ChainEnd::NullRbp,
         label(f) + " sets up a frame pointer, yet its RBP is 0" +
             (f.index > 0 ? " (the saved RBP at " +
                                hex(frames_[f.index - 1].saved_rbp_slot.value_or(0)) + " is 0)"
                          : std::string()) +
             ": the chain was cut.");
  }
}

// A frame (above frame 0) whose function keeps no frame pointer: its RBP is
// its caller's (or a general register's), so its own pair is not at RBP. Its
// body has a constant CFA - RSP, so the return address is at
// RSP + static_size - 8, as for a frameless frame 0. Taken only if that
// return address passes the link checks; otherwise the RBP pair is tried.
Walker::Step Walker::frameless_step(Frame &f, uint64_t rbp) {
  FrameFacts &facts = facts_.back();
  const FunctionFacts *fn = facts.fn;
  if (!fn || !fn->info.decoded || fn->has_frame_pointer() || fn->fragment || fn->is_allocator ||
      !f.rsp)
    return Step::UseRbp;
  const uint64_t code_end = fn->start + fn->code.size();
  const uint64_t at = f.pc < code_end ? f.pc : f.pc - 1;
  if (at < fn->start || at >= code_end)
    return Step::UseRbp;
  const PrologueState st = cache_.state_at(*fn, at);
  if (!st.rsp_offset_exact || st.in_epilogue || st.rsp_offset_from_cfa < 8 ||
      st.rsp_offset_from_cfa % 8 != 0)
    return Step::UseRbp;
  const uint64_t cfa = *f.rsp + static_cast<uint64_t>(st.rsp_offset_from_cfa);
  if (cfa < *f.rsp || !in_stack(cfa - 8, 8) || !plausible_return(cfa - 8))
    return Step::UseRbp;
  const uint64_t ret = *image_->u64(cfa - 8);
  uint64_t caller_rbp = rbp;
  if (st.rbp_pushed && st.saved_rbp_cfa_offset && *st.saved_rbp_cfa_offset >= 16 &&
      *st.saved_rbp_cfa_offset <= st.rsp_offset_from_cfa)
    caller_rbp = image_->u64(cfa - static_cast<uint64_t>(*st.saved_rbp_cfa_offset)).value_or(0);
  f.cfa = cfa;
  facts.frameless_offset = st.rsp_offset_from_cfa - 8;
  facts.position = FramePosition::Frameless;
  facts.static_at_pc = st.rsp_offset_from_cfa;
  ChainLink link;
  link.address = cfa - 16;
  link.saved_rbp = caller_rbp;
  link.return_address = ret;
  check(link, CheckKind::FrameSize, true,
        options_.record_links
            ? "no frame pointer: return address at RSP + " + std::to_string(facts.frameless_offset)
            : std::string());
  check(link, CheckKind::ReturnInCode, true);
  const auto &calls = cache_.calls_before(ret);
  check(link, CheckKind::CallBeforeReturn, true);
  if (options_.record_links)
    link.call_target = calls.front().target;
  keep(std::move(link));
  if (frames_.size() >= options_.max_depth) {
    stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " +
                                 std::to_string(options_.max_depth) +
                                 " frames; the chain goes on.");
    return Step::Done;
  }
  push_frame(ret, cfa, caller_rbp, UnwindMethod::Decoded);
  return Step::Next;
}

// A frame whose CFI row is not the frame-pointer row: the row gives the
// CFA, the return address and the caller's callee-saved registers.
Walker::Step Walker::cfi_step(Frame &f, uint64_t &slot, uint64_t &floor) {
  FrameFacts &facts = facts_.back();
  if (!f.rsp)
    return Step::UseRbp;
  const FunctionFacts *fn = facts.fn;
  const bool sra_caller = fn && fn->calls_allocator && !fn->is_allocator;
  const CfiRow *row = sra_caller ? cache_.modules().row_at(lookup_pc(f)) : cfi_row_for(f, fn);
  if (!row)
    return Step::UseRbp;
  RegState r = callee_;
  r.set(kRsp, *f.rsp);
  r.set(kRbp, slot);
  r.set(kRip, f.pc);
  if (is_pair_row(*row)) {
    callee_ = caller_registers(*row, r, slot + 16);
    return Step::UseRbp;
  }
  if (sra_caller) {
    // An RSP-based caller of sra_alloc: its CFI CFA is short by what the
    // allocator reserved. Only the repair may walk it; else the RBP chain
    // and its checks decide, as for any frame the allocator mangled.
    if (row->cfa_reg != kRsp)
      return Step::UseRbp;
    const auto cfa = repaired_cfa(f, *row);
    if (!cfa)
      return Step::UseRbp;
    return cfi_frame(f, *row, r, *cfa, /*repaired=*/true, slot, floor);
  }
  if (fn && fn->has_frame_pointer())
    return checked_cfi_step(f, *row, r, slot, floor);
  const std::optional<uint64_t> cfa = row_cfa(*row, r);
  if (!cfa)
    return Step::UseRbp;
  return cfi_frame(f, *row, r, *cfa, /*repaired=*/false, slot, floor);
}

// A function that keeps a frame pointer, by its decoded prologue, but whose
// CFI row here is not the frame-pointer row: both lead to a caller, and the
// RBP link is checked against the CFI. CFI goes first, as everywhere; where
// its return address fails the link checks the RBP chain decides. A
// difference is kept for the findings (cfi-mismatch).
Walker::Step Walker::checked_cfi_step(Frame &f, const CfiRow &row, const RegState &r,
                                      uint64_t &slot, uint64_t &floor) {
  UnwindDisagreement d;
  d.frame = f.index;
  d.rbp = slot;
  const size_t depth = frames_.size(); // f is frames_.back(); a step may move it
  std::optional<uint64_t> rbp_ret, rbp_saved;
  if (slot % 8 == 0 && slot >= *f.rsp && in_stack(slot, 16)) {
    rbp_ret = image_->u64(slot + 8);
    rbp_saved = image_->u64(slot);
  }
  const bool link_plausible = rbp_ret && rbp_saved && plausible_return_value(*rbp_ret);
  d.cfi_cfa = row_cfa(row, r);
  const uint64_t caller_rbp_by_link = rbp_saved.value_or(0);
  const auto ra_at = cfa_relative(row.regs[kRip]);
  auto cfi_ra = [&]() -> std::optional<uint64_t> {
    if (!d.cfi_cfa || !ra_at)
      return std::nullopt;
    const uint64_t at = *d.cfi_cfa + static_cast<uint64_t>(*ra_at);
    return in_stack(at, 8) ? image_->u64(at) : std::nullopt;
  };
  const Step step =
      d.cfi_cfa ? cfi_frame(f, row, r, *d.cfi_cfa, /*repaired=*/false, slot, floor) : Step::UseRbp;
  if (!link_plausible || (step == Step::Done && r_.end == ChainEnd::MaxDepth))
    return step;
  d.rbp_return = *rbp_ret;
  if (step == Step::Next && frames_.size() > depth) {
    const Frame &caller = frames_.back();
    if (caller.pc == *rbp_ret && caller.rbp.value_or(0) == caller_rbp_by_link)
      return step; // the same caller (perhaps another CFA: a realigned frame)
    d.cfi_return = caller.pc;
    d.cfi_believed = true;
  } else {
    // Done: CFI ended the walk (return address undefined or 0, or its link
    // failed a check); UseRbp: CFI's return address failed the checks.
    d.cfi_believed = step == Step::Done;
    d.cfi_return = cfi_ra();
  }
  r_.disagreements.push_back(d);
  return step;
}

// The true CFA of an RSP-based sra caller: the allocator's stub remnants
// (the last 16 bytes of each audit header, or the bare remnant of a plain
// allocation) hold the caller's RBP and a return address into this function
// right after an allocator call; the highest one of this frame sits just
// below the RSP the frame had before its first allocation, where its CFI
// offset applies. Remnants are tried lowest first (a recursive caller's own
// remnants lie above), and one is believed only where the return address
// its CFA gives passes the link checks.
std::optional<uint64_t> Walker::repaired_cfa(const Frame &f, const CfiRow &row) {
  constexpr uint64_t kMaxScan = 1ull << 20;
  const FunctionFacts *fn = facts_.back().fn;
  const uint64_t low = *f.rsp, high = std::min(stack_->high, low + kMaxScan);
  for (uint64_t a = (low + 7) & ~uint64_t{7}; a + 16 <= high; a += 8) {
    const auto ret = image_->u64(a + 8);
    if (!ret || *ret <= fn->start || *ret > fn->end || cache_.function_at(*ret - 1) != fn ||
        !cache_.allocator_call_before(*ret))
      continue;
    const uint64_t before = a + 16; // RSP before that allocator call
    const uint64_t cfa = before + static_cast<uint64_t>(row.cfa_offset);
    if (cfa > before && in_stack(cfa - 8, 8) && plausible_return(cfa - 8)) {
      reserved_ = before - *f.rsp;
      return cfa;
    }
  }
  return std::nullopt;
}

Walker::Step Walker::cfi_frame(Frame &f, const CfiRow &row, const RegState &r, uint64_t cfa,
                               bool repaired, uint64_t &slot, uint64_t &floor) {
  FrameFacts &facts = facts_.back();
  if (cfa <= *f.rsp || !in_stack(cfa - 8, 8))
    return Step::UseRbp;
  if (row.regs[kRip].kind == CfiRule::Kind::Undefined) {
    f.cfa = cfa;
    facts.position = FramePosition::Frameless;
    facts.static_at_pc = static_cast<int64_t>(cfa - *f.rsp);
    stop(ChainEnd::Outermost,
         label(f) + ": its CFI leaves the return address undefined: the thread begins here.");
    return Step::Done;
  }
  const auto ra_at = cfa_relative(row.regs[kRip]);
  if (!ra_at)
    return Step::UseRbp;
  const uint64_t ra_slot = cfa + static_cast<uint64_t>(*ra_at);
  const auto ret = in_stack(ra_slot, 8) ? image_->u64(ra_slot) : std::nullopt;
  if (!ret)
    return Step::UseRbp;
  if (*ret == 0) {
    f.cfa = cfa;
    facts.position = FramePosition::Frameless;
    facts.static_at_pc = static_cast<int64_t>(cfa - *f.rsp);
    stop(ChainEnd::Outermost, label(f) + " has return address 0: it is the outermost frame.");
    return Step::Done;
  }
  const bool to_signal = cache_.calls_before(*ret).empty() && is_sigreturn(*ret);
  if (!to_signal && !plausible_return_value(*ret))
    return Step::UseRbp; // CFI and the stack disagree: the older rules get their turn
  const RegState caller = caller_registers(row, r, cfa);
  const uint64_t caller_rbp = caller.get(kRbp).value_or(0);
  f.cfa = cfa;
  f.repaired = repaired;
  if (repaired) {
    // The static frame is what CFI says; the rest is the allocator's.
    facts.static_at_pc = row.cfa_offset;
    f.note = "RSP-based frame lowered by sra_alloc: CFA repaired by the " +
             std::to_string(reserved_) + " bytes its stub remnants prove";
  } else {
    facts.position = FramePosition::Frameless;
    facts.static_at_pc = static_cast<int64_t>(cfa - *f.rsp);
  }
  ChainLink link;
  link.address = ra_slot - 8;
  link.saved_rbp = caller_rbp;
  link.return_address = *ret;
  // A passed check keeps no detail (it would cost a string per frame), but
  // a repair says what it added.
  if (repaired && options_.record_links)
    check(link, CheckKind::Cfi, true,
          describe(row) + " + " + std::to_string(reserved_) + " bytes sra_alloc reserved");
  else
    check(link, CheckKind::Cfi, true);
  const Ret kind = check_return(link, *ret, ra_slot);
  keep(std::move(link));
  if (kind == Ret::Bad)
    return Step::Done;
  if (frames_.size() >= options_.max_depth) {
    stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " +
                                 std::to_string(options_.max_depth) +
                                 " frames; the chain goes on.");
    return Step::Done;
  }
  callee_ = caller;
  slot = caller_rbp;
  if (kind == Ret::Signal)
    return through_signal_frame(*ret, cfa, slot, floor, UnwindMethod::Cfi) ? Step::Next
                                                                           : Step::Done;
  push_frame(*ret, cfa, caller_rbp, UnwindMethod::Cfi);
  floor = cfa;
  return Step::Next;
}

const CfiRow *Walker::cfi_row_for(const Frame &f, const FunctionFacts *fn) {
  // The allocator and its callers are what sra mangles: the sra-aware
  // decoder and the RBP chain decide there. A split-off part (f.cold, or
  // code that uses an RBP it did not set up, like libffi's ffi_call_unix64)
  // has CFI of its own that describes the frame it runs in.
  if (fn && (fn->is_allocator || fn->calls_allocator))
    return nullptr;
  return cache_.modules().row_at(lookup_pc(f));
}

std::optional<uint64_t> Walker::recover(const CfiRule &rule, int reg, const RegState &regs,
                                        uint64_t cfa) {
  if (rule.kind == CfiRule::Kind::Same)
    return regs.get(reg);
  if (rule.at_cfa)
    return read_u64(cfa + static_cast<uint64_t>(*rule.at_cfa));
  if (rule.kind != CfiRule::Kind::Expr)
    return std::nullopt;
  if (rule.ops.size() == 1 &&
      ((rule.ops[0].atom >= 0x50 && rule.ops[0].atom <= 0x6f) || rule.ops[0].atom == 0x90))
    return regs.get(rule.ops[0].atom == 0x90 ? static_cast<int>(rule.ops[0].number)
                                             : rule.ops[0].atom - 0x50);
  auto reader = [this](uint64_t a) { return read_u64(a); };
  auto v = eval_rule(rule, regs, cfa, reader);
  if (!v || rule.value)
    return v;
  return read_u64(*v);
}

RegState Walker::caller_registers(const CfiRow &row, const RegState &regs, uint64_t cfa) {
  RegState out;
  for (int r : {int(kRbx), int(kRbp), int(kR12), int(kR13), int(kR14), int(kR15)})
    if (auto v = recover(row.regs[r], r, regs, cfa))
      out.set(r, *v);
  return out;
}

bool Walker::cfi_context(const Registers &regs, FrameZero &z) {
  const FunctionFacts *fn = z.facts.fn;
  if (fn && (fn->is_allocator || fn->calls_allocator))
    return false;
  const CfiRow *row = cache_.modules().row_at(regs.rip);
  if (!row)
    return false;
  RegState r = callee_;
  r.set(kRsp, regs.rsp);
  r.set(kRbp, regs.rbp);
  r.set(kRip, regs.rip);
  if (is_pair_row(*row)) {
    if (!plausible_pair(regs.rbp, regs.rsp))
      return false;
    z.rbp_based = true;
    z.facts.position = FramePosition::Body;
    z.facts.static_at_pc.reset();
    z.how = describe(*row) + ": frame pointer set up, pair at RBP";
    callee_ = caller_registers(*row, r, regs.rbp + 16);
    return true;
  }
  auto reader = [this](uint64_t a) { return read_u64(a); };
  const auto cfa = eval_rule(row->cfa, r, std::nullopt, reader);
  const auto ra_at = cfa_relative(row->regs[kRip]);
  if (!cfa || *cfa <= regs.rsp || !ra_at || !in_stack(*cfa + static_cast<uint64_t>(*ra_at), 8))
    return false;
  const uint64_t ra_slot = *cfa + static_cast<uint64_t>(*ra_at);
  if (!plausible_return(ra_slot) && !is_sigreturn(image_->u64(ra_slot).value_or(0)))
    return false; // CFI and the stack disagree: the decoder and RBP get their turn
  const RegState caller = caller_registers(*row, r, *cfa);
  z.rbp_based = false;
  z.cfa = *cfa;
  z.return_slot = ra_slot;
  z.caller_rbp = caller.get(kRbp).value_or(0);
  if (auto at = cfa_relative(row->regs[kRbp]))
    z.saved_rbp_slot = *cfa + static_cast<uint64_t>(*at);
  else
    z.saved_rbp_slot.reset();
  if (z.facts.position == FramePosition::Body || !z.facts.static_at_pc ||
      *z.facts.static_at_pc != static_cast<int64_t>(*cfa - regs.rsp))
    z.facts.position = FramePosition::Frameless;
  z.facts.static_at_pc = static_cast<int64_t>(*cfa - regs.rsp);
  z.how = describe(*row) + ", return address at RSP + " + std::to_string(ra_slot - regs.rsp);
  callee_ = caller;
  return true;
}

bool Walker::enter_context(const Registers &regs, uint64_t &slot, uint64_t &floor) {
  Frame &f0 = frames_.back();
  FrameFacts &facts = facts_.back();
  callee_ = RegState{};
  for (const auto &[name, value] : regs.general)
    if (int r = dwarf_number(name); r >= 0)
      callee_.set(r, value);
  FrameZero z = locate_frame_zero(cache_, *image_, regs);
  UnwindMethod how = UnwindMethod::Decoded;
  if (cfi_context(regs, z)) {
    how = UnwindMethod::Cfi;
  } else {
    // Without CFI only the callee-saved registers survive a call.
    RegState saved;
    for (int r : {int(kRbx), int(kR12), int(kR13), int(kR14), int(kR15)})
      if (auto v = callee_.get(r))
        saved.set(r, *v);
    callee_ = saved;
    // JIT code (outside every module) keeps a frame pointer where the
    // engines build frames (V8, the JVM), as LLDB's default plan assumes;
    // module code without symbols or CFI (a stripped leaf, Go's runtime
    // assembly) more likely has its return address right at RSP.
    const bool jit_with_pair = cache_.modules().listed() > 0 &&
                               !cache_.modules().is_module_code(regs.rip) &&
                               plausible_pair(regs.rbp, regs.rsp);
    if (!z.facts.fn && !cache_.function_at(regs.rip) && !jit_with_pair &&
        plausible_return(regs.rsp)) {
      z.rbp_based = false;
      z.cfa = regs.rsp + 8;
      z.return_slot = regs.rsp;
      z.caller_rbp = regs.rbp;
      z.facts.position = FramePosition::Frameless;
      z.facts.static_at_pc = 8;
      z.how = "function unknown, no CFI: return address at RSP";
      how = UnwindMethod::Scan;
    }
  }
  facts.position = z.facts.position;
  facts.static_at_pc = z.facts.static_at_pc;
  f0.note = z.how;
  slot = regs.rbp;  // the pair address of the frame being finished
  floor = regs.rsp; // the pair must lie at or above this
  if (!z.rbp_based && !plausible_return(z.return_slot) && plausible_pair(regs.rbp, regs.rsp)) {
    // The decoded prologue state put the return address where there is
    // none (a prologue the decoder misread, code reached by a jump from
    // another function), while RBP holds a sound pair: trust RBP, as LLDB
    // falls back from assembly inspection to the frame-pointer plan.
    z.rbp_based = true;
    facts.position = FramePosition::Body;
    facts.static_at_pc.reset();
    facts.setup_contradicted = true;
    f0.note = "decoded frame setup contradicted by the stack: frame pointer used";
  }
  if (z.rbp_based)
    return true;
  // The return address is found from RSP; the caller's RBP is in a register
  // or in the slot the prologue pushed it to.
  f0.cfa = z.cfa;
  ChainLink link;
  link.address = z.return_slot - 8;
  link.saved_rbp = z.caller_rbp;
  check(link, CheckKind::Frame0, true, z.how);
  const auto ret = image_->u64(z.return_slot);
  if (!verify(link, CheckKind::InStack, in_stack(z.return_slot, 8),
              [&] { return hex(z.return_slot) + " is outside the stack"; })) {
    keep(std::move(link));
    stop(ChainEnd::OutOfStack, label(f0) + ": its return address slot " + hex(z.return_slot) +
                                   " is outside the thread's stack.");
    return false;
  }
  if (!ret) {
    keep(std::move(link));
    stop(ChainEnd::Unreadable,
         label(f0) + ": its return address slot " + hex(z.return_slot) + " cannot be read.");
    return false;
  }
  link.return_address = *ret;
  if (*ret == 0) {
    keep(std::move(link));
    stop(ChainEnd::Outermost, label(f0) + " has return address 0: it is the outermost frame.");
    return false;
  }
  const Ret kind = check_return(link, *ret, z.return_slot);
  keep(std::move(link));
  if (kind == Ret::Bad)
    return false;
  if (frames_.size() >= options_.max_depth) {
    stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " +
                                 std::to_string(options_.max_depth) +
                                 " frames; the chain goes on.");
    return false;
  }
  if (kind == Ret::Signal) {
    slot = z.caller_rbp;
    return through_signal_frame(*ret, z.cfa, slot, floor, how);
  }
  push_frame(*ret, z.cfa, z.caller_rbp, how);
  slot = z.caller_rbp;
  floor = z.cfa;
  return true;
}

WalkResult Walker::run() {
  const Registers &regs = thread_.info.registers;
  push_frame(regs.rip, regs.rsp, regs.rbp, UnwindMethod::Context);
  if (!stack_) {
    stop(ChainEnd::OutOfStack,
         "RSP " + hex(regs.rsp) + " is not inside any readable mapping" +
             (thread_.stack_problem.empty() ? "" : " (" + thread_.stack_problem + ")") +
             ": no frame can be walked.");
    return finish();
  }
  if (options_.max_depth == 0) {
    stop(ChainEnd::MaxDepth, "the maximum depth is 0.");
    return finish();
  }

  // A frame-pointer chain that reaches its outermost frame sizes the vectors
  // (frames without frame pointer between its links, if any, grow them).
  // Otherwise frames without frame pointer hide from the estimate: a frame
  // takes at least 16 bytes of live stack, and reserving only costs address
  // space (untouched pages are never faulted in), so the live stack bounds it.
  const uint64_t live = stack_->high > regs.rsp ? stack_->high - regs.rsp : 0;
  bool complete = false;
  const size_t chain = estimate_depth(regs.rbp, complete);
  const size_t expected =
      (complete ? chain
                : std::max<size_t>(chain, std::min<uint64_t>(live / 16, options_.max_depth))) +
      8;
  reserve_on_huge_pages(frames_, expected);
  reserve_on_huge_pages(visited_, expected);
  reserve_on_huge_pages(facts_, expected);
  if (options_.record_links)
    reserve_on_huge_pages(links_, expected);
  uint64_t slot = 0, floor = 0;
  if (!enter_context(regs, slot, floor))
    return finish();

  for (;;) {
    Frame &f = frames_.back();
    if (f.index > 0) {
      // CFI first: it ends the walk where the thread begins (_start,
      // __clone3 leave the return address undefined).
      const auto step = cfi_step(f, slot, floor);
      if (step == Step::Done)
        break;
      if (step == Step::Next)
        continue;
    }
    if (f.index > 0 && is_entry(f)) {
      // glibc's start-up code keeps no frame pointer: what its RBP holds is
      // not a pair (often 0 or 1), and nothing calls it.
      stop(ChainEnd::Outermost, label(f) + " is where the thread begins: the walk ends there.");
      break;
    }
    if (f.index > 0) {
      const auto step = frameless_step(f, slot);
      if (step == Step::Done)
        break;
      if (step == Step::Next) {
        slot = frames_.back().rbp.value_or(0);
        floor = frames_.back().rsp.value_or(0);
        continue;
      }
    }
    if (slot == 0) {
      end_at_zero_rbp();
      break;
    }
    ChainLink link;
    link.address = slot;
    if (!verify(link, CheckKind::Aligned, slot % 8 == 0,
                [&] { return hex(slot) + " is not 8-byte aligned"; })) {
      keep(std::move(link));
      stop(ChainEnd::Misaligned, label(f) + ": RBP " + hex(slot) + " is not 8-byte aligned.");
      break;
    }
    if (!verify(link, CheckKind::InStack, in_stack(slot, 16),
                [&] { return hex(slot) + " is outside the stack"; })) {
      keep(std::move(link));
      stop(ChainEnd::OutOfStack, label(f) + ": RBP " + hex(slot) +
                                     " is outside the thread's stack [" + hex(stack_->low) + ", " +
                                     hex(stack_->high) + ").");
      break;
    }
    if (slot < floor) {
      const bool cycle = std::binary_search(visited_.begin(), visited_.end(), slot);
      check(link, CheckKind::Monotonic, false, hex(slot) + " is below " + hex(floor));
      if (cycle) {
        check(link, CheckKind::NoCycle, false, hex(slot) + " was visited before");
        keep(std::move(link));
        stop(ChainEnd::Cycle, label(f) + ": RBP " + hex(slot) +
                                  " points back to a pair already walked: the chain loops.");
      } else {
        keep(std::move(link));
        stop(ChainEnd::NotMonotonic, label(f) + ": RBP " + hex(slot) + " is below " + hex(floor) +
                                         ", where a caller's frame cannot be.");
      }
      break;
    }
    check(link, CheckKind::Monotonic, true);
    check(link, CheckKind::NoCycle, true);
    const auto saved = image_->u64(slot);
    const auto ret = image_->u64(slot + 8);
    if (!saved || !ret) {
      check(link, CheckKind::Readable, false, "the pair at " + hex(slot) + " cannot be read");
      keep(std::move(link));
      stop(ChainEnd::Unreadable, label(f) + ": the pair at RBP " + hex(slot) + " cannot be read.");
      break;
    }
    f.cfa = slot + 16;
    f.saved_rbp_slot = slot;
    visited_.push_back(slot);
    link.saved_rbp = *saved;
    link.return_address = *ret;
    if (*ret == 0) {
      keep(std::move(link));
      stop(ChainEnd::Outermost, label(f) + " has return address 0: it is the outermost frame.");
      break;
    }
    const Ret kind = check_return(link, *ret, slot + 8);
    keep(std::move(link));
    if (kind == Ret::Bad)
      break;
    if (frames_.size() >= options_.max_depth) {
      stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " +
                                   std::to_string(options_.max_depth) +
                                   " frames; the chain goes on.");
      break;
    }
    if (kind == Ret::Signal) {
      const uint64_t handler_cfa = slot + 16;
      slot = *saved;
      if (!through_signal_frame(*ret, handler_cfa, slot, floor, UnwindMethod::FramePointer))
        break;
      continue;
    }
    push_frame(*ret, slot + 16, *saved, UnwindMethod::FramePointer);
    floor = slot + 16;
    slot = *saved;
  }
  return finish();
}

} // namespace

WalkResult walk_rbp_chain(TargetCache &cache, const ThreadSnapshot &thread,
                          const WalkOptions &options) {
  Walker w(cache, thread, options);
  return w.run();
}

} // namespace frameaudit::detail
