// render_map_test.cpp: the drawn stack map (`fa map`): frame boxes in
// address order with their slots and blocks, released stack below RSP, the
// RSP/RBP marks on the right lines, elision of deep stacks, box alignment,
// the ASCII fallback, and robustness to frames with missing facts.
#include <gtest/gtest.h>

#include <sstream>

#include "../sarif/sample_report.h"
#include "frameaudit/render.h"
#include "render/text_format.h"

namespace frameaudit {
namespace {

std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

size_t index_of(const std::vector<std::string> &lines, const std::string &needle, size_t from = 0) {
  for (size_t i = from; i < lines.size(); ++i)
    if (lines[i].find(needle) != std::string::npos)
      return i;
  return std::string::npos;
}

bool starts_with(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

RenderOptions ascii() {
  RenderOptions o;
  o.unicode = false;
  return o;
}

/// The drawing part: lines after the title up to the blank line before the
/// chain end.
std::vector<std::string> drawing(const std::string &map) {
  auto lines = lines_of(map);
  std::vector<std::string> out;
  bool in = false;
  for (const std::string &l : lines) {
    if (l.empty()) {
      if (in)
        break;
      in = true;
      continue;
    }
    if (in)
      out.push_back(l);
  }
  return out;
}

/// Every drawn line has its box's right edge in the same column: 18 columns
/// of address, 2 spaces, 64 columns of box.
void check_alignment(const std::vector<std::string> &lines) {
  for (const std::string &l : lines) {
    if (l.rfind("\u25c4", 0) == 0 || l.rfind("<-", 0) == 0)
      continue; // footer about an unattached mark
    std::string box = l;
    const size_t mark = std::min(l.find(" \u25c4 "), l.find(" <- "));
    if (mark != std::string::npos)
      box = l.substr(0, mark);
    EXPECT_EQ(render::display_width(box), 84u) << "[" << l << "]";
  }
}

TEST(RenderMap, FramesSlotsBlocksAndMarks) {
  const Report report = sample::full_report();
  const std::string map = render_map(report, report.threads[0]);
  const auto all = lines_of(map);
  EXPECT_EQ(all[0].substr(0, 27), "Thread #1  tid 4242  \"main\"");
  EXPECT_EQ(all[1].substr(0, 15), "  stop: signal ");
  EXPECT_EQ(all[2], "Stack map, high addresses at the top");
  const auto d = drawing(map);
  check_alignment(d);

  EXPECT_TRUE(starts_with(d[0], "0x7ffc9b1f5000      \u254e top of stack "));
  // Outermost frame at the top, frame #0 at the bottom, in address order.
  const size_t f3 = index_of(d, "\u250c\u2500 #3 __libc_start_call_main");
  const size_t f2 = index_of(d, "\u251c\u2500 #2 main");
  const size_t f1 = index_of(d, "\u251c\u2500 #1 level2 [inlined helper]");
  const size_t f0 = index_of(d, "\u251c\u2500 #0 level3");
  ASSERT_LT(f3, f2);
  ASSERT_LT(f2, f1);
  ASSERT_LT(f1, f0);
  EXPECT_EQ(d[f2].substr(0, 14), "0x7ffc9b1f4f40");
  EXPECT_NE(d[f1].find("relocated \u00b7 160 B \u2500\u2524"), std::string::npos);
  // Frame #2's slots, the return address resolved to the frame it returns to.
  EXPECT_EQ(d[f2 + 1], "0x7ffc9b1f4f38      \u2502 return address  0x7f3a2c029d90 \u2192 #3 "
                       "__libc_start_call_main   \u2502");
  EXPECT_TRUE(starts_with(d[f2 + 2], "0x7ffc9b1f4f30      \u2502 saved rbp       0x0   "));
  EXPECT_NE(d[f2 + 3].find("locals, saved registers \u00b7 48 B"), std::string::npos);
  // Frame #1's blocks, nested boxes inside its box, high to low.
  const size_t b0 = index_of(d, "\u250c\u2500 t1.r0 \u00b7 live \u00b7 header", f1);
  const size_t b1 = index_of(d, "\u250c\u2500 t1.r1 \u00b7 corrupt \u00b7 header", f1);
  ASSERT_LT(b0, b1);
  ASSERT_LT(b1, f0);
  EXPECT_TRUE(starts_with(d[b0], "0x7ffc9b1f4ed0      \u2502 \u250c"));
  EXPECT_NE(d[b0].find("seq 1 \u2500\u2510 \u2502"), std::string::npos);
  EXPECT_NE(d[b0 + 1].find("\u2502 \u2502 16 B (reserved 48) \u00b7 from level2 at fixture.c:20"),
            std::string::npos);
  EXPECT_TRUE(starts_with(d[b0 + 2], "0x7ffc9b1f4ea0      \u2502 \u2514"));
  // The shared boundary 0x...4ea0 is labelled once; 0x...4e60 on the frame edge.
  EXPECT_EQ(d[b1].substr(0, 20), std::string(20, ' '));
  EXPECT_EQ(d[f0 - 1].substr(0, 20), std::string(20, ' '));
  EXPECT_EQ(d[f0].substr(0, 14), "0x7ffc9b1f4e60");
  // RBP on frame #0's saved-RBP slot, RSP on its bottom edge.
  const size_t rbp = index_of(d, "\u25c4 RBP");
  EXPECT_EQ(d[rbp].substr(0, 14), "0x7ffc9b1f4e50");
  EXPECT_NE(d[rbp].find("saved rbp       0x7ffc9b1f4ef0"), std::string::npos);
  const size_t rsp = index_of(d, "\u25c4 RSP");
  EXPECT_TRUE(starts_with(d[rsp], "0x7ffc9b1f4e40      \u2514"));
  EXPECT_EQ(index_of(d, "\u25c4", rsp + 1), std::string::npos); // each mark once
  // Below RSP: released stack, the stale stub and the dead block, then the end.
  EXPECT_NE(d[rsp + 1].find("released stack below RSP"), std::string::npos);
  EXPECT_EQ(d[rsp + 2], "0x7ffc9b1f4e30      \u254e stale stub  rbp 0x7ffc9b1f4ef0  ret "
                        "0x401230 \u2192 level2        \u254e");
  EXPECT_NE(d[rsp + 3].find("t1.r2 \u00b7 dead \u00b7 stub"), std::string::npos);
  EXPECT_NE(d[rsp + 4].find("32 B (reserved 48) \u00b7 from 0x401300"), std::string::npos);
  EXPECT_TRUE(
      starts_with(d.back(), "0x7ffc9b1d4000      \u254e end of stack \u00b7 131.6 KiB below RSP "));
  EXPECT_EQ(all.back(), "  Chain end: outermost \u2014 the saved RBP of frame #2 (main) is 0: "
                        "the outermost frame");
}

TEST(RenderMap, AsciiFallback) {
  const Report report = sample::full_report();
  for (const ThreadReport &t : report.threads) {
    const std::string map = render_map(report, t, ascii());
    for (unsigned char c : map)
      ASSERT_LT(c, 0x80) << map;
    check_alignment(drawing(map));
  }
  const auto d = drawing(render_map(report, report.threads[0], ascii()));
  EXPECT_NE(index_of(d, "+- #1 level2 [inlined helper] "), std::string::npos);
  EXPECT_NE(index_of(d, "relocated, 160 B -+"), std::string::npos);
  EXPECT_NE(index_of(d, "| | 16 B (reserved 48), from level2 at fixture.c:20"), std::string::npos);
  EXPECT_NE(index_of(d, "+" + std::string(62, '-') + "+ <- RSP"), std::string::npos);
  EXPECT_NE(index_of(d, "| <- RBP"), std::string::npos);
  EXPECT_NE(index_of(d, ": released stack below RSP"), std::string::npos);
}

TEST(RenderMap, DeepStackIsElided) {
  const Report report = sample::deep_report(10000);
  const std::string map = render_map(report, report.threads[0]);
  const auto d = drawing(map);
  check_alignment(d);
  EXPECT_LT(lines_of(map).size(), 90u);
  const size_t gap = index_of(d, "\u2026 9,984 frames (#12\u2013#9995) \u00b7 624.0 KiB \u2026");
  ASSERT_NE(gap, std::string::npos);
  // The 4 outermost frames above the gap, the 12 innermost below it.
  EXPECT_NE(index_of(d, "#9999 main"), std::string::npos);
  EXPECT_LT(index_of(d, "#9996 recurse"), gap);
  EXPECT_EQ(index_of(d, "\u2500 #9995 recurse"), std::string::npos);
  EXPECT_EQ(index_of(d, "\u2500 #12 recurse"), std::string::npos);
  EXPECT_GT(index_of(d, "#11 recurse"), gap);
  EXPECT_GT(index_of(d, "#0 recurse"), gap);
  // Each side of the gap is closed and reopened at the right addresses.
  EXPECT_TRUE(starts_with(d[gap - 1], "0x7ffcffffff00      \u2514"));
  EXPECT_TRUE(starts_with(d[gap + 1], "0x7ffcfff63f00      \u250c"));
  // Recursion: a return address resolves to the next frame out, not the first match.
  EXPECT_NE(index_of(d, "return address  0x401040 \u2192 #9999 main"), std::string::npos);
  EXPECT_NE(index_of(d, "return address  0x401040 \u2192 #10 recurse"), std::string::npos);

  // A million frames draw the same bounded picture.
  const Report huge = sample::deep_report(200000);
  EXPECT_EQ(lines_of(render_map(huge, huge.threads[0])).size(), lines_of(map).size());
}

TEST(RenderMap, SmallStacksAreNotElided) {
  const Report report = sample::deep_report(17);
  const auto d = drawing(render_map(report, report.threads[0]));
  EXPECT_EQ(index_of(d, "frames (#"), std::string::npos);
  for (int i = 0; i < 17; ++i)
    EXPECT_NE(index_of(d, "#" + std::to_string(i) + " "), std::string::npos) << i;
  const Report more = sample::deep_report(18);
  EXPECT_NE(index_of(drawing(render_map(more, more.threads[0])), "\u2026 2 frames (#12\u2013#13)"),
            std::string::npos);
}

TEST(RenderMap, GapsAndOverlapsBetweenFrames) {
  Report report = sample::full_report();
  ThreadReport &t = report.threads[0];
  t.frames[1].cfa = *t.frames[1].cfa - 0x10; // frame #2's RSP is 16 bytes above #1's CFA
  t.frames[0].cfa = *t.frames[0].cfa + 0x20; // frame #0's CFA runs 32 bytes into #1
  const auto d = drawing(render_map(report, t));
  check_alignment(d);
  const size_t gap = index_of(d, "\u254e 16 B outside any frame");
  ASSERT_NE(gap, std::string::npos);
  EXPECT_TRUE(starts_with(d[gap - 1], "0x7ffc9b1f4f00      \u2514"));
  EXPECT_TRUE(starts_with(d[gap + 1], "0x7ffc9b1f4ef0      \u250c"));
  EXPECT_NE(index_of(d, "frames #1 and #0 overlap by 32 B"), std::string::npos);

  // Space between two blocks, and below the last one, is said so.
  Report spaced = sample::full_report();
  spaced.threads[0].regions[0].base += 0x10;
  spaced.threads[0].regions[1].base += 0x10;
  spaced.threads[0].regions[1].reserved = 48;
  const auto e = drawing(render_map(spaced, spaced.threads[0]));
  EXPECT_NE(index_of(e, "\u2502 16 B between blocks "), std::string::npos);
  EXPECT_NE(index_of(e, "\u2502 16 B below the blocks "), std::string::npos);
}

TEST(RenderMap, MissingFactsDoNotBreakTheDrawing) {
  Report report = sample::full_report();
  ThreadReport &t = report.threads[0];
  for (Frame &f : t.frames) {
    f.cfa.reset();
    f.rsp.reset();
    f.saved_rbp_slot.reset();
  }
  t.stack.reset();
  t.links.clear();
  t.stale_stubs.clear();
  t.regions[0].frame = 42; // a frame that does not exist
  const std::string map = render_map(report, t);
  const auto d = drawing(map);
  check_alignment(d);
  EXPECT_NE(index_of(d, "#0 level3"), std::string::npos);
  EXPECT_NE(index_of(d, "\u25c4 RSP"), std::string::npos); // frame #0's bottom falls back to RSP
  // RBP is nowhere on the drawing: said below it.
  EXPECT_NE(map.find("\u25c4 RBP 0x7ffc9b1f4e50 is not at a drawn boundary or slot"),
            std::string::npos);
  EXPECT_NE(map.find("\n\n  Regions outside the drawn frames: t1.r0 (0x7ffc9b1f4ea0)\n"),
            std::string::npos);
}

TEST(RenderMap, NoFramesHostileNamesAndManyBlocks) {
  Report report = sample::full_report();
  ThreadReport empty;
  empty.registers.rsp = 0x1000;
  const std::string none = render_map(report, empty);
  EXPECT_NE(none.find("0x1000              \u254e no frames to draw"), std::string::npos);
  EXPECT_NE(none.find("\u25c4 RSP"), std::string::npos);

  const std::string odd = render_map(report, report.threads[1]);
  EXPECT_EQ(odd.find('\x1b'), std::string::npos);
  check_alignment(drawing(odd));

  ThreadReport &t = report.threads[0];
  for (int i = 0; i < 20; ++i) {
    Region r = t.regions[0];
    r.id = "t1.x" + std::to_string(i);
    t.regions.push_back(r);
  }
  const auto d = drawing(render_map(report, t));
  check_alignment(d);
  EXPECT_NE(index_of(d, "\u2026 16 more blocks (fa regions lists them)"), std::string::npos);
}

TEST(RenderMap, RegionsWithoutFrameArePlacedByAddress) {
  Report report = sample::full_report();
  ThreadReport &t = report.threads[0];
  t.regions[0].frame.reset(); // inside frame #1's range: drawn there
  const auto d = drawing(render_map(report, t));
  const size_t f1 = index_of(d, "#1 level2");
  const size_t f0 = index_of(d, "#0 level3");
  const size_t r0 = index_of(d, "t1.r0 \u00b7 live");
  EXPECT_LT(f1, r0);
  EXPECT_LT(r0, f0);

  // Deep stack: a frameless region in an elided frame is counted, not drawn.
  Report deep = sample::deep_report(100);
  Region r;
  r.id = "t1.r0";
  r.base = *deep.threads[0].frames[50].rsp;
  r.size = 16;
  r.reserved = 32;
  deep.threads[0].regions.push_back(r);
  const std::string map = render_map(deep, deep.threads[0]);
  EXPECT_NE(map.find("Regions outside the drawn frames: t1.r0"), std::string::npos);
  r.frame = 50;
  deep.threads[0].regions = {r};
  EXPECT_NE(render_map(deep, deep.threads[0])
                .find("frames (#12\u2013#95) \u00b7 5.3 KiB \u00b7 1 block \u2026"),
            std::string::npos);
}

TEST(RenderMap, Deterministic) {
  const Report report = sample::full_report();
  EXPECT_EQ(render_map(report, report.threads[0]), render_map(report, report.threads[0]));
}

} // namespace
} // namespace frameaudit
