// render_text_test.cpp: the text renderers (`fa audit`, `fa chain`,
// `fa regions`, lint): structure, ordering, line width, the ASCII fallback,
// neutralised control characters, determinism; plus the string helpers they
// share (UTF-8 repair, widths, truncation, number formats).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
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

bool pure_ascii(const std::string &text) {
  for (unsigned char c : text)
    if (c >= 0x80)
      return false;
  return true;
}

/// No line wider than the renderers' limit, no raw control characters.
void check_lines(const std::string &text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (const std::string &line : lines_of(text)) {
    EXPECT_LE(render::display_width(line), 120u) << line;
    for (unsigned char c : line)
      EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "control byte " << int(c) << " in: " << line;
    EXPECT_TRUE(line.empty() || line.back() != ' ') << "trailing space: [" << line << "]";
  }
}

RenderOptions ascii() {
  RenderOptions o;
  o.unicode = false;
  return o;
}

TEST(RenderText, AuditReportStructure) {
  const std::string text = render_text(sample::full_report());
  check_lines(text);
  const auto lines = lines_of(text);
  EXPECT_EQ(lines[0], "frameaudit 0.1.0  x86_64  pid 4242");
  EXPECT_EQ(lines[1], "  executable /src/build/tests/fixtures/fixture");
  EXPECT_EQ(lines[2], "  core       /tmp/cores/core.fixture.4242");
  const size_t t1 = index_of(lines, "Thread #1  tid 4242  \"main\"  [selected]  stack "
                                    "0x7ffc9b1d4000\u20130x7ffc9b1f5000 (132.0 KiB)");
  ASSERT_NE(t1, std::string::npos);
  EXPECT_EQ(lines[t1 + 1],
            "  stop: signal SIGSEGV: address not mapped to object (fault address: 0x0)");
  EXPECT_EQ(lines[t1 + 2], "  rip 0x401196  rsp 0x7ffc9b1f4e40  rbp 0x7ffc9b1f4e50");
  // Frames table: header, then one row per frame, the note under its frame.
  const size_t header = index_of(lines, "  #  pc", t1);
  ASSERT_NE(header, std::string::npos);
  for (const char *column : {"function", "location", "kind", "span", "static", "dynamic"})
    EXPECT_NE(lines[header].find(column), std::string::npos) << column;
  EXPECT_EQ(lines[header + 1].substr(0, 15), "  0  0x401196  ");
  EXPECT_NE(lines[header + 2].find(
                "level2 [inlined helper]  fixture.c:22  relocated   160      48      112"),
            std::string::npos)
      << lines[header + 2];
  EXPECT_NE(lines[header + 3].find("\u21b3 RSP lowered by 112 bytes"), std::string::npos);
  EXPECT_NE(lines[header + 5].find("__libc_start_call_main"), std::string::npos);
  EXPECT_NE(lines[header + 5].find("unknown       -       -        -"), std::string::npos);
  EXPECT_EQ(lines[header + 6], "  Chain end: outermost \u2014 the saved RBP of frame #2 (main) is "
                               "0: the outermost frame");
  // Regions table.
  const size_t regions = index_of(lines, "  Regions (3)", t1);
  ASSERT_NE(regions, std::string::npos);
  EXPECT_NE(lines[regions + 1].find("id     base            size  reserved  state    evidence  "
                                    "frame  function  call site     seq"),
            std::string::npos)
      << lines[regions + 1];
  EXPECT_EQ(lines[regions + 2], "  t1.r0  0x7ffc9b1f4ea0    16        48  live     header       "
                                "#1  level2    fixture.c:20    1");
  EXPECT_NE(lines[regions + 4].find("dead     stub          -  level4    0x401300        -"),
            std::string::npos);
  // Second thread: nameless, no stack, no regions.
  const size_t t2 = index_of(lines, "Thread #2  tid 4243", regions);
  ASSERT_NE(t2, std::string::npos);
  EXPECT_EQ(lines[t2], "Thread #2  tid 4243");
  EXPECT_NE(index_of(lines, "  Regions (0)", t2), std::string::npos);
  // Verdict last.
  EXPECT_EQ(
      lines.back(),
      "Verdict: FAIL, incomplete  4 errors, 8 warnings, 1 note in 2 threads, 5 frames, 3 regions");
}

TEST(RenderText, FindingsGroupedBySeverityInReportOrder) {
  const auto lines = lines_of(render_text(sample::full_report()));
  const size_t head = index_of(lines, "Findings: 4 errors, 8 warnings, 1 note");
  ASSERT_NE(head, std::string::npos);
  const size_t errors = index_of(lines, "  Errors", head);
  const size_t warnings = index_of(lines, "  Warnings", head);
  const size_t notes = index_of(lines, "  Notes", head);
  ASSERT_LT(errors, warnings);
  ASSERT_LT(warnings, notes);
  EXPECT_EQ(lines[errors + 1], "    \u2717 broken-chain  thread #2  frame #0  0x7f3a2b7fe013");
  EXPECT_EQ(lines[errors + 2].substr(0, 6), "      ");
  EXPECT_LT(index_of(lines, "region-overflow", errors),
            index_of(lines, "dangling-pointer", errors));
  EXPECT_LT(index_of(lines, "dangling-pointer", errors), index_of(lines, "unsafe-caller", errors));
  EXPECT_EQ(lines[index_of(lines, "unsafe-caller", errors)],
            "    \u2717 unsafe-caller  in bad_caller  unsafe.c:12  0x401410");
  EXPECT_GT(index_of(lines, "unwinder-mismatch", errors), warnings);
  EXPECT_EQ(lines[notes + 1], "    \u2022 relocated-frame  thread #1  frame #1 level2  "
                              "0x7ffc9b1f4e60  region t1.r0");
}

TEST(RenderText, Verdicts) {
  Report ok = sample::empty_report();
  EXPECT_NE(render_text(ok).find("Findings: none\n\nVerdict: OK  0 errors, 0 warnings, 0 notes "
                                 "in 0 threads, 0 frames, 0 regions\n"),
            std::string::npos);
  Report warn = sample::empty_report();
  warn.findings = {sample::all_findings()[1]};
  summarize(warn);
  EXPECT_NE(render_text(warn).find("Verdict: WARN  0 errors, 1 warning,"), std::string::npos);
}

size_t count_of(const std::string &text, char c) {
  size_t n = 0;
  for (char ch : text)
    n += ch == c;
  return n;
}

TEST(RenderText, LongMessagesAndNamesWrapNothingIsCut) {
  Report report = sample::full_report();
  report.findings[0].message = std::string(400, 'w') + " " + std::string(30, 'x') + " end";
  report.threads[0].frames[0].function = std::string(300, 'f');
  report.threads[0].frames[0].file = "/very/" + std::string(200, 'd') + "/file.c";
  report.threads[0].stop_reason = std::string(500, 's');
  const std::string text = render_text(report);
  check_lines(text); // every line within 120 columns
  EXPECT_EQ(text.find("\u2026"), std::string::npos) << "no ellipsis: nothing is cut";
  EXPECT_GE(count_of(text, 'f'), 300u);
  EXPECT_GE(count_of(text, 's'), 500u);
  EXPECT_NE(text.find("  stop: " + std::string(112, 's') + "\n        sss"), std::string::npos);
  EXPECT_NE(text.find(" end\n"), std::string::npos); // nothing of the message is lost
  EXPECT_GE(count_of(text, 'w'), 400u);
}

TEST(RenderText, WidthFitsTablesByWrappingCells) {
  Report report = sample::full_report();
  const std::string name = "network::http::ConnectionManager<std::basic_string<char>>::"
                           "dispatch_pending_requests";
  report.threads[0].frames[0].function = name;
  report.findings[0].function = name;
  report.findings[0].frame = 0;
  report.findings[0].file = "src/network/http/connection_manager_implementation.cpp";
  report.findings[0].line = 1234;
  for (size_t width : {size_t{80}, size_t{100}, size_t{120}}) {
    RenderOptions options;
    options.width = width;
    const std::string text = render_text(report, options);
    for (const std::string &line : lines_of(text)) {
      // The regions table has no column left to wrap below 91 columns
      // (ids, addresses, sizes): it is the one thing wider at 80.
      const bool regions_row = line.rfind("  id ", 0) == 0 || line.rfind("  t1.r", 0) == 0;
      if (width >= 100 || !regions_row) {
        EXPECT_LE(render::display_width(line), width) << line;
      }
    }
    EXPECT_EQ(text.find("\u2026"), std::string::npos);
    // The finding's header keeps its file:line, on a continuation line if need be.
    EXPECT_NE(text.find("connection_manager_implementation.cpp:1234"), std::string::npos);
  }
  // The frames table wraps the name after "::" at 80 columns.
  RenderOptions narrow;
  narrow.width = 80;
  const std::string text = render_text(report, narrow);
  EXPECT_NE(text.find("network::http::"), std::string::npos);
  // --width 0: the whole name on one line, in the table and in the finding.
  RenderOptions unlimited;
  unlimited.width = 0;
  const std::string full = render_text(report, unlimited);
  size_t lines_with_name = 0;
  for (const std::string &line : lines_of(full))
    lines_with_name += line.find(name) != std::string::npos;
  EXPECT_GE(lines_with_name, 2u) << full;
}

TEST(RenderText, AsciiFallbackIsPureAscii) {
  for (const std::string &text :
       {render_text(sample::full_report(), ascii()), render_chain(sample::full_report(), ascii()),
        render_regions(sample::full_report(), ascii())}) {
    EXPECT_TRUE(pure_ascii(text)) << text;
    check_lines(text);
  }
  const std::string text = render_text(sample::full_report(), ascii());
  EXPECT_NE(text.find("stack 0x7ffc9b1d4000-0x7ffc9b1f5000"), std::string::npos);
  EXPECT_NE(text.find("    x broken-chain"), std::string::npos);
  // Non-ASCII names degrade to '?', they do not vanish.
  EXPECT_NE(text.find("bad?? name ?[31mred?[0m"), std::string::npos);
}

TEST(RenderText, ControlAndBidiCharactersAreNeutralised) {
  const std::string text = render_text(sample::full_report());
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos); // U+202E right-to-left override
  EXPECT_NE(text.find("bad\xef\xbf\xbd\xef\xbf\xbd name \xef\xbf\xbd[31mred"), std::string::npos);
}

TEST(RenderText, ColourOnlyWhenAsked) {
  RenderOptions colour;
  colour.color = true;
  EXPECT_EQ(render_text(sample::full_report()).find('\x1b'), std::string::npos);
  const std::string text = render_text(sample::full_report(), colour);
  EXPECT_NE(text.find("\x1b[31mFAIL\x1b[0m"), std::string::npos);
  EXPECT_NE(text.find("\x1b[33mWarnings\x1b[0m"), std::string::npos);
}

TEST(RenderText, Deterministic) {
  EXPECT_EQ(render_text(sample::full_report()), render_text(sample::full_report()));
  EXPECT_EQ(render_chain(sample::full_report()), render_chain(sample::full_report()));
}

TEST(RenderText, EmptyThreadAndReport) {
  Report report = sample::empty_report();
  EXPECT_NE(render_text(report).find("No threads audited."), std::string::npos);
  report.threads.push_back(ThreadReport{});
  const std::string text = render_text(report);
  check_lines(text);
  EXPECT_NE(text.find("  no frames\n"), std::string::npos);
  EXPECT_NE(text.find("Thread #0  tid 0\n"), std::string::npos);
}

TEST(RenderChain, LinksWithTheirChecks) {
  const std::string text = render_chain(sample::full_report());
  check_lines(text);
  const auto lines = lines_of(text);
  const size_t head = index_of(lines, "  link  slot");
  ASSERT_NE(head, std::string::npos);
  EXPECT_EQ(lines[head + 1], "     0  0x7ffc9b1f4e50  0x7ffc9b1f4ef0  0x401236        "
                             "#1 level2 [inlined helper]  0x401180");
  EXPECT_EQ(lines[head + 2], "        \u2713 aligned  \u2713 in_stack  \u2713 monotonic  "
                             "\u2713 return_in_code  \u2713 no_cycle");
  EXPECT_EQ(lines[head + 3], "        \u2713 call_before_return: call 0x401180 <level3>");
  EXPECT_NE(index_of(lines, "#3 __libc_start_call_main"), std::string::npos);
  EXPECT_NE(index_of(lines, "  Chain end: outermost"), std::string::npos);
  // The failed check of thread 2, with its detail and the stop reason.
  const size_t t2 = index_of(lines, "Thread #2");
  ASSERT_NE(t2, std::string::npos);
  EXPECT_NE(index_of(lines, "        \u2717 aligned: 0x7f3a2b7fe013 is not a multiple of 8", t2),
            std::string::npos);
  EXPECT_EQ(lines.back(),
            "  Chain end: misaligned \u2014 RBP 0x7f3a2b7fe013 is not 8-byte aligned");

  const std::string plain = render_chain(sample::full_report(), ascii());
  EXPECT_NE(plain.find("        OK aligned  OK in_stack"), std::string::npos);
  EXPECT_NE(plain.find("        FAIL aligned: 0x7f3a2b7fe013"), std::string::npos);
  EXPECT_NE(plain.find("  Chain end: misaligned - RBP"), std::string::npos);
}

TEST(RenderChain, NoLinks) {
  Report report = sample::empty_report();
  report.threads.push_back(ThreadReport{});
  report.threads[0].chain_end = ChainEnd::NullRbp;
  const std::string text = render_chain(report);
  EXPECT_NE(text.find("  no links\n  Chain end: null_rbp\n"), std::string::npos);
}

TEST(RenderRegions, OnlyRegionTables) {
  const std::string text = render_regions(sample::full_report());
  check_lines(text);
  const auto lines = lines_of(text);
  EXPECT_EQ(lines.size(), 2u + 4u + 1u + 1u + 1u); // header+table, blank, header+none
  EXPECT_EQ(lines[0].substr(0, 29), "Thread #1  tid 4242  \"main\"  ");
  EXPECT_EQ(lines[1].substr(0, 15), "  stop: signal ");
  EXPECT_EQ(lines[3].substr(0, 9), "  t1.r0  ");
  EXPECT_EQ(lines[8], "  no allocated regions");
  EXPECT_EQ(text.find("Findings"), std::string::npos);
  EXPECT_EQ(text.find("level3"), std::string::npos);
}

TEST(RenderLint, PerModuleCallSitesThenSummary) {
  const std::string text = render_lint_text(sample::lint_results());
  check_lines(text);
  EXPECT_TRUE(pure_ascii(text));
  const auto lines = lines_of(text);
  EXPECT_EQ(lines[0], "Module /src/build/tests/fixtures/unsafe  (12.1 KiB of code, 3 calls to "
                      "sra_alloc)");
  EXPECT_EQ(lines[1], "  call site  function                          location     verdict");
  // Address order, whatever the input order.
  EXPECT_EQ(lines[2], "  0x401210   good_caller                       unsafe.c:5   safe");
  EXPECT_EQ(lines[3], "  0x401410   bad_caller                        unsafe.c:12  UNSAFE");
  EXPECT_EQ(lines[4].substr(0, 41), "      -> return path at 0x401452 restores");
  EXPECT_EQ(lines[5].substr(0, 9), "         ");
  EXPECT_EQ(lines[6], "  0x401600   ? (stripped, starts at 0x4015f0)  -            safe");
  EXPECT_EQ(lines[8], "Module /usr/lib/libempty.so  (800 B of code, 0 calls to sra_alloc)");
  EXPECT_EQ(lines[9], "  no calls to sra_alloc");
  EXPECT_EQ(lines.back(), "Lint: FAIL  2 modules, 3 call sites, 1 unsafe (in 1 module)");
  EXPECT_EQ(render_lint_text({}), "Lint: OK  0 modules, 0 call sites, 0 unsafe\n");
}

// --- string helpers -------------------------------------------------------

TEST(RenderFormat, Numbers) {
  using namespace render;
  EXPECT_EQ(hex(0), "0x0");
  EXPECT_EQ(hex(0x7FFD5A1C2E40), "0x7ffd5a1c2e40");
  EXPECT_EQ(thousands(0), "0");
  EXPECT_EQ(thousands(999), "999");
  EXPECT_EQ(thousands(9980), "9,980");
  EXPECT_EQ(thousands(1234567), "1,234,567");
  EXPECT_EQ(human_bytes(48), "48 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(8 * 1024 * 1024), "8.0 MiB");
  EXPECT_EQ(human_bytes(135168), "132.0 KiB");
  EXPECT_EQ(human_bytes(UINT64_MAX), "16.0 EiB");
  EXPECT_EQ(opt_int(std::nullopt), "-");
  EXPECT_EQ(opt_int(-16), "-16");
}

TEST(RenderFormat, Utf8RepairAndTerminalSafety) {
  using namespace render;
  EXPECT_EQ(valid_utf8("plain"), "plain");
  EXPECT_EQ(valid_utf8("gr\xc3\xb6\xc3\x9f"), "gr\xc3\xb6\xc3\x9f");
  EXPECT_EQ(valid_utf8("a\xffz"), "a\xef\xbf\xbdz");
  EXPECT_EQ(valid_utf8("\xe5\x90"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3)); // JSON escapes it
  EXPECT_EQ(clean_text("a\tb\nc\x1b", false), "a\xef\xbf\xbd"
                                              "b\xef\xbf\xbd"
                                              "c\xef\xbf\xbd");
  EXPECT_EQ(clean_text("x\xe2\x80\xaey", false), "x\xef\xbf\xbdy");
  EXPECT_EQ(clean_text("\xc2\x9b", false), "\xef\xbf\xbd"); // C1 CSI
  EXPECT_EQ(clean_text("gr\xc3\xb6\xc3\x9f\xff", true), "gr???");
}

TEST(RenderFormat, WidthAndFit) {
  using namespace render;
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("\xe5\x90\x8d\xe5\x89\x8d"), 4u); // two CJK characters
  EXPECT_EQ(display_width("e\xcc\x81"), 1u);                // e + combining acute
  EXPECT_EQ(fit("abcdef", 6, false), "abcdef");
  EXPECT_EQ(fit("abcdefg", 6, false), "abcde\u2026");
  EXPECT_EQ(fit("abcdefg", 6, true), "abc...");
  EXPECT_EQ(fit("/a/b/c/file.c", 8, false, true), "\u2026/file.c");
  EXPECT_EQ(fit("\xe5\x90\x8d\xe5\x89\x8d\xe5\x90\x8d", 4, false), "\xe5\x90\x8d\u2026");
  EXPECT_EQ(display_width(fit(std::string(50, 'x'), 10, false)), 10u);
  EXPECT_EQ(pad_left("7", 3), "  7");
  EXPECT_EQ(pad_right("\xe5\x90\x8d", 3), "\xe5\x90\x8d ");
  EXPECT_EQ(basename("/a/b/c.c"), "c.c");
  EXPECT_EQ(basename("c.c"), "c.c");
  EXPECT_EQ(file_line(std::string("/a/b.c"), 3u), "b.c:3");
  EXPECT_EQ(file_line(std::string("/a/b.c"), std::nullopt, true), "/a/b.c");
  EXPECT_EQ(file_line(std::nullopt, 3u), "");
}

// The fast paths (plain ASCII, the one-pass clean_width/append_clean, the
// ASCII prefix of display_width) against the slow paths, over hostile and
// random strings.

std::vector<std::string> hostile_strings() {
  std::vector<std::string> out = {
      "",
      "recurse",
      "deep_recursion.c:40",
      "0x5555555551d4",
      "operator<<(std::ostream&, std::vector<int, std::allocator<int> > const&)",
      std::string("a\0b", 3),
      "tab\there",
      "~\x7f",
      " leading and trailing ",
      "gr\xc3\xb6\xc3\x9f",
      "\xe5\x90\x8d\xe5\x89\x8d",
      "e\xcc\x81",
      "x\xe2\x80\xaey\xe2\x81\xa6z",
      "\xc2\x9b[31m",
      "\xef\xbf\xbd already replaced",
      "\xff\xfe\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80",
      "truncated \xe5\x90",
      "\xf0\x9f\x98\x80 emoji and \xf0\x9f\xa4\x94",
      "zero\xe2\x80\x8bwidth\xef\xbb\xbf",
      "exactly8",
      "sixteen bytes!!!",
      "seventeen bytes!!",
      std::string(64, 'x') + "\x01",
      "\x01" + std::string(64, 'x'),
  };
  std::mt19937 rng(1234);
  const char alphabet[] = {' ',    '~',    'a',    'Z',    '\x1f', '\x7f', '\x80', '\x9f', '\xc2',
                           '\xc3', '\xb6', '\xe2', '\x80', '\xae', '\xe5', '\x90', '\x8d', '\xf0',
                           '\x9f', '\x98', '\xff', '\0',   '\t',   '\xcc', '\x81'};
  for (int n = 0; n < 4000; ++n) {
    std::string s;
    const size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i)
      s += (rng() % 3 == 0) ? alphabet[rng() % sizeof alphabet]
                            : static_cast<char>(0x20 + rng() % 0x5F);
    out.push_back(std::move(s));
  }
  for (int n = 0; n < 2000; ++n) {
    std::string s;
    const size_t len = rng() % 24;
    for (size_t i = 0; i < len; ++i)
      s += static_cast<char>(rng() & 0xFF);
    out.push_back(std::move(s));
  }
  return out;
}

TEST(RenderFormat, FastPathsAgreeWithTheSlowPaths) {
  const std::string ascii_prefix = "exactly sixteen!plus";
  for (const std::string &s : hostile_strings()) {
    bool plain = true;
    for (unsigned char c : s)
      plain = plain && c >= 0x20 && c <= 0x7E;
    EXPECT_EQ(render::plain_ascii(s), plain) << s;
    // The slow path from the first non-ASCII byte on, after an ASCII prefix
    // of one column a byte.
    const std::string marked = "\xc3\xa9" + s;
    EXPECT_EQ(render::display_width(ascii_prefix + marked),
              ascii_prefix.size() + render::display_width(marked))
        << s;
    for (bool ascii : {false, true}) {
      const std::string cleaned = render::clean_text(s, ascii);
      if (plain) {
        EXPECT_EQ(cleaned, s);
      }
      EXPECT_EQ(render::clean_width(s, ascii), render::display_width(cleaned)) << s;
      std::string appended = "prefix ";
      EXPECT_EQ(render::append_clean(appended, s, ascii), render::display_width(cleaned)) << s;
      EXPECT_EQ(appended, "prefix " + cleaned) << s;
    }
  }
  std::mt19937_64 rng(99);
  for (int n = 0; n < 10000; ++n) {
    const uint64_t v = n < 64 ? (uint64_t{1} << n) - (n & 1) : rng() >> (rng() % 64);
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    EXPECT_EQ(render::hex(v), buf);
  }
  EXPECT_EQ(render::hex(UINT64_MAX), "0xffffffffffffffff");
}

} // namespace
} // namespace frameaudit
