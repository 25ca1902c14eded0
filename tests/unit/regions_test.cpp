// regions_test.cpp: region recovery on hand-made stacks: audit headers,
// stub remnants (with and without an alloca gap), corrupt headers and stubs,
// dead blocks below RSP, relocated stub copies, span regions, numbering.
#include <gtest/gtest.h>

#include "frameaudit/analysis.h"
#include "analysis_test_util.h"

using namespace frameaudit;
using namespace fa_test;

namespace {

class RegionsTest : public ::testing::TestWithParam<bool> {
protected:
  bool audit() const { return GetParam(); }
  uint64_t reserved(uint64_t size) const { return ((size + 15) & ~uint64_t{15}) + (audit() ? 32 : 16); }
};

INSTANTIATE_TEST_SUITE_P(Modes, RegionsTest, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "audit" : "plain"; });

TEST_P(RegionsTest, BlocksOfALiveFrame) {
  MemoryImage img;
  standard_functions(img, audit());
  StackSim sim = enter_work(img);
  const uint64_t p1 = sim.sra_alloc("work", "a", 40, audit());
  const uint64_t p2 = sim.sra_alloc("work", "b", 100, audit());
  img.thread(sim.regs(img.ret_after("work", "b")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 2u) << img.dump(sim.rsp - 32, img.stack_high());
  const Region &a = t.regions[0], &b = t.regions[1];
  EXPECT_EQ(a.id, "t1.r0");
  EXPECT_EQ(b.id, "t1.r1");
  EXPECT_EQ(a.base, p1);
  EXPECT_EQ(b.base, p2);
  EXPECT_EQ(a.reserved, reserved(40));
  EXPECT_EQ(b.reserved, reserved(100));
  // Audit headers give the size; stubs only the reservation.
  EXPECT_EQ(a.size, audit() ? 40u : reserved(40) - 16);
  EXPECT_EQ(b.size, audit() ? 100u : reserved(100) - 16);
  EXPECT_EQ(a.evidence, audit() ? Evidence::Header : Evidence::Stub);
  EXPECT_EQ(a.state, RegionState::Live);
  EXPECT_EQ(a.frame, 0u);
  EXPECT_EQ(a.function, "work");
  ASSERT_TRUE(a.call_site);
  EXPECT_EQ(a.call_site->pc, img.ret_after("work", "a"));
  EXPECT_EQ(a.call_site->function, "work");
  EXPECT_EQ(a.call_site->line, 100 + (img.ret_after("work", "a") - 1 - img.addr("work")));
  if (audit()) {
    EXPECT_EQ(a.sequence, 1u);
    EXPECT_EQ(b.sequence, 2u);
  }
  EXPECT_EQ(t.frames[0].kind, FrameKind::Relocated);
  EXPECT_EQ(t.frames[0].dynamic_bytes, static_cast<int64_t>(reserved(40) + reserved(100)));
  EXPECT_EQ(t.frames[0].regions, (std::vector<std::string>{"t1.r0", "t1.r1"}));
  const Finding *note = first_finding(r, "relocated-frame");
  ASSERT_TRUE(note);
  EXPECT_EQ(note->severity, Severity::Note);
  EXPECT_EQ(note->frame, 0u);
  EXPECT_NE(note->message.find("t1.r0, t1.r1"), std::string::npos) << note->message;
  EXPECT_EQ(r.summary.errors, 0u);
  EXPECT_EQ(r.summary.regions, 2u);
}

// SRA_ALLOC's zero-sized alloca moves RSP by 16 at GCC -O0: the blocks of a
// frame then have gaps, which the first block's distance to the static frame
// reveals.
TEST_P(RegionsTest, AllocaGapBetweenBlocks) {
  MemoryImage img;
  standard_functions(img, audit());
  StackSim sim = enter_work(img);
  sim.alloca(16);
  const uint64_t p1 = sim.sra_alloc("work", "a", 0, audit());
  sim.alloca(16);
  const uint64_t p2 = sim.sra_alloc("work", "b", 33, audit());
  img.thread(sim.regs(img.ret_after("work", "b")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 2u);
  EXPECT_EQ(t.regions[0].base, p1);
  EXPECT_EQ(t.regions[0].reserved, reserved(0));
  EXPECT_EQ(t.regions[1].base, p2);
  EXPECT_EQ(t.regions[1].reserved, reserved(33));
}

// An overflow of the upper block hits its header's size (audit) or the stub's
// saved RBP (plain) first.
TEST_P(RegionsTest, OverflowMakesTheBlockCorrupt) {
  MemoryImage img;
  standard_functions(img, audit());
  StackSim sim = enter_work(img);
  const uint64_t p1 = sim.sra_alloc("work", "a", 48, audit());
  sim.sra_alloc("work", "b", 16, audit());
  img.put64(p1 + 48, 0x4141414141414141, "overflow: 8 bytes past block a");
  img.thread(sim.regs(img.ret_after("work", "b")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 2u) << img.dump(sim.rsp, img.stack_high());
  const Region &a = t.regions[0];
  EXPECT_EQ(a.state, RegionState::Corrupt);
  EXPECT_EQ(a.base, p1);
  EXPECT_EQ(a.reserved, reserved(48));
  EXPECT_EQ(a.evidence, audit() ? Evidence::Header : Evidence::Stub);
  EXPECT_EQ(t.regions[1].state, RegionState::Live);
  const Finding *f = first_finding(r, "region-overflow");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::Error);
  EXPECT_EQ(f->region, "t1.r0");
  EXPECT_EQ(f->frame, 0u);
  EXPECT_EQ(f->line, a.call_site->line);
  EXPECT_NE(f->message.find("at least 8 bytes past the end"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("a run of 0x41 bytes"), std::string::npos) << f->message;
  EXPECT_EQ(t.frames[0].kind, FrameKind::Relocated);
}

// work allocated and returned; main goes on and keeps the pointer.
TEST_P(RegionsTest, DeadBlocksBelowRspAndDanglingPointers) {
  MemoryImage img;
  standard_functions(img, audit());
  StackSim sim = enter_work(img);
  const uint64_t p1 = sim.sra_alloc("work", "a", 64, audit());
  const uint64_t p2 = sim.sra_alloc("work", "b", 32, audit());
  sim.leave_ret();
  const uint64_t main_slot = sim.rsp + 8; // a local of main
  img.put64(main_slot, p1 + 8, "main's local: pointer into work's released block a");
  Registers regs = sim.regs(img.ret_after("main", "c"));
  regs.general = {{"rax", p2}, {"rbx", 0x1234}};
  img.thread(regs);
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  std::vector<const Region *> dead;
  for (const auto &g : t.regions)
    if (g.state == RegionState::Dead)
      dead.push_back(&g);
  ASSERT_EQ(dead.size(), 2u) << img.dump(p2 - 64, img.stack_high());
  EXPECT_EQ(dead[0]->base, p1);
  EXPECT_EQ(dead[1]->base, p2);
  EXPECT_FALSE(dead[0]->frame);
  EXPECT_EQ(dead[0]->function, "work");
  EXPECT_EQ(dead[0]->evidence, audit() ? Evidence::Header : Evidence::Stub);
  EXPECT_EQ(dead[0]->reserved, reserved(64));
  if (audit()) {
    EXPECT_EQ(dead[1]->size, 32u);
  }
  EXPECT_EQ(findings_of(r, "dangling-pointer").size(), 2u);
  bool reg = false, slot = false;
  for (const auto &f : r.findings) {
    if (f.kind != "dangling-pointer")
      continue;
    EXPECT_EQ(f.severity, Severity::Error);
    reg |= f.message.find("Register rax") != std::string::npos && f.region == dead[1]->id;
    slot |= f.message.find(hexstr(main_slot)) != std::string::npos && f.region == dead[0]->id && f.frame == 0u;
  }
  EXPECT_TRUE(reg);
  EXPECT_TRUE(slot);
  EXPECT_EQ(t.frames[0].function, "main");
  EXPECT_EQ(t.frames[0].kind, FrameKind::Normal);
}

// The relocated stub copy of a live frame's newest block lies just below RSP:
// it is not a dead block.
TEST_P(RegionsTest, RelocatedCopyOfLiveBlockIsNotDead) {
  MemoryImage img;
  standard_functions(img, audit());
  StackSim sim = enter_work(img);
  sim.sra_alloc("work", "a", 64, audit());
  sim.sra_alloc("work", "b", 64, audit());
  img.thread(sim.regs(img.ret_after("work", "b")));
  Report r = analyze_image(img);
  for (const auto &g : r.threads.at(0).regions)
    EXPECT_NE(g.state, RegionState::Dead) << g.id;
}

// Stubs overwritten (e.g. by a large memset) in a raw sra_alloc caller (work
// has one alloca for two calls, so its dynamic bytes may hold compiler
// allocations): the frame is still relocated, and its unexplained span
// becomes one span region (verdicts_test.cpp has SRA_ALLOC callers).
TEST_P(RegionsTest, SpanRegionWhenStubsAreGone) {
  MemoryImage img;
  standard_functions(img, audit());
  StackSim sim = enter_work(img);
  const uint64_t top = sim.rsp;
  sim.sra_alloc("work", "a", 64, audit());
  sim.sra_alloc("work", "b", 64, audit());
  for (uint64_t a = sim.rsp; a < top; a += 8)
    img.put64(a, 0, "wiped");
  img.thread(sim.regs(img.ret_after("work", "b")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 1u);
  const Region &s = t.regions[0];
  EXPECT_EQ(s.evidence, Evidence::Span);
  EXPECT_EQ(s.base, sim.rsp);
  EXPECT_EQ(s.size, 2 * reserved(64));
  EXPECT_EQ(s.reserved, 2 * reserved(64));
  EXPECT_FALSE(s.call_site); // two allocator calls: which one is unknown
  EXPECT_EQ(t.frames[0].kind, FrameKind::Relocated);
}

TEST(Regions, SpanRegionNamesTheOnlyCallSite) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "one"}};
  auto &o = img.fn("one");
  o.sub = 16;
  o.body = {{"a", "sra_alloc"}, {"stop", ""}};
  img.allocator(false);
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("one", 16));
  sim.alloca(96); // as if sra_alloc had run and its stub was overwritten
  img.thread(sim.regs(img.ret_after("one", "a")));
  Report r = analyze_image(img);
  ASSERT_EQ(r.threads[0].regions.size(), 1u);
  const Region &g = r.threads[0].regions[0];
  EXPECT_EQ(g.evidence, Evidence::Span);
  ASSERT_TRUE(g.call_site);
  EXPECT_EQ(g.call_site->pc, img.ret_after("one", "a"));
}

// Stopped inside sra_alloc after the header is written but before RSP moved:
// the block does not exist yet, for the caller or as a dead block.
TEST(Regions, AllocationInProgressIsNoRegion) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim = enter_work(img);
  const uint64_t R = sim.rsp;
  const uint64_t ret = img.ret_after("work", "a");
  const uint64_t work_rbp = sim.rbp;
  sim.push(ret, "return address into work");
  sim.push(sim.rbp, "sra_alloc: push %rbp");
  sim.rbp = sim.rsp;
  sim.rsp -= 64 + 32;
  img.put64(sim.rsp, work_rbp, "relocated copy: rbp");
  img.put64(sim.rsp + 8, ret, "relocated copy: ret");
  img.put64(R - 32, 64, "header: size");
  img.put32(R - 24, 1);
  img.put32(R - 20, audit_check(64, 1, work_rbp, ret, R - 32));
  img.thread(sim.regs(img.pc("sra_alloc", "relocate")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  EXPECT_EQ(t.frames.at(0).kind, FrameKind::Allocator);
  EXPECT_TRUE(t.regions.empty()) << t.regions[0].id << " " << to_string(t.regions[0].state);
}

// Both modes: a frame's blocks are numbered from the highest address down,
// across frames.
TEST(Regions, NumberedHighToLowAcrossFrames) {
  MemoryImage img;
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "outer"}};
  auto &o = img.fn("outer");
  o.sub = 16;
  o.body = {{"a", "sra_alloc"}, {"c", "inner"}};
  auto &i = img.fn("inner");
  i.sub = 16;
  i.body = {{"a", "sra_alloc"}, {"stop", ""}};
  img.allocator(true);
  img.build();
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("outer", 16));
  const uint64_t po = sim.sra_alloc("outer", "a", 24, true);
  sim.call("outer", "c");
  sim.enter(frame_of("inner", 16));
  const uint64_t pi = sim.sra_alloc("inner", "a", 8, true);
  img.thread(sim.regs(img.ret_after("inner", "a")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 2u);
  EXPECT_EQ(t.regions[0].base, po);
  EXPECT_EQ(t.regions[0].frame, 1u);
  EXPECT_EQ(t.regions[1].base, pi);
  EXPECT_EQ(t.regions[1].frame, 0u);
  EXPECT_EQ(t.frames[1].regions, std::vector<std::string>{"t1.r0"});
  EXPECT_EQ(t.frames[0].regions, std::vector<std::string>{"t1.r1"});
  EXPECT_EQ(t.frames[1].kind, FrameKind::Relocated);
  EXPECT_EQ(findings_of(r, "relocated-frame").size(), 2u);
}

// A header whose check is right but whose call site is not an allocator call
// (random data that happens to validate is not trusted alone).
TEST(Regions, HeaderNeedsAnAllocatorCallSite) {
  MemoryImage img;
  standard_functions(img, true);
  StackSim sim = enter_work(img);
  sim.alloca(64);
  const uint64_t h = sim.rsp + 16;
  const uint64_t bogus_ret = img.ret_after("work", "c"); // a call to leaf
  img.put64(h, 8, "fake header: size");
  img.put32(h + 8, 1);
  img.put32(h + 12, audit_check(8, 1, sim.rbp, bogus_ret, h));
  img.put64(h + 16, sim.rbp, "fake header: saved rbp");
  img.put64(h + 24, bogus_ret, "fake header: return after call leaf");
  img.thread(sim.regs(img.pc("work", "body")));
  Report r = analyze_image(img);
  for (const auto &g : r.threads[0].regions)
    EXPECT_EQ(g.evidence, Evidence::Span) << g.id; // the 64 bytes, not the fake header
}

} // namespace
