// analysis_test_util.h: what the analysis tests ask of a report made from a
// hand-built memory image (memory_image_test_util.h): the report itself, the
// findings of one kind, a thread's function names.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frameaudit/analysis.h"
#include "memory_image_test_util.h"

namespace fa_test {

/// analyze(img); a failed analysis fails the test and gives an empty report.
inline frameaudit::Report analyze_image(MemoryImage &img, frameaudit::AnalysisOptions opt = {}) {
  auto r = frameaudit::analyze(img, opt);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : frameaudit::Report{};
}

/// The report's findings of `kind`, in report order.
inline std::vector<const frameaudit::Finding *> findings_of(const frameaudit::Report &r,
                                                            const std::string &kind) {
  std::vector<const frameaudit::Finding *> out;
  for (const auto &f : r.findings)
    if (f.kind == kind)
      out.push_back(&f);
  return out;
}

/// The first finding of `kind`, or nullptr.
inline const frameaudit::Finding *first_finding(const frameaudit::Report &r, const std::string &kind) {
  const auto all = findings_of(r, kind);
  return all.empty() ? nullptr : all.front();
}

/// Every finding as one line "kind severity: message" (for failure output).
inline std::string findings_text(const frameaudit::Report &r) {
  std::string s;
  for (const auto &f : r.findings)
    s += f.kind + " " + frameaudit::to_string(f.severity) + ": " + f.message + "\n";
  return s;
}

/// Each frame's function, "?" where it has none, innermost first.
inline std::vector<std::string> function_names(const frameaudit::ThreadReport &t) {
  std::vector<std::string> out;
  for (const auto &f : t.frames)
    out.push_back(f.function.value_or("?"));
  return out;
}

} // namespace fa_test
