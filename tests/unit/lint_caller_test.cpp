// lint_caller_test.cpp: check_allocator_caller, the rule shared by lint and
// the audit, on hand-assembled callers (GNU as; "offset: instruction").
// Every snippet starts at kBase; the allocator is at kBase + 0x1000, its
// GOT slot at kBase + 0x2000, any other callee at kBase + 0x3000.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "frameaudit/lint.h"

namespace frameaudit {
namespace {

constexpr uint64_t kBase = 0x401000;
constexpr uint64_t kAlloc = kBase + 0x1000;
constexpr uint64_t kSlot = kBase + 0x2000;

AllocatorCallerCheck check(const std::vector<uint8_t> &code) {
  const uint64_t targets[] = {kAlloc, kSlot};
  return check_allocator_caller(code, kBase, targets);
}

// What SRA_ALLOC compiles to: a dynamic frame (sub %rax,%rsp) restored
// from RBP.
TEST(AllocatorCaller, DynamicFrameRestoredFromRbpIsSafe) {
  const std::vector<uint8_t> code = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0x53,                         //  4: push %rbx
      0x48, 0x83, 0xec, 0x18,       //  5: sub $0x18,%rsp
      0x31, 0xc0,                   //  9: xor %eax,%eax
      0x48, 0x29, 0xc4,             //  b: sub %rax,%rsp
      0xe8, 0xed, 0x0f, 0x00, 0x00, //  e: call sra_alloc
      0x48, 0x89, 0xc7,             // 13: mov %rax,%rdi
      0xe8, 0xe5, 0x2f, 0x00, 0x00, // 16: call other
      0x48, 0x8b, 0x45, 0xf0,       // 1b: mov -0x10(%rbp),%rax
      0x48, 0x8d, 0x65, 0xf8,       // 1f: lea -0x8(%rbp),%rsp
      0x5b,                         // 23: pop %rbx
      0x5d,                         // 24: pop %rbp
      0xc3,                         // 25: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].address, kBase + 0xe);
  EXPECT_TRUE(c.calls[0].safe) << c.calls[0].reason;
  EXPECT_TRUE(c.calls[0].reason.empty());
  EXPECT_FALSE(c.unsafe());
  EXPECT_TRUE(c.function.dynamic_alloca);
  EXPECT_TRUE(c.function.rsp_accesses_after_alloc.empty());
}

TEST(AllocatorCaller, AddToRspEpilogueIsUnsafe) {
  const std::vector<uint8_t> code = {
      0x53,                         //  0: push %rbx
      0x48, 0x83, 0xec, 0x20,       //  1: sub $0x20,%rsp
      0xe8, 0xf6, 0x0f, 0x00, 0x00, //  5: call sra_alloc
      0x48, 0x89, 0xc3,             //  a: mov %rax,%rbx
      0x48, 0x83, 0xc4, 0x20,       //  d: add $0x20,%rsp
      0x5b,                         // 11: pop %rbx
      0xc3,                         // 12: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_TRUE(c.unsafe());
  EXPECT_EQ(c.calls[0].culprit, kBase + 0xd);
  EXPECT_NE(c.calls[0].reason.find("add $0x20, %rsp"), std::string::npos) << c.calls[0].reason;
  EXPECT_NE(c.calls[0].reason.find("0x401012"), std::string::npos) << c.calls[0].reason; // the ret
}

TEST(AllocatorCaller, PopsOnlyEpilogueIsUnsafe) {
  const std::vector<uint8_t> code = {
      0x55,                         //  0: push %rbp
      0x53,                         //  1: push %rbx
      0x50,                         //  2: push %rax
      0xe8, 0xf8, 0x0f, 0x00, 0x00, //  3: call sra_alloc
      0x59,                         //  8: pop %rcx
      0x5b,                         //  9: pop %rbx
      0x5d,                         //  a: pop %rbp
      0xc3,                         //  b: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_EQ(c.calls[0].culprit, kBase + 0x8);
  EXPECT_NE(c.calls[0].reason.find("only by pops"), std::string::npos) << c.calls[0].reason;
}

TEST(AllocatorCaller, FrameAccessThroughRspIsUnsafeEvenWithLeave) {
  const std::vector<uint8_t> code = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0x48, 0x83, 0xec, 0x20,       //  4: sub $0x20,%rsp
      0x48, 0x89, 0x7c, 0x24, 0x08, //  8: mov %rdi,0x8(%rsp)
      0xe8, 0xee, 0x0f, 0x00, 0x00, //  d: call sra_alloc
      0x48, 0x8b, 0x7c, 0x24, 0x08, // 12: mov 0x8(%rsp),%rdi   <- reads the block
      0xe8, 0xe4, 0x2f, 0x00, 0x00, // 17: call other
      0xc9,                         // 1c: leave
      0xc3,                         // 1d: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_EQ(c.calls[0].culprit, kBase + 0x12);
  ASSERT_EQ(c.function.rsp_accesses_after_alloc.size(), 1u);
  EXPECT_EQ(c.function.rsp_accesses_after_alloc[0].address, kBase + 0x12);
  EXPECT_EQ(c.function.rsp_accesses_after_alloc[0].text, "mov 0x8(%rsp), %rdi");
}

TEST(AllocatorCaller, OutgoingArgumentsBelowTheLoweredRspAreSafe) {
  const std::vector<uint8_t> code = {
      0x55,                                        //  0: push %rbp
      0x48, 0x89, 0xe5,                            //  1: mov %rsp,%rbp
      0x48, 0x83, 0xec, 0x10,                      //  4: sub $0x10,%rsp
      0xe8, 0xf3, 0x0f, 0x00, 0x00,                //  8: call sra_alloc
      0x48, 0x83, 0xec, 0x10,                      //  d: sub $0x10,%rsp
      0x48, 0x89, 0x04, 0x24,                      // 11: mov %rax,(%rsp)
      0x48, 0xc7, 0x44, 0x24, 0x08, 0x07, 0, 0, 0, // 15: movq $0x7,0x8(%rsp)
      0xe8, 0xdd, 0x2f, 0x00, 0x00,                // 1e: call other
      0x48, 0x83, 0xc4, 0x10,                      // 23: add $0x10,%rsp
      0x6a, 0x01,                                  // 27: push $0x1
      0x50,                                        // 29: push %rax
      0xe8, 0xd1, 0x2f, 0x00, 0x00,                // 2a: call other
      0x48, 0x83, 0xc4, 0x10,                      // 2f: add $0x10,%rsp
      0xc9,                                        // 33: leave
      0xc3,                                        // 34: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_TRUE(c.calls[0].safe) << c.calls[0].reason;
}

TEST(AllocatorCaller, RedZoneAndProbesAreNotFrameAccesses) {
  const std::vector<uint8_t> redzone = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0xe8, 0xf7, 0x0f, 0x00, 0x00, //  4: call sra_alloc
      0x48, 0x89, 0x44, 0x24, 0xf8, //  9: mov %rax,-0x8(%rsp)
      0xc9,                         //  e: leave
      0xc3,                         //  f: ret
  };
  EXPECT_FALSE(check(redzone).unsafe());
  const std::vector<uint8_t> probe = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0x48, 0x83, 0xec, 0x10,       //  4: sub $0x10,%rsp
      0xe8, 0xf3, 0x0f, 0x00, 0x00, //  8: call sra_alloc
      0x48, 0x83, 0x0c, 0x24, 0x00, //  d: orq $0x0,(%rsp)
      0x48, 0x89, 0x45, 0xf8,       // 12: mov %rax,-0x8(%rbp)
      0xc9,                         // 16: leave
      0xc3,                         // 17: ret
  };
  EXPECT_FALSE(check(probe).unsafe());
}

TEST(AllocatorCaller, TailJumpToTheAllocator) {
  const std::vector<uint8_t> code = {
      0xe9, 0xfb, 0x0f, 0x00, 0x00, //  0: jmp sra_alloc
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_TRUE(c.calls[0].tail_call);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_EQ(c.calls[0].culprit, kBase);
}

TEST(AllocatorCaller, CallThroughGotSlot) {
  const std::vector<uint8_t> code = {
      0x53,                               //  0: push %rbx
      0xff, 0x15, 0xf9, 0x1f, 0x00, 0x00, //  1: call *0x1ff9(%rip)  (slot kBase + 0x2000)
      0x5b,                               //  7: pop %rbx
      0xc3,                               //  8: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].address, kBase + 1);
  EXPECT_FALSE(c.calls[0].safe);
}

TEST(AllocatorCaller, ShrinkWrappedExitBeforeTheFrameIsNotOnThePath) {
  const std::vector<uint8_t> code = {
      0x48, 0x85, 0xff,             //  0: test %rdi,%rdi
      0x74, 0x0b,                   //  3: je 0x10
      0x55,                         //  5: push %rbp
      0x48, 0x89, 0xe5,             //  6: mov %rsp,%rbp
      0xe8, 0xf2, 0x0f, 0x00, 0x00, //  9: call sra_alloc
      0xc9,                         //  e: leave
      0xc3,                         //  f: ret
      0xc3,                         // 10: ret (before any frame)
  };
  EXPECT_FALSE(check(code).unsafe());
}

TEST(AllocatorCaller, OneUnsafePathOutOfTwo) {
  const std::vector<uint8_t> code = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0x53,                         //  4: push %rbx
      0x48, 0x83, 0xec, 0x08,       //  5: sub $0x8,%rsp
      0xe8, 0xf2, 0x0f, 0x00, 0x00, //  9: call sra_alloc
      0x48, 0x85, 0xc0,             //  e: test %rax,%rax
      0x74, 0x06,                   // 11: je 0x19
      0x48, 0x8b, 0x5d, 0xf8,       // 13: mov -0x8(%rbp),%rbx
      0xc9,                         // 17: leave
      0xc3,                         // 18: ret
      0x48, 0x83, 0xc4, 0x08,       // 19: add $0x8,%rsp
      0x5b,                         // 1d: pop %rbx
      0x5d,                         // 1e: pop %rbp
      0xc3,                         // 1f: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_EQ(c.calls[0].culprit, kBase + 0x19);
  EXPECT_NE(c.calls[0].reason.find("0x40101f"), std::string::npos) << c.calls[0].reason;
}

TEST(AllocatorCaller, SwitchTargetsAreFollowed) {
  const std::vector<uint8_t> code = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0xe8, 0xf7, 0x0f, 0x00, 0x00, //  4: call sra_alloc
      0x3e, 0xff, 0xe0,             //  9: notrack jmp *%rax
      0x90,                         //  c: nop
      0xc9,                         //  d: leave          (case 1: safe)
      0xc3,                         //  e: ret
      0xcc,                         //  f: int3
      0x5d,                         // 10: pop %rbp       (case 2: unsafe)
      0xc3,                         // 11: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_EQ(c.calls[0].culprit, kBase + 0x10);
}

TEST(AllocatorCaller, TailCallAfterLeaveAndLoopsAreSafe) {
  const std::vector<uint8_t> tail = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0xe8, 0xf7, 0x0f, 0x00, 0x00, //  4: call sra_alloc
      0x48, 0x89, 0xc7,             //  9: mov %rax,%rdi
      0xc9,                         //  c: leave
      0xe9, 0xee, 0x2f, 0x00, 0x00, //  d: jmp other
  };
  EXPECT_FALSE(check(tail).unsafe());
  const std::vector<uint8_t> loop = {
      0x55,                         //  0: push %rbp
      0x48, 0x89, 0xe5,             //  1: mov %rsp,%rbp
      0x53,                         //  4: push %rbx
      0x50,                         //  5: push %rax
      0x89, 0xfb,                   //  6: mov %edi,%ebx
      0xe8, 0xf3, 0x0f, 0x00, 0x00, //  8: call sra_alloc
      0xff, 0xcb,                   //  d: dec %ebx
      0x75, 0xf7,                   //  f: jne 0x8
      0x48, 0x8b, 0x5d, 0xf8,       // 11: mov -0x8(%rbp),%rbx
      0xc9,                         // 15: leave
      0xc3,                         // 16: ret
  };
  auto c = check(loop);
  EXPECT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.unsafe());
}

// GCC's deferred pop: the 7th argument's slot, pushed before the raw call, is
// reused with a store to 0(%rsp) after it: that is the block now.
TEST(AllocatorCaller, ArgumentSlotPushedBeforeTheCallIsTheBlockAfterIt) {
  const std::vector<uint8_t> code = {
      0x55,                                           //  0: push %rbp
      0x48, 0x89, 0xe5,                               //  1: mov %rsp,%rbp
      0x48, 0x29, 0xfc,                               //  4: sub %rdi,%rsp (a VLA)
      0x6a, 0x07,                                     //  7: push $0x7
      0xe8, 0xf2, 0x2f, 0x00, 0x00,                   //  9: call other (7 arguments)
      0xe8, 0xed, 0x0f, 0x00, 0x00,                   //  e: call sra_alloc
      0x48, 0xc7, 0x04, 0x24, 0x07, 0x00, 0x00, 0x00, // 13: movq $0x7,(%rsp)
      0xe8, 0xe0, 0x2f, 0x00, 0x00,                   // 1b: call other
      0xc9,                                           // 20: leave
      0xc3,                                           // 21: ret
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_FALSE(c.calls[0].safe);
  EXPECT_EQ(c.calls[0].culprit, kBase + 0x13);
  EXPECT_TRUE(c.function.dynamic_alloca);
}

// SRA_ALLOC's tail under GCC -maccumulate-outgoing-args: test the gap, and
// if there is one allocate it again below the block; the argument store at
// 0(%rsp) that follows is then the compiler's own area on both paths.
TEST(AllocatorCaller, SraAllocGapCheckIsRecognised) {
  const std::vector<uint8_t> code = {
      0x55,                                           //  0: push %rbp
      0x48, 0x89, 0xe5,                               //  1: mov %rsp,%rbp
      0x41, 0x54,                                     //  4: push %r12
      0x53,                                           //  6: push %rbx
      0x31, 0xc0,                                     //  7: xor %eax,%eax
      0x48, 0x29, 0xc4,                               //  9: sub %rax,%rsp
      0x49, 0x89, 0xc4,                               //  c: mov %rax,%r12 (the gap)
      0xe8, 0xec, 0x0f, 0x00, 0x00,                   //  f: call sra_alloc
      0x4d, 0x85, 0xe4,                               // 14: test %r12,%r12
      0x75, 0x16,                                     // 17: jne 0x2f
      0x48, 0xc7, 0x04, 0x24, 0x07, 0x00, 0x00, 0x00, // 19: movq $0x7,(%rsp)
      0xe8, 0xda, 0x2f, 0x00, 0x00,                   // 21: call other
      0x48, 0x8d, 0x65, 0xf0,                         // 26: lea -0x10(%rbp),%rsp
      0x5b,                                           // 2a: pop %rbx
      0x41, 0x5c,                                     // 2b: pop %r12
      0x5d,                                           // 2d: pop %rbp
      0xc3,                                           // 2e: ret
      0x49, 0x83, 0xc4, 0x17,                         // 2f: add $0x17,%r12
      0x49, 0x83, 0xe4, 0xf0,                         // 33: and $-16,%r12
      0x4c, 0x29, 0xe4,                               // 37: sub %r12,%rsp
      0xeb, 0xdd,                                     // 3a: jmp 0x19
  };
  auto c = check(code);
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_TRUE(c.calls[0].safe) << c.calls[0].reason;
  // Without the gap check (test; jne replaced by nops) the store is flagged.
  auto no_check = code;
  for (size_t k = 0x14; k < 0x19; ++k)
    no_check[k] = 0x90;
  auto d = check(no_check);
  ASSERT_EQ(d.calls.size(), 1u);
  EXPECT_FALSE(d.calls[0].safe);
  EXPECT_EQ(d.calls[0].culprit, kBase + 0x19);
}

TEST(AllocatorCaller, NoAllocatorCallsAndGarbage) {
  const std::vector<uint8_t> none = {0x55, 0x48, 0x89, 0xe5, 0xc9, 0xc3};
  EXPECT_TRUE(check(none).calls.empty());
  EXPECT_TRUE(check({}).calls.empty());
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<uint8_t> bytes(1 + rng() % 300);
    for (auto &b : bytes)
      b = static_cast<uint8_t>(rng());
    // Plant a call to the allocator somewhere, and loops back to it.
    const size_t at = rng() % bytes.size();
    if (at + 5 <= bytes.size()) {
      const int32_t rel = static_cast<int32_t>(kAlloc - (kBase + at + 5));
      bytes[at] = 0xe8;
      std::memcpy(&bytes[at + 1], &rel, 4);
    }
    auto c = check(bytes);
    for (const auto &v : c.calls)
      EXPECT_EQ(v.safe, v.reason.empty());
  }
}

} // namespace
} // namespace frameaudit
