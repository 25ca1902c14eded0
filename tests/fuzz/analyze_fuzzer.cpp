// analyze_fuzzer.cpp: libFuzzer target for the whole analysis. Arbitrary
// bytes become a memory image (fuzz_image.h: registers, stack contents,
// perturbed code, symbols and memory map) and go through analyze(); ASan and
// UBSan catch memory errors, and the invariants below catch logic that
// escapes its bounds (depth limit, monotonic chain, consistent summary).
#include <cstdio>
#include <cstdlib>
#include <set>

#include "frameaudit/analysis.h"
#include "fuzz_image.h"

namespace {

[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

void check(const frameaudit::Report &r, const frameaudit::AnalysisOptions &opt) {
  uint64_t frames = 0, regions = 0;
  for (const auto &t : r.threads) {
    if (t.frames.empty())
      fail("a thread without frames");
    if (t.frames.size() > opt.max_depth && opt.max_depth > 0)
      fail("more frames than max_depth");
    for (size_t i = 1; i < t.links.size(); ++i)
      if (t.links[i].address <= t.links[i - 1].address && t.links[i].checks.size() > 0 &&
          t.links[i].checks.back().passed)
        fail("a passed link that does not go up");
    std::set<std::string> ids;
    for (const auto &g : t.regions) {
      if (!ids.insert(g.id).second)
        fail("duplicate region id");
      if (g.frame && *g.frame >= t.frames.size())
        fail("region of a frame that does not exist");
    }
    if (t.chain_end_detail.empty())
      fail("chain end without detail");
    frames += t.frames.size();
    regions += t.regions.size();
  }
  if (r.summary.frames != frames || r.summary.regions != regions)
    fail("summary does not add up");
  for (const auto &f : r.findings)
    if (f.message.empty())
      fail("finding without message");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fa_fuzz::FuzzImage img;
  const fa_fuzz::Decoded d = fa_fuzz::decode(data, size, img);
  frameaudit::AnalysisOptions opt;
  opt.all_threads = d.all_threads;
  if (d.max_depth)
    opt.max_depth = d.max_depth % 4096;
  auto result = frameaudit::analyze(img, opt);
  if (result.ok())
    check(*result, opt);
  else if (result.error().message.empty())
    fail("error without message");
  return 0;
}
