// api.cpp: the core's functions for Python: analyze, the renderers, lint,
// plain_function_name, version. analyze() releases the GIL while the core
// works; the Target trampoline takes it back for each callback.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "frameaudit/analysis.h"
#include "frameaudit/lint.h"
#include "frameaudit/names.h"
#include "frameaudit/output_file.h"
#include "frameaudit/render.h"
#include "py_target.h"

namespace frameaudit::python {

namespace {

Report analyze_target(Target &target, std::vector<uint64_t> threads, bool all_threads,
                      uint64_t max_depth, uint64_t dead_scan_bytes, bool compare_unwinder,
                      std::optional<py::function> progress, std::vector<std::string> debug_dirs,
                      bool frame_variables) {
  AnalysisOptions options;
  options.frame_variables = frame_variables;
  options.debug_dirs = std::move(debug_dirs);
  options.threads = std::move(threads);
  options.all_threads = all_threads;
  options.max_depth = max_depth;
  options.dead_scan_bytes = dead_scan_bytes;
  options.compare_unwinder = compare_unwinder;
  if (progress) {
    // A broken progress callback must not stop the analysis.
    options.progress = [cb = *progress](size_t done, size_t total) {
      py::gil_scoped_acquire gil;
      try {
        cb(done, total);
      } catch (py::error_already_set &e) {
        e.discard_as_unraisable("frameaudit.analyze progress callback");
      }
    };
  }
  auto *py_target = dynamic_cast<PyTarget *>(&target);
  if (py_target)
    py_target->begin_call();
  std::optional<Result<Report>> result;
  {
    py::gil_scoped_release release;
    result.emplace(analyze(target, options));
  }
  if (progress) {
    // The std::function owns a py::function: drop it with the GIL held.
    options.progress = nullptr;
  }
  if (py_target)
    py_target->end_call();
  return unwrap(std::move(*result));
}

RenderOptions render_options(bool unicode, bool color, size_t width) {
  RenderOptions options;
  options.unicode = unicode;
  options.color = color;
  options.width = width;
  return options;
}

SarifOptions sarif_options(const std::string &runs, const std::string &min_level,
                           const std::string &category, size_t max_runs) {
  SarifOptions options;
  if (runs == "per-executable")
    options.runs = SarifRuns::PerExecutable;
  else if (runs == "per-core")
    options.runs = SarifRuns::PerCore;
  else
    throw py::value_error("runs must be 'per-core' or 'per-executable', not '" + runs + "'");
  if (min_level == "error")
    options.min_level = Severity::Error;
  else if (min_level == "warning")
    options.min_level = Severity::Warning;
  else if (min_level == "note")
    options.min_level = Severity::Note;
  else
    throw py::value_error("min_level must be 'error', 'warning' or 'note', not '" + min_level +
                          "'");
  options.category = category;
  options.max_runs = max_runs;
  return options;
}

} // namespace

void bind_api(py::module_ &m) {
  m.def("analyze", &analyze_target, py::arg("target"), py::kw_only(),
        py::arg("threads") = std::vector<uint64_t>{}, py::arg("all_threads") = false,
        py::arg("max_depth") = AnalysisOptions{}.max_depth,
        py::arg("dead_scan_bytes") = AnalysisOptions{}.dead_scan_bytes,
        py::arg("compare_unwinder") = true, py::arg("progress") = py::none(),
        py::arg("debug_dirs") = std::vector<std::string>{}, py::arg("frame_variables") = false,
        R"(Audit the target and return a Report.

threads: thread indexes or tids to audit (each matched against the index
first, then the tid); empty means the selected thread. all_threads: every
thread. max_depth: stop each RBP walk after this many frames.
dead_scan_bytes: how far below RSP to look for released blocks.
compare_unwinder: compare with ThreadInfo.debugger_frames.
progress: called as progress(done, total) per thread.
debug_dirs: more directories to search for separate debug files
(.gnu_debuglink names and .build-id/xx/yyyy.debug), after the standard ones.
frame_variables: fill Frame.variables and Frame.registers (debug-info
variables in scope with their locations, recovered registers).

Raises FrameauditError when nothing can be analysed (no threads,
unsupported architecture); everything wrong with the target's memory is
reported in the Report.)");

  m.def(
      "render_json", [](const Report &r) { return render_json(r); }, py::arg("report"),
      "The JSON document \"frameaudit/1\", pretty-printed, with a trailing newline.");
  m.def(
      "render_json_array", [](const std::vector<Report> &r) { return render_json_array(r); },
      py::arg("reports"), "Several documents as one JSON array.");
  m.def(
      "render_sarif",
      [](const std::vector<Report> &r, const std::string &runs, const std::string &min_level,
         const std::string &category, size_t max_runs) {
        return unwrap(render_sarif(r, sarif_options(runs, min_level, category, max_runs)));
      },
      py::arg("reports"), py::kw_only(), py::arg("runs") = "per-core",
      py::arg("min_level") = "note", py::arg("category") = "frameaudit", py::arg("max_runs") = 0,
      R"(SARIF 2.1.0. runs: "per-core" (one run per report) or "per-executable"
(reports of one executable share a run); min_level: leave out results
below "error", "warning" or "note"; category: the automationDetails.id
prefix; max_runs: raise FrameauditError beyond this many runs (0: no limit).)");
  m.def(
      "merge_sarif",
      [](const std::vector<std::string> &logs, const std::string &runs, size_t max_runs) {
        return unwrap(merge_sarif(logs, sarif_options(runs, "note", "frameaudit", max_runs)));
      },
      py::arg("logs"), py::kw_only(), py::arg("runs") = "per-core", py::arg("max_runs") = 0,
      "SARIF logs from render_sarif (one per core) joined as if rendered together.");
  m.def(
      "render_text",
      [](const Report &r, bool unicode, bool color, size_t width) {
        return render_text(r, render_options(unicode, color, width));
      },
      py::arg("report"), py::kw_only(), py::arg("unicode") = true, py::arg("color") = false,
      py::arg("width") = RenderOptions{}.width,
      "`fa audit`: frames and regions per thread, then findings and summary.");
  m.def(
      "render_chain",
      [](const Report &r, bool unicode, bool color, size_t width) {
        return render_chain(r, render_options(unicode, color, width));
      },
      py::arg("report"), py::kw_only(), py::arg("unicode") = true, py::arg("color") = false,
      py::arg("width") = RenderOptions{}.width,
      "`fa chain`: each RBP link with its checks and where the walk stopped.");
  m.def(
      "render_regions",
      [](const Report &r, bool unicode, bool color, size_t width) {
        return render_regions(r, render_options(unicode, color, width));
      },
      py::arg("report"), py::kw_only(), py::arg("unicode") = true, py::arg("color") = false,
      py::arg("width") = RenderOptions{}.width, "`fa regions`: the regions tables only.");
  m.def(
      "render_map",
      [](const Report &r, const ThreadReport &t, bool unicode, bool color, size_t width) {
        return render_map(r, t, render_options(unicode, color, width));
      },
      py::arg("report"), py::arg("thread"), py::kw_only(), py::arg("unicode") = true,
      py::arg("color") = false, py::arg("width") = RenderOptions{}.width,
      "`fa map`: a drawn stack map of one thread of the report.");
  m.def(
      "render_backtrace", [](const Report &r) { return render_backtrace(r); }, py::arg("report"),
      "`fa bt`: the frames of every thread in the layout of LLDB's `bt`.");
  m.def(
      "frame_annotation",
      [](const Frame &f, bool repaired) { return frame_annotation(f, repaired); }, py::arg("frame"),
      py::arg("repaired") = false,
      "The note `fa bt` puts after a frame (\"[repaired, sra: relocated, 64 bytes]\"), or \"\".");
  m.def(
      "render_map_svg", [](const Report &r) { return render_map_svg(r); }, py::arg("report"),
      "`fa map --svg`: the stack map of every thread as one SVG picture.");
  m.def(
      "render_html", [](const Report &r) { return render_html(r); }, py::arg("report"),
      "`analyze --output-html`: one self-contained HTML page (no scripts, no network).");
  m.def(
      "write_output_file",
      [](const std::string &path, const std::string &data) {
        std::optional<Error> err;
        {
          py::gil_scoped_release release;
          err = write_output_file(path, data);
        }
        if (err)
          raise_error(*err);
      },
      py::arg("path"), py::arg("data"),
      "Write a rendered document to path: a new file or a regular one, never a symlink, "
      "device or FIFO (FrameauditError invalid_argument).");
  m.def(
      "render_lint_text",
      [](const std::vector<LintResult> &results) { return render_lint_text(results); },
      py::arg("results"), "`fa lint` text output.");

  m.def(
      "lint_elf_file",
      [](const std::string &path, uint64_t load_bias) {
        Result<LintResult> result = [&] {
          py::gil_scoped_release release;
          return lint_elf_file(path, load_bias);
        }();
        return unwrap(std::move(result));
      },
      py::arg("path"), py::arg("load_bias") = 0,
      "Lint one ELF file for unsafe sra_alloc callers. load_bias is added to every "
      "reported address. Raises FrameauditError (bad_input, unreadable) for a file that "
      "is not a readable ELF file.");
  m.def(
      "lint_report",
      [](const std::vector<LintResult> &results, const TargetInfo &target) {
        return lint_report(results, target);
      },
      py::arg("results"), py::arg("target"),
      "A Report with \"threads\": [] and the findings of several lint results "
      "(render it with render_json).");

  m.def(
      "plain_function_name", [](std::string_view name) { return plain_function_name(name); },
      py::arg("name"),
      "A function name without its argument list: \"ns::f<int>(int) const\" -> "
      "\"ns::f<int>\".");
  m.def(
      "version", [] { return std::string(version()); }, "frameaudit's version (\"0.1.0\").");
  m.def(
      "finding_kinds", [] { return finding_kinds(); },
      "Every finding kind frameaudit emits, with its default severity and help text.");
}

} // namespace frameaudit::python
