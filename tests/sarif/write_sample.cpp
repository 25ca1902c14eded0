// write_sample.cpp: writes the SARIF log of the sample reports to the file
// named on the command line, for validate.sh to hand to Microsoft's validator.
#include <cstdio>
#include <fstream>
#include <string>

#include "frameaudit/render.h"
#include "sample_report.h"

static bool write(const char *path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out)
    std::fprintf(stderr, "cannot write %s\n", path);
  return static_cast<bool>(out);
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s OUTPUT.sarif [MERGED.sarif]\n", argv[0]);
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
  if (!write(argv[1], sarif))
    return 2;
  if (argc == 3) {
    // What `frameaudit analyze --format sarif` writes for several cores of
    // one program and one of another: runs merged per executable, notes
    // left out, the crashing thread's stack on every result.
    SarifOptions options;
    options.runs = SarifRuns::PerExecutable;
    options.min_level = Severity::Warning;
    Report second = sample::full_report();
    second.target.core = "/tmp/cores/core.fixture.4343";
    second.target.pid = 4343;
    Result<std::string> merged =
        render_sarif({sample::full_report(), second, sample::deep_report(3), lint}, options);
    if (!merged.ok()) {
      std::fprintf(stderr, "%s\n", merged.error().message.c_str());
      return 2;
    }
    if (!write(argv[2], *merged))
      return 2;
  }
  return 0;
}
