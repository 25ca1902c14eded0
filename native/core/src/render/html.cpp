// html.cpp: `frameaudit analyze --output-html`, one self-contained page: no
// script, no network, styles inline. The summary and findings come first;
// each finding links to its frame's and block's rows, and each thread has
// its frames and blocks tables beside the SVG stack map of render/svg_map
// (whose frames and blocks link to the same rows).
#include <cinttypes>
#include <cstdio>

#include "frameaudit/render.h"
#include "render/svg_map.h"
#include "frameaudit/hex.h"

namespace frameaudit {
namespace {

using render::xml_escape;

std::string opt_int(const std::optional<int64_t> &v) {
  return v ? std::to_string(*v) : "-";
}

std::string thread_prefix(uint32_t thread) {
  return "t" + std::to_string(thread) + "-";
}

const char *kCss =
    R"(body{font-family:'DejaVu Sans',sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2}code,.mono{font-family:'DejaVu Sans Mono',monospace}
tr:target{background:#fff6bf}.error{color:#b91c1c;font-weight:bold}
.warning{color:#b45309;font-weight:bold}.note{color:#1d4ed8}
.thread{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.legend span{display:inline-block;padding:1px 6px;margin-right:6px;border:1px solid #333;font-size:12px}
)";

void frames_table(std::string &s, const ThreadReport &t) {
  std::string p = thread_prefix(t.index);
  s += "<table class=\"frames\"><tr><th>#</th><th>pc</th><th>function</th><th>source</th>"
       "<th>kind</th><th>span</th><th>static</th><th>dynamic</th><th>blocks</th></tr>\n";
  for (const auto &f : t.frames) {
    s += "<tr id=\"" + p + "f" + std::to_string(f.index) + "\"><td>" + std::to_string(f.index) +
         "</td><td class=\"mono\">" + hex(f.pc) + "</td><td class=\"mono\">" +
         xml_escape(f.function ? *f.function : "???") + "</td><td>";
    if (f.file)
      s += xml_escape(*f.file) + (f.line ? ":" + std::to_string(*f.line) : "");
    s += "</td><td>" + std::string(to_string(f.kind)) + "</td><td>" + opt_int(f.span) +
         "</td><td>" + opt_int(f.static_size) + "</td><td>" + opt_int(f.dynamic_bytes) +
         "</td><td>";
    for (const auto &r : f.regions)
      s += "<a href=\"#" + p + xml_escape(r) + "\">" + xml_escape(r) + "</a> ";
    s += "</td></tr>\n";
  }
  s += "</table>\n";
}

void regions_table(std::string &s, const ThreadReport &t) {
  if (t.regions.empty()) {
    s += "<p>No blocks from sra_alloc.</p>\n";
    return;
  }
  std::string p = thread_prefix(t.index);
  s += "<table class=\"regions\"><tr><th>block</th><th>base</th><th>size</th><th>reserved</th>"
       "<th>frame</th><th>call site</th><th>state</th><th>evidence</th></tr>\n";
  for (const auto &r : t.regions) {
    s += "<tr id=\"" + p + xml_escape(r.id) + "\"><td>" + xml_escape(r.id) +
         "</td><td class=\"mono\">" + hex(r.base) + "</td><td>" + std::to_string(r.size) +
         "</td><td>" + std::to_string(r.reserved) + "</td><td>";
    if (r.frame)
      s += "<a href=\"#" + p + "f" + std::to_string(*r.frame) + "\">#" + std::to_string(*r.frame) +
           "</a> ";
    s += xml_escape(r.function ? *r.function : "") + "</td><td>";
    if (r.call_site) {
      s += "<span class=\"mono\">" + hex(r.call_site->pc) + "</span> ";
      if (r.call_site->file)
        s += xml_escape(*r.call_site->file) +
             (r.call_site->line ? ":" + std::to_string(*r.call_site->line) : "");
    }
    s += "</td><td>" + std::string(to_string(r.state)) + "</td><td>" + to_string(r.evidence) +
         "</td></tr>\n";
  }
  s += "</table>\n";
}

} // namespace

std::string render_html(const Report &report) {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'; img-src data:\">\n<title>frameaudit report";
  if (report.target.core)
    s += " - " + xml_escape(*report.target.core);
  s += "</title>\n<style>";
  s += kCss;
  s += "</style></head><body>\n<h1>frameaudit report</h1>\n<table class=\"target\">";
  auto row = [&](const char *k, const std::string &v) {
    s += "<tr><th>" + std::string(k) + "</th><td class=\"mono\">" + xml_escape(v) + "</td></tr>";
  };
  row("executable", report.target.executable.value_or("-"));
  row("core", report.target.core.value_or("-"));
  row("pid", report.target.pid ? std::to_string(*report.target.pid) : "-");
  row("tool", "frameaudit " + report.tool_version);
  const Summary &sum = report.summary;
  auto count = [](uint64_t n, const char *one, const char *many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  row("summary",
      count(sum.threads, "thread", "threads") + ", " + count(sum.frames, "frame", "frames") + ", " +
          count(sum.regions, "block", "blocks") + "; " + count(sum.errors, "error", "errors") +
          ", " + count(sum.warnings, "warning", "warnings") + ", " +
          count(sum.notes, "note", "notes"));
  s += "</table>\n<h2 id=\"findings\">Findings</h2>\n";
  if (report.findings.empty()) {
    s += "<p>No findings.</p>\n";
  } else {
    s += "<table class=\"findings\"><tr><th>severity</th><th>kind</th><th>where</th>"
         "<th>message</th></tr>\n";
    size_t n = 0;
    for (const auto &f : report.findings) {
      const char *sev = to_string(f.severity);
      s += "<tr id=\"finding-" + std::to_string(n++) + "\"><td class=\"" + sev + "\">" + sev +
           "</td><td>" + xml_escape(f.kind) + "</td><td>";
      if (f.thread) {
        std::string p = thread_prefix(*f.thread);
        s += "<a href=\"#thread-" + std::to_string(*f.thread) + "\">thread #" +
             std::to_string(*f.thread) + "</a>";
        if (f.frame)
          s += " <a href=\"#" + p + "f" + std::to_string(*f.frame) + "\">frame #" +
               std::to_string(*f.frame) + "</a>";
        if (f.region)
          s += " <a href=\"#" + p + xml_escape(*f.region) + "\">block " + xml_escape(*f.region) +
               "</a>";
      }
      if (f.function)
        s += " <span class=\"mono\">" + xml_escape(*f.function) + "</span>";
      if (f.file)
        s += " " + xml_escape(*f.file) + (f.line ? ":" + std::to_string(*f.line) : "");
      s += "</td><td>" + xml_escape(f.message) + "</td></tr>\n";
    }
    s += "</table>\n";
  }
  s += "<p class=\"legend\">Map: <span style=\"background:#dbeafe\">frame</span>"
       "<span style=\"background:#ffedd5\">relocated frame</span>"
       "<span style=\"background:#f3e8ff\">allocator</span>"
       "<span style=\"background:#f5b700\">saved rbp + ret</span>"
       "<span style=\"background:#22a04b;color:#fff\">live block</span>"
       "<span style=\"background:#9e9e9e\">dead block</span>"
       "<span style=\"background:#dc2626;color:#fff\">corrupt block</span>"
       "<span style=\"background:#7c3aed;color:#fff\">audit header</span>"
       "<span style=\"background:#a1887f\">stale stub</span> "
       "RSP red, RBP blue; zigzags mark stretches not drawn to scale.</p>\n";
  for (const auto &t : report.threads) {
    s += "<h2 id=\"thread-" + std::to_string(t.index) + "\">Thread #" + std::to_string(t.index) +
         " (tid " + std::to_string(t.tid) + ")" +
         (t.name ? " " + xml_escape(*t.name) : std::string()) + "</h2>\n";
    s += "<p>" + xml_escape(t.stop_reason) + " &mdash; walk ended: " + to_string(t.chain_end) +
         (t.chain_end_detail.empty() ? "" : " (" + xml_escape(t.chain_end_detail) + ")") +
         "; rsp <code>" + hex(t.registers.rsp) + "</code>, rbp <code>" + hex(t.registers.rbp) +
         "</code></p>\n<div class=\"thread\"><div>";
    render::SvgPanel panel = render::draw_stack_panel(report, t, thread_prefix(t.index));
    s += render::svg_document({panel});
    s += "</div><div>\n<h3>Frames</h3>\n";
    frames_table(s, t);
    s += "<h3>Blocks</h3>\n";
    regions_table(s, t);
    s += "</div></div>\n";
  }
  s += "</body></html>\n";
  return s;
}

} // namespace frameaudit
