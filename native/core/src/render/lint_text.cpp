// lint_text.cpp: `fa lint` / `frameaudit lint` text output: per module every
// call site of sra_alloc, safe or UNSAFE with the reason, then a summary.
// Plain ASCII apart from names (lint output is mostly read in CI logs).
#include <algorithm>

#include "frameaudit/render.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {

std::string render_lint_text(const std::vector<LintResult> &results) {
  using namespace render;
  return guarded([&] {
    std::string out;
    uint64_t sites = 0, unsafe = 0, unjudged = 0, modules_with_unsafe = 0;
    for (const LintResult &result : results) {
      std::vector<const LintCallSite *> order;
      order.reserve(result.call_sites.size());
      for (const LintCallSite &c : result.call_sites)
        order.push_back(&c);
      // Address order, whatever order the scanner found them in.
      std::stable_sort(
          order.begin(), order.end(),
          [](const LintCallSite *a, const LintCallSite *b) { return a->address < b->address; });
      const auto module_unsafe = static_cast<uint64_t>(std::count_if(
          order.begin(), order.end(), [](const LintCallSite *c) { return !c->safe; }));
      sites += order.size();
      unsafe += module_unsafe;
      unjudged += static_cast<uint64_t>(std::count_if(
          order.begin(), order.end(), [](const LintCallSite *c) { return !c->judged; }));
      modules_with_unsafe += module_unsafe ? 1 : 0;

      out += "Module " + fit(clean_text(result.module, false), 80, false, true) + "  (" +
             human_bytes(result.code_bytes) + " of code, " + thousands(order.size()) +
             (order.size() == 1 ? " call" : " calls") + " to sra_alloc)\n";
      if (order.empty()) {
        out += "  no calls to sra_alloc\n\n";
        continue;
      }
      const std::vector<Column> columns = {
          {"call site"},
          {"function", false, 40},
          {"location", false, 32, true},
          {"verdict"},
      };
      append_table(
          out, columns, order.size(),
          [&](size_t r, size_t c) -> std::string {
            const LintCallSite &s = *order[r];
            switch (c) {
            case 0:
              return hex(s.address);
            case 1:
              return s.function ? *s.function
                                : "? (stripped, starts at " + hex(s.function_start) + ")";
            case 2: {
              std::string where = file_line(s.file, s.line);
              return where.empty() ? "-" : where;
            }
            case 3:
              return !s.judged ? "not judged" : s.safe ? "safe" : "UNSAFE";
            }
            return "";
          },
          false, "  ", kLineWidth,
          [&](std::string &o, size_t r) {
            const LintCallSite &s = *order[r];
            if ((s.safe && s.judged) || s.reason.empty())
              return;
            append_wrapped(o, clean_text(s.reason, false), kLineWidth, "         ", "      -> ");
          });
      out += "\n";
    }
    std::string verdict = unsafe ? "FAIL" : "OK";
    out += "Lint: " + verdict + "  " + thousands(results.size()) +
           (results.size() == 1 ? " module, " : " modules, ") + thousands(sites) +
           (sites == 1 ? " call site, " : " call sites, ") + thousands(unsafe) + " unsafe";
    if (unsafe)
      out += " (in " + thousands(modules_with_unsafe) +
             (modules_with_unsafe == 1 ? " module)" : " modules)");
    // Call sites left open by the bound on work (docs/lint.md, "Work").
    if (unjudged)
      out += ", " + thousands(unjudged) + " not judged";
    out += "\n";
    return out;
  });
}

} // namespace frameaudit
