// render.h: one renderer per output format. Every front-end (native plugin,
// Python commands, CLI) prints what these return, byte for byte.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "frameaudit/lint.h"
#include "frameaudit/report.h"
#include "frameaudit/result.h"

namespace frameaudit {

struct RenderOptions {
  bool unicode = true; ///< box drawing; false = ASCII fallback
  bool color = false;  ///< ANSI colour (terminal only)
  /// Lines are kept within this many columns by wrapping (never by cutting
  /// names); 0 = no limit, every name and location in full on one line.
  size_t width = 120;
};

/// How reports become SARIF runs (docs/formats.md, "SARIF 2.1.0", docs/formats.md).
enum class SarifRuns {
  PerCore,       ///< one run per report (what render_sarif(reports) always did)
  PerExecutable, ///< reports of one executable share one run
};

struct SarifOptions {
  SarifRuns runs = SarifRuns::PerCore;
  /// Results below this severity are left out (rules stay).
  Severity min_level = Severity::Note;
  /// First part of every run's automationDetails.id ("frameaudit/<exe>/");
  /// `frameaudit lint` uses its own so its uploads never replace an analysis.
  std::string category = "frameaudit";
  /// GitHub code scanning rejects a file with more runs than this; 0 = no limit.
  size_t max_runs = 20;
};

/// JSON document "frameaudit/1" (docs/formats.md, "JSON document"), pretty-printed, trailing newline.
std::string render_json(const Report &report);
/// Several documents as one JSON array (CLI analyze with several cores).
std::string render_json_array(const std::vector<Report> &reports);
/// SARIF 2.1.0, one run per report.
std::string render_sarif(const std::vector<Report> &reports);
/// SARIF 2.1.0 with runs, levels and categories as `options` say. Fails
/// (one sentence) when the log would need more than options.max_runs runs.
Result<std::string> render_sarif(const std::vector<Report> &reports, const SarifOptions &options);
/// Several SARIF logs written by render_sarif (one per core, from separate
/// worker processes) joined into one as if rendered together: runs of one
/// category merged under SarifRuns::PerExecutable, fingerprints kept unique
/// per run, at most options.max_runs runs. Only options.runs and max_runs
/// are used here (levels were applied when each log was rendered).
Result<std::string> merge_sarif(const std::vector<std::string> &logs, const SarifOptions &options);

/// `fa audit`: per thread a frames table, a regions table; then findings and summary.
std::string render_text(const Report &report, const RenderOptions &options = {});
/// `fa chain`: each link of each thread with its checks and the stop reason.
std::string render_chain(const Report &report, const RenderOptions &options = {});
/// `fa regions`: the regions tables only.
std::string render_regions(const Report &report, const RenderOptions &options = {});
/// `fa map`: a drawn stack map of one thread.
std::string render_map(const Report &report, const ThreadReport &thread,
                       const RenderOptions &options = {});
/// `fa bt`: the frames of every thread in the layout of LLDB's `bt`.
std::string render_backtrace(const Report &report);
/// The note `fa bt` and the frame provider put after a frame, e.g.
/// "[repaired, sra: relocated, 64 bytes]"; empty for a plain frame.
std::string frame_annotation(const Frame &frame, bool repaired);
/// `fa map --svg`: the stack map of every thread of the report as one SVG
/// picture (a panel per thread), to scale with break marks over long gaps.
std::string render_map_svg(const Report &report);
/// `analyze --output-html`: one self-contained page (no scripts, no network):
/// summary, findings linked to their frames and blocks, an SVG map per thread.
std::string render_html(const Report &report);
/// `fa lint` / `frameaudit lint` text output.
std::string render_lint_text(const std::vector<LintResult> &results);

} // namespace frameaudit
