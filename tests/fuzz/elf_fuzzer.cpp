// elf_fuzzer.cpp: libFuzzer target for ELF input. The bytes become a file
// and go through the two readers of ELF files: lint (lint_elf_file: sections,
// symbols, relocations, PLT/GOT, FDEs, the callers' code and the line tables,
// docs/lint.md) and the module layer (ModuleSet over a target listing that
// file as its one module: opening it, its symbols, line tables, build ID,
// and CFI rows and debug-info variables at pcs across its code). ASan and
// UBSan catch memory errors; the checks below catch results that escape
// what the file holds.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "elf/module_set.h"
#include "frameaudit/lint.h"
#include "frameaudit/target.h"

namespace {

using namespace frameaudit;
using detail::ModuleFacts;
using detail::ModuleSet;

[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// A target with no memory and no threads whose one module is the file.
class FileTarget : public Target {
public:
  explicit FileTarget(std::string path) : path_(std::move(path)) {}
  TargetInfo info() override { return {}; }
  size_t read_memory(uint64_t, std::span<std::byte>) override { return 0; }
  std::vector<MemoryRegion> memory_regions() override { return {}; }
  std::vector<ThreadInfo> threads() override { return {}; }
  Symbol symbolize(uint64_t) override { return {}; }
  std::vector<uint64_t> allocator_entries() override { return {}; }
  std::vector<Module> modules() override {
    Module m;
    m.path = path_;
    m.name = "input.elf";
    m.load_bias = 0x10000;
    return {m};
  }

private:
  std::string path_;
};

const std::string &input_path() {
  static const std::string path =
      "/tmp/frameaudit-elf-fuzz-" + std::to_string(static_cast<long>(getpid())) + ".elf";
  return path;
}

void lint_file(const std::string &path, size_t size) {
  const auto r = lint_elf_file(path);
  if (!r) {
    if (r.error().message.empty())
      fail("an error without a sentence");
    return;
  }
  if (r->code_bytes > size)
    fail("more code than the file holds");
  for (const LintCallSite &s : r->call_sites) {
    if (!s.safe && s.reason.empty())
      fail("an unsafe call site without a reason");
    if (!s.judged && !s.safe)
      fail("an unsafe call site without a verdict");
  }
}

void walk_modules(FileTarget &target) {
  ModuleSet modules(target);
  for (const ModuleFacts &m : modules.modules()) {
    (void)modules.has_symbols(m);
    (void)modules.has_line_tables(m);
    (void)modules.memory_build_id(m);
    for (const auto &[lo, hi] : m.code) {
      if (hi < lo)
        fail("a code range that ends before it starts");
      // Up to 64 pcs spread over the range, and its ends.
      const uint64_t step = (hi - lo) / 64 + 1;
      for (uint64_t pc = lo; pc < hi && pc - lo < 64 * step; pc += step) {
        (void)modules.is_module_code(pc);
        (void)modules.module_at(pc);
        (void)modules.row_at(pc);
        (void)modules.follows_sysv_abi(pc);
      }
      (void)modules.row_at(hi - 1);
      (void)modules.variables_at(lo);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = input_path();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  if (size && std::fwrite(data, 1, size, f) != size) {
    std::fclose(f);
    return 0;
  }
  std::fclose(f);
  lint_file(path, size);
  FileTarget target(path);
  walk_modules(target);
  return 0;
}
