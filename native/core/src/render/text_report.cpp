// text_report.cpp: the human-readable audit report (`fa audit`, the CLI's
// text output) and the regions-only view (`fa regions`).
#include "frameaudit/render.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {
namespace {

using namespace render;

void append_registers(std::string &out, const ThreadReport &thread) {
  out += "  rip " + hex(thread.registers.rip) + "  rsp " + hex(thread.registers.rsp) + "  rbp " +
         hex(thread.registers.rbp) + "\n";
}

void append_chain_end(std::string &out, const ThreadReport &thread, const RenderOptions &options) {
  append_wrapped(out, chain_end_line(thread, options), line_width(options), "    ", "  ");
}

} // namespace

std::string render_text(const Report &report, const RenderOptions &options) {
  return guarded([&] {
    std::string out = report_header(report, options) + "\n";
    if (report.threads.empty())
      out += "\nNo threads audited.\n";
    for (const ThreadReport &thread : report.threads) {
      out += "\n" + thread_header(thread, options) + "\n";
      append_registers(out, thread);
      out += "\n";
      append_frames_table(out, thread, options);
      append_chain_end(out, thread, options);
      out += "\n  Regions (" + thousands(thread.regions.size()) + ")\n";
      if (!thread.regions.empty())
        append_regions_table(out, thread, options);
    }
    out += "\n";
    append_findings(out, report, options);
    out += "\n" + verdict_line(report.summary, options) + "\n";
    return out;
  });
}

std::string render_regions(const Report &report, const RenderOptions &options) {
  return guarded([&] {
    std::string out;
    if (report.threads.empty())
      out += "No threads audited.\n";
    bool first = true;
    for (const ThreadReport &thread : report.threads) {
      if (!first)
        out += "\n";
      first = false;
      out += thread_header(thread, options) + "\n";
      append_regions_table(out, thread, options);
    }
    return out;
  });
}

} // namespace frameaudit
