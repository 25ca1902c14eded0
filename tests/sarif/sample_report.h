// sample_report.h: hand-built reports that exercise every field of the
// report model: every frame kind, region state and evidence, every finding
// kind with and without source locations, null fields, Unicode names and
// bytes that are not UTF-8. Shared by the renderer unit tests and the SARIF
// validation test, so both check the same document.
#pragma once

#include <string>
#include <vector>

#include "frameaudit/lint.h"
#include "frameaudit/report.h"

namespace frameaudit::sample {

// Thread 1's stack: [0x7ffc9b1d4000, 0x7ffc9b1f5000). Frames, innermost first:
//   #0 level3  [0x...4e40, 0x...4e60)  normal, saved rbp slot at 0x...4e50
//   #1 level2  [0x...4e60, 0x...4f00)  relocated: static 48, two audit blocks
//                                      t1.r0 [0x...4ea0 +16, reserved 48)
//                                      t1.r1 [0x...4e60 +20, reserved 64)
//   #2 main    [0x...4f00, 0x...4f40)  normal
//   #3 __libc_start_call_main          unknown, no CFA, no slot
// Below RSP: dead block t1.r2 (stub evidence) and a stale stub.
inline constexpr uint64_t kStack = 0x7ffc9b1f0000;

inline Frame make_frame(uint32_t index, uint64_t pc, std::optional<std::string> function,
                        FrameKind kind) {
  Frame f;
  f.index = index;
  f.pc = pc;
  f.function = std::move(function);
  f.kind = kind;
  return f;
}

inline CallSite make_call_site(uint64_t pc, std::optional<std::string> function,
                               std::optional<std::string> file, std::optional<uint32_t> line) {
  CallSite c;
  c.pc = pc;
  c.function = std::move(function);
  c.file = std::move(file);
  c.line = line;
  return c;
}

inline ChainLink make_link(uint64_t address, uint64_t saved_rbp, uint64_t return_address,
                           std::optional<uint64_t> call_target, LinkChecks checks = {}) {
  ChainLink l;
  l.address = address;
  l.saved_rbp = saved_rbp;
  l.return_address = return_address;
  l.call_target = call_target;
  l.checks = std::move(checks);
  return l;
}

inline ThreadReport main_thread() {
  ThreadReport t;
  t.tid = 4242;
  t.index = 1;
  t.name = "main";
  t.stack = StackRange{0x7ffc9b1d4000, 0x7ffc9b1f5000};
  t.registers.rip = 0x401196;
  t.registers.rsp = kStack + 0x4e40;
  t.registers.rbp = kStack + 0x4e50;
  t.registers.general = {{"rax", 0x10}, {"rbx", kStack + 0x4dc0}};
  t.stop_reason = "signal SIGSEGV: address not mapped to object (fault address: 0x0)";
  t.is_selected = true;

  Frame f0 = make_frame(0, 0x401196, "level3", FrameKind::Normal);
  f0.cfa = kStack + 0x4e60;
  f0.rsp = kStack + 0x4e40;
  f0.rbp = kStack + 0x4e50;
  f0.module = "fixture";
  f0.file = "/src/tests/fixtures/fixture.c";
  f0.line = 30;
  f0.static_size = 32;
  f0.span = 32;
  f0.dynamic_bytes = 0;
  f0.function_start = 0x401180;
  f0.saved_rbp_slot = kStack + 0x4e50;

  Frame f1 = make_frame(1, 0x401236, "level2", FrameKind::Relocated);
  f1.inlined = {Name("helper")};
  f1.cfa = kStack + 0x4f00;
  f1.rsp = kStack + 0x4e60;
  f1.rbp = kStack + 0x4ef0;
  f1.module = "fixture";
  f1.file = "/src/tests/fixtures/fixture.c";
  f1.line = 22;
  f1.static_size = 48;
  f1.span = 160;
  f1.dynamic_bytes = 112;
  f1.regions = {"t1.r0", "t1.r1"};
  f1.saved_rbp_slot = kStack + 0x4ef0;
  f1.note = "RSP lowered by 112 bytes by two sra_alloc calls";

  Frame f2 = make_frame(2, 0x4012a0, "main", FrameKind::Normal);
  f2.cfa = kStack + 0x4f40;
  f2.rsp = kStack + 0x4f00;
  f2.rbp = kStack + 0x4f30;
  f2.module = "fixture";
  f2.file = "fixture.c"; // relative, as some debug info has it
  f2.line = 50;
  f2.static_size = 64;
  f2.span = 64;
  f2.dynamic_bytes = 0;
  f2.saved_rbp_slot = kStack + 0x4f30;

  Frame f3 = make_frame(3, 0x7f3a2c029d90, "__libc_start_call_main", FrameKind::Unknown);
  f3.rsp = kStack + 0x4f40;
  f3.module = "libc.so.6";

  t.frames = {f0, f1, f2, f3};
  t.chain_end = ChainEnd::Outermost;
  t.chain_end_detail = "the saved RBP of frame #2 (main) is 0: the outermost frame";

  Region r0;
  r0.id = "t1.r0";
  r0.base = kStack + 0x4ea0;
  r0.size = 16;
  r0.reserved = 48;
  r0.frame = 1;
  r0.function = "level2";
  r0.call_site = make_call_site(0x401220, "level2", "/src/tests/fixtures/fixture.c", 20);
  r0.state = RegionState::Live;
  r0.evidence = Evidence::Header;
  r0.sequence = 1;

  Region r1 = r0;
  r1.id = "t1.r1";
  r1.base = kStack + 0x4e60;
  r1.size = 20;
  r1.reserved = 64;
  r1.call_site = make_call_site(0x401230, "level2", "/src/tests/fixtures/fixture.c", 21);
  r1.state = RegionState::Corrupt;
  r1.sequence = 2;

  Region r2;
  r2.id = "t1.r2";
  r2.base = kStack + 0x4dc0;
  r2.size = 32;
  r2.reserved = 48;
  r2.function = "level4";
  r2.call_site = make_call_site(0x401300, std::nullopt, std::nullopt, std::nullopt);
  r2.state = RegionState::Dead;
  r2.evidence = Evidence::Stub;
  t.regions = {r0, r1, r2};

  using C = CheckKind;
  ChainLink l0 = make_link(kStack + 0x4e50, kStack + 0x4ef0, 0x401236, 0x401180);
  ChainLink l1 = make_link(kStack + 0x4ef0, kStack + 0x4f30, 0x4012a0, 0x401200);
  ChainLink l2 = make_link(kStack + 0x4f30, 0, 0x7f3a2c029d90, std::nullopt);
  for (ChainLink *l : {&l0, &l1, &l2}) {
    LinkChecks &c = l->checks;
    c.add(C::Aligned, true);
    c.add(C::InStack, true);
    c.add(C::Monotonic, true);
    c.add(C::ReturnInCode, true);
    c.add(C::CallBeforeReturn, true,
          l->call_target ? "call 0x" + std::string(l == &l0 ? "401180 <level3>" : "401200 <level2>")
                         : "indirect call");
    c.add(C::NoCycle, true);
  }
  t.links = {l0, l1, l2};
  StaleStub stub;
  stub.address = kStack + 0x4e30;
  stub.saved_rbp = kStack + 0x4ef0;
  stub.return_address = 0x401230;
  stub.function = "level2";
  t.stale_stubs = {stub};
  return t;
}

/// A second thread whose walk failed at once, with hostile names.
inline ThreadReport odd_thread() {
  ThreadReport t;
  t.tid = 4243;
  t.index = 2;
  t.registers.rip = 0x401500;
  t.registers.rsp = 0x7f3a2b7fe000;
  t.registers.rbp = 0x7f3a2b7fe013;
  Frame f = make_frame(0, 0x401500, std::string("bad\xff\xfe name \x1b[31mred\x1b[0m"),
                       FrameKind::Unknown);
  f.inlined = {Name("gr\xc3\xb6\xc3\x9f"
                    "e_\xe5\x90\x8d\xe5\x89\x8d"),
               Name("\xe2\x80\xae"
                    "evil")};
  f.file = "/src/\xe5\x90\x8d/weird \xff.c";
  t.frames = {f};
  t.chain_end = ChainEnd::Misaligned;
  t.chain_end_detail = "RBP 0x7f3a2b7fe013 is not 8-byte aligned";
  LinkChecks checks;
  checks.add(CheckKind::Aligned, false, "0x7f3a2b7fe013 is not a multiple of 8");
  ChainLink l = make_link(0x7f3a2b7fe013, 0, 0, std::nullopt, std::move(checks));
  t.links = {l};
  return t;
}

/// Every finding kind of finding_kinds(), with and without locations.
inline std::vector<Finding> all_findings() {
  std::vector<Finding> v;
  auto add = [&](const char *kind, Severity s, std::string message) -> Finding & {
    Finding f;
    f.kind = kind;
    f.severity = s;
    f.message = std::move(message);
    v.push_back(std::move(f));
    return v.back();
  };
  {
    Finding &f = add("broken-chain", Severity::Error,
                     "The RBP chain of thread #2 breaks at its first link: RBP 0x7f3a2b7fe013 is "
                     "not 8-byte aligned.");
    f.thread = 2;
    f.frame = 0;
    f.address = 0x7f3a2b7fe013;
  }
  {
    Finding &f = add("unwinder-mismatch", Severity::Warning,
                     "LLDB's frame #2 has CFA 0x7ffc9b1f4f10, the RBP chain says 0x7ffc9b1f4f00.");
    f.thread = 1;
    f.frame = 1;
    f.function = "level2";
    f.file = "/src/tests/fixtures/fixture.c";
    f.line = 22;
  }
  {
    Finding &f = add("relocated-frame", Severity::Note,
                     "level2's RSP is 112 bytes below what its prologue set up (blocks t1.r0, "
                     "t1.r1).");
    f.thread = 1;
    f.frame = 1;
    f.region = "t1.r0";
    f.function = "level2";
    f.address = kStack + 0x4e60;
  }
  {
    Finding &f = add("region-overflow", Severity::Error,
                     "The audit header above block t1.r1 (20 bytes) fails its integrity check: "
                     "something wrote past the block's end.");
    f.thread = 1;
    f.frame = 1;
    f.region = "t1.r1";
    f.function = "level2";
    f.address = kStack + 0x4e60;
    f.file = "fixture.c";
    f.line = 21;
  }
  {
    Finding &f = add("dangling-pointer", Severity::Error,
                     "Register rbx holds 0x7ffc9b1f4dc0, inside dead block t1.r2 of level4.");
    f.thread = 1;
    f.region = "t1.r2";
    f.function = "level4";
    f.address = kStack + 0x4dc0;
    f.file = "/src/dir with space/fixture \xc3\xbc#1.c";
    f.line = 60;
  }
  {
    Finding &f = add("unsafe-caller", Severity::Error,
                     "bad_caller calls sra_alloc at 0x401410 but restores RSP with add $0x28,%rsp "
                     "at 0x401452.");
    f.function = "bad_caller";
    f.address = 0x401410;
    f.file = "/src/tests/fixtures/unsafe.c";
    f.line = 12;
  }
  {
    Finding &f =
        add("unexplained-dynamic", Severity::Warning,
            "Frame #0's span exceeds its static size by 4096 bytes and nothing explains it");
    f.thread = 2;
    f.frame = 0;
    f.function = std::string("bad\xff\xfe name");
  }
  {
    Finding &f =
        add("misaligned-frame", Severity::Warning, "Frame #0's CFA is not 16-byte aligned.");
    f.thread = 2;
    f.frame = 0;
  }
  add("stack-exhaustion-risk", Severity::Warning,
      "Only 20 KiB of thread #1's 132 KiB stack remain below RSP, less than the 32 KiB reserve");
  {
    Finding &f =
        add("missing-symbols", Severity::Warning,
            "/usr/lib/libfoo.so holds frame 1 of thread 1 but the debugger did not load it");
    f.thread = 1;
    f.frame = 1;
  }
  add("module-mismatch", Severity::Warning,
      "/usr/lib/libbar.so is not the file the target ran (build ID 1234 here, 5678 in memory)");
  {
    Finding &f =
        add("cfi-mismatch", Severity::Warning,
            "At frame 2 (level2), a function that keeps a frame pointer, its CFI gives CFA "
            "0x7ffd5a1c2e20 and return address 0x1234, but the pair at RBP 0x7ffd5a1c2e30 "
            "holds return address 0x401236 (main). The RBP link is believed.");
    f.thread = 1;
    f.frame = 2;
  }
  {
    Finding &f = add("unjudged-caller", Severity::Warning,
                     "lint stopped following the paths of bounded at its bound of 6464 steps "
                     "(docs/lint.md, \"Work\"): no verdict for 1 of its 1 call to sra_alloc, the "
                     "first at 0x11fe. Check them by hand or use SRA_ALLOC() there.");
    f.function = "bounded";
    f.address = 0x11fe;
    f.file = "/home/me/frameaudit/tests/fixtures/bound.c";
    f.line = 6;
  }
  return v;
}

inline Report full_report() {
  Report r;
  r.tool_version = "0.1.0";
  r.target.executable = "/src/build/tests/fixtures/fixture";
  r.target.core = "/tmp/cores/core.fixture.4242";
  r.target.pid = 4242;
  r.threads = {main_thread(), odd_thread()};
  r.findings = all_findings();
  ModuleReport exe;
  exe.path = "/src/build/tests/fixtures/fixture";
  exe.build_id = "0123456789abcdef0123456789abcdef01234567";
  exe.load_bias = 0x555555554000;
  exe.matches = true;
  exe.symbols = exe.line_tables = exe.found = true;
  ModuleReport gone;
  gone.path = "/usr/lib/libfoo.so";
  r.modules = {exe, gone};
  summarize(r);
  return r;
}

/// A report with nothing in it but what the contract requires.
inline Report empty_report() {
  Report r;
  r.tool_version = "0.1.0";
  summarize(r);
  return r;
}

/// One thread of `frames` frames, 64 bytes each, a recursion of `recurse`.
inline Report deep_report(uint32_t frames) {
  Report r;
  r.tool_version = "0.1.0";
  ThreadReport t;
  t.tid = 7;
  t.index = 1;
  const uint64_t base = 0x7ffd00000000;
  t.stack = StackRange{base - 0x1000000, base + 0x1000};
  t.registers.rip = 0x401000;
  t.registers.rsp = base - uint64_t{frames} * 64;
  t.registers.rbp = t.registers.rsp + 48;
  for (uint32_t i = 0; i < frames; ++i) {
    Frame f = make_frame(i, 0x401000 + (i == 0 ? 0 : 0x40), i + 1 == frames ? "main" : "recurse",
                         FrameKind::Normal);
    const uint64_t cfa = base - uint64_t{frames - 1 - i} * 64;
    f.cfa = cfa;
    f.rsp = cfa - 64;
    f.rbp = cfa - 16;
    f.saved_rbp_slot = cfa - 16;
    f.static_size = 48;
    f.span = 48;
    f.dynamic_bytes = 0;
    t.frames.push_back(std::move(f));
    t.links.push_back(make_link(cfa - 16, i + 1 == frames ? 0 : cfa + 48, 0x401040, 0x401000));
  }
  t.chain_end = ChainEnd::Outermost;
  r.threads.push_back(std::move(t));
  summarize(r);
  return r;
}

inline std::vector<LintResult> lint_results() {
  LintResult a;
  a.module = "/src/build/tests/fixtures/unsafe";
  a.code_bytes = 12345;
  auto site = [](uint64_t address, std::optional<std::string> function, uint64_t start, bool safe,
                 std::string reason, std::optional<std::string> file,
                 std::optional<uint32_t> line) {
    LintCallSite c;
    c.address = address;
    c.function = std::move(function);
    c.function_start = start;
    c.safe = safe;
    c.reason = std::move(reason);
    c.file = std::move(file);
    c.line = line;
    return c;
  };
  LintCallSite bad = site(0x401410, "bad_caller", 0x401400, false,
                          "return path at 0x401452 restores RSP with `add $0x28,%rsp`: after the "
                          "allocation lowers RSP it pops the wrong callee-saved registers and "
                          "returns to a wrong address",
                          "/src/tests/fixtures/unsafe.c", 12);
  LintCallSite good =
      site(0x401210, "good_caller", 0x401200, true, "", "/src/tests/fixtures/unsafe.c", 5);
  LintCallSite stripped =
      site(0x401600, std::nullopt, 0x4015f0, true, "", std::nullopt, std::nullopt);
  a.call_sites = {bad, good, stripped};
  Finding f;
  f.kind = "unsafe-caller";
  f.severity = Severity::Error;
  f.function = "bad_caller";
  f.address = 0x401410;
  f.file = "/src/tests/fixtures/unsafe.c";
  f.line = 12;
  f.message = "bad_caller restores RSP with add $0x28,%rsp after calling sra_alloc.";
  a.findings = {f};
  LintResult b;
  b.module = "/usr/lib/libempty.so";
  b.code_bytes = 800;
  return {a, b};
}

} // namespace frameaudit::sample
