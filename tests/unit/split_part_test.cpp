// split_part_test.cpp: frames whose pc lies in a split-off part of a
// function (GCC's `f.cold`), which runs in the frame its parent's prologue
// set up. With debug info the debugger names the part after its parent, so
// the analysis knows it from its code (FunctionInfo::borrows_frame) and finds
// the parent by the part's jump back into it or by the call that entered the
// frame. Also: the notes of frames whose setup cannot be decoded.
#include <gtest/gtest.h>

#include "frameaudit/analysis.h"
#include "analysis_test_util.h"

using namespace frameaudit;
using namespace fa_test;

namespace {

using Names = std::vector<std::string>;

// _start -> main -> outer, which allocates block a, continues in outer.cold
// (allocates b, calls stop) and returns from there; stop's trap and abort
// call sit in stop.cold; abort keeps no frame pointer.
//   outer: push %rbp; mov %rsp,%rbp; push %rbx; sub $8: static size 32
//   stop:  push %rbp; mov %rsp,%rbp; sub $16:            static size 32
void split_program(MemoryImage &img, bool jump_back) {
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 16;
  m.body = {{"c", "outer"}};
  auto &o = img.fn("outer");
  o.pushes = {3};
  o.sub = 8;
  o.alloca = true;
  o.exit = Exit::LeaPops;
  o.body = {{"a", "sra_alloc"}, {"cold", "jne:outer.cold"}};
  auto &oc = img.fn("outer.cold");
  oc.part = true;
  oc.symbol_name = "outer";
  oc.pushes = {3};
  oc.alloca = true;
  oc.exit = Exit::LeaPops;
  oc.body = {{"b", "sra_alloc"}, {"c", "stop"}};
  if (jump_back)
    oc.body.push_back({"back", "jne:outer:exit"});
  auto &st = img.fn("stop");
  st.sub = 16;
  st.body = {{"c", "fixture_stop_here"}, {"cold", "jne:stop.cold"}};
  auto &sc = img.fn("stop.cold");
  sc.part = true;
  sc.symbol_name = "stop";
  sc.exit = Exit::NoReturn;
  sc.body = {{"trap", "ud2"}, {"abort", "abort"}};
  auto &h = img.fn("fixture_stop_here");
  h.body = {{"stop", ""}};
  auto &ab = img.fn("abort");
  ab.frame_pointer = false;
  ab.sub = 24;
  ab.exit = Exit::AddRsp;
  ab.body = {{"stop", ""}};
  img.allocator(/*audit=*/true);
  img.build();
}

// The stack up to outer's prologue and its block a.
StackSim enter_outer(MemoryImage &img) {
  StackSim sim(img, img.stack_high() - 0x200);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 16));
  sim.call("main", "c");
  sim.enter(frame_of("outer", 8, {3}));
  sim.sra_alloc("outer", "a", 40, true);
  return sim;
}

// Then outer.cold's block b, its call of stop, and stop's prologue.
StackSim enter_stop(MemoryImage &img) {
  StackSim sim = enter_outer(img);
  sim.sra_alloc("outer.cold", "b", 24, true);
  sim.call("outer.cold", "c");
  sim.enter(frame_of("stop", 16));
  return sim;
}

class SplitPart : public ::testing::TestWithParam<bool> {
protected:
  void SetUp() override { split_program(img, GetParam()); }
  /// The one thread, stopped at pc on the stack sim wrote.
  ThreadReport stopped_at(const StackSim &sim, uint64_t pc) {
    img.thread(sim.regs(pc));
    report = analyze_image(img);
    return report.threads.at(0);
  }
  MemoryImage img;
  Report report;
};

INSTANTIATE_TEST_SUITE_P(ParentFoundBy, SplitPart, ::testing::Values(true, false),
                         [](const auto &info) { return info.param ? "JumpBack" : "EnteringCall"; });

// gcc -O2 -fomit-frame-pointer, the exception fixture: the frame owning the
// blocks is stopped in outer.cold. It is relocated, with outer's static size.
TEST_P(SplitPart, FrameInPartOwnsItsBlocks) {
  const ThreadReport t = stopped_at(enter_stop(img), img.pc("stop", "body"));
  EXPECT_EQ(function_names(t), (Names{"stop", "outer", "main", "_start"})) << t.chain_end_detail;
  EXPECT_EQ(t.chain_end, ChainEnd::Outermost);
  const Frame &outer = t.frames.at(1);
  EXPECT_EQ(outer.pc, img.ret_after("outer.cold", "c"));
  EXPECT_EQ(outer.kind, FrameKind::Relocated) << outer.note;
  EXPECT_EQ(outer.static_size, 32);
  EXPECT_EQ(outer.span, 32 + 80 + 64); // blocks of 40 and 24 bytes, each with its audit header
  EXPECT_EQ(outer.dynamic_bytes, 80 + 64);
  ASSERT_EQ(t.regions.size(), 2u);
  for (const Region &g : t.regions) {
    EXPECT_EQ(g.frame, 1u);
    EXPECT_EQ(g.state, RegionState::Live);
    EXPECT_EQ(g.evidence, Evidence::Header);
  }
  EXPECT_EQ(t.frames[0].kind, FrameKind::Normal);
  for (const auto &f : report.findings)
    EXPECT_NE(f.severity, Severity::Error) << f.kind << ": " << f.message;
}

// SRA_STOP=ud2: frame 0 is the trap in stop.cold. Its code sets up nothing,
// yet it is decodable: stop's frame pointer holds there.
TEST_P(SplitPart, TrapInPartIsFrameZero) {
  const ThreadReport t = stopped_at(enter_stop(img), img.call_at("stop.cold", "trap"));
  EXPECT_EQ(function_names(t), (Names{"stop", "outer", "main", "_start"})) << t.chain_end_detail;
  const Frame &f0 = t.frames.at(0);
  EXPECT_EQ(f0.kind, FrameKind::Normal) << f0.note;
  EXPECT_EQ(f0.static_size, 32);
  EXPECT_EQ(f0.span, 32);
  EXPECT_NE(f0.note.value_or("").find("split-off part of stop"), std::string::npos) << f0.note;
  EXPECT_EQ(t.frames.at(1).kind, FrameKind::Relocated) << t.frames.at(1).note;
}

// SRA_STOP=abort: stop.cold's call of abort (its last instruction) is the
// return address of frame 1.
TEST_P(SplitPart, AbortCalledFromPart) {
  StackSim sim = enter_stop(img);
  sim.call("stop.cold", "abort");
  sim.rsp -= 24;
  const ThreadReport t = stopped_at(sim, img.pc("abort", "body"));
  EXPECT_EQ(function_names(t), (Names{"abort", "stop", "outer", "main", "_start"}))
      << t.chain_end_detail;
  const Frame &stop = t.frames.at(1);
  EXPECT_EQ(stop.pc, img.end("stop.cold"));
  EXPECT_EQ(stop.kind, FrameKind::Normal) << stop.note;
  EXPECT_EQ(stop.static_size, 32);
  EXPECT_EQ(stop.span, 32);
  EXPECT_EQ(t.frames.at(2).kind, FrameKind::Relocated) << t.frames.at(2).note;
}

// Frame 0 in the part's own epilogue: after lea -8(%rbp),%rsp RBP still
// holds, after the pops only RSP locates the return address.
TEST_P(SplitPart, EpilogueAfterRspRestore) {
  StackSim sim = enter_outer(img);
  const uint64_t frame_rbp = sim.rbp;
  sim.rsp = frame_rbp - 8; // lea -8(%rbp),%rsp done: pop %rbx, pop %rbp, ret to go
  const ThreadReport t = stopped_at(sim, img.pc("outer.cold", "exit") + 4);
  EXPECT_EQ(function_names(t), (Names{"outer", "main", "_start"})) << t.chain_end_detail;
  EXPECT_EQ(t.frames[0].kind, FrameKind::Normal) << t.frames[0].note;
  EXPECT_EQ(t.frames[0].static_size, 24);
  EXPECT_EQ(t.frames[0].cfa, frame_rbp + 16);
}

TEST_P(SplitPart, EpilogueAtRet) {
  StackSim sim = enter_outer(img);
  sim.rsp = sim.rbp + 8; // everything popped: the return address is at RSP
  sim.rbp = img.get64(sim.rbp);
  const ThreadReport t = stopped_at(sim, img.pc("outer.cold", "ret"));
  EXPECT_EQ(function_names(t), (Names{"outer", "main", "_start"})) << t.chain_end_detail;
  EXPECT_EQ(t.frames[0].kind, FrameKind::Normal) << t.frames[0].note;
  EXPECT_EQ(t.frames[0].static_size, 8);
}

// A frame that truly cannot be decoded says why.
TEST(UndecodableFrames, NotesSayWhy) {
  MemoryImage img;
  split_program(img, true);
  // abort's decoded frame (RSP + 24) holds no return address: RSP is 16
  // bytes off, as after code the decoder cannot see.
  StackSim sim = enter_stop(img);
  sim.call("stop.cold", "abort");
  sim.rsp -= 40;
  img.put64(sim.rsp + 24, 0x1234, "not a return address");
  img.thread(sim.regs(img.pc("abort", "body")));
  Report r = analyze_image(img);
  const Frame &f0 = r.threads.at(0).frames.at(0);
  EXPECT_EQ(f0.kind, FrameKind::Unknown);
  EXPECT_NE(f0.note.value_or("").find("puts the return address at RSP + 24"), std::string::npos)
      << f0.note;

  // A pc no symbol covers.
  MemoryImage bare;
  split_program(bare, true);
  StackSim s2 = enter_stop(bare);
  bare.thread(s2.regs(bare.end("sra_alloc") + 0x40));
  r = analyze_image(bare);
  const Frame &b0 = r.threads.at(0).frames.at(0);
  EXPECT_EQ(b0.kind, FrameKind::Unknown);
  EXPECT_NE(b0.note.value_or("").find("no function known at this pc"), std::string::npos)
      << b0.note;
}

} // namespace
