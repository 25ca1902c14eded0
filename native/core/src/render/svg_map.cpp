// svg_map.cpp: `fa map --svg`, the stack map as a picture. High addresses at
// the top, one byte per pixel; a stretch longer than kMaxSegment bytes (a big
// block, a deep run of frames left out) is drawn short with a zigzag break
// mark and its size written on it, so a map stays readable and every drawn
// byte outside a break is to scale. Each panel carries its address-to-y
// scale in a data-scale attribute ("high:low:top:bottom;..." in hex and
// pixels) so tests and tools can find any address in the picture.
#include "render/svg_map.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

#include "frameaudit/render.h"
#include "frameaudit/hex.h"
#include "sra_layout.h"

namespace frameaudit {
namespace render {
namespace {

constexpr double kPxPerByte = 1.0;
constexpr uint64_t kMaxSegment = 192; ///< longer stretches are drawn as breaks
constexpr double kBreakHeight = 44;
constexpr double kTitleHeight = 44;
constexpr double kAxisWidth = 150;   ///< address labels
constexpr double kColumnWidth = 430; ///< the stack itself
constexpr double kMarkWidth = 220;   ///< RSP/RBP marks and stub notes
constexpr double kPanelWidth = kAxisWidth + kColumnWidth + kMarkWidth;
constexpr double kCharWidth = 6.6; ///< 11px monospace
constexpr size_t kHeadFrames = 24;
constexpr size_t kTailFrames = 8;

const char *frame_fill(FrameKind kind) {
  switch (kind) {
  case FrameKind::Normal:
    return "#dbeafe";
  case FrameKind::Dynamic:
    return "#e0f2f1";
  case FrameKind::Relocated:
    return "#ffedd5";
  case FrameKind::Allocator:
    return "#f3e8ff";
  case FrameKind::Unknown:
    break;
  }
  return "#eeeeee";
}

const char *block_fill(RegionState state) {
  switch (state) {
  case RegionState::Live:
    return "#22a04b";
  case RegionState::Dead:
    return "#9e9e9e";
  case RegionState::Corrupt:
    return "#dc2626";
  }
  return "#9e9e9e";
}

constexpr const char *kStubFill = "#f5b700";  ///< a frame's [saved rbp][return address]
constexpr const char *kStaleFill = "#a1887f"; ///< a stale stub below RSP
constexpr const char *kHeaderFill = "#7c3aed";

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0)
    s.resize(s.size() - 2);
  return s;
}

std::string fit(std::string text, double width) {
  size_t max = width > kCharWidth ? static_cast<size_t>(width / kCharWidth) : 0;
  if (text.size() > max)
    text = max > 1 ? text.substr(0, max - 1) + "~" : "";
  return text;
}

/// The piecewise scale: segments between consecutive interesting addresses.
class Scale {
public:
  struct Segment {
    uint64_t high, low;
    double top, bottom;
    bool broken;
    size_t elided_frames = 0;
  };

  Scale(std::set<uint64_t> points, double top,
        const std::vector<std::pair<uint64_t, uint64_t>> &elided,
        const std::vector<size_t> &elided_counts) {
    double y = top;
    for (auto it = points.rbegin(); it != points.rend(); ++it) {
      auto next = std::next(it);
      if (next == points.rend())
        break;
      uint64_t high = *it, low = *next, bytes = high - low;
      Segment s{high, low, y, 0, bytes > kMaxSegment};
      for (size_t i = 0; i < elided.size(); ++i)
        if (elided[i].first >= high && elided[i].second <= low) {
          s.broken = true;
          s.elided_frames = elided_counts[i];
        }
      s.bottom = y + (s.broken ? kBreakHeight : static_cast<double>(bytes) * kPxPerByte);
      y = s.bottom;
      segments_.push_back(s);
    }
    bottom_ = y;
    if (!points.empty()) {
      high_ = *points.rbegin();
      low_ = *points.begin();
    }
    top_ = top;
  }

  double y(uint64_t addr) const {
    if (segments_.empty())
      return top_;
    if (addr >= high_)
      return top_;
    if (addr <= low_)
      return bottom_;
    for (const auto &s : segments_)
      if (addr <= s.high && addr >= s.low) {
        double f = static_cast<double>(s.high - addr) / static_cast<double>(s.high - s.low);
        return s.top + f * (s.bottom - s.top);
      }
    return bottom_;
  }

  double bottom() const { return bottom_; }
  const std::vector<Segment> &segments() const { return segments_; }

  std::string attribute() const {
    std::string s;
    for (const auto &seg : segments_) {
      if (!s.empty())
        s += ';';
      s += hex(seg.high) + ":" + hex(seg.low) + ":" + num(seg.top) + ":" + num(seg.bottom);
    }
    return s;
  }

private:
  std::vector<Segment> segments_;
  uint64_t high_ = 0, low_ = 0;
  double top_ = 0, bottom_ = 0;
};

class PanelDrawer {
public:
  PanelDrawer(const Report &report, const ThreadReport &thread, const std::string &link_prefix)
      : report_(report), thread_(thread), link_(link_prefix) {}

  SvgPanel draw();

private:
  void rect(double x, double y0, double y1, double w, const char *fill, const std::string &id,
            const std::string &title, const std::string &cls, const std::string &href = "");
  void text(double x, double y, const std::string &s, const std::string &cls,
            const char *anchor = "start");
  bool drawn(uint64_t addr) const { return addr >= low_ && addr <= high_; }

  const Report &report_;
  const ThreadReport &thread_;
  std::string link_;
  std::string out_;
  uint64_t high_ = 0, low_ = 0;
};

void PanelDrawer::rect(double x, double y0, double y1, double w, const char *fill,
                       const std::string &id, const std::string &title, const std::string &cls,
                       const std::string &href) {
  if (!href.empty())
    out_ += "<a href=\"" + xml_escape(href) + "\">";
  out_ += "<rect";
  if (!id.empty())
    out_ += " id=\"" + xml_escape(id) + "\"";
  out_ += " class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y0) + "\" width=\"" + num(w) +
          "\" height=\"" + num(std::max(0.0, y1 - y0)) + "\" fill=\"" + fill + "\">";
  if (!title.empty())
    out_ += "<title>" + xml_escape(title) + "</title>";
  out_ += "</rect>";
  if (!href.empty())
    out_ += "</a>";
  out_ += "\n";
}

void PanelDrawer::text(double x, double y, const std::string &s, const std::string &cls,
                       const char *anchor) {
  out_ += "<text class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" +
          anchor + "\">" + xml_escape(s) + "</text>\n";
}

SvgPanel PanelDrawer::draw() {
  const auto &frames = thread_.frames;
  const uint64_t rsp = thread_.registers.rsp, rbp = thread_.registers.rbp;

  // Which frames are drawn: the innermost and outermost ones of a deep stack.
  std::vector<const Frame *> shown;
  std::vector<std::pair<uint64_t, uint64_t>> elided;
  std::vector<size_t> elided_counts;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames.size() > kHeadFrames + kTailFrames && i == kHeadFrames) {
      const Frame &first = frames[kHeadFrames];
      const Frame &last = frames[frames.size() - kTailFrames - 1];
      if (first.rsp && last.cfa) {
        elided.push_back({*last.cfa, *first.rsp});
        elided_counts.push_back(frames.size() - kHeadFrames - kTailFrames);
      }
      i = frames.size() - kTailFrames - 1;
      continue;
    }
    shown.push_back(&frames[i]);
  }

  std::set<uint64_t> points;
  auto add = [&](std::optional<uint64_t> a) {
    if (a && *a)
      points.insert(*a);
  };
  for (const Frame *f : shown) {
    add(f->cfa);
    add(f->rsp);
    if (f->saved_rbp_slot) {
      add(f->saved_rbp_slot);
      add(*f->saved_rbp_slot + 16);
    }
  }
  for (const auto &e : elided) {
    points.insert(e.first);
    points.insert(e.second);
  }
  std::map<std::string, const Region *> regions;
  for (const auto &r : thread_.regions) {
    regions[r.id] = &r;
    add(r.base);
    add(r.base + std::max(r.size, r.reserved));
    add(r.base + r.size);
    if (r.evidence == Evidence::Header) {
      uint64_t h = r.base + ((r.size + 15) & ~uint64_t{15});
      add(h);
      add(h + frameaudit::detail::kAuditHeaderSize);
    }
  }
  for (const auto &s : thread_.stale_stubs) {
    add(s.address);
    add(s.address + 16);
  }
  add(rsp);
  // Keep the frames' own range: a wild RBP or a block far away must not
  // stretch the picture over the whole address space.
  if (!points.empty()) {
    uint64_t top = *points.rbegin();
    if (!frames.empty() && frames.back().cfa)
      top = std::max(*frames.back().cfa, rsp);
    for (auto it = points.begin(); it != points.end();)
      it = (*it > top || *it + (uint64_t{1} << 24) < rsp) ? points.erase(it) : std::next(it);
  }
  if (rbp && !points.empty() && rbp <= *points.rbegin() && rbp >= *points.begin())
    points.insert(rbp);
  if (points.size() < 2) {
    points.insert(rsp);
    points.insert(rsp + 16);
  }
  high_ = *points.rbegin();
  low_ = *points.begin();

  const double top = kTitleHeight;
  Scale scale(points, top, elided, elided_counts);
  const double x0 = kAxisWidth, w = kColumnWidth;

  // Title.
  std::string title =
      "thread #" + std::to_string(thread_.index) + " (tid " + std::to_string(thread_.tid) + ")";
  if (thread_.name)
    title += " " + *thread_.name;
  if (!thread_.stop_reason.empty())
    title += ", " + thread_.stop_reason;
  text(8, 18, fit(title, (kPanelWidth - 16) * 6.6 / 8.6), "title");
  std::string sub = std::to_string(frames.size()) + " frames, " +
                    std::to_string(thread_.regions.size()) +
                    " blocks; walk ended: " + to_string(thread_.chain_end);
  text(8, 34, fit(sub, kPanelWidth - 16), "sub");

  // Released stack below RSP.
  if (low_ < rsp)
    rect(x0, scale.y(rsp), scale.y(low_), w, "url(#released)", "", "released stack below RSP",
         "released");

  // Frames.
  for (const Frame *f : shown) {
    if (!f->cfa || !f->rsp || *f->cfa <= *f->rsp)
      continue;
    double y0 = scale.y(*f->cfa), y1 = scale.y(*f->rsp);
    std::string name = f->function ? *f->function : "???";
    std::string id = link_ + "svg-f" + std::to_string(f->index);
    std::string tip = "frame #" + std::to_string(f->index) + " " + name + " [" + hex(*f->rsp) +
                      ", " + hex(*f->cfa) + ") " + std::to_string(*f->cfa - *f->rsp) + " bytes, " +
                      to_string(f->kind);
    rect(x0, y0, y1, w, frame_fill(f->kind), id, tip, std::string("frame ") + to_string(f->kind),
         link_.empty() ? "" : "#" + link_ + "f" + std::to_string(f->index));
    std::string label = "#" + std::to_string(f->index) + " " + name;
    std::string note = frame_annotation(*f, false);
    std::string size = std::to_string(*f->cfa - *f->rsp) + " B";
    if (y1 - y0 >= 12) {
      text(x0 + 6, y0 + 12, fit(label + (note.empty() ? "" : " " + note), w - 160), "label");
      text(x0 + w - 6, y0 + 12, size, "label", "end");
    }
  }

  // Each frame's [saved rbp][return address] pair.
  for (const Frame *f : shown) {
    if (!f->saved_rbp_slot || !drawn(*f->saved_rbp_slot))
      continue;
    uint64_t s = *f->saved_rbp_slot;
    double y0 = scale.y(s + 16), y1 = scale.y(s);
    rect(x0 + w - 150, y0, y1, 144, kStubFill, link_ + "svg-stub" + std::to_string(f->index),
         "saved rbp + return address of frame #" + std::to_string(f->index) + " at " + hex(s),
         "stub");
    if (y1 - y0 >= 11)
      text(x0 + w - 78, y1 - 4, "saved rbp | ret", "small", "middle");
  }

  // Blocks the allocator handed out, and their audit headers.
  for (const auto &[id, r] : regions) {
    uint64_t end = r->base + r->size;
    if (!drawn(r->base) || !drawn(end))
      continue;
    double y0 = scale.y(end), y1 = scale.y(r->base);
    std::string tip = "block " + id + ": " + std::to_string(r->size) + " bytes at " + hex(r->base) +
                      ", " + to_string(r->state) + " (" + to_string(r->evidence) + ")";
    if (r->function)
      tip += ", in " + *r->function;
    rect(x0 + 24, y0, y1, w - 190, block_fill(r->state), link_ + "svg-" + id, tip,
         std::string("block ") + to_string(r->state), link_.empty() ? "" : "#" + link_ + id);
    if (y1 - y0 >= 12)
      text(x0 + 30, y0 + 12,
           fit(id + " " + std::to_string(r->size) + " B " + to_string(r->state), w - 200),
           "label inv");
    if (r->evidence == Evidence::Header) {
      uint64_t h = r->base + ((r->size + 15) & ~uint64_t{15});
      if (drawn(h) && drawn(h + frameaudit::detail::kAuditHeaderSize)) {
        double hy0 = scale.y(h + frameaudit::detail::kAuditHeaderSize), hy1 = scale.y(h);
        rect(x0 + 24, hy0, hy1, w - 190, kHeaderFill, link_ + "svg-" + id + "-header",
             "audit header of " + id + " at " + hex(h), "header");
        if (hy1 - hy0 >= 11)
          text(x0 + 30, hy1 - 4, "header", "small inv");
      }
    }
  }

  // Stale stubs below RSP (relocated by the allocator, now released).
  size_t n = 0;
  for (const auto &s : thread_.stale_stubs) {
    if (!drawn(s.address) || !drawn(s.address + 16))
      continue;
    double y0 = scale.y(s.address + 16), y1 = scale.y(s.address);
    std::string fn = s.function ? *s.function : "?";
    rect(x0 + w - 150, y0, y1, 144, kStaleFill, link_ + "svg-stale" + std::to_string(n++),
         "stale stub at " + hex(s.address) + " (return address into " + fn + ")", "stale");
    text(x0 + w + 8, y1 - 3, fit("stale stub -> " + fn, kMarkWidth - 70), "small");
  }

  // Breaks over long stretches.
  for (const auto &seg : scale.segments()) {
    if (!seg.broken)
      continue;
    double ym = (seg.top + seg.bottom) / 2;
    out_ += "<rect class=\"break\" x=\"" + num(x0 - 4) + "\" y=\"" + num(ym - 9) + "\" width=\"" +
            num(w + 8) + "\" height=\"18\" fill=\"#ffffff\"/>\n";
    std::string zig = "M" + num(x0 - 4) + " " + num(ym - 5);
    for (double x = x0 - 4; x < x0 + w + 4; x += 12)
      zig += " L" + num(x + 6) + " " + num(ym - 9) + " L" + num(x + 12) + " " + num(ym - 5);
    std::string zag = "M" + num(x0 - 4) + " " + num(ym + 5);
    for (double x = x0 - 4; x < x0 + w + 4; x += 12)
      zag += " L" + num(x + 6) + " " + num(ym + 9) + " L" + num(x + 12) + " " + num(ym + 5);
    out_ += "<path class=\"breakmark\" d=\"" + zig + "\"/>\n<path class=\"breakmark\" d=\"" + zag +
            "\"/>\n";
    std::string what = std::to_string(seg.high - seg.low) + " bytes not to scale";
    if (seg.elided_frames)
      what = std::to_string(seg.elided_frames) + " frames left out (" + what + ")";
    text(x0 + w / 2, ym + 4, what, "small", "middle");
  }

  // Address axis: every point, unless it would overlap the previous label.
  double last = -100;
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    double y = scale.y(*it);
    out_ += "<line class=\"tick\" x1=\"" + num(x0 - 6) + "\" y1=\"" + num(y) + "\" x2=\"" +
            num(x0) + "\" y2=\"" + num(y) + "\"/>\n";
    if (y - last >= 11) {
      text(x0 - 8, y + 4, hex(*it), "addr", "end");
      last = y;
    }
  }

  // RSP and RBP.
  auto mark = [&](uint64_t addr, const char *name, const char *cls, double dy, bool line = true) {
    if (!drawn(addr))
      return;
    double y = scale.y(addr);
    if (line)
      out_ += "<line class=\"" + std::string(cls) + "\" x1=\"" + num(x0) + "\" y1=\"" + num(y) +
              "\" x2=\"" + num(x0 + w + 40) + "\" y2=\"" + num(y) + "\"/>\n";
    text(x0 + w + 44, y + 4 + dy, std::string(name) + " " + hex(addr), std::string(cls) + "-label");
  };
  // Where RBP == RSP (a frame pointer just set up) RBP gets its label only:
  // its dashed line would hide the RSP mark.
  mark(rsp, "RSP", "rsp", 0);
  mark(rbp, "RBP", "rbp", rbp == rsp ? 12 : 0, rbp != rsp);

  SvgPanel panel;
  panel.height = scale.bottom() + 24;
  panel.width = kPanelWidth;
  panel.body = "<g class=\"panel\" data-thread=\"" + std::to_string(thread_.index) +
               "\" data-scale=\"" + scale.attribute() + "\">\n" + out_ + "</g>\n";
  (void)report_;
  return panel;
}

const char *kStyle =
    "<style>\n"
    "text{font-family:'DejaVu Sans Mono',monospace;font-size:11px;fill:#111}\n"
    ".title{font-size:14px;font-weight:bold}.sub{fill:#444}\n"
    ".addr{fill:#333}.small{font-size:10px}.inv{fill:#fff}\n"
    "rect.frame,rect.stub,rect.stale,rect.block,rect.header{stroke:#333;stroke-width:0.6}\n"
    "rect.released{stroke:#999;stroke-dasharray:4 3}\n"
    ".tick{stroke:#666}.breakmark{fill:none;stroke:#333;stroke-width:1.2}\n"
    ".rsp{stroke:#d00;stroke-width:1.6}.rbp{stroke:#06c;stroke-width:1.6;stroke-dasharray:5 3}\n"
    ".rsp-label{fill:#d00;font-weight:bold}.rbp-label{fill:#06c;font-weight:bold}\n"
    "</style>\n"
    "<defs><pattern id=\"released\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">"
    "<rect width=\"8\" height=\"8\" fill=\"#f4f4f4\"/>"
    "<path d=\"M0 8 L8 0\" stroke=\"#cfcfcf\" stroke-width=\"1\"/></pattern></defs>\n";

} // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      // Control characters are not allowed in XML 1.0.
      if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
        out += '?';
      else
        out += c;
    }
  }
  return out;
}

SvgPanel draw_stack_panel(const Report &report, const ThreadReport &thread,
                          const std::string &link_prefix) {
  return PanelDrawer(report, thread, link_prefix).draw();
}

std::string svg_document(const std::vector<SvgPanel> &panels) {
  double width = kPanelWidth, height = 0;
  std::string body;
  for (const auto &p : panels) {
    body += "<g transform=\"translate(0," + num(height) + ")\">\n" + p.body + "</g>\n";
    height += p.height;
    width = std::max(width, p.width);
  }
  if (panels.empty())
    height = 40;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) +
                  "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " +
                  num(height) + "\">\n";
  s += kStyle;
  s += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" +
       num(height) + "\" fill=\"#ffffff\"/>\n";
  s += body;
  s += "</svg>\n";
  return s;
}

} // namespace render

std::string render_map_svg(const Report &report) {
  std::vector<render::SvgPanel> panels;
  for (const auto &thread : report.threads)
    panels.push_back(render::draw_stack_panel(report, thread));
  return render::svg_document(panels);
}

} // namespace frameaudit
