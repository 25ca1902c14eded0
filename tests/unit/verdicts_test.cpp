// verdicts_test.cpp: the verdict rules on hand-made stacks (docs/analysis.md,
// "Coverage", "Overrun attribution", "Findings"): reserved bytes no intact
// header or stub covers, overruns named after the block they came from
// (also when they broke the RBP chain), headers with a valid check and an
// impossible size, and pointers into released stack from frame slots,
// callee-saved registers and writable data; and what must stay silent.
#include <gtest/gtest.h>

#include <cstring>

#include "frameaudit/analysis.h"
#include "analysis_test_util.h"

using namespace frameaudit;
using namespace fa_test;

namespace {

size_t count_at_least(const Report &r, Severity worst) {
  size_t n = 0;
  for (const auto &f : r.findings)
    n += static_cast<int>(f.severity) <= static_cast<int>(worst);
  return n;
}

/// _start -> main (sub 32) -> copy (or one), an SRA_ALLOC caller: push %rbx, sub 24,
/// then per allocation its zero-sized alloca (`sub %rax,%rsp`) and the call;
/// copy calls leaf at "c". main also calls leaf at "c2".
void copy_functions(MemoryImage &img, bool audit) {
  auto &s = img.fn("_start");
  s.frame_pointer = false;
  s.body = {{"c", "main"}};
  auto &m = img.fn("main");
  m.sub = 32;
  m.body = {{"c", "copy"}, {"c2", "leaf"}, {"c3", "one"}, {"stop", ""}};
  auto &w = img.fn("copy");
  w.pushes = {3};
  w.sub = 24;
  w.body = {{"za", "alloca"}, {"a", "sra_alloc"}, {"zb", "alloca"}, {"b", "sra_alloc"}, {"c", "leaf"}, {"stop", ""}};
  auto &o = img.fn("one"); // one SRA_ALLOC, no callee-saved pushes
  o.sub = 16;
  o.body = {{"za", "alloca"}, {"a", "sra_alloc"}, {"c", "leaf"}, {"stop", ""}};
  auto &l = img.fn("leaf");
  l.frame_pointer = false;
  l.sub = 24;
  l.exit = Exit::AddRsp;
  l.body = {{"stop", ""}};
  img.allocator(audit);
  img.build();
}

StackSim enter_one(MemoryImage &img) {
  StackSim sim(img, img.stack_high() - 0x100);
  sim.call("_start", "c");
  sim.enter(frame_of("main", 32));
  sim.call("main", "c3");
  sim.enter(frame_of("one", 16));
  return sim;
}

StackSim enter_copy(MemoryImage &img) { return enter_work(img, "copy"); }

void fill(MemoryImage &img, uint64_t at, size_t n, uint8_t byte) {
  for (size_t i = 0; i < n; ++i)
    img.put8(at + i, byte);
}

class VerdictsTest : public ::testing::TestWithParam<bool> {
protected:
  bool audit() const { return GetParam(); }
  uint64_t remnant() const { return audit() ? 32 : 16; }
};

INSTANTIATE_TEST_SUITE_P(Modes, VerdictsTest, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "audit" : "plain"; });

// Negative control: blocks with intact remnants and SRA_ALLOC's alloca gap
// account for every byte; nothing at or above a warning.
TEST_P(VerdictsTest, IntactBlocksAccountForEveryByte) {
  MemoryImage img;
  copy_functions(img, audit());
  StackSim sim = enter_copy(img);
  sim.alloca(16); // the alloca gap (GCC rounds alloca(0) to 16)
  sim.sra_alloc("copy", "a", 40, audit());
  sim.alloca(16);
  sim.sra_alloc("copy", "b", 16, audit());
  img.thread(sim.regs(img.ret_after("copy", "b")));
  Report r = analyze_image(img);
  EXPECT_EQ(count_at_least(r, Severity::Warning), 0u) << findings_text(r);
  EXPECT_EQ(r.threads.at(0).regions.size(), 2u);
}

// A 16-byte block, then a string copy 29 bytes past its end (44 characters
// and the NUL): the whole audit header (or the stub remnant and 13 bytes of
// copy's frame) is gone. The bytes the allocator reserved are still a block,
// named by its call site; the overrun is measured from what survives.
TEST_P(VerdictsTest, BlockWithoutRemnantIsStillABlock) {
  MemoryImage img;
  copy_functions(img, audit());
  StackSim sim = enter_one(img);
  const uint64_t p = sim.sra_alloc("one", "a", 16, audit());
  fill(img, p, 44, 'x'); // strcpy of 44 characters
  img.put8(p + 44, 0);   // and its NUL
  img.thread(sim.regs(img.ret_after("one", "a")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 1u) << findings_text(r);
  const Region &g = t.regions[0];
  EXPECT_EQ(g.base, p);
  EXPECT_EQ(g.reserved, 16 + remnant());
  EXPECT_EQ(g.state, audit() ? RegionState::Corrupt : RegionState::Live);
  EXPECT_EQ(g.evidence, audit() ? Evidence::Header : Evidence::Stub);
  ASSERT_TRUE(g.call_site);
  EXPECT_EQ(g.call_site->pc, img.ret_after("one", "a"));
  const Finding *f = first_finding(r, "region-overflow");
  ASSERT_TRUE(f) << findings_text(r);
  EXPECT_EQ(f->severity, audit() ? Severity::Error : Severity::Warning);
  EXPECT_EQ(f->region, g.id);
  EXPECT_NE(f->message.find("at least 28 bytes past the end"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("a run of 0x78 bytes"), std::string::npos) << f->message;
  if (audit()) {
    EXPECT_NE(f->message.find("the header's call site"), std::string::npos) << f->message;
  }
  EXPECT_EQ(t.frames[0].note.value_or("").find("no header or stub left"), std::string::npos)
      << t.frames[0].note;
}

// The same copy 160 bytes past the end: through copy's saved RBX and its
// saved pair into main's frame. The chain breaks at copy, and the finding
// is the block's overflow (an error in both modes), not broken-chain.
TEST_P(VerdictsTest, OverrunThroughTheSavedPairBlamesTheBlock) {
  MemoryImage img;
  copy_functions(img, audit());
  StackSim sim = enter_copy(img);
  const uint64_t slot = sim.rbp;
  const uint64_t p = sim.sra_alloc("copy", "a", 16, audit());
  fill(img, p, 16 + 160, 'x');
  img.thread(sim.regs(img.ret_after("copy", "a")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  EXPECT_EQ(t.chain_end, ChainEnd::BadReturnAddress);
  EXPECT_FALSE(first_finding(r, "broken-chain")) << findings_text(r);
  const Finding *f = first_finding(r, "region-overflow");
  ASSERT_TRUE(f) << findings_text(r);
  EXPECT_EQ(f->severity, Severity::Error);
  ASSERT_TRUE(f->region);
  EXPECT_EQ(t.regions.at(0).base, p);
  EXPECT_NE(f->message.find("at least 160 bytes past"), std::string::npos)
      << f->message;
  EXPECT_NE(f->message.find("saved RBP at " + hexstr(slot)), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("its return address"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("caller's frame"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("The RBP chain stops there"), std::string::npos) << f->message;
}

// A chain broken by something else is still broken-chain.
TEST_P(VerdictsTest, ChainBrokenWithoutOverrunStaysBrokenChain) {
  MemoryImage img;
  copy_functions(img, audit());
  StackSim sim = enter_copy(img);
  const uint64_t slot = sim.rbp;
  sim.alloca(16);
  sim.sra_alloc("copy", "a", 16, audit());
  img.put64(slot + 8, 0x1234567890, "return address replaced by an unrelated value");
  img.thread(sim.regs(img.ret_after("copy", "a")));
  Report r = analyze_image(img);
  EXPECT_TRUE(first_finding(r, "broken-chain")) << findings_text(r);
  EXPECT_FALSE(first_finding(r, "region-overflow")) << findings_text(r);
}

// One byte too many: memset of 17 bytes into a 16-byte block.
TEST_P(VerdictsTest, OneByteOverrun) {
  MemoryImage img;
  copy_functions(img, audit());
  StackSim sim = enter_copy(img);
  sim.sra_alloc("copy", "a", 32, audit());
  const uint64_t p = sim.sra_alloc("copy", "b", 16, audit());
  fill(img, p, 17, 'A');
  img.thread(sim.regs(img.ret_after("copy", "b")));
  Report r = analyze_image(img);
  const auto &t = r.threads.at(0);
  ASSERT_EQ(t.regions.size(), 2u) << findings_text(r);
  EXPECT_EQ(t.regions[1].base, p);
  EXPECT_EQ(t.regions[1].state, RegionState::Corrupt);
  const Finding *f = first_finding(r, "region-overflow");
  ASSERT_TRUE(f) << findings_text(r);
  EXPECT_EQ(f->severity, Severity::Error);
  EXPECT_EQ(f->region, t.regions[1].id);
  EXPECT_NE(f->message.find("at least 1 byte past the end"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find(audit() ? "its audit header's size" : "its stub remnant's saved RBP"), std::string::npos)
      << f->message;
  EXPECT_EQ(findings_of(r, "region-overflow").size(), 1u) << findings_text(r);
}

// Headers with a valid check and an impossible size: 2^64-1 (wraps when
// rounded), 2^32 (4 GiB below the stack), and a size that disagrees with the
// next block's stub.
TEST(Verdicts, ForgedHeadersAreCorrupt) {
  for (const uint64_t forged : {~uint64_t{0}, uint64_t{1} << 32, uint64_t{16}}) {
    MemoryImage img;
    copy_functions(img, true);
    StackSim sim = enter_copy(img);
    const uint64_t slot = sim.rbp;
    const uint64_t p1 = sim.sra_alloc("copy", "a", 64, true);
    sim.sra_alloc("copy", "b", 32, true);
    const uint64_t h = p1 + 64, ret = img.ret_after("copy", "a");
    img.put64(h, forged, "forged size");
    img.put32(h + 12, audit_check(forged, 1, slot, ret, h));
    img.thread(sim.regs(img.ret_after("copy", "b")));
    Report r = analyze_image(img);
    const auto &t = r.threads.at(0);
    ASSERT_EQ(t.regions.size(), 2u) << findings_text(r);
    EXPECT_EQ(t.regions[0].base, p1);
    EXPECT_EQ(t.regions[0].reserved, 64u + 32u);
    EXPECT_EQ(t.regions[0].state, RegionState::Corrupt);
    EXPECT_EQ(t.regions[1].state, RegionState::Live);
    const Finding *f = first_finding(r, "region-overflow");
    ASSERT_TRUE(f) << findings_text(r);
    EXPECT_EQ(f->region, t.regions[0].id);
    EXPECT_NE(f->message.find("passes its check but claims " + std::to_string(forged) + " bytes"), std::string::npos)
        << f->message;
    EXPECT_EQ(f->message.find("ran out of the block"), std::string::npos) << f->message;
  }
}

/// main kept a pointer returned by a call whose frame is gone, made another
/// call, and is frame 0 now (stopped at c2's return).
struct Kept {
  Kept() : sim(img, img.stack_high() - 0x100) {
    copy_functions(img, true);
    sim.call("_start", "c");
    sim.enter(frame_of("main", 32));
    below = sim.rsp - 96; // released: a returned call's block was here
  }
  MemoryImage img;
  StackSim sim;
  uint64_t below = 0;
};

TEST(Verdicts, SlotPointingIntoReleasedStack) {
  Kept k;
  k.img.put64(k.sim.rsp + 8, k.below, "main's local: pointer returned by a callee");
  k.img.thread(k.sim.regs(k.img.ret_after("main", "c2")));
  Report r = analyze_image(k.img);
  const Finding *f = first_finding(r, "dangling-pointer");
  ASSERT_TRUE(f) << findings_text(r);
  EXPECT_EQ(f->severity, Severity::Error);
  EXPECT_EQ(f->address, k.below);
  EXPECT_EQ(f->frame, 0u);
  EXPECT_NE(f->message.find("released stack"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("raw stack slot"), std::string::npos) << f->message;
}

TEST(Verdicts, CalleeSavedRegisterPointingIntoReleasedStack) {
  Kept k;
  Registers regs = k.sim.regs(k.img.ret_after("main", "c2"));
  regs.general = {{"rdi", k.below}, {"rbx", k.below + 16}};
  k.img.thread(regs);
  Report r = analyze_image(k.img);
  const auto all = findings_of(r, "dangling-pointer");
  ASSERT_EQ(all.size(), 1u) << findings_text(r); // rdi is scratch after a call: not trusted
  EXPECT_EQ(all[0]->address, k.below + 16);
  EXPECT_NE(all[0]->message.find("Register rbx"), std::string::npos) << all[0]->message;
}

TEST(Verdicts, GlobalPointingIntoReleasedStack) {
  Kept k;
  k.img.map_data(0x404000, 4096);
  k.img.put_data64(0x404010, k.below);
  k.img.put_data64(0x404018, k.below + 8);            // not 16-byte aligned: not a block
  k.img.put_data64(0x404020, k.img.stack_high() - 8); // live stack
  k.img.thread(k.sim.regs(k.img.ret_after("main", "c2")));
  Report r = analyze_image(k.img);
  const auto all = findings_of(r, "dangling-pointer");
  ASSERT_EQ(all.size(), 1u) << findings_text(r);
  EXPECT_EQ(all[0]->severity, Severity::Error);
  EXPECT_EQ(all[0]->address, k.below);
  EXPECT_FALSE(all[0]->frame);
  EXPECT_NE(all[0]->message.find("The global at 0x404010"), std::string::npos) << all[0]->message;
}

// A leaf (frame 0 calls nothing) may keep locals in the red zone below RSP:
// its registers and slots pointing there are no dangling pointers.
TEST(Verdicts, RedZoneOfALeafIsNotReleased) {
  Kept k;
  k.sim.call("main", "c2");
  k.sim.enter(frame_of("leaf", 24, {}, false));
  Registers regs = k.sim.regs(k.img.pc("leaf", "body"));
  regs.general = {{"rbx", (k.sim.rsp - 64) & ~uint64_t{15}}};
  k.img.thread(regs);
  Report r = analyze_image(k.img);
  EXPECT_FALSE(first_finding(r, "dangling-pointer")) << findings_text(r);
}

} // namespace
