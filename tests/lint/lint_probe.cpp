// lint_probe.cpp: a thin test driver over the core's lint API for the lint
// tests (tests/lint/*.py): lints the files given and prints one JSON object
// per file with every call site, its verdict and the time taken. Not a
// product tool: `frameaudit lint` is.
//
//   frameaudit_lint_probe [--alloc NAME]... [--no-lines] [--no-signature]
//                         [--bias N] [--repeat N] [--debug-dir DIR]... FILE...
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frameaudit/lint.h"

using frameaudit::LintOptions;
using nlohmann::json;

namespace {

json opt(const std::optional<std::string> &v) {
  return v ? json(*v) : json(nullptr);
}

const char *code_name(frameaudit::Error::Code c) {
  using C = frameaudit::Error::Code;
  switch (c) {
  case C::InvalidArgument:
    return "invalid_argument";
  case C::NoProcess:
    return "no_process";
  case C::UnsupportedArch:
    return "unsupported_arch";
  case C::Unreadable:
    return "unreadable";
  case C::BadInput:
    return "bad_input";
  case C::Internal:
    return "internal";
  }
  return "internal";
}

} // namespace

int main(int argc, char **argv) {
  LintOptions o;
  std::vector<std::string> names, files;
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--alloc" && i + 1 < argc)
      names.push_back(argv[++i]);
    else if (a == "--no-lines")
      o.read_line_table = false;
    else if (a == "--debug-dir" && i + 1 < argc)
      o.debug_dirs.push_back(argv[++i]);
    else if (a == "--no-signature")
      o.match_signature = false;
    else if (a == "--bias" && i + 1 < argc)
      o.load_bias = std::stoull(argv[++i], nullptr, 0);
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else
      files.push_back(a);
  }
  if (!names.empty())
    o.allocator_names = names;
  json out = json::array();
  for (const auto &f : files) {
    json j;
    j["module"] = f;
    double best = 1e30;
    std::optional<frameaudit::Result<frameaudit::LintResult>> r;
    for (int k = 0; k < repeat; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      r.emplace(frameaudit::lint_elf_file(f, o));
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    j["seconds"] = best;
    if (!*r) {
      j["ok"] = false;
      j["error"] = {{"code", code_name((*r).error().code)}, {"message", (*r).error().message}};
      out.push_back(j);
      continue;
    }
    const auto &res = (*r).value();
    j["ok"] = true;
    j["code_bytes"] = res.code_bytes;
    j["call_sites"] = json::array();
    for (const auto &c : res.call_sites) {
      j["call_sites"].push_back({{"address", c.address},
                                 {"function", opt(c.function)},
                                 {"function_start", c.function_start},
                                 {"safe", c.safe},
                                 {"reason", c.reason},
                                 {"culprit", c.culprit ? json(*c.culprit) : json(nullptr)},
                                 {"tail_call", c.tail_call},
                                 {"judged", c.judged},
                                 {"file", opt(c.file)},
                                 {"line", c.line ? json(*c.line) : json(nullptr)}});
    }
    j["findings"] = json::array();
    for (const auto &fd : res.findings) {
      j["findings"].push_back({{"kind", fd.kind},
                               {"severity", frameaudit::to_string(fd.severity)},
                               {"function", opt(fd.function)},
                               {"address", fd.address ? json(*fd.address) : json(nullptr)},
                               {"file", opt(fd.file)},
                               {"line", fd.line ? json(*fd.line) : json(nullptr)},
                               {"message", fd.message}});
    }
    out.push_back(j);
  }
  std::puts(out.dump(1).c_str());
  return 0;
}
