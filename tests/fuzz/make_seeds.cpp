// make_seeds.cpp: writes the fuzz seed corpus: fixture-like stacks built with
// the unit tests' stack simulator (a clean chain, live blocks in both modes,
// dead blocks, an overflow, frame 0 in a prologue, inside sra_alloc and in a
// frameless leaf, broken chains), in fuzz_image.h's format.
#include <cstdio>
#include <fstream>
#include <string>

#include "fuzz_image.h"

using namespace fa_test;

namespace {

void write(const std::string &dir, const std::string &name, const std::vector<uint8_t> &bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

StackSim prepared(fa_fuzz::FuzzImage &img, bool audit) {
  standard_functions(img, audit);
  return enter_work(img);
}

struct Scene {
  fa_fuzz::FuzzImage img;
  StackSim sim;
  explicit Scene(bool audit) : sim(prepared(img, audit)) {}
};

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (bool audit : {false, true}) {
    const uint8_t mode = audit ? 64 : 0;
    const std::string m = audit ? "audit" : "plain";
    {
      Scene s(audit);
      auto regs = s.sim.regs(s.img.pc("work", "body"));
      write(dir, m + "-clean", fa_fuzz::encode(mode, {regs}, 0, s.img, s.sim.rsp));
    }
    {
      Scene s(audit);
      s.sim.sra_alloc("work", "a", 40, audit);
      s.sim.sra_alloc("work", "b", 100, audit);
      auto regs = s.sim.regs(s.img.ret_after("work", "b"));
      write(dir, m + "-live", fa_fuzz::encode(mode, {regs}, 0, s.img, s.sim.rsp - 512));
      s.img.put64(s.sim.rsp + 112, 0x4141414141414141, "");
      write(dir, m + "-overflow", fa_fuzz::encode(mode, {regs}, 0, s.img, s.sim.rsp - 512));
    }
    {
      Scene s(audit);
      const uint64_t p = s.sim.sra_alloc("work", "a", 64, audit);
      s.sim.sra_alloc("work", "b", 32, audit);
      s.sim.leave_ret();
      auto regs = s.sim.regs(s.img.ret_after("main", "c"));
      regs.general = {{"rax", p}};
      write(dir, m + "-dead", fa_fuzz::encode(mode, {regs}, 0, s.img, s.sim.rsp - 1024));
    }
    {
      Scene s(audit);
      s.sim.call("work", "c");
      s.sim.rsp -= 24;
      auto regs = s.sim.regs(s.img.pc("leaf", "body"));
      write(dir, m + "-leaf", fa_fuzz::encode(mode | 32, {regs, regs}, 0, s.img, s.sim.rsp));
    }
    {
      Scene s(audit);
      s.sim.push(s.img.ret_after("work", "a"), "");
      s.sim.push(s.sim.rbp, "");
      auto regs = s.sim.regs(s.img.pc("sra_alloc", "after_push"));
      write(dir, m + "-in-allocator", fa_fuzz::encode(mode, {regs}, 0, s.img, s.sim.rsp));
      write(dir, m + "-no-map", fa_fuzz::encode(mode | 1 | 2, {regs}, 2, s.img, s.sim.rsp));
    }
    {
      Scene s(audit);
      s.img.put64(s.sim.rbp, s.sim.rbp, "");
      auto regs = s.sim.regs(s.img.pc("work", "body"));
      write(dir, m + "-cycle", fa_fuzz::encode(mode | 4 | 8 | 128, {regs}, 0, s.img, s.sim.rsp));
    }
  }
  return 0;
}
