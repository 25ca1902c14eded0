// walker_test.cpp: the RBP walker on hand-made stacks: every link check,
// every chain_end reason, frame 0 in each position, thread selection.
#include <gtest/gtest.h>

#include "frameaudit/analysis.h"
#include "analysis_test_util.h"

using namespace frameaudit;
using namespace fa_test;

namespace {

using Names = std::vector<std::string>;

class WalkerTest : public ::testing::Test {
protected:
  void SetUp() override { standard_functions(img, /*audit=*/true); }
  const ThreadReport &thread0(const Report &r) { return r.threads.at(0); }
  MemoryImage img;
};

TEST_F(WalkerTest, WalksToOutermostAndChecksEveryLink) {
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  const auto &t = thread0(r);
  EXPECT_EQ(function_names(t), (Names{"work", "main", "_start"})) << img.dump(sim.rsp, img.stack_high());
  EXPECT_EQ(t.chain_end, ChainEnd::Outermost) << t.chain_end_detail;
  EXPECT_NE(t.chain_end_detail.find("_start"), std::string::npos);
  ASSERT_EQ(t.links.size(), 2u);
  for (const auto &l : t.links)
    for (const auto &c : l.checks)
      EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
  // The link of main's frame names the call to work.
  ASSERT_TRUE(t.links[0].call_target);
  EXPECT_EQ(*t.links[0].call_target, img.addr("work"));
  const uint64_t H = img.stack_high() - 0x100;
  // work: CFA = its pair + 16, static 48 (ret, rbp, rbx, 24).
  EXPECT_EQ(t.frames[0].cfa, H - 48);
  EXPECT_EQ(t.frames[0].static_size, 48);
  EXPECT_EQ(t.frames[0].span, 48);
  EXPECT_EQ(t.frames[0].kind, FrameKind::Normal);
  // main at the return address, file/line from the call (pc - 1).
  EXPECT_EQ(t.frames[1].pc, img.ret_after("main", "c"));
  EXPECT_EQ(t.frames[1].rsp, H - 48);
  EXPECT_EQ(t.frames[1].cfa, H);
  EXPECT_EQ(t.frames[1].line, 100 + (img.ret_after("main", "c") - 1 - img.addr("main")));
  EXPECT_EQ(t.frames[1].kind, FrameKind::Normal);
  EXPECT_FALSE(t.frames[2].cfa);
  EXPECT_EQ(r.findings.size(), 0u) << r.findings[0].message;
}

TEST_F(WalkerTest, FrameZeroBeforePushRbp) {
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.call("main", "c");
  img.thread(sim.regs(img.pc("work", "entry")));
  Report r = analyze_image(img);
  EXPECT_EQ(function_names(thread0(r)), (Names{"work", "main", "_start"}));
  EXPECT_EQ(thread0(r).frames[0].span, 8);
  EXPECT_EQ(thread0(r).frames[0].static_size, 8);
  EXPECT_EQ(thread0(r).frames[0].kind, FrameKind::Normal);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Outermost);
}

TEST_F(WalkerTest, FrameZeroAfterPushBeforeMov) {
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.call("main", "c");
  sim.push(sim.rbp, "work's push %rbp");
  // RBP still holds main's frame: the walk must not take it as work's.
  img.thread(sim.regs(img.pc("work", "after_push")));
  Report r = analyze_image(img);
  EXPECT_EQ(function_names(thread0(r)), (Names{"work", "main", "_start"}));
  EXPECT_EQ(thread0(r).frames[0].span, 16);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Outermost);
}

TEST_F(WalkerTest, FrameZeroInEpilogueAtRet) {
  StackSim sim = enter_work(img);
  sim.leave_ret();
  sim.rsp -= 8; // at the ret: return address at RSP
  img.thread(sim.regs(img.pc("work", "ret")));
  Report r = analyze_image(img);
  EXPECT_EQ(function_names(thread0(r)), (Names{"work", "main", "_start"}));
  EXPECT_EQ(thread0(r).frames[0].span, 8);
  EXPECT_EQ(thread0(r).frames[1].rsp, img.stack_high() - 0x100 - 48);
}

TEST_F(WalkerTest, FrameZeroInFramelessLeaf) {
  StackSim sim = enter_work(img);
  sim.call("work", "c");
  sim.rsp -= 24; // leaf: sub $24,%rsp
  img.thread(sim.regs(img.pc("leaf", "body")));
  Report r = analyze_image(img);
  const auto &t = thread0(r);
  EXPECT_EQ(function_names(t), (Names{"leaf", "work", "main", "_start"}));
  EXPECT_EQ(t.frames[0].span, 32);
  EXPECT_EQ(t.frames[0].static_size, 32);
  EXPECT_EQ(t.frames[0].kind, FrameKind::Normal);
  EXPECT_EQ(t.frames[1].pc, img.ret_after("work", "c"));
  EXPECT_EQ(t.chain_end, ChainEnd::Outermost);
}

// Inside sra_alloc, at every stage of the relocation, the caller is frame 1
// with the right RSP.
TEST_F(WalkerTest, FrameZeroInsideAllocatorAtEachStage) {
  for (const char *stage : {"entry", "after_push", "after_mov", "after_sub", "after_relocate", "ret"}) {
    SCOPED_TRACE(stage);
    MemoryImage m;
    standard_functions(m, true);
    StackSim sim = enter_work(m);
    const uint64_t R = sim.rsp;
    const uint64_t ret = m.ret_after("work", "a");
    const uint64_t reserved = 48 + 32;
    const std::string s = stage;
    sim.push(ret, "return address into work (a)");
    uint64_t caller_rsp = R; // work's RSP as frame 1 sees it
    if (s != "entry") {
      sim.push(sim.rbp, "sra_alloc: push %rbp");
      if (s != "after_push") {
        const uint64_t work_rbp = sim.rbp;
        sim.rbp = sim.rsp;
        if (s == "after_sub" || s == "after_relocate" || s == "ret") {
          sim.rsp -= reserved;
          m.put64(sim.rsp, work_rbp, "relocated stub copy: rbp");
          m.put64(sim.rsp + 8, ret, "relocated stub copy: ret");
        }
        if (s == "after_relocate" || s == "ret") {
          sim.rbp = sim.rsp;
          caller_rsp = R - reserved;
        }
        if (s == "ret") {
          sim.rsp = sim.rbp + 8;
          sim.rbp = work_rbp;
        }
      }
    }
    m.thread(sim.regs(m.pc("sra_alloc", s == "after_sub" ? "after_sub" : s == "after_relocate" ? "after_relocate" : s)));
    Report r = analyze_image(m);
    const auto &t = r.threads.at(0);
    EXPECT_EQ(function_names(t), (Names{"sra_alloc", "work", "main", "_start"})) << t.chain_end_detail;
    EXPECT_EQ(t.frames[0].kind, FrameKind::Allocator);
    ASSERT_GE(t.frames.size(), 2u);
    EXPECT_EQ(t.frames[1].rsp, caller_rsp);
    EXPECT_EQ(t.chain_end, ChainEnd::Outermost);
  }
}

TEST_F(WalkerTest, MisalignedSavedRbp) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp, img.get64(sim.rbp) + 4, "corrupted saved rbp (odd)");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Misaligned);
  EXPECT_EQ(function_names(thread0(r)), (Names{"work", "main"}));
  EXPECT_FALSE(thread0(r).links.back().checks.back().passed);
  EXPECT_EQ(thread0(r).links.back().checks.back().name, "aligned");
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].kind, "broken-chain");
  EXPECT_EQ(r.findings[0].severity, Severity::Error);
}

TEST_F(WalkerTest, SavedRbpOutsideStack) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp, 0x601000, "saved rbp into .data");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::OutOfStack);
  EXPECT_EQ(thread0(r).frames.size(), 2u);
}

TEST_F(WalkerTest, SavedRbpGoingDownIsNotMonotonic) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp, sim.rbp - 64, "saved rbp below the frame");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::NotMonotonic);
}

TEST_F(WalkerTest, SavedRbpPointingBackIsACycle) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp, sim.rbp, "work's saved rbp points at its own pair");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Cycle) << thread0(r).chain_end_detail;
  EXPECT_EQ(thread0(r).links.back().checks.back().name, "no_cycle");
}

TEST_F(WalkerTest, ReturnAddressOutsideCode) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp + 8, 0x7ffff7ff0000, "return address into a non-executable mapping");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::BadReturnAddress);
  EXPECT_EQ(thread0(r).links.back().checks.back().name, "return_in_code");
  EXPECT_EQ(thread0(r).frames.size(), 1u);
}

TEST_F(WalkerTest, ReturnAddressNotAfterCall) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp + 8, img.addr("main") + 1, "return address into main's prologue (no call before)");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::BadReturnAddress);
  EXPECT_EQ(thread0(r).links.back().checks.back().name, "call_before_return");
}

TEST_F(WalkerTest, UnreadablePair) {
  StackSim sim = enter_work(img);
  const uint64_t main_rbp = img.get64(sim.rbp);
  img.hole(main_rbp); // the page holds both pairs: work's own pair is lost
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Unreadable) << thread0(r).chain_end_detail;
  EXPECT_EQ(function_names(thread0(r)), (Names{"work"}));
  EXPECT_EQ(thread0(r).links.back().checks.back().name, "readable");
}

TEST_F(WalkerTest, MaxDepth) {
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  AnalysisOptions opt;
  opt.max_depth = 2;
  Report r = analyze_image(img, opt);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::MaxDepth);
  EXPECT_EQ(thread0(r).frames.size(), 2u);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].severity, Severity::Warning);
}

TEST_F(WalkerTest, NullRbpInAFramePointerFunction) {
  StackSim sim = enter_work(img);
  img.put64(sim.rbp, 0, "work's saved rbp zeroed");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::NullRbp) << thread0(r).chain_end_detail;
  EXPECT_EQ(function_names(thread0(r)), (Names{"work", "main"}));
}

TEST_F(WalkerTest, ZeroReturnAddressIsOutermost) {
  StackSim sim = enter_work(img);
  const uint64_t main_rbp = img.get64(sim.rbp);
  img.put64(main_rbp + 8, 0, "main's return address 0");
  img.put64(main_rbp, 0x1234, "garbage rbp above the last frame");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Outermost);
  EXPECT_EQ(function_names(thread0(r)), (Names{"work", "main"}));
}

TEST_F(WalkerTest, ZeroRbpInFunctionWithoutFramePointerIsOutermost) {
  // leaf has no frame pointer; stopping in it with RBP 0 ends the chain.
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("work", "c");
  sim.rsp -= 24;
  sim.rbp = 0;
  img.thread(sim.regs(img.pc("leaf", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(function_names(thread0(r)), (Names{"leaf", "work"}));
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::NullRbp); // work keeps a frame pointer
}

TEST_F(WalkerTest, RspOutsideAnyMapping) {
  Registers regs;
  regs.rip = img.pc("work", "body");
  regs.rsp = 0x1000;
  regs.rbp = 0x1000;
  img.thread(regs);
  Report r = analyze_image(img);
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::OutOfStack);
  EXPECT_FALSE(thread0(r).stack);
  EXPECT_EQ(thread0(r).frames.size(), 1u);
}

TEST_F(WalkerTest, NoMemoryMapProbesTheStack) {
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  img.no_regions = true;
  Report r = analyze_image(img);
  // Without a memory map, code is what the debugger symbolizes into a
  // module's function (as in a gcore core, which leaves libc's text out of
  // its map): the chain is walked to its end.
  EXPECT_EQ(thread0(r).chain_end, ChainEnd::Outermost);
  ASSERT_TRUE(thread0(r).stack);
  EXPECT_EQ(thread0(r).stack->high, img.stack_high());
}

TEST_F(WalkerTest, DeepRecursionIsCachedAndIterative) {
  MemoryImage m(0x7fff00000000, 0x7fff00000000 + (8u << 20));
  auto &s = m.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "rec"}};
  auto &rec = m.fn("rec");
  rec.sub = 16;
  rec.body = {{"c", "rec"}, {"stop", ""}};
  m.build();
  StackSim sim(m, m.stack_high() - 0x100);
  sim.call("_start", "c");
  const int depth = 100000;
  FnSpec spec = frame_of("rec", 16);
  for (int i = 0; i < depth; ++i) {
    sim.enter(spec);
    if (i + 1 < depth)
      sim.call("rec", "c");
  }
  m.thread(sim.regs(m.pc("rec", "body")));
  Report r = analyze_image(m);
  EXPECT_EQ(r.threads[0].frames.size(), static_cast<size_t>(depth) + 1);
  EXPECT_EQ(r.threads[0].chain_end, ChainEnd::Outermost);
  EXPECT_LT(m.symbolize_count, 20u);
  EXPECT_LT(m.reads, 50u); // one bulk stack read, code once per function
}

TEST_F(WalkerTest, UnsupportedArchitecture) {
  img.target_info.arch = "aarch64";
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  auto r = analyze(img, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Error::Code::UnsupportedArch);
}

TEST_F(WalkerTest, NoThreads) {
  auto r = analyze(img, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Error::Code::NoProcess);
}

TEST_F(WalkerTest, ThreadSelection) {
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")), 500);
  img.thread(sim.regs(img.pc("work", "body")), 501).is_selected = true;
  img.thread_list[0].is_selected = false;
  img.thread(sim.regs(img.pc("work", "body")), 502);

  Report def = analyze_image(img);
  ASSERT_EQ(def.threads.size(), 1u);
  EXPECT_EQ(def.threads[0].tid, 501u); // the selected thread

  AnalysisOptions by_index;
  by_index.threads = {3};
  EXPECT_EQ(analyze_image(img, by_index).threads.at(0).tid, 502u);

  AnalysisOptions by_tid;
  by_tid.threads = {500, 3};
  Report two = analyze_image(img, by_tid);
  ASSERT_EQ(two.threads.size(), 2u);
  EXPECT_EQ(two.threads[0].tid, 500u);
  EXPECT_EQ(two.threads[1].tid, 502u);

  AnalysisOptions all;
  all.all_threads = true;
  Report every = analyze_image(img, all);
  EXPECT_EQ(every.threads.size(), 3u);
  EXPECT_EQ(every.summary.threads, 3u);
  EXPECT_EQ(every.summary.frames, 9u);

  AnalysisOptions missing;
  missing.threads = {42};
  auto bad = analyze(img, missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Error::Code::InvalidArgument);

  int calls = 0;
  all.progress = [&](size_t done, size_t total) {
    ++calls;
    EXPECT_EQ(total, 3u);
    EXPECT_LE(done, total);
  };
  analyze_image(img, all);
  EXPECT_EQ(calls, 3);
}

// A signal handler's return address is the sigreturn trampoline, which
// nothing calls; the kernel's signal frame above it holds the interrupted
// registers, and the walk goes on from there (the interrupted frame may be
// anywhere in its function, like frame 0).
TEST(SignalFrames, WalkThroughTheKernelFrame) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 32;
  m.body = {{"c", "inner"}};
  auto &in = img.fn("inner");
  in.sub = 16;
  in.body = {{"x", ""}};
  auto &h = img.fn("handler");
  h.sub = 16;
  h.body = {{"stop", ""}};
  auto &t = img.fn("__restore_rt");
  t.frame_pointer = false;
  t.raw_code = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05}; // mov $15,%rax; syscall
  img.build();
  StackSim sim(img, img.stack_high() - 0x400);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.call("main", "c");
  sim.enter(frame_of("inner", 16));
  const Registers interrupted = sim.regs(img.pc("inner", "body"));
  // The kernel: red zone, then rt_sigframe {pretcode, ucontext {..., mcontext}}.
  const uint64_t frame = ((interrupted.rsp - 128 - 1024) & ~uint64_t{15}) - 8;
  const uint64_t uc = frame + 8;
  img.put64(frame, img.addr("__restore_rt"), "rt_sigframe.pretcode: return into the trampoline");
  img.put64(uc + 40 + 8 * 10, interrupted.rbp, "mcontext: rbp");
  img.put64(uc + 40 + 8 * 15, interrupted.rsp, "mcontext: rsp");
  img.put64(uc + 40 + 8 * 16, interrupted.rip, "mcontext: rip");
  sim.rsp = frame;
  sim.enter(frame_of("handler", 16));
  img.thread(sim.regs(img.pc("handler", "body")));
  auto r = analyze(img, {});
  ASSERT_TRUE(r.ok());
  const auto &th = r->threads[0];
  EXPECT_EQ(function_names(th), (Names{"handler", "__restore_rt", "inner", "main", "_start"})) << th.chain_end_detail;
  EXPECT_EQ(th.chain_end, ChainEnd::Outermost);
  EXPECT_EQ(th.frames[1].note, "signal frame (sigreturn trampoline)");
  EXPECT_EQ(th.frames[1].rsp, uc);
  EXPECT_EQ(th.frames[1].cfa, interrupted.rsp);
  EXPECT_EQ(th.frames[2].pc, interrupted.rip);
  EXPECT_EQ(th.frames[2].line, 100 + (interrupted.rip - img.addr("inner"))); // the pc itself, not pc - 1
  EXPECT_EQ(th.frames[2].kind, FrameKind::Normal);
  EXPECT_EQ(th.frames[3].pc, img.ret_after("main", "c"));
  bool trampoline = false;
  for (const auto &l : th.links)
    for (const auto &c : l.checks)
      trampoline |= c.name == "signal_trampoline";
  EXPECT_TRUE(trampoline);
  EXPECT_TRUE(r->findings.empty()) << r->findings[0].message;
}

TEST_F(WalkerTest, LinksCanBeLeftOut) {
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  AnalysisOptions opt;
  opt.record_links = false;
  Report r = analyze_image(img, opt);
  EXPECT_TRUE(r.threads[0].links.empty());
  EXPECT_EQ(function_names(r.threads[0]), (Names{"work", "main", "_start"}));
  EXPECT_EQ(r.threads[0].frames[0].cfa, img.stack_high() - 0x100 - 48);
}

// Frame 0 found from RSP gets a link of its own in the chain view: where its
// return address was read and how.
TEST_F(WalkerTest, FrameZeroLinkSaysHow) {
  StackSim sim = enter_work(img);
  sim.call("work", "c");
  sim.rsp -= 24;
  img.thread(sim.regs(img.pc("leaf", "body")));
  Report r = analyze_image(img);
  const auto &l = r.threads[0].links.at(0);
  EXPECT_EQ(l.return_address, img.ret_after("work", "c"));
  EXPECT_EQ(l.address + 8, sim.rsp + 24);
  ASSERT_FALSE(l.checks.empty());
  EXPECT_EQ(l.checks[0].name, "frame0");
  EXPECT_NE(l.checks[0].detail.find("RSP + 24"), std::string::npos) << l.checks[0].detail;
  ASSERT_TRUE(l.call_target);
  EXPECT_EQ(*l.call_target, img.addr("leaf"));
}

TEST_F(WalkerTest, StackReadOnceInBulk) {
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  analyze_image(img);
  // One stack read, the code of each function on the chain, the bytes before
  // each distinct return address, plus the allocator's code.
  EXPECT_LE(img.reads, 10u);
}

} // namespace
