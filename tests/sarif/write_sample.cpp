// write_sample.cpp: writes the SARIF log of the sample reports to the file
// named on the command line, for validate.sh to hand to Microsoft's validator.
#include <cstdio>
#include <fstream>

#include "frameaudit/render.h"
#include "sample_report.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.sarif\n", argv[0]);
    return 2;
  }
  using namespace frameaudit;
  // Four runs: everything, nothing, a plain deep stack, and a lint-style
  // report (no threads, findings only).
  Report lint = sample::empty_report();
  lint.target.executable = "/src/build/tests/fixtures/unsafe";
  lint.findings = sample::lint_results()[0].findings;
  summarize(lint);
  const std::string sarif =
      render_sarif({sample::full_report(), sample::empty_report(), sample::deep_report(3), lint});
  std::ofstream out(argv[1], std::ios::binary);
  out << sarif;
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 2;
  }
  return 0;
}
