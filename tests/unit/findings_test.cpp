// findings_test.cpp: every finding kind's rule on hand-made stacks (the
// region findings, relocated-frame, region-overflow and dangling-pointer, are
// also exercised in regions_test.cpp), frame kinds, and frames without frame
// pointer above frame 0.
#include <gtest/gtest.h>

#include "frameaudit/analysis.h"
#include "analysis_test_util.h"

using namespace frameaudit;
using namespace fa_test;

namespace {

TEST(Findings, CleanStackHasNone) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim = enter_work(img);
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.summary.errors + r.summary.warnings + r.summary.notes, 0u);
}

// A raw sra_alloc in a function returning through `add $N,%rsp`: the chain
// breaks at it, and the finding names it as the likely cause.
TEST(Findings, BrokenChainNamesTheUnsafeCaller) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 16;
  m.body = {{"c", "unsafe"}};
  auto &u = img.fn("unsafe");
  u.pushes = {3};
  u.sub = 8;
  u.exit = Exit::AddRsp;
  u.body = {{"a", "sra_alloc"}, {"stop", ""}};
  img.allocator(false);
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 16));
  sim.call("main", "c");
  sim.enter(frame_of("unsafe", 8, {3}));
  img.put64(sim.rbp, 0x4141414141414141, "unsafe's saved rbp, clobbered");
  img.thread(sim.regs(img.pc("unsafe", "body")));
  Report r = analyze_image(img);
  auto b = findings_of(r, "broken-chain");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]->severity, Severity::Error);
  // main's RBP (restored from unsafe's clobbered slot) is where the walk stops.
  EXPECT_EQ(b[0]->frame, 1u);
  EXPECT_EQ(b[0]->function, "main");
  EXPECT_NE(b[0]->message.find("misaligned"), std::string::npos) << b[0]->message;
  EXPECT_NE(b[0]->message.find("Likely cause: unsafe calls sra_alloc at " + hexstr(img.call_at("unsafe", "a"))),
            std::string::npos)
      << b[0]->message;
  EXPECT_NE(b[0]->message.find("SRA_ALLOC()"), std::string::npos);
}

TEST(Findings, BrokenChainWithoutKnownCause) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim = enter_work(img);
  img.put64(sim.rbp, 0x10, "saved rbp outside the stack");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  auto b = findings_of(r, "broken-chain");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]->message.find("Likely cause"), std::string::npos);
  EXPECT_NE(b[0]->message.find("out_of_stack"), std::string::npos);
}

class Unwinder : public ::testing::Test {
protected:
  void SetUp() override {
    standard_functions(img, true);
    StackSim sim = enter_work(img);
    regs = sim.regs(img.pc("work", "body"));
    const uint64_t H = img.stack_high() - 0x100;
    dbg = {{regs.rip, H - 48, regs.rsp, regs.rbp},
           {img.ret_after("main", "c"), H, H - 48, H - 16},
           {img.ret_after("_start", "c"), std::nullopt, H, std::nullopt}};
  }
  Report with(const std::vector<DebuggerFrame> &frames, bool compare = true) {
    img.thread_list.clear();
    img.thread(regs).debugger_frames = frames;
    AnalysisOptions opt;
    opt.compare_unwinder = compare;
    return analyze_image(img, opt);
  }
  MemoryImage img;
  Registers regs;
  std::vector<DebuggerFrame> dbg;
};

TEST_F(Unwinder, AgreementIsSilent) {
  EXPECT_TRUE(findings_of(with(dbg), "unwinder-mismatch").empty());
  // LLDB lists an inlined function as an extra frame with the same CFA (and
  // the call site's pc for the outer one).
  auto inl = dbg;
  inl.insert(inl.begin() + 1, DebuggerFrame{regs.rip - 3, dbg[0].cfa, regs.rsp, regs.rbp});
  EXPECT_TRUE(findings_of(with(inl), "unwinder-mismatch").empty());
  // Start-up frames past the RBP chain's outermost frame are fine.
  auto longer = dbg;
  longer.push_back(DebuggerFrame{0x401000, std::nullopt, std::nullopt, std::nullopt});
  EXPECT_TRUE(findings_of(with(longer), "unwinder-mismatch").empty());
}

TEST_F(Unwinder, DifferentPcSaysWhere) {
  auto other = dbg;
  other[1].pc = img.ret_after("main", "c2");
  Report r = with(other);
  auto m = findings_of(r, "unwinder-mismatch");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]->severity, Severity::Warning);
  EXPECT_EQ(m[0]->frame, 1u);
  EXPECT_NE(m[0]->message.find("At frame 1"), std::string::npos) << m[0]->message;
  EXPECT_NE(m[0]->message.find(hexstr(img.ret_after("main", "c2"))), std::string::npos);
  EXPECT_TRUE(findings_of(with(other, false), "unwinder-mismatch").empty());
}

TEST_F(Unwinder, DebuggerGoesOnPastABreak) {
  img.put64(regs.rbp, 0x18, "work's saved rbp clobbered");
  Report r = with(dbg);
  auto m = findings_of(r, "unwinder-mismatch");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NE(m[0]->message.find("goes on past frame 1"), std::string::npos) << m[0]->message;
}

TEST(Findings, UnexplainedDynamicBytes) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.alloca(256); // main has neither alloca nor an allocator call: a pivot?
  img.thread(sim.regs(img.pc("main", "body")));
  Report r = analyze_image(img);
  const auto &f0 = r.threads[0].frames[0];
  EXPECT_EQ(f0.kind, FrameKind::Unknown);
  EXPECT_EQ(f0.dynamic_bytes, 256);
  auto u = findings_of(r, "unexplained-dynamic");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0]->severity, Severity::Warning);
  EXPECT_NE(u[0]->message.find("256 bytes"), std::string::npos) << u[0]->message;
  EXPECT_TRUE(r.threads[0].regions.empty());
}

// GCC pushes stack arguments right before a call: the caller's frame is
// larger than its prologue says while the callee runs, and that is no
// dynamic allocation.
TEST(FrameKinds, PushedStackArgumentsAreNotDynamic) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 32;
  m.body = {{"p1", "push"}, {"p2", "push"}, {"c", "many"}};
  auto &many = img.fn("many");
  many.sub = 16;
  many.body = {{"stop", ""}};
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.push(7, "stack argument 8");
  sim.push(8, "stack argument 7");
  sim.call("main", "c");
  sim.enter(frame_of("many", 16));
  img.thread(sim.regs(img.pc("many", "body")));
  Report r = analyze_image(img);
  const auto &f1 = r.threads[0].frames.at(1);
  EXPECT_EQ(f1.function, "main");
  EXPECT_EQ(f1.dynamic_bytes, 16);
  EXPECT_EQ(f1.kind, FrameKind::Normal) << f1.note;
  EXPECT_TRUE(findings_of(r, "unexplained-dynamic").empty());
}

TEST(Findings, MisalignedFrames) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim(img, img.stack_high() - 0x108); // every CFA 8 off
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.call("main", "c");
  sim.enter(frame_of("work", 24, {3}));
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  auto m = findings_of(r, "misaligned-frame");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]->frame, 0u);
  EXPECT_EQ(m[1]->frame, 1u);
  EXPECT_NE(m[0]->message.find("not 16-byte aligned"), std::string::npos);
}

TEST(Findings, StackExhaustionOnAThreadStack) {
  // A pthread stack of 64 KiB (cannot grow) with 16 KiB left below RSP.
  MemoryImage img(0x7ffff0000000, 0x7ffff0010000);
  img.stack_name = "";
  standard_functions(img, true);
  StackSim sim(img, 0x7ffff0000000 + 16 * 1024 + 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  img.thread(sim.regs(img.pc("main", "body")));
  Report r = analyze_image(img);
  auto s = findings_of(r, "stack-exhaustion-risk");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0]->severity, Severity::Warning);
  EXPECT_EQ(s[0]->address, sim.rsp);
  EXPECT_NE(s[0]->message.find("32 KiB reserve"), std::string::npos) << s[0]->message;
}

TEST(Findings, StackExhaustionByFraction) {
  // 1 MiB thread stack, 100 KiB left: above the reserve, below an eighth.
  MemoryImage img(0x7ffff0000000, 0x7ffff0100000);
  img.stack_name = "";
  standard_functions(img, true);
  StackSim sim(img, 0x7ffff0000000 + 100 * 1024);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  img.thread(sim.regs(img.pc("main", "body")));
  Report r = analyze_image(img);
  auto s = findings_of(r, "stack-exhaustion-risk");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0]->message.find("an eighth"), std::string::npos) << s[0]->message;
}

TEST(Findings, MainStackCanGrow) {
  // The main thread's [stack] is mapped only as far as it was used: little
  // mapped below RSP is no risk, the limit is RLIMIT_STACK below the top.
  MemoryImage img(0x7ffffffde000, 0x7ffffffff000);
  standard_functions(img, true);
  StackSim sim(img, 0x7ffffffde000 + 0x800);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  img.thread(sim.regs(img.pc("main", "body")));
  EXPECT_TRUE(findings_of(analyze_image(img), "stack-exhaustion-risk").empty());
}

TEST(FrameKinds, DynamicFromCompilerAlloca) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "vla"}};
  auto &v = img.fn("vla");
  v.sub = 16;
  v.alloca = true;
  v.body = {{"stop", ""}};
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("vla", 16));
  sim.alloca(48);
  img.thread(sim.regs(img.pc("vla", "body")));
  Report r = analyze_image(img);
  const auto &f0 = r.threads[0].frames[0];
  EXPECT_EQ(f0.kind, FrameKind::Dynamic);
  EXPECT_EQ(f0.static_size, 32);
  EXPECT_EQ(f0.span, 80);
  EXPECT_EQ(f0.dynamic_bytes, 48);
  EXPECT_TRUE(r.findings.empty());
}

TEST(FrameKinds, UnknownWithoutSymbols) {
  // work is stripped: the debugger knows nothing of its code.
  MemoryImage bare;
  auto &s = bare.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = bare.fn("main");
  m.sub = 32;
  m.body = {{"c", "work"}};
  auto &w = bare.fn("work");
  w.pushes = {3};
  w.sub = 24;
  w.symbolized = false;
  w.body = {{"stop", ""}};
  bare.build();
  StackSim sim = enter_work(bare);
  bare.thread(sim.regs(bare.pc("work", "body")));
  Report r = analyze_image(bare);
  const auto &t = r.threads[0];
  ASSERT_EQ(t.frames.size(), 3u);
  EXPECT_FALSE(t.frames[0].function);
  EXPECT_EQ(t.frames[0].kind, FrameKind::Unknown);
  EXPECT_FALSE(t.frames[0].static_size);
  EXPECT_EQ(t.frames[0].span, 48);
  EXPECT_EQ(t.frames[1].function, "main");
}

TEST(FrameKinds, RealignmentPaddingIsNormal) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "avx"}};
  auto &a = img.fn("avx");
  a.realign = true;
  a.sub = 32;
  a.body = {{"stop", ""}};
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("avx", 32)); // no realignment needed here: 16 bytes of padding
  sim.alloca(16);
  img.thread(sim.regs(img.pc("avx", "body")));
  Report r = analyze_image(img);
  EXPECT_EQ(r.threads[0].frames[0].kind, FrameKind::Normal) << r.threads[0].frames[0].note;
  EXPECT_TRUE(findings_of(r, "unexplained-dynamic").empty());
}

// A function without frame pointer between two that keep one: its frame is
// found from its decoded size, not skipped.
TEST(FrameKinds, FramelessFrameAboveFrameZero) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 16;
  m.body = {{"c", "mid"}};
  auto &mid = img.fn("mid");
  mid.frame_pointer = false;
  mid.pushes = {3, 12};
  mid.sub = 8;
  mid.body = {{"c", "leafy"}};
  auto &l = img.fn("leafy");
  l.sub = 16;
  l.body = {{"stop", ""}};
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 16));
  sim.call("main", "c");
  sim.enter(frame_of("mid", 8, {3, 12}, false));
  sim.call("mid", "c");
  sim.enter(frame_of("leafy", 16));
  img.thread(sim.regs(img.pc("leafy", "body")));
  Report r = analyze_image(img);
  const auto &t = r.threads[0];
  EXPECT_EQ(function_names(t), (std::vector<std::string>{"leafy", "mid", "main", "_start"})) << t.chain_end_detail;
  EXPECT_EQ(t.chain_end, ChainEnd::Outermost);
  EXPECT_EQ(t.frames[1].span, 32);
  EXPECT_EQ(t.frames[1].kind, FrameKind::Normal);
  EXPECT_EQ(t.frames[2].pc, img.ret_after("main", "c"));
  ASSERT_EQ(t.links.size(), 3u);
  EXPECT_EQ(t.links[1].checks.front().name, "frame_size");
  EXPECT_TRUE(r.findings.empty());
}

TEST(Summary, CountsBySeverity) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim = enter_work(img);
  sim.sra_alloc("work", "a", 16, true);
  img.put64(sim.rsp + 16, 1, "overflow into the header's size");
  img.thread(sim.regs(img.ret_after("work", "a")));
  Report r = analyze_image(img);
  EXPECT_EQ(r.summary.threads, 1u);
  EXPECT_EQ(r.summary.frames, 3u);
  EXPECT_EQ(r.summary.regions, 1u);
  EXPECT_EQ(r.summary.errors, 1u);  // region-overflow
  EXPECT_EQ(r.summary.notes, 1u);   // relocated-frame
  EXPECT_EQ(r.summary.warnings, 0u);
  EXPECT_EQ(r.tool_version, version());
}

TEST(Catalogue, EveryEmittedKindIsDocumented) {
  std::vector<std::string> kinds;
  for (const auto &k : finding_kinds())
    kinds.push_back(k.kind);
  for (const char *k : {"broken-chain", "unwinder-mismatch", "relocated-frame", "region-overflow",
                        "dangling-pointer", "unsafe-caller", "unexplained-dynamic", "misaligned-frame",
                        "stack-exhaustion-risk"})
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
}

} // namespace
