// render.h: one renderer per output format. Every front-end (native plugin,
// Python commands, CLI) prints what these return, byte for byte.
#pragma once

#include <string>
#include <vector>

#include "frameaudit/lint.h"
#include "frameaudit/report.h"

namespace frameaudit {

struct RenderOptions {
  bool unicode = true; ///< box drawing; false = ASCII fallback
  bool color = false;  ///< ANSI colour (terminal only)
};

/// JSON document "frameaudit/1" (CONTRACT section 7), pretty-printed, trailing newline.
std::string render_json(const Report &report);
/// Several documents as one JSON array (CLI analyze with several cores).
std::string render_json_array(const std::vector<Report> &reports);
/// SARIF 2.1.0, one run per report.
std::string render_sarif(const std::vector<Report> &reports);

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
