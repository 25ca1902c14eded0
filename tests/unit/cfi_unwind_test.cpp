// cfi_unwind_test.cpp: the unwinder's CFI step against real CFI. The test
// process unwinds its own stack: a chain of functions built without frame
// pointers takes a snapshot of the stack and of its caller's registers, and
// the walker, given this process's modules (the test binary, libc, libstdc++,
// ...), must find the same return addresses as glibc's backtrace(), which
// unwinds with libgcc's CFI reader: two unwinders nobody here wrote agree
// frame for frame, bottom frames included. Plus the rule evaluator on
// hand-written rows, annotated the way libdw hands them over.
#include <dwarf.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "self_target_test_util.h"
#include "unwind/cfi_eval.h"
#include "unwind/thread_snapshot.h"
#include "unwind/walk.h"

namespace frameaudit::detail {
namespace {

Snapshot g_snap;

__attribute__((noinline)) void take_snapshot_here() { snapshot_caller(g_snap, /*with_backtrace=*/true); }

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

std::optional<uint64_t> no_memory(uint64_t) { return std::nullopt; }

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
  CfiRule saved =
      expr_rule({{DW_OP_call_frame_cfa, 0, 0}, {DW_OP_consts, static_cast<uint64_t>(-16), 0}, {DW_OP_plus, 0, 0}});
  EXPECT_EQ(eval_rule(saved, regs, 0x7018, no_memory), 0x7008u);
  // glibc's __restore_rt: CFA = [rsp + 160] (DW_OP_breg7 160; DW_OP_deref).
  CfiRule sig = expr_rule({{DW_OP_breg7, 160, 0}, {DW_OP_deref, 0, 0}});
  auto memory = [](uint64_t a) { return a == 0x70a0 ? std::optional<uint64_t>(0x9000) : std::nullopt; };
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
