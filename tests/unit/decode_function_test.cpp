// decode_function_test.cpp: the prologue/epilogue decoder on hand-assembled
// functions (bytes from GNU as, each line annotated "offset: instruction").
// Every function is placed at kBase; call/jmp targets in the comments are
// relative to offset 0 of the snippet as objdump printed them.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "frameaudit/function_info.h"

namespace frameaudit {
namespace {

constexpr uint64_t kBase = 0x401000;

// Frame pointer, two callee-saved pushes, fixed sub, lea -N(%rbp),%rsp.
const std::vector<uint8_t> kFpLea = {
    0xf3, 0x0f, 0x1e, 0xfa,       //  0: endbr64
    0x55,                         //  4: push   %rbp
    0x48, 0x89, 0xe5,             //  5: mov    %rsp,%rbp
    0x41, 0x57,                   //  8: push   %r15
    0x53,                         //  a: push   %rbx
    0x48, 0x83, 0xec, 0x28,       //  b: sub    $0x28,%rsp
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  f: call   0x10f
    0x48, 0x89, 0x45, 0xe8,       // 14: mov    %rax,-0x18(%rbp)
    0x48, 0x8d, 0x65, 0xf0,       // 18: lea    -0x10(%rbp),%rsp
    0x5b,                         // 1c: pop    %rbx
    0x41, 0x5f,                   // 1d: pop    %r15
    0x5d,                         // 1f: pop    %rbp
    0xc3,                         // 20: ret
};

const std::vector<uint8_t> kLeave = {
    0x55,                         //  0: push   %rbp
    0x48, 0x89, 0xe5,             //  1: mov    %rsp,%rbp
    0x48, 0x83, 0xec, 0x10,       //  4: sub    $0x10,%rsp
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  8: call   0x108
    0xc9,                         //  d: leave
    0xc3,                         //  e: ret
};

const std::vector<uint8_t> kMovRbp = {
    0x55,                         //  0: push   %rbp
    0x48, 0x89, 0xe5,             //  1: mov    %rsp,%rbp
    0x53,                         //  4: push   %rbx
    0x48, 0x83, 0xec, 0x08,       //  5: sub    $0x8,%rsp
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  9: call   0x109
    0x48, 0x89, 0xec,             //  e: mov    %rbp,%rsp
    0x5d,                         // 11: pop    %rbp
    0xc3,                         // 12: ret
};

const std::vector<uint8_t> kAddRsp = {
    0x53,                         //  0: push   %rbx
    0x48, 0x83, 0xec, 0x10,       //  1: sub    $0x10,%rsp
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  5: call   0x105
    0x48, 0x83, 0xc4, 0x10,       //  a: add    $0x10,%rsp
    0x5b,                         //  e: pop    %rbx
    0xc3,                         //  f: ret
};

// clang's style: push %rax stands in for sub $8,%rsp.
const std::vector<uint8_t> kPopsOnly = {
    0x55,                         //  0: push   %rbp
    0x53,                         //  1: push   %rbx
    0x50,                         //  2: push   %rax
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  3: call   0x103
    0x59,                         //  8: pop    %rcx
    0x5b,                         //  9: pop    %rbx
    0x5d,                         //  a: pop    %rbp
    0xc3,                         //  b: ret
};

const std::vector<uint8_t> kLeaf = {
    0x48, 0x89, 0xf8, //  0: mov    %rdi,%rax
    0xc3,             //  3: ret
};

const std::vector<uint8_t> kRealign = {
    0x55,                         //  0: push   %rbp
    0x48, 0x89, 0xe5,             //  1: mov    %rsp,%rbp
    0x48, 0x83, 0xe4, 0xe0,       //  4: and    $0xffffffffffffffe0,%rsp
    0x48, 0x83, 0xec, 0x40,       //  8: sub    $0x40,%rsp
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  c: call   0x10c
    0xc9,                         // 11: leave
    0xc3,                         // 12: ret
};

const std::vector<uint8_t> kAlloca = {
    0x55,                         //  0: push   %rbp
    0x48, 0x89, 0xe5,             //  1: mov    %rsp,%rbp
    0x48, 0x83, 0xec, 0x10,       //  4: sub    $0x10,%rsp
    0x48, 0x8d, 0x47, 0x0f,       //  8: lea    0xf(%rdi),%rax
    0x48, 0x83, 0xe0, 0xf0,       //  c: and    $0xfffffffffffffff0,%rax
    0x48, 0x29, 0xc4,             // 10: sub    %rax,%rsp
    0x48, 0x89, 0xe7,             // 13: mov    %rsp,%rdi
    0xe8, 0xfb, 0x00, 0x00, 0x00, // 16: call   0x116
    0xc9,                         // 1b: leave
    0xc3,                         // 1c: ret
};

const std::vector<uint8_t> kTailJmp = {
    0x53,                         //  0: push   %rbx
    0x48, 0x89, 0xfb,             //  1: mov    %rdi,%rbx
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  4: call   0x104
    0x48, 0x89, 0xdf,             //  9: mov    %rbx,%rdi
    0x5b,                         //  c: pop    %rbx
    0xe9, 0xfb, 0x01, 0x00, 0x00, //  d: jmp    0x20d (outside: tail call)
};

// Shrink-wrapped: the early exit returns before any frame is set up.
const std::vector<uint8_t> kShrinkWrapped = {
    0x48, 0x85, 0xff,             //  0: test   %rdi,%rdi
    0x74, 0x08,                   //  3: je     0xd
    0x53,                         //  5: push   %rbx
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  6: call   0x106
    0x5b,                         //  b: pop    %rbx
    0xc3,                         //  c: ret
    0x31, 0xc0,                   //  d: xor    %eax,%eax
    0xc3,                         //  f: ret
};

// A jump out of the middle of a framed function (to GCC's .cold part): not
// a return path.
const std::vector<uint8_t> kColdJump = {
    0x55,                         //  0: push   %rbp
    0x48, 0x89, 0xe5,             //  1: mov    %rsp,%rbp
    0x48, 0x83, 0xec, 0x10,       //  4: sub    $0x10,%rsp
    0x85, 0xff,                   //  8: test   %edi,%edi
    0x75, 0x07,                   //  a: jne    0x13
    0xe8, 0xfb, 0x00, 0x00, 0x00, //  c: call   0x10c
    0xc9,                         // 11: leave
    0xc3,                         // 12: ret
    0xe9, 0xfb, 0x02, 0x00, 0x00, // 13: jmp    0x313 (foo.cold)
};

// GCC's DRAP frame (realignment through %r10).
const std::vector<uint8_t> kDrap = {
    0x4c, 0x8d, 0x54, 0x24, 0x08, //  0: lea    0x8(%rsp),%r10
    0x48, 0x83, 0xe4, 0xe0,       //  5: and    $0xffffffffffffffe0,%rsp
    0x41, 0xff, 0x72, 0xf8,       //  9: push   -0x8(%r10)
    0x55,                         //  d: push   %rbp
    0x48, 0x89, 0xe5,             //  e: mov    %rsp,%rbp
    0x41, 0x52,                   // 11: push   %r10
    0x48, 0x83, 0xec, 0x28,       // 13: sub    $0x28,%rsp
    0xe8, 0xfb, 0x00, 0x00, 0x00, // 17: call   0x117
    0x4c, 0x8b, 0x55, 0xf8,       // 1c: mov    -0x8(%rbp),%r10
    0xc9,                         // 20: leave
    0x49, 0x8d, 0x62, 0xf8,       // 21: lea    -0x8(%r10),%rsp
    0xc3,                         // 25: ret
};

FunctionInfo decode(const std::vector<uint8_t> &code) {
  return decode_function(code, kBase);
}

TEST(DecodeFunction, FramePointerPushesSubAndLeaEpilogue) {
  auto fi = decode(kFpLea);
  EXPECT_TRUE(fi.decoded);
  EXPECT_FALSE(fi.truncated);
  EXPECT_TRUE(fi.has_frame_pointer);
  EXPECT_EQ(fi.frame_pointer_cfa_offset, 16);
  EXPECT_EQ(fi.saved_rbp_cfa_offset, 16);
  EXPECT_EQ(fi.callee_saved_pushes, 2);
  EXPECT_EQ(fi.fixed_sub, 0x28);
  EXPECT_EQ(fi.static_size, 8 + 8 + 16 + 0x28); // ret, rbp, r15+rbx, sub
  EXPECT_EQ(fi.prologue_end, kBase + 0xf);
  EXPECT_FALSE(fi.realigns_stack);
  EXPECT_FALSE(fi.dynamic_alloca);
  ASSERT_EQ(fi.calls.size(), 1u);
  EXPECT_EQ(fi.calls[0].address, kBase + 0xf);
  EXPECT_EQ(fi.calls[0].return_address, kBase + 0x14);
  EXPECT_EQ(fi.calls[0].target, kBase + 0x10f);
  EXPECT_FALSE(fi.calls[0].indirect);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::LeaFromRbp);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 0x18);
  EXPECT_EQ(fi.epilogues[0].ret_address, kBase + 0x20);
  EXPECT_EQ(fi.epilogues[0].pops, 3);
  EXPECT_FALSE(fi.epilogues[0].tail_call);
}

TEST(DecodeFunction, LeaveEpilogue) {
  auto fi = decode(kLeave);
  EXPECT_TRUE(fi.has_frame_pointer);
  EXPECT_EQ(fi.static_size, 8 + 8 + 0x10);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::Leave);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 0xd);
}

TEST(DecodeFunction, MovRbpEpilogue) {
  auto fi = decode(kMovRbp);
  EXPECT_EQ(fi.callee_saved_pushes, 1);
  EXPECT_EQ(fi.static_size, 8 + 8 + 8 + 8);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::MovFromRbp);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 0xe);
  EXPECT_EQ(fi.epilogues[0].pops, 1);
}

TEST(DecodeFunction, AddToRspEpilogue) {
  auto fi = decode(kAddRsp);
  EXPECT_FALSE(fi.has_frame_pointer);
  EXPECT_FALSE(fi.saved_rbp_cfa_offset.has_value());
  EXPECT_EQ(fi.static_size, 8 + 8 + 0x10);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::AddToRsp);
  EXPECT_EQ(fi.epilogues[0].add_amount, 0x10);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 0xa);
  EXPECT_EQ(fi.epilogues[0].pops, 1);
}

TEST(DecodeFunction, PopsOnlyEpilogueAndPushRaxAsAllocation) {
  auto fi = decode(kPopsOnly);
  EXPECT_FALSE(fi.has_frame_pointer); // push %rbp without mov %rsp,%rbp
  EXPECT_EQ(fi.saved_rbp_cfa_offset, 16);
  EXPECT_EQ(fi.callee_saved_pushes, 3);
  EXPECT_EQ(fi.static_size, 32);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::PopsOnly);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 0x8);
  EXPECT_EQ(fi.epilogues[0].pops, 3);
}

TEST(DecodeFunction, FramelessLeaf) {
  auto fi = decode(kLeaf);
  EXPECT_EQ(fi.static_size, 8);
  EXPECT_EQ(fi.prologue_end, kBase);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::None);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 3);
}

TEST(DecodeFunction, Realignment) {
  auto fi = decode(kRealign);
  EXPECT_TRUE(fi.realigns_stack);
  EXPECT_EQ(fi.fixed_sub, 0x40);
  EXPECT_EQ(fi.prologue_end, kBase + 0xc);
  EXPECT_EQ(fi.epilogues.at(0).kind, EpilogueKind::Leave);
  auto st = prologue_state_at(fi, kRealign, kBase + 0xc);
  EXPECT_FALSE(st.rsp_offset_exact);
  EXPECT_TRUE(st.frame_pointer_set);
}

TEST(DecodeFunction, DynamicAlloca) {
  auto fi = decode(kAlloca);
  EXPECT_TRUE(fi.dynamic_alloca);
  EXPECT_EQ(fi.static_size, 8 + 8 + 0x10);
  EXPECT_EQ(fi.prologue_end, kBase + 0x8);
  EXPECT_EQ(fi.epilogues.at(0).kind, EpilogueKind::Leave);
  auto st = prologue_state_at(fi, kAlloca, kBase + 0x16);
  EXPECT_FALSE(st.rsp_offset_exact);
  EXPECT_EQ(st.rsp_offset_from_cfa, 32); // the static part
}

TEST(DecodeFunction, TailJumpIsAReturnPath) {
  auto fi = decode(kTailJmp);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_TRUE(fi.epilogues[0].tail_call);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::PopsOnly);
  EXPECT_EQ(fi.epilogues[0].ret_address, kBase + 0xd);
}

TEST(DecodeFunction, ShrinkWrappedEarlyReturn) {
  auto fi = decode(kShrinkWrapped);
  ASSERT_EQ(fi.epilogues.size(), 2u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::PopsOnly);
  EXPECT_EQ(fi.epilogues[1].kind, EpilogueKind::None); // the pre-frame exit
  EXPECT_EQ(fi.epilogues[1].ret_address, kBase + 0xf);
}

// GCC's shrink-wrapping with a frame pointer: the early exit at 0x19 runs
// before any prologue instruction.
const std::vector<uint8_t> kShrinkWrappedFp = {
    0x48, 0x85, 0xff,             //  0: test %rdi,%rdi
    0x74, 0x14,                   //  3: je 0x19
    0x55,                         //  5: push %rbp
    0x48, 0x89, 0xe5,             //  6: mov %rsp,%rbp
    0x53,                         //  9: push %rbx
    0x48, 0x83, 0xec, 0x08,       //  a: sub $0x8,%rsp
    0xe8, 0xed, 0x0f, 0x00, 0x00, //  e: call 0x1000
    0x48, 0x8b, 0x5d, 0xf8,       // 13: mov -0x8(%rbp),%rbx
    0xc9,                         // 17: leave
    0xc3,                         // 18: ret
    0x31, 0xc0,                   // 19: xor %eax,%eax
    0xc3,                         // 1b: ret
};

TEST(DecodeFunction, ShrinkWrappedFramePointer) {
  auto fi = decode(kShrinkWrappedFp);
  EXPECT_TRUE(fi.has_frame_pointer);
  EXPECT_EQ(fi.static_size, 32);
  EXPECT_EQ(fi.prologue_end, kBase + 0xe);
  EXPECT_EQ(fi.callee_saved_pushes, 1);
  const std::pair<uint64_t, int64_t> table[] = {
      {0x00, 8},  {0x03, 8},  {0x05, 8},  {0x06, 16}, {0x09, 16}, {0x0a, 24},
      {0x0e, 32}, {0x13, 32}, {0x17, 32}, {0x18, 8},  {0x19, 8},  {0x1b, 8},
  };
  for (auto [off, cfa] : table) {
    SCOPED_TRACE(off);
    auto st = prologue_state_at(fi, kShrinkWrappedFp, kBase + off);
    EXPECT_EQ(st.rsp_offset_from_cfa, cfa);
    EXPECT_EQ(st.frame_pointer_set, off >= 0x09 && off <= 0x17);
  }
}

TEST(DecodeFunction, JumpToColdPartIsNotAReturnPath) {
  auto fi = decode(kColdJump);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::Leave);
}

TEST(DecodeFunction, DrapFrame) {
  auto fi = decode(kDrap);
  EXPECT_TRUE(fi.realigns_stack);
  EXPECT_TRUE(fi.has_frame_pointer);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::FromOtherRegister);
  EXPECT_EQ(fi.epilogues[0].restore_address, kBase + 0x21);
}

TEST(DecodeFunction, IndirectJumps) {
  // notrack jmp *%rax: a switch, not a return path.
  const std::vector<uint8_t> sw = {
      0x55,             //  0: push   %rbp
      0x48, 0x89, 0xe5, //  1: mov    %rsp,%rbp
      0x3e, 0xff, 0xe0, //  4: notrack jmp *%rax
  };
  EXPECT_TRUE(decode(sw).epilogues.empty());
  // pop; jmp *0x10(%rip): a tail call through the GOT.
  const std::vector<uint8_t> got = {
      0x53,                               //  0: push   %rbx
      0x5b,                               //  1: pop    %rbx
      0xff, 0x25, 0x10, 0x00, 0x00, 0x00, //  2: jmp    *0x10(%rip)
  };
  auto fi = decode(got);
  ASSERT_EQ(fi.epilogues.size(), 1u);
  EXPECT_TRUE(fi.epilogues[0].tail_call);
  EXPECT_EQ(fi.epilogues[0].kind, EpilogueKind::PopsOnly);
}

TEST(DecodeFunction, EmptyAndGarbage) {
  auto empty = decode_function({}, kBase);
  EXPECT_FALSE(empty.decoded);
  EXPECT_FALSE(empty.truncated);
  const std::vector<uint8_t> bad = {0x0f, 0x0b + 0x30}; // 0f 3b: not an instruction
  auto fi = decode(bad);
  EXPECT_FALSE(fi.decoded);
  EXPECT_TRUE(fi.truncated);
  // A valid prefix then a cut-off instruction.
  const std::vector<uint8_t> cut = {0x55, 0x48, 0x89};
  auto c = decode(cut);
  EXPECT_TRUE(c.decoded);
  EXPECT_TRUE(c.truncated);
  EXPECT_EQ(c.static_size, 16);
}

// Frame state at every instruction of kFpLea (endbr64; push %rbp; mov;
// push r15; push rbx; sub $0x28; call; mov; lea; pop; pop; pop; ret).
TEST(PrologueState, EveryInstructionOfAFramedFunction) {
  auto fi = decode(kFpLea);
  struct Expect {
    uint64_t offset;
    bool pushed, set;
    int64_t cfa_minus_rsp;
    bool epilogue;
  };
  const Expect table[] = {
      {0x00, false, false, 8, false}, // endbr64
      {0x04, false, false, 8, false}, // push %rbp
      {0x05, true, false, 16, false}, // mov %rsp,%rbp
      {0x08, true, true, 16, false},  // push %r15
      {0x0a, true, true, 24, false},  // push %rbx
      {0x0b, true, true, 32, false},  // sub $0x28,%rsp
      {0x0f, true, true, 72, false},  // call (body)
      {0x14, true, true, 72, false},  // mov %rax,-0x18(%rbp)
      {0x18, true, true, 72, false},  // lea -0x10(%rbp),%rsp: not yet executed
      {0x1c, true, true, 32, true},   // pop %rbx
      {0x1d, true, true, 24, true},   // pop %r15
      {0x1f, true, true, 16, true},   // pop %rbp
      {0x20, false, false, 8, true},  // ret
  };
  for (const auto &e : table) {
    SCOPED_TRACE(e.offset);
    auto st = prologue_state_at(fi, kFpLea, kBase + e.offset);
    EXPECT_EQ(st.rbp_pushed, e.pushed);
    EXPECT_EQ(st.frame_pointer_set, e.set);
    EXPECT_EQ(st.rsp_offset_from_cfa, e.cfa_minus_rsp);
    EXPECT_EQ(st.in_epilogue, e.epilogue);
    EXPECT_TRUE(st.rsp_offset_exact);
    if (e.pushed) {
      EXPECT_EQ(st.saved_rbp_cfa_offset, 16);
    } else {
      EXPECT_FALSE(st.saved_rbp_cfa_offset.has_value());
    }
  }
}

TEST(PrologueState, LeaveEpilogue) {
  auto fi = decode(kLeave);
  auto at_leave = prologue_state_at(fi, kLeave, kBase + 0xd);
  EXPECT_FALSE(at_leave.in_epilogue);
  EXPECT_TRUE(at_leave.frame_pointer_set);
  EXPECT_EQ(at_leave.rsp_offset_from_cfa, 32);
  auto at_ret = prologue_state_at(fi, kLeave, kBase + 0xe);
  EXPECT_TRUE(at_ret.in_epilogue);
  EXPECT_FALSE(at_ret.rbp_pushed);
  EXPECT_FALSE(at_ret.frame_pointer_set);
  EXPECT_EQ(at_ret.rsp_offset_from_cfa, 8);
}

TEST(PrologueState, AddEpilogueWithoutFramePointer) {
  auto fi = decode(kAddRsp);
  const std::pair<uint64_t, int64_t> table[] = {
      {0x0, 8}, {0x1, 16}, {0x5, 32}, {0xa, 32}, {0xe, 16}, {0xf, 8},
  };
  for (auto [off, cfa] : table) {
    SCOPED_TRACE(off);
    auto st = prologue_state_at(fi, kAddRsp, kBase + off);
    EXPECT_EQ(st.rsp_offset_from_cfa, cfa);
    EXPECT_FALSE(st.frame_pointer_set);
    EXPECT_EQ(st.in_epilogue, off >= 0xe);
  }
}

TEST(PrologueState, OutsideTheFunction) {
  auto fi = decode(kLeave);
  auto st = prologue_state_at(fi, kLeave, kBase - 1);
  EXPECT_FALSE(st.rbp_pushed);
  EXPECT_EQ(st.rsp_offset_from_cfa, 8);
  st = prologue_state_at(fi, kLeave, kBase + kLeave.size());
  EXPECT_EQ(st.rsp_offset_from_cfa, 8);
}

TEST(DecodeFunction, RandomBytesNeverCrash) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 300; ++round) {
    std::vector<uint8_t> bytes(1 + rng() % 200);
    for (auto &b : bytes)
      b = static_cast<uint8_t>(rng());
    // Bias some rounds towards stack instructions.
    if (round % 3 == 0)
      for (auto &b : bytes)
        b = std::vector<uint8_t>{0x55, 0x5d, 0xc9, 0xc3, 0x48, 0x83,
                                 0xec, 0xc4, 0xe8, 0xff, 0x89, 0xe5}[b % 12];
    auto fi = decode_function(bytes, kBase);
    for (uint64_t pc = kBase; pc < kBase + bytes.size(); ++pc)
      (void)prologue_state_at(fi, bytes, pc);
    for (size_t n = 0; n <= std::min<size_t>(bytes.size(), 15); ++n)
      (void)decode_call_before(std::span<const uint8_t>(bytes).last(n), kBase + 100);
    (void)looks_like_allocator(bytes);
  }
}

// GCC -O2 -fomit-frame-pointer moves the code after a catch (or any unlikely
// path) of an SRA_ALLOC caller into `f.cold`: no prologue, yet it allocates
// below the parent's frame pointer and returns through it. With debug info
// the debugger names it `f`, so only the code tells it is a part.
const std::vector<uint8_t> kColdPart = {
    0x48, 0x29, 0xc4,                   //  0: sub    %rax,%rsp (SRA_ALLOC's alloca)
    0xe8, 0xf8, 0x00, 0x00, 0x00,       //  3: call   0x100 (sra_alloc)
    0x0f, 0x85, 0xf2, 0x0f, 0x00, 0x00, //  8: jne    0x1000 (back into f)
    0xe8, 0xed, 0x01, 0x00, 0x00,       //  e: call   0x200
    0x48, 0x8d, 0x65, 0xe0,             // 13: lea    -0x20(%rbp),%rsp
    0x5b,                               // 17: pop    %rbx
    0x41, 0x5c,                         // 18: pop    %r12
    0x41, 0x5d,                         // 1a: pop    %r13
    0x41, 0x5e,                         // 1c: pop    %r14
    0x5d,                               // 1e: pop    %rbp
    0xc3,                               // 1f: ret
};

// fixture_stop.cold (GCC -O2): a trap and a noreturn call, RSP never moved.
const std::vector<uint8_t> kColdNoReturn = {
    0x0f, 0x0b,                   //  0: ud2
    0xe8, 0xf9, 0x02, 0x00, 0x00, //  2: call   0x300 (abort)
};

// A frameless function aligns RSP before it calls: no borrowed frame.
const std::vector<uint8_t> kFramelessCaller = {
    0x48, 0x83, 0xec, 0x08,       //  0: sub    $0x8,%rsp
    0xe8, 0xf7, 0x03, 0x00, 0x00, //  4: call   0x400
    0x48, 0x83, 0xc4, 0x08,       //  9: add    $0x8,%rsp
    0xc3,                         //  d: ret
};

TEST(DecodeFunction, SplitOffPartBorrowsItsParentsFrame) {
  auto fi = decode(kColdPart);
  EXPECT_FALSE(fi.has_frame_pointer);
  EXPECT_EQ(fi.static_size, 8);
  EXPECT_TRUE(fi.borrows_frame);
  EXPECT_EQ(fi.jumps_out, (std::vector<uint64_t>{kBase + 0x1000}));
  // In its body the parent's frame pointer holds; CFA - RSP is not its own.
  auto body = prologue_state_at(fi, kColdPart, kBase + 0xe);
  EXPECT_TRUE(body.frame_pointer_set);
  EXPECT_FALSE(body.rsp_offset_exact);
  EXPECT_FALSE(body.in_epilogue);
  // After lea -0x20(%rbp),%rsp: five pops, then the return address.
  auto epi = prologue_state_at(fi, kColdPart, kBase + 0x17);
  EXPECT_TRUE(epi.in_epilogue);
  EXPECT_TRUE(epi.rsp_offset_exact);
  EXPECT_EQ(epi.rsp_offset_from_cfa, 48);
  EXPECT_EQ(epi.saved_rbp_cfa_offset, 16);
  EXPECT_FALSE(epi.frame_pointer_set);
  auto at_ret = prologue_state_at(fi, kColdPart, kBase + 0x1f);
  EXPECT_TRUE(at_ret.in_epilogue);
  EXPECT_EQ(at_ret.rsp_offset_from_cfa, 8);

  auto noreturn = decode(kColdNoReturn);
  EXPECT_TRUE(noreturn.borrows_frame);
  EXPECT_TRUE(prologue_state_at(noreturn, kColdNoReturn, kBase).frame_pointer_set);
  EXPECT_TRUE(noreturn.jumps_out.empty());
}

TEST(DecodeFunction, OrdinaryFunctionsBorrowNoFrame) {
  EXPECT_FALSE(decode(kFramelessCaller).borrows_frame);
  EXPECT_FALSE(decode(kFpLea).borrows_frame);
  EXPECT_FALSE(decode(kLeave).borrows_frame);
  EXPECT_FALSE(decode(kDrap).borrows_frame);
  EXPECT_FALSE(decode(kColdJump).borrows_frame);
  EXPECT_EQ(decode(kColdJump).jumps_out, (std::vector<uint64_t>{kBase + 0x313}));
}

} // namespace
} // namespace frameaudit
