// map.cpp: `fa map`, a drawn stack diagram of one thread in the style of a
// textbook stack figure: addresses down the left (high at the top), one box
// per frame with its saved RBP / return address slots and the blocks the
// allocator carved out of it, released stack below RSP with dead blocks and
// stale stubs, and RSP/RBP marks on the right. Deep stacks are elided in the
// middle so the drawing stays a screenful; `fa audit` lists every frame.
#include <algorithm>
#include <unordered_map>

#include "frameaudit/render.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {
namespace {

using namespace render;

constexpr size_t kAddrWidth = 18;        ///< "0x" + 16 hex digits
constexpr size_t kBoxWidth = 64;         ///< outer width of a frame box
constexpr size_t kInner = kBoxWidth - 4; ///< text width inside "│ " … " │"
constexpr size_t kHeadFrames = 12;       ///< innermost frames always drawn
constexpr size_t kTailFrames = 4;        ///< outermost frames always drawn
constexpr size_t kMaxBlocks = 6;         ///< blocks drawn per frame
constexpr size_t kMaxReleased = 8;       ///< items drawn below RSP

enum class Role { Edge, Slot, Other };

struct Line {
  std::optional<uint64_t> addr;
  std::string body;
  Role role = Role::Other;
  std::vector<std::string> marks;
  bool frame_edge = false; ///< a frame box's top, bottom or shared edge
};

/// Something drawn inside a frame box or below RSP, ordered by address.
struct Item {
  uint64_t top = 0; ///< one past its highest byte
  uint64_t low = 0;
  const Region *region = nullptr;  ///< a block
  const StaleStub *stub = nullptr; ///< a stale stub (below RSP only)
  const ChainLink *link = nullptr; ///< a frame's saved RBP slot pair
  uint64_t slot = 0;               ///< slot address when link may be null
  bool is_slot = false;
};

class MapDrawer {
public:
  MapDrawer(const Report &report, const ThreadReport &thread, const RenderOptions &options)
      : thread_(thread), options_(options), ascii_(!options.unicode), g_(glyphs(options.unicode)) {
    (void)report;
  }

  std::string draw();

private:
  const ThreadReport &thread_;
  const RenderOptions &options_;
  bool ascii_;
  const Glyphs &g_;
  std::vector<Line> lines_;
  std::unordered_map<uint64_t, const ChainLink *> link_at_;
  std::unordered_map<uint64_t, size_t> frame_at_pc_;
  std::vector<std::vector<const Region *>> blocks_; ///< per frame position
  std::vector<const Region *> released_, elsewhere_;
  size_t elided_blocks_ = 0;

  // --- geometry -----------------------------------------------------------
  std::optional<uint64_t> top_of(size_t pos) const {
    const Frame &f = thread_.frames[pos];
    if (f.cfa)
      return f.cfa;
    if (f.saved_rbp_slot)
      return *f.saved_rbp_slot + 16;
    return std::nullopt;
  }
  std::optional<uint64_t> bottom_of(size_t pos) const {
    const Frame &f = thread_.frames[pos];
    if (f.rsp)
      return f.rsp;
    if (pos == 0)
      return thread_.registers.rsp;
    return top_of(pos - 1);
  }
  bool elided() const { return thread_.frames.size() > kHeadFrames + kTailFrames + 1; }
  bool displayed(size_t pos) const {
    return !elided() || pos < kHeadFrames || pos >= thread_.frames.size() - kTailFrames;
  }

  // --- drawing primitives -------------------------------------------------
  std::string repeat(std::string_view glyph, size_t n) const {
    std::string s;
    for (size_t i = 0; i < n; ++i)
      s += glyph;
    return s;
  }
  /// "┌─ title ─────── right ─┐", exactly `width` columns.
  std::string edge(size_t width, std::string_view left, std::string_view right,
                   const std::string &title, const std::string &right_title) const {
    const size_t inner = width - 2; // between the corners
    std::string rt = right_title.empty() ? "" : " " + fit(right_title, inner / 3, ascii_) + " ";
    const size_t rw = display_width(rt);
    // Corner, one rule glyph each side, at least one glyph of fill.
    const size_t title_room = inner > rw + 5 ? inner - rw - 5 : 0;
    std::string t = title.empty() ? "" : " " + fit(title, title_room, ascii_) + " ";
    const size_t tw = display_width(t);
    const size_t fill = inner > tw + rw + 2 ? inner - tw - rw - 2 : 0;
    return std::string(left) + std::string(g_.h) + t + repeat(g_.h, fill) + rt + std::string(g_.h) +
           std::string(right);
  }
  std::string body(size_t width, std::string_view side, const std::string &text) const {
    return std::string(side) + " " + pad_right(fit(text, width - 4, ascii_), width - 4) + " " +
           std::string(side);
  }
  void add(std::optional<uint64_t> addr, std::string text, Role role = Role::Other) {
    lines_.push_back({addr, std::move(text), role, {}, false});
  }
  void add_frame_edge(std::optional<uint64_t> addr, std::string text) {
    lines_.push_back({addr, std::move(text), Role::Edge, {}, true});
  }
  std::string clean(const std::string &s) const { return clean_text(s, ascii_); }

  std::string frame_title(size_t pos) const {
    const Frame &f = thread_.frames[pos];
    return "#" + std::to_string(f.index) + " " + clean(function_label(f));
  }
  std::string frame_right(size_t pos) const {
    const Frame &f = thread_.frames[pos];
    std::string s = to_string(f.kind);
    if (f.span)
      s += std::string(g_.sep) + thousands(static_cast<uint64_t>(std::max<int64_t>(*f.span, 0))) +
           " B";
    return s;
  }

  /// The frame a return address in frame `pos` leads to: normally the next
  /// one out (recursion gives many frames the same pc).
  const Frame *frame_returned_to(size_t pos, uint64_t return_address) const {
    if (pos + 1 < thread_.frames.size() && thread_.frames[pos + 1].pc == return_address)
      return &thread_.frames[pos + 1];
    auto it = frame_at_pc_.find(return_address);
    return it == frame_at_pc_.end() ? nullptr : &thread_.frames[it->second];
  }

  void assign_regions();
  void draw_stack_top(size_t outer_pos);
  void draw_frame_contents(size_t pos);
  void draw_block(const Region &r, std::string_view side, size_t width_outer);
  void draw_between(size_t outer_pos, size_t inner_pos);
  void draw_elision(size_t outer_pos, size_t inner_pos);
  void draw_released();
  void attach_marks(std::vector<std::string> &unattached);
  std::string assemble(const std::vector<std::string> &unattached) const;
};

void MapDrawer::assign_regions() {
  const auto &frames = thread_.frames;
  blocks_.assign(frames.size(), {});
  std::unordered_map<uint32_t, size_t> pos_of_index;
  for (size_t i = 0; i < frames.size(); ++i)
    pos_of_index.emplace(frames[i].index, i);
  const std::optional<uint64_t> rsp =
      frames.empty() ? std::optional<uint64_t>(thread_.registers.rsp) : bottom_of(0);
  // At most kHeadFrames + kTailFrames positions: placing a region by address
  // costs the same on a million-frame stack.
  std::vector<size_t> shown;
  for (size_t pos = 0; pos < frames.size(); ++pos) {
    if (!displayed(pos))
      pos = frames.size() - kTailFrames;
    shown.push_back(pos);
  }
  for (const Region &r : thread_.regions) {
    if (r.frame) {
      auto it = pos_of_index.find(*r.frame);
      if (it != pos_of_index.end()) {
        if (displayed(it->second))
          blocks_[it->second].push_back(&r);
        else
          ++elided_blocks_;
        continue;
      }
    }
    if (rsp && r.base < *rsp) {
      released_.push_back(&r);
      continue;
    }
    // No frame recorded: place it by address among the frames drawn.
    bool placed = false;
    for (size_t pos : shown) {
      if (placed)
        break;
      const auto top = top_of(pos), bottom = bottom_of(pos);
      if (top && bottom && r.base >= *bottom && r.base < *top) {
        blocks_[pos].push_back(&r);
        placed = true;
      }
    }
    if (!placed)
      elsewhere_.push_back(&r);
  }
  auto by_address = [](const Region *a, const Region *b) {
    return a->base != b->base ? a->base > b->base : a->id < b->id;
  };
  for (auto &v : blocks_)
    std::stable_sort(v.begin(), v.end(), by_address);
  std::stable_sort(released_.begin(), released_.end(), by_address);
}

void MapDrawer::draw_stack_top(size_t outer_pos) {
  if (!thread_.stack)
    return;
  std::string text = "top of stack";
  const auto top = top_of(outer_pos);
  if (top && thread_.stack->high >= *top)
    text += std::string(g_.sep) + thousands(thread_.stack->high - *top) + " B above frame #" +
            std::to_string(thread_.frames[outer_pos].index);
  add(thread_.stack->high, body(kBoxWidth, g_.gap_v, text), Role::Edge);
}

void MapDrawer::draw_block(const Region &r, std::string_view side, size_t width_outer) {
  const size_t w = width_outer - 4;
  std::string title = clean(r.id) + std::string(g_.sep) + to_string(r.state) + std::string(g_.sep) +
                      to_string(r.evidence);
  std::string right = r.sequence ? "seq " + std::to_string(*r.sequence) : "";
  const uint64_t top = r.base + std::max(r.reserved, r.size);
  add(top, body(width_outer, side, edge(w, g_.tl, g_.tr, title, right)), Role::Edge);
  std::string text = thousands(r.size) + " B";
  if (r.reserved && r.reserved != r.size)
    text += " (reserved " + thousands(r.reserved) + ")";
  if (r.call_site) {
    text += std::string(g_.sep) + "from ";
    const CallSite &c = *r.call_site;
    text += c.function ? clean(*c.function) : hex(c.pc);
    const std::string where = file_line(c.file, c.line);
    if (!where.empty())
      text += " at " + clean(where);
  } else if (r.function) {
    text += std::string(g_.sep) + "in " + clean(*r.function);
  }
  add(std::nullopt, body(width_outer, side, body(w, g_.v, text)));
  add(r.base, body(width_outer, side, edge(w, g_.bl, g_.br, "", "")), Role::Edge);
}

void MapDrawer::draw_frame_contents(size_t pos) {
  const Frame &f = thread_.frames[pos];
  std::vector<Item> items;
  if (f.saved_rbp_slot) {
    Item it;
    it.is_slot = true;
    it.slot = *f.saved_rbp_slot;
    it.top = it.slot + 16;
    it.low = it.slot;
    auto found = link_at_.find(it.slot);
    it.link = found == link_at_.end() ? nullptr : found->second;
    items.push_back(it);
  }
  const auto &blocks = blocks_[pos];
  const size_t shown = std::min(blocks.size(), kMaxBlocks);
  for (size_t i = 0; i < shown; ++i) {
    Item it;
    it.region = blocks[i];
    it.low = blocks[i]->base;
    it.top = it.low + std::max(blocks[i]->reserved, blocks[i]->size);
    items.push_back(it);
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item &a, const Item &b) { return a.top > b.top; });

  std::optional<uint64_t> cursor = top_of(pos);
  enum class After { Top, Slot, Block } after = After::Top;
  auto filler = [&](uint64_t low, bool last) {
    if (!cursor || *cursor <= low)
      return;
    const std::string bytes = thousands(*cursor - low) + " B";
    std::string what;
    switch (after) {
    case After::Slot:
      what = "locals, saved registers" + std::string(g_.sep) + bytes;
      break;
    case After::Block:
      what = bytes + (last ? " below the blocks" : " between blocks");
      break;
    case After::Top:
      what = "frame data" + std::string(g_.sep) + bytes;
      break;
    }
    add(std::nullopt, body(kBoxWidth, g_.v, what));
  };
  for (const Item &it : items) {
    filler(it.top, false);
    if (it.is_slot) {
      std::string ret = "return address  ";
      std::string rbp = "saved rbp       ";
      if (it.link) {
        ret += hex(it.link->return_address);
        if (const Frame *caller = frame_returned_to(pos, it.link->return_address))
          ret += " " + std::string(g_.arrow) + " #" + std::to_string(caller->index) + " " +
                 clean(caller->function.value_or("?"));
        rbp += hex(it.link->saved_rbp);
      }
      add(it.slot + 8, body(kBoxWidth, g_.v, ret), Role::Slot);
      add(it.slot, body(kBoxWidth, g_.v, rbp), Role::Slot);
      after = After::Slot;
    } else {
      draw_block(*it.region, g_.v, kBoxWidth);
      after = After::Block;
    }
    if (!cursor || it.low < *cursor)
      cursor = it.low;
  }
  if (blocks.size() > shown)
    add(std::nullopt, body(kBoxWidth, g_.v,
                           std::string(g_.ellipsis) + " " + thousands(blocks.size() - shown) +
                               " more blocks (fa regions lists them)"));
  else if (const auto bottom = bottom_of(pos))
    filler(*bottom, true);
}

void MapDrawer::draw_between(size_t outer_pos, size_t inner_pos) {
  const auto bottom = bottom_of(outer_pos);
  const auto top = top_of(inner_pos);
  const std::string title = frame_title(inner_pos), right = frame_right(inner_pos);
  if (bottom && top && *bottom == *top) {
    add_frame_edge(top, edge(kBoxWidth, g_.lt, g_.rt, title, right));
    return;
  }
  if (!bottom || !top) {
    add_frame_edge(top, edge(kBoxWidth, g_.lt, g_.rt, title, right));
    return;
  }
  add_frame_edge(bottom, edge(kBoxWidth, g_.bl, g_.br, "", ""));
  if (*bottom > *top)
    add(std::nullopt,
        body(kBoxWidth, g_.gap_v, thousands(*bottom - *top) + " B outside any frame"));
  else
    add(std::nullopt, body(kBoxWidth, g_.gap_v,
                           "frames #" + std::to_string(thread_.frames[outer_pos].index) + " and #" +
                               std::to_string(thread_.frames[inner_pos].index) + " overlap by " +
                               thousands(*top - *bottom) + " B"));
  add_frame_edge(top, edge(kBoxWidth, g_.tl, g_.tr, title, right));
}

void MapDrawer::draw_elision(size_t outer_pos, size_t inner_pos) {
  const auto bottom = bottom_of(outer_pos);
  const auto top = top_of(inner_pos);
  add_frame_edge(bottom, edge(kBoxWidth, g_.bl, g_.br, "", ""));
  const size_t hidden = outer_pos - inner_pos - 1;
  std::string text = std::string(g_.ellipsis) + " " + thousands(hidden) + " frames (#" +
                     std::to_string(thread_.frames[inner_pos + 1].index) +
                     (ascii_ ? "-" : "\u2013") + "#" +
                     std::to_string(thread_.frames[outer_pos - 1].index) + ")";
  if (bottom && top && *bottom > *top)
    text += std::string(g_.sep) + human_bytes(*bottom - *top);
  if (elided_blocks_)
    text += std::string(g_.sep) + thousands(elided_blocks_) +
            (elided_blocks_ == 1 ? " block" : " blocks");
  text += " " + std::string(g_.ellipsis);
  // Centred, so the eye reads it as a break in the drawing.
  const size_t w = display_width(text);
  const size_t left = w < kInner ? (kInner - w) / 2 : 0;
  add(std::nullopt, body(kBoxWidth, g_.gap_v, std::string(left, ' ') + text));
  add_frame_edge(top,
                 edge(kBoxWidth, g_.tl, g_.tr, frame_title(inner_pos), frame_right(inner_pos)));
}

void MapDrawer::draw_released() {
  std::vector<Item> items;
  for (const Region *r : released_) {
    Item it;
    it.region = r;
    it.low = r->base;
    it.top = r->base + std::max(r->reserved, r->size);
    items.push_back(it);
  }
  for (const StaleStub &s : thread_.stale_stubs) {
    Item it;
    it.stub = &s;
    it.low = s.address;
    it.top = s.address + 16;
    items.push_back(it);
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item &a, const Item &b) { return a.top > b.top; });
  if (!items.empty()) {
    add(std::nullopt,
        body(kBoxWidth, g_.gap_v, "released stack below RSP (reused by later calls)"));
    const size_t shown = std::min(items.size(), kMaxReleased);
    for (size_t i = 0; i < shown; ++i) {
      const Item &it = items[i];
      if (it.region) {
        draw_block(*it.region, g_.gap_v, kBoxWidth);
      } else {
        std::string text =
            "stale stub  rbp " + hex(it.stub->saved_rbp) + "  ret " + hex(it.stub->return_address);
        if (it.stub->function)
          text += " " + std::string(g_.arrow) + " " + clean(*it.stub->function);
        add(it.stub->address, body(kBoxWidth, g_.gap_v, text), Role::Slot);
      }
    }
    if (items.size() > shown)
      add(std::nullopt,
          body(kBoxWidth, g_.gap_v,
               std::string(g_.ellipsis) + " " + thousands(items.size() - shown) + " more below"));
  }
  if (thread_.stack) {
    std::string text = "end of stack";
    const uint64_t rsp = thread_.registers.rsp;
    if (rsp >= thread_.stack->low && rsp <= thread_.stack->high)
      text += std::string(g_.sep) + human_bytes(rsp - thread_.stack->low) + " below RSP";
    add(thread_.stack->low, body(kBoxWidth, g_.gap_v, text), Role::Edge);
  }
}

void MapDrawer::attach_marks(std::vector<std::string> &unattached) {
  // RSP belongs on the lowest boundary drawn at its address (the innermost
  // frame's bottom edge); RBP on the saved-RBP slot it points at.
  auto attach = [&](uint64_t value, const std::string &name, Role preferred, bool lowest) {
    auto try_role = [&](bool any_role) -> bool {
      const size_t n = lines_.size();
      for (size_t k = 0; k < n; ++k) {
        Line &l = lines_[lowest ? n - 1 - k : k];
        if (l.addr && *l.addr == value && (any_role || l.role == preferred)) {
          l.marks.push_back(name);
          return true;
        }
      }
      return false;
    };
    if (!try_role(false) && !try_role(true))
      unattached.push_back(name + " " + hex(value));
  };
  attach(thread_.registers.rsp, "RSP", Role::Edge, true);
  attach(thread_.registers.rbp, "RBP", Role::Slot, false);
}

std::string MapDrawer::assemble(const std::vector<std::string> &unattached) const {
  // A boundary shared by two adjacent lines (a block's base and the next
  // block's top) is labelled once: on the frame edge if one of them is.
  std::vector<bool> label(lines_.size());
  for (size_t i = 0; i < lines_.size(); ++i) {
    label[i] = lines_[i].addr.has_value();
    if (i > 0 && label[i] && lines_[i - 1].addr == lines_[i].addr) {
      if (lines_[i].frame_edge && !lines_[i - 1].frame_edge)
        label[i - 1] = false;
      else
        label[i] = false;
    }
  }
  std::string out;
  for (size_t i = 0; i < lines_.size(); ++i) {
    const Line &l = lines_[i];
    std::string line =
        label[i] ? pad_right(hex(*l.addr), kAddrWidth) : std::string(kAddrWidth, ' ');
    line += "  " + l.body;
    if (!l.marks.empty()) {
      line += " " + std::string(g_.mark) + " ";
      for (size_t i = 0; i < l.marks.size(); ++i)
        line += (i ? ", " : "") + l.marks[i];
    }
    trim_right(line);
    out += line + "\n";
  }
  for (const std::string &u : unattached)
    out += std::string(g_.mark) + " " + u + " is not at a drawn boundary or slot\n";
  return out;
}

std::string MapDrawer::draw() {
  const auto &frames = thread_.frames;
  for (const ChainLink &l : thread_.links)
    link_at_.emplace(l.address, &l);
  for (size_t i = 0; i < frames.size(); ++i)
    frame_at_pc_.emplace(frames[i].pc, i);
  assign_regions();

  std::string out = thread_header(thread_, options_) + "\n";
  out += "Stack map, high addresses at the top\n\n";
  if (frames.empty()) {
    add(thread_.registers.rsp, body(kBoxWidth, g_.gap_v, "no frames to draw"), Role::Edge);
  } else {
    const size_t n = frames.size();
    draw_stack_top(n - 1);
    add_frame_edge(top_of(n - 1),
                   edge(kBoxWidth, g_.tl, g_.tr, frame_title(n - 1), frame_right(n - 1)));
    for (size_t pos = n; pos-- > 0;) {
      if (!displayed(pos))
        continue;
      draw_frame_contents(pos);
      if (pos == 0)
        break;
      if (displayed(pos - 1)) {
        draw_between(pos, pos - 1);
      } else {
        draw_elision(pos, kHeadFrames - 1);
      }
    }
    add_frame_edge(bottom_of(0), edge(kBoxWidth, g_.bl, g_.br, "", ""));
  }
  draw_released();
  std::vector<std::string> unattached;
  attach_marks(unattached);
  out += assemble(unattached);
  if (!elsewhere_.empty()) {
    out += "\n";
    std::string text = "Regions outside the drawn frames:";
    for (const Region *r : elsewhere_)
      text += " " + clean(r->id) + " (" + hex(r->base) + ")";
    append_wrapped(out, text, line_width(options_), "  ");
  }
  out += "\n";
  append_wrapped(out, chain_end_line(thread_, options_), line_width(options_), "  ");
  return out;
}

} // namespace

std::string render_map(const Report &report, const ThreadReport &thread,
                       const RenderOptions &options) {
  return render::guarded([&] { return MapDrawer(report, thread, options).draw(); });
}

} // namespace frameaudit
