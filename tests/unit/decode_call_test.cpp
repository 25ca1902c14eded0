// decode_call_test.cpp: decoding the call before a return address, and the
// allocator's entry signature (bytes from GNU as, annotated).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "frameaudit/function_info.h"

namespace frameaudit {
namespace {

constexpr uint64_t kRet = 0x401234; // the return address the bytes end at

std::vector<uint8_t> with_garbage(std::vector<uint8_t> tail, size_t total = 15) {
  std::vector<uint8_t> out;
  // Bytes that do not make a call on their own: mov %rbx,%rdi (48 89 df)...
  while (out.size() + tail.size() < total)
    out.push_back(std::vector<uint8_t>{0x48, 0x89, 0xdf}[out.size() % 3]);
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

TEST(DecodeCallBefore, DirectRel32) {
  // e8 10 00 00 00: call kRet + 0x10
  auto bytes = with_garbage({0xe8, 0x10, 0x00, 0x00, 0x00});
  auto c = decode_call_before(bytes, kRet);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, kRet - 5);
  EXPECT_EQ(c->return_address, kRet);
  EXPECT_EQ(c->target, kRet + 0x10);
  EXPECT_FALSE(c->indirect);
  EXPECT_EQ(c->length, 5);
}

TEST(DecodeCallBefore, DirectBackwardsTarget) {
  // e8 00 f0 ff ff: call kRet - 0x1000
  auto c = decode_call_before(with_garbage({0xe8, 0x00, 0xf0, 0xff, 0xff}), kRet);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->target, kRet - 0x1000);
}

TEST(DecodeCallBefore, IndirectRegister) {
  // ff d0: call *%rax
  auto c = decode_call_before(with_garbage({0xff, 0xd0}), kRet);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, kRet - 2);
  EXPECT_TRUE(c->indirect);
  EXPECT_FALSE(c->target);
  EXPECT_FALSE(c->slot);
  // 41 ff d3: call *%r11
  c = decode_call_before(with_garbage({0x41, 0xff, 0xd3}), kRet);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, kRet - 3);
  EXPECT_TRUE(c->indirect);
  // ff 53 08: call *0x8(%rbx)
  c = decode_call_before(with_garbage({0xff, 0x53, 0x08}), kRet);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, kRet - 3);
}

TEST(DecodeCallBefore, IndirectRipSlot) {
  // ff 15 10 00 00 00: call *0x10(%rip) -> slot at kRet + 0x10
  auto c = decode_call_before(with_garbage({0xff, 0x15, 0x10, 0x00, 0x00, 0x00}), kRet);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, kRet - 6);
  EXPECT_TRUE(c->indirect);
  EXPECT_FALSE(c->target);
  EXPECT_EQ(c->slot, kRet + 0x10);
}

TEST(DecodeCallBefore, NotACall) {
  // 48 89 df: mov %rbx,%rdi; then c3: ret
  EXPECT_FALSE(decode_call_before(with_garbage({0x48, 0x89, 0xdf}), kRet));
  EXPECT_FALSE(decode_call_before(with_garbage({0xc3}), kRet));
  // Too few bytes, and none at all.
  const std::vector<uint8_t> one = {0xd0};
  EXPECT_FALSE(decode_call_before(one, kRet));
  EXPECT_FALSE(decode_call_before({}, kRet));
  // A return address too close to 0 to have a call before it.
  EXPECT_FALSE(decode_call_before(with_garbage({0xe8, 0, 0, 0, 0}), 3));
}

TEST(DecodeCallBefore, AmbiguousBytesListEveryCandidate) {
  // e8 11 22 ff d0 decodes as call rel32 (5 bytes) and ends with call *%rax
  // (ff d0): both end at kRet; the direct call is preferred. (The garbage
  // byte before it, 0x48, also makes a 6-byte REX.W call: listed later.)
  auto bytes = with_garbage({0xe8, 0x11, 0x22, 0xff, 0xd0});
  auto all = decode_calls_before(bytes, kRet);
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all[0].length, 5);
  EXPECT_FALSE(all[0].indirect);
  bool has_register_call = false;
  for (const auto &c : all)
    has_register_call |= c.length == 2 && c.indirect;
  EXPECT_TRUE(has_register_call);
  EXPECT_EQ(decode_call_before(bytes, kRet)->length, 5);
}

// sra_alloc's entry as assembled from native/sra/sra_alloc.S (object file,
// before linking: the gottpoff displacement is still 0).
const std::vector<uint8_t> kAllocatorEntry = {
    0xf3, 0x0f, 0x1e, 0xfa,                   //  0: endbr64
    0x55,                                     //  4: push   %rbp
    0x48, 0x89, 0xe5,                         //  5: mov    %rsp,%rbp
    0x48, 0x8b, 0x05, 0x00, 0x00, 0x00, 0x00, //  8: mov    0x0(%rip),%rax  (gottpoff)
    0x64, 0x48, 0x8b, 0x08,                   //  f: mov    %fs:(%rax),%rcx
    0x48, 0x85, 0xc9,                         // 13: test   %rcx,%rcx
    0x74, 0x3e,                               // 16: je     0x56
    0x48, 0x89, 0xe2,                         // 18: mov    %rsp,%rdx
    0x48, 0x29, 0xca,                         // 1b: sub    %rcx,%rdx
    0x72, 0x3e,                               // 1e: jb     0x5e
};

TEST(LooksLikeAllocator, AsAssembled) {
  EXPECT_TRUE(looks_like_allocator(kAllocatorEntry));
  // Any displacement.
  auto moved = kAllocatorEntry;
  moved[11] = 0x34;
  moved[12] = 0x2f;
  EXPECT_TRUE(looks_like_allocator(moved));
  // Without endbr64.
  EXPECT_TRUE(looks_like_allocator(std::span<const uint8_t>(kAllocatorEntry).subspan(4)));
}

TEST(LooksLikeAllocator, LinkerRelaxedTlsLoad) {
  // ld relaxes the initial-exec load: 48 c7 c0 f8 ff ff ff: mov $-8,%rax
  auto relaxed = kAllocatorEntry;
  const uint8_t imm[] = {0x48, 0xc7, 0xc0, 0xf8, 0xff, 0xff, 0xff};
  std::copy(std::begin(imm), std::end(imm), relaxed.begin() + 8);
  EXPECT_TRUE(looks_like_allocator(relaxed));
  // Or a direct %fs load: 64 48 8b 0c 25 f8 ff ff ff: mov %fs:0xfffffffffffffff8,%rcx
  std::vector<uint8_t> direct(kAllocatorEntry.begin(), kAllocatorEntry.begin() + 8);
  const uint8_t fs[] = {0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff};
  direct.insert(direct.end(), std::begin(fs), std::end(fs));
  direct.insert(direct.end(), kAllocatorEntry.begin() + 0x13, kAllocatorEntry.end());
  EXPECT_TRUE(looks_like_allocator(direct));
}

TEST(LooksLikeAllocator, OrdinaryFunctionsAndTruncation) {
  const std::vector<uint8_t> plain = {
      0x55,                   //  0: push   %rbp
      0x48, 0x89, 0xe5,       //  1: mov    %rsp,%rbp
      0x48, 0x83, 0xec, 0x10, //  4: sub    $0x10,%rsp
      0xc9,                   //  8: leave
      0xc3,                   //  9: ret
  };
  EXPECT_FALSE(looks_like_allocator(plain));
  EXPECT_FALSE(looks_like_allocator({}));
  for (size_t n = 0; n < kAllocatorEntry.size() - 2; ++n) // cut before the sub
    EXPECT_FALSE(looks_like_allocator(std::span<const uint8_t>(kAllocatorEntry).first(n))) << n;
  // A different register in the TLS load does not match.
  auto other = kAllocatorEntry;
  other[0x12] = 0x10; // mov %fs:(%rax),%rdx
  EXPECT_FALSE(looks_like_allocator(other));
}

} // namespace
} // namespace frameaudit
