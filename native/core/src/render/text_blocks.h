// text_blocks.h: the pieces the text renderers (audit report, regions,
// chain, map, lint) assemble: glyph sets, an aligned table, the thread
// header line, the frames and regions tables, the findings section and the
// verdict. Sharing them keeps `fa audit`, `fa regions`, `fa chain` and
// `fa map` consistent with each other.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "frameaudit/render.h"
#include "frameaudit/report.h"

namespace frameaudit::render {

/// Lines are kept within this many columns where no RenderOptions say
/// otherwise (lint text); names are wrapped, never cut.
inline constexpr size_t kLineWidth = 120;
/// The line width a renderer wraps at: options.width, or no limit for 0.
size_t line_width(const RenderOptions &options);
/// The text report's `via` column: ctx, cfi, fp, dec, scan (JSON `unwind`:
/// context, cfi, frame_pointer, decoded, scan).
const char *unwind_abbreviation(UnwindMethod m);

/// Box drawing and marks, Unicode or the ASCII fallback.
struct Glyphs {
  std::string_view h, v, tl, tr, bl, br, lt, rt; ///< ─ │ ┌ ┐ └ ┘ ├ ┤
  std::string_view gap_v;                        ///< ╎: side of memory outside any frame
  std::string_view ok, fail;                     ///< ✓ ✗ / OK FAIL
  std::string_view mark;                         ///< ◄ / <-
  std::string_view ellipsis;                     ///< … / ...
  std::string_view arrow;                        ///< → / ->
  std::string_view sep;                          ///< " · " / ", " between facts
  std::string_view sev_error, sev_warning, sev_note;
};
const Glyphs &glyphs(bool unicode);

/// ANSI colour around already padded text, so alignment is unaffected.
enum class Tint { None, Red, Yellow, Green, Cyan, Bold, Dim };
std::string tint(std::string_view text, Tint tint, const RenderOptions &options);
Tint severity_tint(Severity severity);

/// One column of an aligned table.
struct Column {
  std::string title;
  bool right = false; ///< right-align (numbers)
  /// 0: fixed, the widest cell's width. Otherwise the column may shrink
  /// (not below min(this, its widest cell)) when the table is wider than the
  /// line; its cells then wrap onto continuation lines, nothing is cut.
  size_t max_width = 0;
  bool keep_tail = false; ///< (unused since cells wrap; kept for callers)
};

/// Append an aligned table: a title row, then `rows` rows whose cells come
/// from `cell(row, column)` (raw text; cleaned here). Cells are produced
/// twice (measure, then print) so a table of a million frames needs no
/// per-cell storage; each time its text is cleaned and measured in one pass
/// (clean_width, append_clean), plain ASCII on a fast path. `after_row` may append extra lines
/// below a row. `width` (0: no limit) is the line width the table fits by wrapping the cells of its
/// shrinkable columns.
void append_table(std::string &out, const std::vector<Column> &columns, size_t rows,
                  const std::function<std::string(size_t, size_t)> &cell, bool ascii,
                  std::string_view indent, size_t width,
                  const std::function<void(std::string &, size_t)> &after_row = {});

/// Word-wrap cleaned text to `width` columns, each line prefixed by indent
/// (the first line by `first` when given, e.g. a mark; it should be as wide
/// as indent).
void append_wrapped(std::string &out, std::string_view cleaned, size_t width,
                    std::string_view indent, std::string_view first = {});

/// "Thread #1  tid 4242  "main"  [selected]  stack 0x…–0x… (8.0 MiB)", then
/// "  stop: <reason>" when there is one (no trailing newline).
std::string thread_header(const ThreadReport &thread, const RenderOptions &options);
/// "frameaudit 0.1.0  x86_64  pid 4242", then the executable and core lines.
std::string report_header(const Report &report, const RenderOptions &options);
/// "outermost: <detail>" for the chain's stop.
std::string chain_end_line(const ThreadReport &thread, const RenderOptions &options);
/// A frame's function with its inlined functions: "level2 [inlined helper]".
std::string function_label(const Frame &frame);

void append_frames_table(std::string &out, const ThreadReport &thread,
                         const RenderOptions &options);
void append_regions_table(std::string &out, const ThreadReport &thread,
                          const RenderOptions &options);
/// Findings grouped by severity (errors, warnings, notes), report order within.
void append_findings(std::string &out, const Report &report, const RenderOptions &options);
/// "Verdict: FAIL  1 error, 2 warnings, 0 notes  (2 threads, 17 frames, 3 regions)"
std::string verdict_line(const Summary &summary, const RenderOptions &options);

/// Run a renderer; a failure inside it (an allocation failure, a bug) becomes
/// a one-line message instead of an exception crossing into LLDB or Python.
std::string guarded(const std::function<std::string()> &render);

} // namespace frameaudit::render
