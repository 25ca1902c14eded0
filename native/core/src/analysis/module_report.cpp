// module_report.cpp: which modules the report rests on, and what is missing.
// Every module holding a frame is listed (docs/formats.md, `modules[]`); a
// module whose file was not found, does not match the target's build ID or
// has no symbols gives a finding that says what was lost and how to supply
// it (docs/analysis.md, "Modules and symbols").
#include <map>

#include "analysis/thread_work.h"

namespace frameaudit::detail {
namespace {

struct Holder {
  ModuleReport module;
  uint64_t low = 0;
  const ModuleFacts *facts = nullptr;
  // The first frame it holds, and how many frames in all.
  uint32_t thread = 0;
  const Frame *first = nullptr;
  size_t frames = 0;
  bool uncertain = false; ///< a frame there needed symbols to be explained
};

std::string held(const Holder &h) {
  return "frame " + std::to_string(h.first->index) + " of thread " + std::to_string(h.thread) +
         (h.frames > 1
              ? " and " + std::to_string(h.frames - 1) + " more frame" + (h.frames > 2 ? "s" : "")
              : "");
}

Finding module_finding(const char *kind, Severity sev, const Holder &h, std::string message) {
  Finding f;
  f.kind = kind;
  f.severity = sev;
  f.thread = h.thread;
  f.frame = h.first->index;
  f.function = h.first->function;
  f.address = h.first->pc;
  f.message = std::move(message);
  return f;
}

constexpr const char *kSupplyFile = " Supply the file that ran with --sysroot or "
                                    "--solib-search-path (in LLDB: `target modules add`).";
constexpr const char *kSupplyDebug =
    " Supply its debug file with --debug-dir or --debuginfod (in LLDB: `target symbols add`).";

} // namespace

void report_modules(TargetCache &cache, Report &report) {
  // A target that lists no modules (a hand-made memory image) says nothing
  // about files: nothing to report.
  if (cache.modules().listed() == 0)
    return;
  std::map<std::string, Holder> by_path;
  for (const ThreadReport &t : report.threads)
    for (const Frame &f : t.frames) {
      const uint64_t pc = f.index == 0 || f.pc == 0 ? f.pc : f.pc - 1;
      const ModuleFacts *m = cache.modules().module_at(pc);
      std::string path;
      if (m) {
        path = m->module.path;
      } else if (const MemoryRegion *r = cache.region_at(pc);
                 r && !r->name.empty() && r->name.front() == '/') {
        path = r->name; // mapped from a file the debugger did not load
      } else {
        continue; // anonymous memory, [vdso], JIT code
      }
      auto [it, fresh] = by_path.try_emplace(path);
      Holder &h = it->second;
      if (fresh) {
        h.module.path = path;
        h.facts = m;
        h.thread = t.index;
        h.first = &f;
        h.low = m ? m->low : cache.region_at(pc)->start;
      }
      ++h.frames;
      if (f.kind == FrameKind::Unknown || f.kind == FrameKind::Dynamic ||
          f.kind == FrameKind::Relocated || (f.dynamic_bytes && *f.dynamic_bytes != 0))
        h.uncertain = true;
    }
  std::vector<Holder> holders;
  for (auto &[path, h] : by_path)
    holders.push_back(std::move(h));
  std::sort(holders.begin(), holders.end(),
            [](const Holder &a, const Holder &b) { return a.low < b.low; });
  for (Holder &h : holders) {
    ModuleReport &mr = h.module;
    if (const ModuleFacts *m = h.facts) {
      mr.found = m->opened;
      mr.build_id = m->file_build_id;
      mr.load_bias = m->module.load_bias;
      const auto in_memory = cache.modules().memory_build_id(*m);
      if (in_memory && mr.build_id)
        mr.matches = *in_memory == *mr.build_id;
      // The debugger may have found a debug file our own search did not (a
      // search path from an lldbinit, debuginfod): its compile units count.
      mr.symbols = m->module.debug_info || cache.modules().has_symbols(*m);
      mr.line_tables = m->module.debug_info || cache.modules().has_line_tables(*m);
      if (mr.matches == false) {
        report.findings.push_back(module_finding(
            finding_kind::kModuleMismatch, Severity::Warning, h,
            mr.path + " holds " + held(h) + ", but the file on this machine (build ID " +
                *mr.build_id + ") is not the one the target ran (build ID " + *in_memory +
                "): its code, CFI and symbols may not match the stack, so frames, frame kinds and "
                "region "
                "owners there are uncertain." +
                kSupplyFile));
      } else if (!mr.symbols) {
        const Severity sev = h.uncertain ? Severity::Warning : Severity::Note;
        report.findings.push_back(module_finding(
            finding_kind::kMissingSymbols, sev, h,
            mr.path + " holds " + held(h) +
                " but has no function symbols (stripped, and no debug file found)" +
                (h.uncertain
                     ? ": frames there that sra_alloc may have lowered cannot be told from alloca "
                       "frames, and regions cannot be attributed to their call sites."
                     : "; its frames were unwound by CFI, so nothing the audit rests on was "
                       "lost.") +
                kSupplyDebug));
      }
    } else {
      report.findings.push_back(
          module_finding(finding_kind::kMissingSymbols, Severity::Warning, h,
                         mr.path + " holds " + held(h) +
                             " but the debugger did not load it (the file is missing here, or it "
                             "does not match the "
                             "target): frames there are unwound without CFI or symbols, frame "
                             "kinds and region owners "
                             "are uncertain, and the frames above it may be missing." +
                             kSupplyFile));
    }
    report.modules.push_back(std::move(mr));
  }
}

} // namespace frameaudit::detail
