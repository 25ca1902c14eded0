// cfi_unwind_test.cpp: the unwinder's CFI step against real CFI. The test
// process unwinds its own stack: a chain of functions built without frame
// pointers takes a snapshot of the stack and of its caller's registers, and
// the walker, given this process's modules (the test binary, libc, libstdc++,
// ...), must find the same return addresses as glibc's backtrace(), which
// unwinds with libgcc's CFI reader: two unwinders nobody here wrote agree
// frame for frame, bottom frames included. Plus the rule evaluator on
// hand-written rows, annotated the way libdw hands them over.
#include <dwarf.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "frameaudit/analysis.h"
#include "self_target_test_util.h"
#include "unwind/cfi_eval.h"
#include "unwind/thread_snapshot.h"
#include "unwind/walk.h"

namespace frameaudit::detail {
namespace {

Snapshot g_snap;

__attribute__((noinline)) void take_snapshot_here() {
  snapshot_caller(g_snap, /*with_backtrace=*/true);
}

// Frameless callers with frames of different sizes: only CFI unwinds them.
__attribute__((noinline, optimize("omit-frame-pointer"))) int frameless_leaf(int x) {
  volatile char pad[40];
  pad[x & 7] = static_cast<char>(x);
  take_snapshot_here();
  return pad[x & 7] + 1;
}
__attribute__((noinline, optimize("omit-frame-pointer"))) int frameless_middle(int x) {
  volatile long pad[9];
  pad[x & 3] = x;
  return frameless_leaf(static_cast<int>(pad[x & 3]) + 1) + 2;
}
__attribute__((noinline, optimize("omit-frame-pointer"))) int frameless_outer(int x) {
  volatile int pad[3];
  pad[x & 1] = x;
  return frameless_middle(pad[x & 1] + 1) + 3;
}

TEST(CfiUnwind, OwnStackMatchesGlibcBacktraceFrameForFrame) {
  volatile int seed = 1;
  EXPECT_GT(frameless_outer(seed), 0);
  ASSERT_FALSE(g_snap.stack.empty());
  SelfTarget target(g_snap);
  TargetCache cache(target);
  ThreadSnapshot snap = take_snapshot(cache, target.threads().front(), 0);
  WalkResult walk = walk_rbp_chain(cache, snap, WalkOptions{});
  std::vector<uint64_t> pcs;
  for (const Frame &f : walk.frames)
    pcs.push_back(f.pc);
  ASSERT_GE(g_snap.backtrace.size(), 8u); // three frameless frames, the test, gtest, main, libc
  // backtrace() lists the same frames; it may stop a frame short of _start.
  ASSERT_GE(pcs.size(), g_snap.backtrace.size()) << walk.detail;
  for (size_t i = 0; i < g_snap.backtrace.size(); ++i)
    EXPECT_EQ(pcs[i], g_snap.backtrace[i]) << "frame " << i << "; walk ended: " << walk.detail;
  EXPECT_EQ(walk.end, ChainEnd::Outermost) << walk.detail;
  for (size_t i = 1; i < walk.frames.size(); ++i)
    EXPECT_NE(walk.frames[i].unwind, UnwindMethod::Scan) << "frame " << i;
  // The three frameless frames were found by CFI, not by a frame pointer.
  EXPECT_EQ(walk.frames[1].unwind, UnwindMethod::Cfi);
  EXPECT_EQ(walk.frames[2].unwind, UnwindMethod::Cfi);
  EXPECT_EQ(walk.frames[3].unwind, UnwindMethod::Cfi);
  // glibc's and gtest's frame-pointer functions agree with their CFI.
  EXPECT_TRUE(walk.disagreements.empty());
}

TEST(CfiUnwind, ModuleRowAtAFunctionEntryIsCfaRspPlus8) {
  Snapshot none;
  SelfTarget target(none);
  ModuleSet modules(target);
  const uint64_t entry = reinterpret_cast<uint64_t>(&frameless_middle);
  const CfiRow *row = modules.row_at(entry);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->cfa_reg, kRsp);
  EXPECT_EQ(row->cfa_offset, 8);
  EXPECT_TRUE(modules.is_module_code(entry));
  EXPECT_FALSE(modules.is_module_code(reinterpret_cast<uint64_t>(&g_snap)));
  const ModuleFacts *m = modules.module_at(entry);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->file_build_id.has_value());
  EXPECT_EQ(modules.row_at(0x10), nullptr); // no module there
}

// A function that keeps a frame pointer but whose CFI forgets it: after
// `mov %rsp,%rbp; sub $32,%rsp` its CFA is still RSP + 16, and the slot that
// rule takes for the return address holds 0x1234. It calls the function
// in %rdi, and returns what that returns.
extern "C" void fa_wrong_cfi(void (*callee)());
extern "C" char fa_wrong_cfi_end[];
asm(R"(
  .text
  .globl fa_wrong_cfi
  .type fa_wrong_cfi, @function
fa_wrong_cfi:
  .cfi_startproc
  push %rbp
  .cfi_def_cfa_offset 16
  .cfi_offset %rbp, -16
  mov %rsp, %rbp
  sub $32, %rsp
  movq $0x1234, 8(%rsp)
  movq $0x1234, (%rsp)
  call *%rdi
  leave
  .cfi_def_cfa %rsp, 8
  ret
  .cfi_endproc
  .globl fa_wrong_cfi_end
fa_wrong_cfi_end:
  .size fa_wrong_cfi, fa_wrong_cfi_end - fa_wrong_cfi
)");

// The running process with one symbol: fa_wrong_cfi (so its prologue is
// decoded); everything else is unwound by CFI alone.
class WrongCfiTarget : public SelfTarget {
public:
  using SelfTarget::SelfTarget;
  Symbol symbolize(uint64_t pc) override {
    const auto start = reinterpret_cast<uint64_t>(&fa_wrong_cfi);
    const auto end = reinterpret_cast<uint64_t>(&fa_wrong_cfi_end[0]);
    Symbol s;
    if (pc >= start && pc < end) {
      s.function = "fa_wrong_cfi";
      s.function_start = start;
      s.function_end = end;
    }
    return s;
  }
};

Snapshot g_wrong_snap;
// Not a tail call: this frame sits between the snapshot and fa_wrong_cfi,
// so fa_wrong_cfi is a caller (frame 1), unwound by its CFI.
__attribute__((noinline)) void snapshot_in_wrong_cfi() {
  snapshot_caller(g_wrong_snap, false);
  asm volatile("" ::: "memory");
}

TEST(CfiUnwind, CfiThatContradictsTheFramePointerIsAFindingAndTheCheckedLinkWins) {
  fa_wrong_cfi(&snapshot_in_wrong_cfi);
  ASSERT_FALSE(g_wrong_snap.stack.empty());
  WrongCfiTarget target(g_wrong_snap);
  TargetCache cache(target);
  ThreadSnapshot snap = take_snapshot(cache, target.threads().front(), 0);
  WalkResult walk = walk_rbp_chain(cache, snap, WalkOptions{});
  ASSERT_GE(walk.frames.size(), 4u) << walk.detail;
  const auto start = reinterpret_cast<uint64_t>(&fa_wrong_cfi);
  EXPECT_GT(walk.frames[1].pc, start);
  EXPECT_LT(walk.frames[1].pc, reinterpret_cast<uint64_t>(&fa_wrong_cfi_end[0]));
  // The CFI's "return address" 0x1234 fails the link checks: the RBP pair
  // leads to this test, and the walk reaches the thread's beginning.
  EXPECT_EQ(walk.frames[2].unwind, UnwindMethod::FramePointer);
  EXPECT_EQ(walk.end, ChainEnd::Outermost) << walk.detail;
  ASSERT_EQ(walk.disagreements.size(), 1u);
  const UnwindDisagreement &d = walk.disagreements[0];
  EXPECT_EQ(d.frame, 1u);
  EXPECT_EQ(d.cfi_return, std::optional<uint64_t>(0x1234));
  EXPECT_EQ(d.rbp_return, walk.frames[2].pc);
  EXPECT_FALSE(d.cfi_believed);

  // Through the whole analysis: one cfi-mismatch warning at frame 1.
  AnalysisOptions options;
  options.compare_unwinder = false;
  auto report = analyze(target, options);
  ASSERT_TRUE(report.ok());
  size_t mismatches = 0;
  for (const Finding &f : report.value().findings)
    if (f.kind == "cfi-mismatch") {
      ++mismatches;
      EXPECT_EQ(f.severity, Severity::Warning);
      EXPECT_EQ(f.frame, std::optional<uint32_t>(1));
      EXPECT_NE(f.message.find("The RBP link is believed"), std::string::npos) << f.message;
      EXPECT_NE(f.message.find("0x1234"), std::string::npos) << f.message;
    }
  EXPECT_EQ(mismatches, 1u) << [&] {
    std::string all;
    for (const Finding &f : report.value().findings)
      all += f.kind + ": " + f.message + "\n";
    return all;
  }();
}

// A handler on an alternate signal stack near the bottom of a big mapping
// (as Python's faulthandler runs on a block of its heap): the walk goes
// back to the interrupted stack, and the thread's stack is judged there,
// not by the handler's few KiB.
Snapshot g_alt_snap;
__attribute__((noinline)) void snapshot_in_handler(int, siginfo_t *, void *context) {
  snapshot_caller(g_alt_snap, false);
  // The interrupted stack, as it is now, up to the end of its mapping.
  const auto rsp =
      static_cast<uint64_t>(static_cast<ucontext_t *>(context)->uc_mcontext.gregs[REG_RSP]);
  SelfTarget probe(g_alt_snap);
  for (const MemoryRegion &r : probe.memory_regions())
    if (rsp >= r.start && rsp < r.end) {
      g_alt_snap.other_low = rsp & ~uint64_t{15};
      g_alt_snap.other.assign(reinterpret_cast<uint8_t *>(g_alt_snap.other_low),
                              reinterpret_cast<uint8_t *>(r.end));
    }
  asm volatile("" ::: "memory");
}

TEST(CfiUnwind, HandlerOnAnAlternateStackLeadsBackAndIsNotAnExhaustedStack) {
  constexpr size_t kMapping = 1 << 20, kAltStack = 32 * 1024;
  // Guard pages on both sides keep the kernel from merging it with a
  // neighbouring anonymous mapping.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void *reserved =
      mmap(nullptr, kMapping + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(reserved, MAP_FAILED);
  void *mapping = static_cast<char *>(reserved) + page;
  ASSERT_EQ(mprotect(mapping, kMapping, PROT_READ | PROT_WRITE), 0);
  stack_t alt{}, old{};
  alt.ss_sp = mapping;
  alt.ss_size = kAltStack;
  ASSERT_EQ(sigaltstack(&alt, &old), 0);
  struct sigaction sa {
  }, old_sa{};
  sa.sa_sigaction = snapshot_in_handler;
  sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old_sa), 0);
  raise(SIGUSR2);
  sigaction(SIGUSR2, &old_sa, nullptr);
  sigaltstack(&old, nullptr);
  const auto low = reinterpret_cast<uint64_t>(mapping);
  ASSERT_GE(g_alt_snap.regs.rsp, low);
  ASSERT_LT(g_alt_snap.regs.rsp, low + kAltStack);

  SelfTarget target(g_alt_snap);
  TargetCache cache(target);
  ThreadSnapshot snap = take_snapshot(cache, target.threads().front(), 0);
  WalkResult walk = walk_rbp_chain(cache, snap, WalkOptions{});
  EXPECT_EQ(walk.end, ChainEnd::Outermost) << walk.detail;
  ASSERT_TRUE(walk.interrupted_stack.has_value());
  EXPECT_FALSE(walk.interrupted_rsp >= low && walk.interrupted_rsp < low + kMapping);
  bool signal_frame = false;
  for (const Frame &f : walk.frames)
    signal_frame |= f.note.value_or("").find("signal frame") != std::string::npos;
  EXPECT_TRUE(signal_frame);

  AnalysisOptions options;
  options.compare_unwinder = false;
  auto report = analyze(target, options);
  munmap(reserved, kMapping + 2 * page);
  ASSERT_TRUE(report.ok());
  // The handler has under 32 KiB of a 1 MiB mapping left: judged by that
  // mapping it would be a stack-exhaustion-risk warning.
  for (const Finding &f : report.value().findings)
    EXPECT_NE(f.kind, "stack-exhaustion-risk") << f.message;
  for (const auto &t : report.value().threads)
    std::cerr << "STACK " << (t.stack ? t.stack->high - t.stack->low : 0) << " rsp-low "
              << (t.stack ? t.registers.rsp - t.stack->low : 0) << " findings "
              << report.value().findings.size() << "\n";
}

std::optional<uint64_t> no_memory(uint64_t) {
  return std::nullopt;
}

CfiRule expr_rule(std::vector<CfiOp> ops) {
  CfiRule rule;
  rule.kind = CfiRule::Kind::Expr;
  rule.ops = std::move(ops);
  return rule;
}

TEST(CfiEval, RulesAsLibdwGivesThem) {
  RegState regs;
  regs.set(kRsp, 0x7000);
  regs.set(kRbp, 0x8000);
  // DW_CFA_def_cfa rsp+24 arrives as DW_OP_bregx 7 24.
  CfiRule cfa = expr_rule({{DW_OP_bregx, kRsp, 24}});
  EXPECT_EQ(eval_rule(cfa, regs, std::nullopt, no_memory), 0x7018u);
  // DW_CFA_offset rbp, -16: DW_OP_call_frame_cfa; DW_OP_consts -16; DW_OP_plus.
  CfiRule saved = expr_rule({{DW_OP_call_frame_cfa, 0, 0},
                             {DW_OP_consts, static_cast<uint64_t>(-16), 0},
                             {DW_OP_plus, 0, 0}});
  EXPECT_EQ(eval_rule(saved, regs, 0x7018, no_memory), 0x7008u);
  // glibc's __restore_rt: CFA = [rsp + 160] (DW_OP_breg7 160; DW_OP_deref).
  CfiRule sig = expr_rule({{DW_OP_breg7, 160, 0}, {DW_OP_deref, 0, 0}});
  auto memory = [](uint64_t a) {
    return a == 0x70a0 ? std::optional<uint64_t>(0x9000) : std::nullopt;
  };
  EXPECT_EQ(eval_rule(sig, regs, std::nullopt, memory), 0x9000u);
  // A deref that cannot be read, an unknown register, an unknown op: no value.
  EXPECT_EQ(eval_rule(sig, regs, std::nullopt, no_memory), std::nullopt);
  CfiRule r12 = expr_rule({{DW_OP_breg12, 8, 0}});
  EXPECT_EQ(eval_rule(r12, regs, std::nullopt, no_memory), std::nullopt);
  CfiRule odd = expr_rule({{DW_OP_GNU_push_tls_address, 0, 0}});
  EXPECT_EQ(eval_rule(odd, regs, std::nullopt, no_memory), std::nullopt);
  // The stack is bounded: 40 pushes fail instead of overflowing.
  CfiRule deep = expr_rule(std::vector<CfiOp>(40, CfiOp{DW_OP_lit1, 0, 0}));
  EXPECT_EQ(eval_rule(deep, regs, std::nullopt, no_memory), std::nullopt);
}

} // namespace
} // namespace frameaudit::detail
