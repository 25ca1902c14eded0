// decode_probe.cpp: a test driver for the prologue/epilogue decoder on real
// compiler output (tests/lint/test_decode_cfi.py): for every function symbol
// of an ELF file, the decoded frame facts and the prologue state at every
// instruction, as JSON, to compare with the compiler's own CFI.
//
//   frameaudit_decode_probe FILE
#include <cstdio>

#include <nlohmann/json.hpp>

#include "decode/instruction.h"
#include "frameaudit/function_info.h"
#include "lint/elf_image.h"

using nlohmann::json;

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fputs("usage: frameaudit_decode_probe FILE\n", stderr);
    return 2;
  }
  auto img = frameaudit::lint::ElfImage::open(argv[1]);
  if (!img) {
    std::fprintf(stderr, "%s\n", img.error().message.c_str());
    return 2;
  }
  json out = json::object();
  const auto *symtab = img->section(".symtab");
  if (!symtab)
    symtab = img->section(".dynsym"); // stripped libraries still export theirs
  if (!symtab)
    return 2;
  for (const auto &sym : img->symbols(*symtab)) {
    if (sym.type != 2 || !sym.defined() || sym.size == 0 || !img->is_code(sym.value))
      continue;
    const auto code = img->bytes_at(sym.value, sym.size);
    if (code.empty())
      continue;
    const auto fi = frameaudit::decode_function(code, sym.value);
    json states = json::array();
    for (const auto &in : frameaudit::decode::decode_all(code, sym.value)) {
      const auto st = frameaudit::prologue_state_at(fi, code, in.address);
      states.push_back({in.address, st.rbp_pushed, st.frame_pointer_set, st.rsp_offset_from_cfa,
                        st.rsp_offset_exact, st.in_epilogue,
                        in.padding || in.op == frameaudit::decode::Op::Trap});
    }
    out[std::string(sym.name)] = {{"start", fi.start},
                                  {"end", fi.end},
                                  {"has_frame_pointer", fi.has_frame_pointer},
                                  {"static_size", fi.static_size},
                                  {"prologue_end", fi.prologue_end},
                                  {"realigns", fi.realigns_stack},
                                  {"dynamic", fi.dynamic_alloca},
                                  {"states", states}};
  }
  std::puts(out.dump().c_str());
  return 0;
}
