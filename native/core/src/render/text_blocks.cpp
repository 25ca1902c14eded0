// text_blocks.cpp: the shared pieces of the text renderers (see text_blocks.h).
#include "render/text_blocks.h"

#include <algorithm>
#include <exception>

#include "render/text_format.h"

namespace frameaudit::render {
namespace {

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  return thousands(n) + " " + std::string(n == 1 ? one : many);
}

} // namespace

const Glyphs &glyphs(bool unicode) {
  static const Glyphs fancy{"\u2500", "\u2502", "\u250c",   "\u2510", "\u2514", "\u2518",
                            "\u251c", "\u2524", "\u254e",   "\u2713", "\u2717", "\u25c4",
                            "\u2026", "\u2192", " \u00b7 ", "\u2717", "!",      "\u2022"};
  static const Glyphs plain{"-",  "|",    "+",  "+",   "+",  "+",  "+", "+", ":",
                            "OK", "FAIL", "<-", "...", "->", ", ", "x", "!", "-"};
  return unicode ? fancy : plain;
}

std::string tint(std::string_view text, Tint t, const RenderOptions &options) {
  if (!options.color || t == Tint::None || text.empty())
    return std::string(text);
  const char *code = "";
  switch (t) {
  case Tint::Red:
    code = "\x1b[31m";
    break;
  case Tint::Yellow:
    code = "\x1b[33m";
    break;
  case Tint::Green:
    code = "\x1b[32m";
    break;
  case Tint::Cyan:
    code = "\x1b[36m";
    break;
  case Tint::Bold:
    code = "\x1b[1m";
    break;
  case Tint::Dim:
    code = "\x1b[2m";
    break;
  case Tint::None:
    break;
  }
  return std::string(code) + std::string(text) + "\x1b[0m";
}

Tint severity_tint(Severity severity) {
  switch (severity) {
  case Severity::Error:
    return Tint::Red;
  case Severity::Warning:
    return Tint::Yellow;
  case Severity::Note:
    return Tint::Cyan;
  }
  return Tint::None;
}

const char *unwind_abbreviation(UnwindMethod m) {
  switch (m) {
  case UnwindMethod::Context:
    return "ctx";
  case UnwindMethod::Cfi:
    return "cfi";
  case UnwindMethod::FramePointer:
    return "fp";
  case UnwindMethod::Decoded:
    return "dec";
  case UnwindMethod::Scan:
    return "scan";
  }
  return "?";
}

size_t line_width(const RenderOptions &options) {
  // "No limit" stays far from overflow in width arithmetic.
  return options.width ? options.width : size_t{1} << 30;
}

namespace {

/// A cell cut into lines of at most `width` columns, preferring to break
/// after a separator of C++ names and paths ("::", '/', ',', ' ', '(').
std::vector<std::string> wrap_cell(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  if (width == 0)
    width = 1;
  for (size_t guard = 0; guard < 100000; ++guard) {
    if (display_width(text) <= width) {
      lines.emplace_back(text);
      break;
    }
    size_t cut = prefix_bytes(text, width);
    for (size_t b = cut; b > cut / 3 && b > 0; --b) {
      const char c = text[b - 1];
      if (c == ' ' || c == '/' || c == ',' || c == '(' || c == '<' ||
          (c == ':' && b >= 2 && text[b - 2] == ':')) {
        cut = b;
        break;
      }
    }
    std::string line(text.substr(0, cut));
    trim_right(line);
    lines.push_back(std::move(line));
    text.remove_prefix(cut);
    while (!text.empty() && text.front() == ' ')
      text.remove_prefix(1);
    if (text.empty())
      break;
  }
  return lines;
}

} // namespace

void append_table(std::string &out, const std::vector<Column> &columns, size_t rows,
                  const std::function<std::string(size_t, size_t)> &cell, bool ascii,
                  std::string_view indent, size_t width_limit,
                  const std::function<void(std::string &, size_t)> &after_row) {
  const size_t ncol = columns.size();
  std::vector<size_t> width(ncol, 0), floor(ncol, 0), title_width(ncol, 0);
  for (size_t c = 0; c < ncol; ++c)
    width[c] = title_width[c] = display_width(columns[c].title);
  // Measure: one pass over each cell's text gives its cleaned width (plain
  // ASCII, the common case, is its own length).
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < ncol; ++c)
      width[c] = std::max(width[c], clean_width(cell(r, c), ascii));

  // Too wide for the line: shrink the widest shrinkable column, one slice
  // at a time, first down to its max_width, then (a narrow terminal) down to
  // its title; what is left over stays wider than asked.
  if (width_limit) {
    size_t total = display_width(indent) + (ncol ? 2 * (ncol - 1) : 0);
    for (size_t c = 0; c < ncol; ++c)
      total += width[c];
    for (int phase = 0; phase < 2 && total > width_limit; ++phase) {
      for (size_t c = 0; c < ncol; ++c) {
        const size_t title = title_width[c];
        const size_t least =
            phase == 0 ? std::max(columns[c].max_width, title) : std::max<size_t>(title, 8);
        floor[c] = columns[c].max_width ? std::min(width[c], least) : width[c];
      }
      while (total > width_limit) {
        size_t best = ncol;
        for (size_t c = 0; c < ncol; ++c)
          if (width[c] > floor[c] &&
              (best == ncol || width[c] - floor[c] > width[best] - floor[best]))
            best = c;
        if (best == ncol)
          break;
        // Slices, so several wide columns share the cut.
        const size_t room = width[best] - floor[best];
        const size_t slice = std::max<size_t>(1, std::min(total - width_limit, (room + 1) / 2));
        width[best] -= slice;
        total -= slice;
      }
    }
  }

  // Print: each cell is cleaned and measured in one pass into a buffer kept
  // from row to row; a row whose cells all fit (the common case) goes
  // straight into `out`, padded in place.
  std::vector<std::string> text(ncol);
  std::vector<size_t> text_width(ncol, 0);
  auto emit = [&](auto &&raw_of) {
    bool fits = true;
    for (size_t c = 0; c < ncol; ++c) {
      text[c].clear();
      text_width[c] = append_clean(text[c], raw_of(c), ascii);
      fits = fits && text_width[c] <= width[c];
    }
    if (fits) {
      const size_t start = out.size();
      out += indent;
      for (size_t c = 0; c < ncol; ++c) {
        const size_t pad = width[c] - text_width[c];
        if (columns[c].right) {
          out.append(pad, ' ');
          out += text[c];
        } else {
          out += text[c];
          if (c + 1 < ncol)
            out.append(pad, ' ');
        }
        if (c + 1 < ncol)
          out += "  ";
      }
      while (out.size() > start && out.back() == ' ')
        out.pop_back();
      out += '\n';
      return;
    }
    std::vector<std::vector<std::string>> parts(ncol);
    size_t lines = 1;
    for (size_t c = 0; c < ncol; ++c) {
      if (text_width[c] <= width[c])
        parts[c] = {text[c]};
      else
        parts[c] = wrap_cell(text[c], width[c]);
      lines = std::max(lines, parts[c].size());
    }
    for (size_t l = 0; l < lines; ++l) {
      std::string line(indent);
      for (size_t c = 0; c < ncol; ++c) {
        const std::string piece = l < parts[c].size() ? parts[c][l] : std::string();
        line += columns[c].right ? pad_left(piece, width[c]) : pad_right(piece, width[c]);
        if (c + 1 < ncol)
          line += "  ";
      }
      trim_right(line);
      out += line;
      out += '\n';
    }
  };
  emit([&](size_t c) -> const std::string & { return columns[c].title; });
  for (size_t r = 0; r < rows; ++r) {
    emit([&](size_t c) { return cell(r, c); });
    if (after_row)
      after_row(out, r);
  }
}

void append_wrapped(std::string &out, std::string_view cleaned, size_t width,
                    std::string_view indent, std::string_view first) {
  const size_t indent_width = display_width(indent);
  const size_t avail = width > indent_width + 10 ? width - indent_width : 10;
  bool first_line = true;
  std::string line;
  size_t line_width = 0;
  auto flush = [&] {
    out += first_line && !first.empty() ? first : indent;
    out += line;
    out += '\n';
    line.clear();
    line_width = 0;
    first_line = false;
  };
  size_t i = 0;
  bool any = false;
  while (i < cleaned.size()) {
    if (cleaned[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = cleaned.find(' ', i);
    if (end == std::string_view::npos)
      end = cleaned.size();
    std::string_view word = cleaned.substr(i, end - i);
    i = end;
    while (!word.empty()) {
      const size_t w = display_width(word);
      const size_t need = line_width ? line_width + 1 + w : w;
      if (need <= avail) {
        if (line_width) {
          line += ' ';
          ++line_width;
        }
        line += word;
        line_width += w;
        word = {};
      } else if (line_width) {
        flush();
      } else {
        // A word wider than the line (a long symbol or path): split it.
        const size_t cut = prefix_bytes(word, avail);
        line.assign(word.substr(0, cut));
        line_width = display_width(line);
        word.remove_prefix(cut);
        flush();
      }
      any = true;
    }
  }
  if (line_width || !any)
    flush();
}

std::string thread_header(const ThreadReport &thread, const RenderOptions &options) {
  const bool ascii = !options.unicode;
  std::string line =
      "Thread #" + std::to_string(thread.index) + "  tid " + std::to_string(thread.tid);
  if (thread.name)
    line += "  \"" + clean_text(*thread.name, ascii) + "\"";
  if (thread.is_selected)
    line += "  [selected]";
  if (thread.stack) {
    const std::string dash = ascii ? "-" : "\u2013";
    line += "  stack " + hex(thread.stack->low) + dash + hex(thread.stack->high);
    if (thread.stack->high > thread.stack->low)
      line += " (" + human_bytes(thread.stack->high - thread.stack->low) + ")";
  }
  // Too wide: the stack range goes on a line of its own.
  const size_t stack_at = line.find("  stack ");
  if (display_width(line) > line_width(options) && stack_at != std::string::npos)
    line = line.substr(0, stack_at) + "\n " + line.substr(stack_at);
  std::string out = tint(line, Tint::Bold, options);
  // LLDB's stop descriptions are long ("signal SIGSEGV: address not mapped
  // to object (fault address: 0x0)"): they get a line of their own.
  if (!thread.stop_reason.empty()) {
    std::string stop;
    append_wrapped(stop, clean_text(thread.stop_reason, ascii), line_width(options), "        ",
                   "  stop: ");
    if (!stop.empty() && stop.back() == '\n')
      stop.pop_back();
    out += "\n" + stop;
  }
  return out;
}

std::string report_header(const Report &report, const RenderOptions &options) {
  const bool ascii = !options.unicode;
  std::string out = "frameaudit";
  if (!report.tool_version.empty())
    out += " " + fit(clean_text(report.tool_version, ascii), 24, ascii);
  out += "  " + fit(clean_text(report.target.arch, ascii), 16, ascii);
  if (report.target.pid)
    out += "  pid " + std::to_string(*report.target.pid);
  // Paths in full: a long one wraps under itself.
  auto path_line = [&](std::string_view label, const std::string &path) {
    std::string text;
    append_wrapped(text, clean_text(path, ascii), line_width(options), "             ", label);
    if (!text.empty() && text.back() == '\n')
      text.pop_back();
    out += "\n" + text;
  };
  if (report.target.executable)
    path_line("  executable ", *report.target.executable);
  if (report.target.core)
    path_line("  core       ", *report.target.core);
  return out;
}

std::string chain_end_line(const ThreadReport &thread, const RenderOptions &options) {
  std::string line = std::string("Chain end: ") + to_string(thread.chain_end);
  if (!thread.chain_end_detail.empty())
    line += std::string(options.unicode ? " \u2014 " : " - ") +
            clean_text(thread.chain_end_detail, !options.unicode);
  return line;
}

std::string function_label(const Frame &frame) {
  std::string label = frame.function ? *frame.function : std::string("?");
  if (!frame.inlined.empty()) {
    label += " [inlined ";
    for (size_t i = 0; i < frame.inlined.size(); ++i) {
      if (i)
        label += ", ";
      label += frame.inlined[i].value_or("?");
    }
    label += "]";
  }
  return label;
}

void append_frames_table(std::string &out, const ThreadReport &thread,
                         const RenderOptions &options) {
  if (thread.frames.empty()) {
    out += "  no frames\n";
    return;
  }
  const bool ascii = !options.unicode;
  const std::vector<Column> columns = {
      {"#", true}, {"pc"},         {"function", false, 32}, {"location", false, 22, true},
      {"kind"},    {"span", true}, {"static", true},        {"dynamic", true},
      {"via"},
  };
  const auto &frames = thread.frames;
  append_table(
      out, columns, frames.size(),
      [&](size_t r, size_t c) -> std::string {
        const Frame &f = frames[r];
        switch (c) {
        case 0:
          return std::to_string(f.index);
        case 1:
          return hex(f.pc);
        case 2:
          return function_label(f);
        case 3:
          return file_line(f.file, f.line);
        case 4:
          return to_string(f.kind);
        case 5:
          return opt_int(f.span);
        case 6:
          return opt_int(f.static_size);
        case 7:
          return opt_int(f.dynamic_bytes);
        case 8:
          // How the frame was found (JSON `unwind`), short so the table
          // fits 80 columns: ctx, cfi, fp, dec, scan.
          return unwind_abbreviation(f.unwind);
        }
        return "";
      },
      ascii, "  ", options.width,
      [&](std::string &o, size_t r) {
        const Frame &f = frames[r];
        if (!f.note || f.note->empty())
          return;
        const std::string prefix = "      " + std::string(ascii ? "->" : "\u21b3") + " ";
        append_wrapped(o, clean_text(*f.note, ascii), line_width(options), "        ", prefix);
      });
}

void append_regions_table(std::string &out, const ThreadReport &thread,
                          const RenderOptions &options) {
  if (thread.regions.empty()) {
    out += "  no allocated regions\n";
    return;
  }
  const bool ascii = !options.unicode;
  const bool any_seq = std::any_of(thread.regions.begin(), thread.regions.end(),
                                   [](const Region &r) { return r.sequence.has_value(); });
  std::vector<Column> columns = {
      {"id", false, 10},
      {"base"},
      {"size", true},
      {"reserved", true},
      {"state"},
      {"evidence"},
      {"frame", true},
      {"function", false, 20},
      {"call site", false, 22, true},
  };
  if (any_seq)
    columns.push_back({"seq", true});
  const auto &regions = thread.regions;
  append_table(
      out, columns, regions.size(),
      [&](size_t r, size_t c) -> std::string {
        const Region &g = regions[r];
        switch (c) {
        case 0:
          return g.id;
        case 1:
          return hex(g.base);
        case 2:
          return std::to_string(g.size);
        case 3:
          return std::to_string(g.reserved);
        case 4:
          return to_string(g.state);
        case 5:
          return to_string(g.evidence);
        case 6:
          return g.frame ? "#" + std::to_string(*g.frame) : "-";
        case 7:
          return g.function ? *g.function : "-";
        case 8: {
          if (!g.call_site)
            return "-";
          std::string where = file_line(g.call_site->file, g.call_site->line);
          return where.empty() ? hex(g.call_site->pc) : where;
        }
        case 9:
          return g.sequence ? std::to_string(*g.sequence) : "-";
        }
        return "";
      },
      ascii, "  ", options.width);
}

void append_findings(std::string &out, const Report &report, const RenderOptions &options) {
  const bool ascii = !options.unicode;
  const Glyphs &g = glyphs(options.unicode);
  if (report.findings.empty()) {
    out += "Findings: none\n";
    return;
  }
  uint64_t count[3] = {0, 0, 0};
  for (const Finding &f : report.findings)
    ++count[static_cast<int>(f.severity)];
  out += "Findings: " + plural(count[0], "error", "errors") + ", " +
         plural(count[1], "warning", "warnings") + ", " + plural(count[2], "note", "notes") + "\n";
  static constexpr Severity order[] = {Severity::Error, Severity::Warning, Severity::Note};
  static constexpr const char *titles[] = {"Errors", "Warnings", "Notes"};
  for (int s = 0; s < 3; ++s) {
    if (!count[s])
      continue;
    out += "  " + tint(titles[s], severity_tint(order[s]), options) + "\n";
    const std::string_view mark = s == 0 ? g.sev_error : (s == 1 ? g.sev_warning : g.sev_note);
    for (const Finding &f : report.findings) {
      if (f.severity != order[s])
        continue;
      std::string where = clean_text(f.kind, ascii);
      if (f.thread)
        where += "  thread #" + std::to_string(*f.thread);
      if (f.frame)
        where += "  frame #" + std::to_string(*f.frame);
      if (f.function)
        where += (f.frame ? " " : "  in ") + clean_text(*f.function, ascii);
      const std::string location = file_line(f.file, f.line);
      if (!location.empty())
        where += "  " + clean_text(location, ascii);
      if (f.address)
        where += "  " + hex(*f.address);
      if (f.region)
        where += "  region " + clean_text(*f.region, ascii);
      // A header too wide for the line wraps between its parts (a long C++
      // name never costs the file:line after it); one that fits stays as is.
      const std::string first = "    " + tint(mark, severity_tint(f.severity), options) + " ";
      if (6 + display_width(where) <= line_width(options))
        out += first + where + "\n";
      else
        append_wrapped(out, where, line_width(options), "      ", first);
      append_wrapped(out, clean_text(f.message, ascii), line_width(options), "      ");
    }
  }
}

std::string verdict_line(const Summary &s, const RenderOptions &options) {
  std::string verdict = "OK";
  Tint t = Tint::Green;
  if (s.errors) {
    verdict = "FAIL";
    t = Tint::Red;
  } else if (s.warnings) {
    verdict = "WARN";
    t = Tint::Yellow;
  }
  // A verdict that rests on missing evidence says so; the findings say which.
  const std::string incomplete = s.incomplete ? ", incomplete" : "";
  const std::string counts = plural(s.errors, "error", "errors") + ", " +
                             plural(s.warnings, "warning", "warnings") + ", " +
                             plural(s.notes, "note", "notes");
  const std::string scope = "in " + plural(s.threads, "thread", "threads") + ", " +
                            plural(s.frames, "frame", "frames") + ", " +
                            plural(s.regions, "region", "regions");
  // On a narrow line the scope goes onto a line of its own (the colour
  // codes take no columns).
  const size_t plain = std::string("Verdict: ").size() + verdict.size() + incomplete.size() + 2 +
                       counts.size() + 1 + scope.size();
  return "Verdict: " + tint(verdict, t, options) + incomplete + "  " + counts +
         (plain > line_width(options) ? "\n         " : " ") + scope;
}

std::string guarded(const std::function<std::string()> &render) {
  try {
    return render();
  } catch (const std::exception &e) {
    return "frameaudit: internal error while rendering: " + clean_text(e.what(), true) + "\n";
  } catch (...) {
    return "frameaudit: internal error while rendering\n";
  }
}

} // namespace frameaudit::render
