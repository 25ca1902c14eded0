// stack_image_test.cpp: the bulk stack read and its fallbacks, against a
// target whose readable bytes are an arbitrary [start, end) window, as a
// minidump that holds a stack from RSP upwards is.
#include <gtest/gtest.h>

#include <cstring>

#include "unwind/stack_image.h"

namespace frameaudit {
namespace {

/// Memory readable only in [start, end); reads return the leading readable
/// bytes, as the front-ends' read_memory does.
class WindowTarget : public Target {
public:
  WindowTarget(uint64_t start, uint64_t end) : start_(start), end_(end) {}
  TargetInfo info() override { return {}; }
  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override {
    ++reads;
    if (addr < start_ || addr >= end_)
      return 0;
    size_t n = std::min<uint64_t>(buf.size(), end_ - addr);
    for (size_t i = 0; i < n; ++i)
      buf[i] = std::byte((addr + i) & 0xff); // each byte = low byte of its address
    return n;
  }
  std::vector<MemoryRegion> memory_regions() override { return {}; }
  std::vector<ThreadInfo> threads() override { return {}; }
  Symbol symbolize(uint64_t) override { return {}; }
  std::vector<uint64_t> allocator_entries() override { return {}; }
  int reads = 0;

private:
  uint64_t start_, end_;
};

TEST(StackImage, WholeRangeReadableIsOneRead) {
  WindowTarget t(0x10000, 0x20000);
  detail::StackImage img;
  img.load(t, 0x10000, 0x20000);
  EXPECT_EQ(t.reads, 1);
  EXPECT_EQ(img.holes(), 0u);
  EXPECT_TRUE(img.readable(0x10000, 0x10000));
}

TEST(StackImage, DumpStartingMidPageKeepsTheReadableSuffix) {
  // A minidump: stack saved from RSP = 0x17e38 up; the bulk read asked from
  // 64 KiB below RSP and got nothing.
  const uint64_t rsp = 0x17e38;
  WindowTarget t(rsp, 0x20000);
  detail::StackImage img;
  img.load(t, 0x8000, 0x20000);
  EXPECT_FALSE(img.readable(0x8000, 8));
  EXPECT_FALSE(img.readable(rsp - 0x40, 8));
  // Chunks wholly inside the dump are readable, from the first 8-byte
  // boundary at or above RSP; the frame-0 slots just above RSP are there.
  EXPECT_TRUE(img.readable(rsp, 0x20000 - rsp));
  ASSERT_TRUE(img.u64(0x17e40).has_value());
  uint64_t v = *img.u64(0x17e40);
  uint8_t b[8];
  std::memcpy(b, &v, 8);
  EXPECT_EQ(b[0], 0x40);
  EXPECT_EQ(b[7], 0x47);
  EXPECT_LT(t.reads, 200); // bounded: a few probes per missing page
}

TEST(StackImage, ReadablePrefixOfAPageIsKept) {
  WindowTarget t(0x10000, 0x10a00);
  detail::StackImage img;
  img.load(t, 0x10000, 0x12000);
  EXPECT_TRUE(img.readable(0x10000, 0xa00));
  EXPECT_FALSE(img.readable(0x109f8, 16));
  EXPECT_FALSE(img.readable(0x11000, 8));
  EXPECT_EQ(img.holes(), 2u);
}

TEST(StackImage, NothingReadable) {
  WindowTarget t(0, 0);
  detail::StackImage img;
  img.load(t, 0x10000, 0x14000);
  EXPECT_FALSE(img.readable(0x10000, 8));
  EXPECT_EQ(img.holes(), 4u);
}

} // namespace
} // namespace frameaudit
