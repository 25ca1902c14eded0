// fuzz_image.h: the fuzz input format, shared by the libFuzzer target
// (analyze_fuzzer.cpp) and the seed writer (make_seeds.cpp).
//
// An input is a small header followed by stack bytes:
//
//   u8  flags         bit 0: no memory map; bit 1: no allocator entries;
//                     bit 2: symbols with bogus bounds; bit 3: scramble code
//                     with the stack bytes; bit 4: not x86_64; bit 5: all
//                     threads; bit 6: audit allocator; bit 7: holes
//   u8  threads       1..4 (taken modulo 4, plus 1)
//   per thread: u64 rip, u64 rsp, u64 rbp, u64 rax
//               (rip < code size means code base + rip; rsp/rbp < stack size
//                mean stack low + value; anything else is used raw)
//   u32 max_depth     0 = default
//   rest              the top of the stack: stack high - len .. stack high
//
// The code is always the program of memory_image_test_util.h
// (standard_functions): real prologues, calls and an sra_alloc look-alike,
// so the walker and the region finder get past their first checks.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "memory_image_test_util.h"

namespace fa_fuzz {

constexpr uint64_t kStackLow = 0x7ffff0000000;
constexpr uint64_t kStackSize = 64 * 1024;

/// A MemoryImage whose symbolization can lie about function bounds.
class FuzzImage : public fa_test::MemoryImage {
public:
  FuzzImage() : MemoryImage(kStackLow, kStackLow + kStackSize) {}
  bool bogus_symbols = false;
  frameaudit::Symbol symbolize(uint64_t pc) override {
    frameaudit::Symbol s = MemoryImage::symbolize(pc);
    if (bogus_symbols) {
      // Bounds that do not hold pc, reach far, or run backwards.
      s.function_start = pc & ~uint64_t{0xfff};
      s.function_end = (pc & 1) ? pc + (1ull << 40) : pc - 1;
      s.function = "bogus(int)";
      s.inlined = {"in<line>()"};
    }
    return s;
  }
};

struct Reader {
  const uint8_t *p;
  size_t n;
  template <class T> T take() {
    T v{};
    const size_t k = n < sizeof(T) ? n : sizeof(T);
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
};

struct Decoded {
  uint32_t max_depth = 0;
  bool all_threads = false;
};

/// Fill `img` (fresh) from the input. Never fails: short inputs read as zeros.
inline Decoded decode(const uint8_t *data, size_t size, FuzzImage &img) {
  Reader r{data, size};
  const uint8_t flags = r.take<uint8_t>();
  const int threads = r.take<uint8_t>() % 4 + 1;
  fa_test::standard_functions(img, (flags & 64) != 0);
  img.no_regions = flags & 1;
  if (flags & 2)
    img.entries_override = std::vector<uint64_t>{};
  img.bogus_symbols = flags & 4;
  if (flags & 16)
    img.target_info.arch = "aarch64";
  const uint64_t code_size = img.code_bytes().size();
  auto code = [&](uint64_t v) { return v < code_size ? fa_test::MemoryImage::kCodeBase + v : v; };
  auto stack = [&](uint64_t v) { return v < kStackSize ? kStackLow + v : v; };
  for (int i = 0; i < threads; ++i) {
    frameaudit::Registers regs;
    regs.rip = code(r.take<uint64_t>());
    regs.rsp = stack(r.take<uint64_t>());
    regs.rbp = stack(r.take<uint64_t>());
    regs.general = {{"rax", stack(r.take<uint64_t>())}, {"rbx", 0}};
    img.thread(regs, 100 + static_cast<uint64_t>(i));
  }
  Decoded d;
  d.max_depth = r.take<uint32_t>();
  d.all_threads = flags & 32;
  const size_t len = r.n < kStackSize ? r.n : kStackSize;
  const uint64_t top = kStackLow + kStackSize;
  for (size_t i = 0; i + 8 <= len; i += 8) {
    uint64_t v;
    std::memcpy(&v, r.p + i, 8);
    img.put64(top - len + i, v, "");
  }
  if (flags & 8) {
    auto &c = img.code_bytes();
    for (size_t i = 0; i < len && i < c.size(); ++i)
      c[i] ^= r.p[i];
  }
  if (flags & 128 && len > 0)
    img.hole(top - len + (r.p[0] % 16) * 4096 % kStackSize);
  return d;
}

/// The inverse, for seeds: a header plus the top of a simulated stack.
inline std::vector<uint8_t> encode(uint8_t flags, const std::vector<frameaudit::Registers> &threads,
                                   uint32_t max_depth, const fa_test::MemoryImage &img, uint64_t from) {
  std::vector<uint8_t> out;
  auto put = [&](const void *p, size_t n) {
    out.insert(out.end(), static_cast<const uint8_t *>(p), static_cast<const uint8_t *>(p) + n);
  };
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(threads.size() - 1));
  for (const auto &t : threads) {
    const uint64_t rip = t.rip - fa_test::MemoryImage::kCodeBase;
    const uint64_t rsp = t.rsp - kStackLow, rbp = t.rbp - kStackLow;
    const uint64_t rax = t.general.empty() ? 0 : t.general[0].second - kStackLow;
    put(&rip, 8);
    put(&rsp, 8);
    put(&rbp, 8);
    put(&rax, 8);
  }
  put(&max_depth, 4);
  for (uint64_t a = from & ~uint64_t{7}; a < kStackLow + kStackSize; a += 8) {
    const uint64_t v = img.get64(a);
    put(&v, 8);
  }
  return out;
}

} // namespace fa_fuzz
