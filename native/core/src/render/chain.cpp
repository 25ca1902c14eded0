// chain.cpp: `fa chain`, the raw RBP chain of each thread: every link, every
// check made on it (passed or failed, with its detail) and where and why the
// walk stopped.
#include <unordered_map>

#include "frameaudit/render.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {
namespace {

using namespace render;

void append_checks(std::string &out, const ChainLink &link, const RenderOptions &options) {
  const bool ascii = !options.unicode;
  const Glyphs &g = glyphs(options.unicode);
  const std::string indent = "        ";
  // Plain passes share one line; anything with something to say (a failure,
  // a call target) gets its own line so the detail stays readable.
  // Items are wrapped whole, two spaces apart, so a mark never leaves its name.
  std::string line;
  size_t line_width = 0;
  const size_t limit = render::line_width(options);
  for (const LinkCheck &c : link.checks) {
    if (!c.passed || !c.detail.empty())
      continue;
    const std::string name = clean_text(c.name, ascii);
    const size_t w = display_width(g.ok) + 1 + display_width(name);
    if (line_width && indent.size() + line_width + 2 + w > limit) {
      out += indent + line + "\n";
      line.clear();
      line_width = 0;
    }
    if (line_width) {
      line += "  ";
      line_width += 2;
    }
    line += tint(g.ok, Tint::Green, options) + " " + name;
    line_width += w;
  }
  if (line_width)
    out += indent + line + "\n";
  for (const LinkCheck &c : link.checks) {
    if (c.passed && c.detail.empty())
      continue;
    std::string text = clean_text(c.name, ascii);
    if (!c.detail.empty())
      text += ": " + clean_text(c.detail, ascii);
    const std::string_view mark = c.passed ? g.ok : g.fail;
    const std::string rest(indent.size() + display_width(mark) + 1, ' ');
    const std::string first =
        indent + tint(mark, c.passed ? Tint::Green : Tint::Red, options) + " ";
    append_wrapped(out, text, limit, rest, first);
  }
}

} // namespace

std::string render_chain(const Report &report, const RenderOptions &options) {
  return guarded([&] {
    const bool ascii = !options.unicode;
    std::string out;
    if (report.threads.empty())
      out += "No threads audited.\n";
    bool first = true;
    for (const ThreadReport &thread : report.threads) {
      if (!first)
        out += "\n";
      first = false;
      out += thread_header(thread, options) + "\n";
      out += "  rip " + hex(thread.registers.rip) + "  rsp " + hex(thread.registers.rsp) +
             "  rbp " + hex(thread.registers.rbp) + "\n";
      // Where each return address leads: the first frame at that pc.
      std::unordered_map<uint64_t, size_t> frame_at_pc;
      for (size_t i = 0; i < thread.frames.size(); ++i)
        frame_at_pc.emplace(thread.frames[i].pc, i);
      if (thread.links.empty()) {
        out += "  no links\n";
      } else {
        const std::vector<Column> columns = {
            {"link", true},  {"slot"}, {"saved rbp"}, {"return"}, {"returns into", false, 40},
            {"call target"},
        };
        const auto &links = thread.links;
        append_table(
            out, columns, links.size(),
            [&](size_t r, size_t c) -> std::string {
              const ChainLink &l = links[r];
              switch (c) {
              case 0:
                return std::to_string(r);
              case 1:
                return hex(l.address);
              case 2:
                return hex(l.saved_rbp);
              case 3:
                return hex(l.return_address);
              case 4: {
                auto it = frame_at_pc.find(l.return_address);
                if (it == frame_at_pc.end())
                  return "?";
                const Frame &f = thread.frames[it->second];
                return "#" + std::to_string(f.index) + " " + function_label(f);
              }
              case 5:
                return l.call_target ? hex(*l.call_target) : "-";
              }
              return "";
            },
            ascii, "  ", options.width, [&](std::string &o, size_t r) { append_checks(o, links[r], options); });
      }
      append_wrapped(out, chain_end_line(thread, options), line_width(options), "    ", "  ");
    }
    return out;
  });
}

} // namespace frameaudit
