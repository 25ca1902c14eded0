// dangling_test.cpp: pointers kept to a returned function's block once live
// frames reuse its memory (docs/analysis.md, "Regions" and "Findings"): dead
// audit headers inside live frames, slots of older frames pointing into a
// younger frame's block, what must stay silent, and the stale stubs the
// released-stack scan leaves for the stack map.
#include <gtest/gtest.h>

#include "frameaudit/analysis.h"
#include "frameaudit/render.h"
#include "analysis_test_util.h"

using namespace frameaudit;
using namespace fa_test;

namespace {

/// _start -> main, which calls make (allocates 64 bytes and returns), then
/// hold (a larger static frame over make's old one; allocates and calls leaf).
/// make and hold run at the same depth, so they share their RBP.
void make_hold_functions(MemoryImage &img, bool audit) {
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 32;
  m.body = {{"make", "make"}, {"hold", "hold"}, {"stop", ""}};
  auto &mk = img.fn("make");
  mk.sub = 16;
  mk.alloca = true;
  mk.body = {{"a", "sra_alloc"}};
  auto &h = img.fn("hold");
  h.sub = 160;
  h.alloca = true;
  h.body = {{"a", "sra_alloc"}, {"c", "leaf"}, {"stop", ""}};
  auto &l = img.fn("leaf");
  l.frame_pointer = false;
  l.sub = 24;
  l.exit = Exit::AddRsp;
  l.body = {{"stop", ""}};
  img.allocator(audit);
  img.build();
}

struct MakeHold {
  uint64_t main_rsp = 0; ///< main's RSP while it calls (its locals start here)
  uint64_t dead = 0;     ///< make's block (64 bytes), released
  uint64_t live = 0;     ///< hold's block (32 bytes)
  uint64_t hold_slot = 0;
};

/// A stack for make_hold_functions: _start called main; positioned in main's
/// body (its locals start at the returned RSP).
StackSim in_main(MemoryImage &img) {
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  return sim;
}

/// main calls fn (make or hold) and fn runs its prologue.
void call_from_main(StackSim &sim, const std::string &fn) {
  sim.call("main", fn);
  sim.enter(frame_of(fn, fn == "hold" ? 160 : 16));
}

/// main called make, make returned, main called hold, hold allocated: stopped
/// in hold's body. make's stub and header lie inside hold's static frame.
MakeHold run_make_then_hold(StackSim &sim, bool audit) {
  MakeHold m;
  m.main_rsp = sim.rsp;
  call_from_main(sim, "make");
  m.dead = sim.sra_alloc("make", "a", 64, audit);
  sim.leave_ret();
  call_from_main(sim, "hold");
  m.hold_slot = sim.rbp;
  m.live = sim.sra_alloc("hold", "a", 32, audit);
  return m;
}

class Dangling : public ::testing::TestWithParam<bool> {
protected:
  bool audit() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Modes, Dangling, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "audit" : "plain"; });

// Audit mode: make's header survives inside hold's frame. It names no live
// frame (hold shares make's RBP, but the call site is in make), so make's
// block is dead, exact, with its sequence number; a pointer main keeps into it
// is a warning (hold's frame occupies that memory now).
TEST(DanglingReused, DeadHeaderInsideALiveFrame) {
  MemoryImage img;
  make_hold_functions(img, true);
  StackSim sim = in_main(img);
  const MakeHold m = run_make_then_hold(sim, true);
  img.put64(m.main_rsp + 8, m.dead + 8, "main's local: pointer into make's released block");
  img.thread(sim.regs(img.ret_after("hold", "a")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  const Region *dead = nullptr, *live = nullptr;
  for (const auto &g : t.regions) {
    if (g.state == RegionState::Dead)
      dead = &g;
    if (g.state == RegionState::Live)
      live = &g;
  }
  ASSERT_TRUE(dead) << img.dump(sim.rsp, img.stack_high());
  ASSERT_TRUE(live);
  EXPECT_EQ(dead->base, m.dead);
  EXPECT_EQ(dead->size, 64u);
  EXPECT_EQ(dead->reserved, 96u);
  EXPECT_EQ(dead->evidence, Evidence::Header);
  EXPECT_FALSE(dead->frame);
  EXPECT_EQ(dead->function, "make");
  EXPECT_EQ(dead->sequence, 1u);
  EXPECT_EQ(live->base, m.live);
  EXPECT_EQ(live->sequence, 2u);
  EXPECT_EQ(live->frame, 0u);
  const auto d = findings_of(r, "dangling-pointer");
  ASSERT_EQ(d.size(), 1u) << findings_text(r);
  EXPECT_EQ(d[0]->severity, Severity::Warning);
  EXPECT_EQ(d[0]->region, dead->id);
  EXPECT_EQ(d[0]->frame, 1u); // main
  EXPECT_EQ(d[0]->address, m.dead + 8);
  EXPECT_NE(d[0]->message.find("inside dead block " + dead->id), std::string::npos) << d[0]->message;
  EXPECT_NE(d[0]->message.find("reuse that memory"), std::string::npos) << d[0]->message;
  EXPECT_EQ(r.summary.errors, 0u) << findings_text(r);
}

// Plain mode leaves no size to recover make's block with: no dead region, and
// main's pointer (outside hold's block) is not reported.
TEST(DanglingReused, PlainStubOfAReturnedCallIsNoRegion) {
  MemoryImage img;
  make_hold_functions(img, false);
  StackSim sim = in_main(img);
  const MakeHold m = run_make_then_hold(sim, false);
  img.put64(m.main_rsp + 8, m.dead + 8, "main's local: pointer into make's released block");
  img.thread(sim.regs(img.ret_after("hold", "a")));
  Report r = analyze_image(img);
  for (const auto &g : r.threads.at(0).regions)
    EXPECT_NE(g.state, RegionState::Dead) << g.id;
  EXPECT_TRUE(findings_of(r, "dangling-pointer").empty()) << findings_text(r);
}

// The dangling fixture's layout: hold's block covers make's (same depth, same
// size), so nothing of make's allocation survives. main's pointer lands in
// hold's live block: a slot of an older frame pointing into a younger frame's
// block is a warning in both modes.
TEST_P(Dangling, OlderFrameHoldsAPointerIntoAYoungerFramesBlock) {
  MemoryImage img;
  make_hold_functions(img, audit());
  StackSim sim = in_main(img);
  const MakeHold m = run_make_then_hold(sim, audit());
  img.put64(m.main_rsp + 16, m.live + 16, "main's local: pointer into hold's block");
  img.put64(m.hold_slot - 8, m.live, "hold's local: its own block");
  Registers regs = sim.regs(img.ret_after("hold", "a"));
  regs.general = {{"rbx", m.live + 8}}; // hold's register: its own block
  img.thread(regs);
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.frames.at(0).function, "hold");
  ASSERT_EQ(t.frames.at(1).function, "main");
  const Region *live = nullptr;
  for (const auto &g : t.regions)
    if (g.base == m.live && g.state == RegionState::Live)
      live = &g;
  ASSERT_TRUE(live) << img.dump(sim.rsp, img.stack_high());
  const auto d = findings_of(r, "dangling-pointer");
  ASSERT_EQ(d.size(), 1u) << findings_text(r);
  EXPECT_EQ(d[0]->severity, Severity::Warning);
  EXPECT_EQ(d[0]->region, live->id);
  EXPECT_EQ(d[0]->frame, 1u);
  EXPECT_EQ(d[0]->function, "main");
  EXPECT_EQ(d[0]->address, m.live + 16);
  EXPECT_NE(d[0]->message.find(hexstr(m.main_rsp + 16)), std::string::npos) << d[0]->message;
  EXPECT_NE(d[0]->message.find("younger frame 0 (hold)"), std::string::npos) << d[0]->message;
  EXPECT_EQ(r.summary.errors, 0u) << findings_text(r);
}

// Pointers the other way are how blocks are used: a callee (leaf) holding its
// caller's block, a frame holding its own. Nothing to report.
TEST_P(Dangling, CalleesHoldingTheirCallersBlocksAreSilent) {
  MemoryImage img;
  make_hold_functions(img, audit());
  StackSim sim = in_main(img);
  const MakeHold m = run_make_then_hold(sim, audit());
  img.put64(m.hold_slot - 8, m.live, "hold's local: its own block");
  sim.call("hold", "c");
  sim.enter(frame_of("leaf", 24, {}, false));
  img.put64(sim.rsp + 8, m.live + 4, "leaf's local: its caller's block");
  Registers regs = sim.regs(img.pc("leaf", "body"));
  regs.general = {{"rdi", m.live}};
  img.thread(regs);
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.frames.at(0).function, "leaf");
  ASSERT_EQ(t.frames.at(1).function, "hold");
  EXPECT_TRUE(findings_of(r, "dangling-pointer").empty()) << findings_text(r);
}

// A live frame's own headers are never dead blocks, however many it has.
TEST_P(Dangling, LiveHeadersAreNotDead) {
  MemoryImage img;
  make_hold_functions(img, audit());
  StackSim sim = in_main(img);
  call_from_main(sim, "hold");
  sim.sra_alloc("hold", "a", 48, audit());
  sim.sra_alloc("hold", "a", 16, audit());
  img.thread(sim.regs(img.ret_after("hold", "a")));
  Report r = analyze_image(img);
  for (const auto &g : r.threads.at(0).regions)
    EXPECT_EQ(g.state, RegionState::Live) << g.id;
  EXPECT_TRUE(findings_of(r, "dangling-pointer").empty()) << findings_text(r);
}

// Released stack: make returned after two allocations and main stopped. Each
// dead block accounts for the stub remnant at its top; what is left is the
// relocated copy the last allocation's `leave; ret` consumed: a stale stub,
// which the stack map draws below RSP.
TEST_P(Dangling, StaleStubsBelowRsp) {
  MemoryImage img;
  make_hold_functions(img, audit());
  StackSim sim = in_main(img);
  call_from_main(sim, "make");
  const uint64_t make_rbp = sim.rbp;
  sim.sra_alloc("make", "a", 64, audit());
  const uint64_t p2 = sim.sra_alloc("make", "a", 32, audit());
  sim.leave_ret();
  img.thread(sim.regs(img.call_at("main", "stop")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  size_t dead = 0;
  for (const auto &g : t.regions)
    dead += g.state == RegionState::Dead;
  EXPECT_EQ(dead, 2u) << img.dump(p2 - 32, img.stack_high());
  ASSERT_EQ(t.stale_stubs.size(), 1u) << img.dump(p2 - 32, img.stack_high());
  const StaleStub &s = t.stale_stubs[0];
  EXPECT_EQ(s.address, p2 - 16);
  EXPECT_EQ(s.saved_rbp, make_rbp);
  EXPECT_EQ(s.return_address, img.ret_after("make", "a"));
  EXPECT_EQ(s.function, "make");
  RenderOptions opt;
  opt.unicode = false;
  const std::string map = render_map(r, t, opt);
  EXPECT_NE(map.find("stale stub  rbp " + hexstr(make_rbp) + "  ret " + hexstr(img.ret_after("make", "a"))),
            std::string::npos)
      << map;
}

// The relocated copy of a live frame's newest block is a stale stub too (not
// a dead block).
TEST_P(Dangling, RelocatedCopyOfALiveBlockIsAStaleStub) {
  MemoryImage img;
  make_hold_functions(img, audit());
  StackSim sim = in_main(img);
  call_from_main(sim, "hold");
  const uint64_t p = sim.sra_alloc("hold", "a", 48, audit());
  img.thread(sim.regs(img.ret_after("hold", "a")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.stale_stubs.size(), 1u);
  EXPECT_EQ(t.stale_stubs[0].address, p - 16);
  EXPECT_EQ(t.stale_stubs[0].function, "hold");
  for (const auto &g : t.regions)
    EXPECT_NE(g.state, RegionState::Dead) << g.id;
}

} // namespace
