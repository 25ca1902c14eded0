// render_json_test.cpp: the frameaudit/1 document against docs/formats.md, "JSON document":
// every required key, in the contract's order, with the contract's types;
// nulls for absent values; lowercase hex addresses; valid UTF-8 from hostile
// names; byte-identical output for the same report.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <regex>

#include "../sarif/sample_report.h"
#include "frameaudit/render.h"
#include "render/json_document.h"
#include "render/text_format.h"

namespace frameaudit {
namespace {

using ojson = nlohmann::ordered_json;

std::vector<std::string> keys(const ojson &object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it)
    out.push_back(it.key());
  return out;
}

bool is_hex(const ojson &v) {
  static const std::regex re("0x[0-9a-f]+");
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}
bool is_hex_or_null(const ojson &v) {
  return v.is_null() || is_hex(v);
}
bool is_str_or_null(const ojson &v) {
  return v.is_null() || v.is_string();
}
bool is_uint_or_null(const ojson &v) {
  return v.is_null() || v.is_number_unsigned();
}
bool is_int_or_null(const ojson &v) {
  return v.is_null() || v.is_number_integer();
}
bool one_of(const ojson &v, std::initializer_list<const char *> values) {
  if (!v.is_string())
    return false;
  for (const char *s : values)
    if (v.get<std::string>() == s)
      return true;
  return false;
}

ojson parse(const std::string &text) {
  ojson j = ojson::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

// --- the reference: the document as an nlohmann tree -------------------------
// How render_json built the document before it wrote it directly (the tree
// dumped by nlohmann). The written document must parse to exactly this value:
// same keys in the same order, same values, same types, same nulls.

template <class T> ojson opt_number(const std::optional<T> &value) {
  return value ? ojson(*value) : ojson(nullptr);
}
ojson opt_string(const std::optional<std::string> &value) {
  return value ? render::json_string(*value) : ojson(nullptr);
}
ojson opt_address(const std::optional<uint64_t> &value) {
  return value ? render::json_address(*value) : ojson(nullptr);
}
ojson nonempty_string(const std::string &value) {
  return value.empty() ? ojson(nullptr) : render::json_string(value);
}

ojson reference_frame(const Frame &f) {
  ojson j = ojson::object();
  j["index"] = f.index;
  j["pc"] = render::json_address(f.pc);
  j["cfa"] = opt_address(f.cfa);
  j["rsp"] = opt_address(f.rsp);
  j["rbp"] = opt_address(f.rbp);
  j["function"] = opt_string(f.function);
  j["inlined"] = ojson::array();
  for (const Name &name : f.inlined)
    j["inlined"].push_back(render::json_string(*name));
  j["module"] = opt_string(f.module);
  j["file"] = opt_string(f.file);
  j["line"] = opt_number(f.line);
  j["static_size"] = opt_number(f.static_size);
  j["span"] = opt_number(f.span);
  j["dynamic_bytes"] = opt_number(f.dynamic_bytes);
  j["kind"] = to_string(f.kind);
  j["regions"] = ojson::array();
  for (const std::string &id : f.regions)
    j["regions"].push_back(render::json_string(id));
  j["unwind"] = to_string(f.unwind);
  j["repaired"] = f.repaired;
  return j;
}

ojson reference_region(const Region &r) {
  ojson j = ojson::object();
  j["id"] = render::json_string(r.id);
  j["base"] = render::json_address(r.base);
  j["size"] = r.size;
  j["reserved"] = r.reserved;
  j["frame"] = opt_number(r.frame);
  j["function"] = opt_string(r.function);
  if (r.call_site) {
    ojson c = ojson::object();
    c["pc"] = render::json_address(r.call_site->pc);
    c["function"] = opt_string(r.call_site->function);
    c["file"] = opt_string(r.call_site->file);
    c["line"] = opt_number(r.call_site->line);
    j["call_site"] = std::move(c);
  } else {
    j["call_site"] = nullptr;
  }
  j["state"] = to_string(r.state);
  j["evidence"] = to_string(r.evidence);
  return j;
}

ojson reference_thread(const ThreadReport &t) {
  ojson j = ojson::object();
  j["tid"] = t.tid;
  j["index"] = t.index;
  j["name"] = opt_string(t.name);
  if (t.stack)
    j["stack"] = {{"low", render::json_address(t.stack->low)},
                  {"high", render::json_address(t.stack->high)}};
  else
    j["stack"] = nullptr;
  j["registers"] = {{"rip", render::json_address(t.registers.rip)},
                    {"rsp", render::json_address(t.registers.rsp)},
                    {"rbp", render::json_address(t.registers.rbp)}};
  j["frames"] = ojson::array();
  for (const Frame &f : t.frames)
    j["frames"].push_back(reference_frame(f));
  j["chain_end"] = to_string(t.chain_end);
  j["regions"] = ojson::array();
  for (const Region &r : t.regions)
    j["regions"].push_back(reference_region(r));
  j["stop_reason"] = nonempty_string(t.stop_reason);
  j["selected"] = t.is_selected;
  j["chain_end_detail"] = nonempty_string(t.chain_end_detail);
  return j;
}

ojson reference_finding(const Finding &f) {
  ojson j = ojson::object();
  j["kind"] = render::json_string(f.kind);
  j["severity"] = to_string(f.severity);
  j["thread"] = opt_number(f.thread);
  j["frame"] = opt_number(f.frame);
  j["region"] = opt_string(f.region);
  j["function"] = opt_string(f.function);
  j["address"] = opt_address(f.address);
  j["file"] = opt_string(f.file);
  j["line"] = opt_number(f.line);
  j["message"] = render::json_string(f.message);
  return j;
}

ojson reference_document(const Report &report) {
  ojson j = ojson::object();
  j["schema"] = "frameaudit/1";
  j["tool"] = {{"name", "frameaudit"}, {"version", render::json_string(report.tool_version)}};
  j["target"] = render::target_json(report.target);
  j["threads"] = ojson::array();
  for (const ThreadReport &t : report.threads)
    j["threads"].push_back(reference_thread(t));
  j["findings"] = ojson::array();
  for (const Finding &f : report.findings)
    j["findings"].push_back(reference_finding(f));
  j["modules"] = ojson::array();
  for (const ModuleReport &m : report.modules) {
    ojson mj = ojson::object();
    mj["path"] = render::json_string(m.path);
    mj["build_id"] = m.build_id ? render::json_string(*m.build_id) : ojson(nullptr);
    mj["load_bias"] = render::json_address(m.load_bias);
    mj["matches"] = m.matches ? ojson(*m.matches) : ojson(nullptr);
    mj["symbols"] = m.symbols;
    mj["line_tables"] = m.line_tables;
    j["modules"].push_back(mj);
  }
  j["summary"] = render::summary_json(report.summary);
  return j;
}

/// The written document against the reference, both as a parser sees them:
/// ordered_json compares keys in order; the dumps must match too (equality
/// alone takes 1 and 1.0 for the same value).
void expect_same_document(const ojson &written, const ojson &reference) {
  const ojson reparsed = ojson::parse(reference.dump());
  EXPECT_EQ(written, reparsed);
  EXPECT_EQ(written.dump(), reparsed.dump());
}

/// A report with every string field set to `s`.
Report report_with_strings(const std::string &s) {
  Report r = sample::empty_report();
  r.tool_version = s;
  r.target.executable = s;
  r.target.core = s;
  r.target.arch = s;
  ThreadReport t;
  t.name = s;
  t.stop_reason = s;
  t.chain_end_detail = s;
  Frame f;
  f.function = s;
  f.inlined = {Name(s), Name(s)};
  f.module = s;
  f.file = s;
  f.regions = {s};
  t.frames.push_back(f);
  Region reg;
  reg.id = s;
  reg.function = s;
  reg.call_site = CallSite{1, s, s, 1};
  t.regions.push_back(reg);
  r.threads.push_back(t);
  Finding finding;
  finding.kind = s;
  finding.region = s;
  finding.function = s;
  finding.file = s;
  finding.message = s;
  r.findings.push_back(finding);
  summarize(r);
  return r;
}

/// The lines of a text, without their newlines.
std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (start < text.size())
    out.push_back(text.substr(start));
  return out;
}

/// Checks one document against docs/formats.md, "JSON document", key by key.
void check_document(const ojson &doc) {
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(keys(doc), (std::vector<std::string>{"schema", "tool", "target", "threads", "findings",
                                                 "modules", "summary"}));
  for (const ojson &m : doc["modules"])
    EXPECT_EQ(keys(m), (std::vector<std::string>{"path", "build_id", "load_bias", "matches",
                                                 "symbols", "line_tables"}));
  EXPECT_EQ(doc["schema"], "frameaudit/1");
  EXPECT_EQ(keys(doc["tool"]), (std::vector<std::string>{"name", "version"}));
  EXPECT_EQ(doc["tool"]["name"], "frameaudit");
  EXPECT_TRUE(doc["tool"]["version"].is_string());

  const ojson &target = doc["target"];
  EXPECT_EQ(keys(target), (std::vector<std::string>{"executable", "core", "pid", "arch"}));
  EXPECT_TRUE(is_str_or_null(target["executable"]));
  EXPECT_TRUE(is_str_or_null(target["core"]));
  EXPECT_TRUE(is_int_or_null(target["pid"]));
  EXPECT_EQ(target["arch"], "x86_64");

  ASSERT_TRUE(doc["threads"].is_array());
  for (const ojson &t : doc["threads"]) {
    // Contract keys first, in order; then the documented extensions.
    EXPECT_EQ(keys(t), (std::vector<std::string>{"tid", "index", "name", "stack", "registers",
                                                 "frames", "chain_end", "regions", "stop_reason",
                                                 "selected", "chain_end_detail"}));
    EXPECT_TRUE(t["tid"].is_number_unsigned());
    EXPECT_TRUE(t["index"].is_number_unsigned());
    EXPECT_TRUE(is_str_or_null(t["name"]));
    if (!t["stack"].is_null()) {
      EXPECT_EQ(keys(t["stack"]), (std::vector<std::string>{"low", "high"}));
      EXPECT_TRUE(is_hex(t["stack"]["low"]));
      EXPECT_TRUE(is_hex(t["stack"]["high"]));
    }
    EXPECT_EQ(keys(t["registers"]), (std::vector<std::string>{"rip", "rsp", "rbp"}));
    for (const char *r : {"rip", "rsp", "rbp"})
      EXPECT_TRUE(is_hex(t["registers"][r])) << r;
    EXPECT_TRUE(one_of(t["chain_end"],
                       {"outermost", "null_rbp", "misaligned", "out_of_stack", "not_monotonic",
                        "cycle", "bad_return_address", "unreadable", "max_depth"}));
    EXPECT_TRUE(is_str_or_null(t["stop_reason"]));
    EXPECT_TRUE(t["selected"].is_boolean());
    EXPECT_TRUE(is_str_or_null(t["chain_end_detail"]));

    ASSERT_TRUE(t["frames"].is_array());
    for (const ojson &f : t["frames"]) {
      EXPECT_EQ(keys(f), (std::vector<std::string>{"index", "pc", "cfa", "rsp", "rbp", "function",
                                                   "inlined", "module", "file", "line",
                                                   "static_size", "span", "dynamic_bytes", "kind",
                                                   "regions", "unwind", "repaired"}));
      EXPECT_TRUE(f["index"].is_number_unsigned());
      EXPECT_TRUE(is_hex(f["pc"]));
      EXPECT_TRUE(is_hex_or_null(f["cfa"]));
      EXPECT_TRUE(is_hex_or_null(f["rsp"]));
      EXPECT_TRUE(is_hex_or_null(f["rbp"]));
      EXPECT_TRUE(is_str_or_null(f["function"]));
      ASSERT_TRUE(f["inlined"].is_array());
      for (const ojson &name : f["inlined"])
        EXPECT_TRUE(name.is_string());
      EXPECT_TRUE(is_str_or_null(f["module"]));
      EXPECT_TRUE(is_str_or_null(f["file"]));
      EXPECT_TRUE(is_uint_or_null(f["line"]));
      EXPECT_TRUE(is_int_or_null(f["static_size"]));
      EXPECT_TRUE(is_int_or_null(f["span"]));
      EXPECT_TRUE(is_int_or_null(f["dynamic_bytes"]));
      EXPECT_TRUE(one_of(f["kind"], {"normal", "dynamic", "relocated", "allocator", "unknown"}));
      ASSERT_TRUE(f["regions"].is_array());
      for (const ojson &id : f["regions"])
        EXPECT_TRUE(id.is_string());
    }
    ASSERT_TRUE(t["regions"].is_array());
    for (const ojson &r : t["regions"]) {
      EXPECT_EQ(keys(r), (std::vector<std::string>{"id", "base", "size", "reserved", "frame",
                                                   "function", "call_site", "state", "evidence"}));
      EXPECT_TRUE(r["id"].is_string());
      EXPECT_TRUE(is_hex(r["base"]));
      EXPECT_TRUE(r["size"].is_number_unsigned());
      EXPECT_TRUE(r["reserved"].is_number_unsigned());
      EXPECT_TRUE(is_uint_or_null(r["frame"]));
      EXPECT_TRUE(is_str_or_null(r["function"]));
      if (!r["call_site"].is_null()) {
        const ojson &c = r["call_site"];
        EXPECT_EQ(keys(c), (std::vector<std::string>{"pc", "function", "file", "line"}));
        EXPECT_TRUE(is_hex(c["pc"]));
        EXPECT_TRUE(is_str_or_null(c["function"]));
        EXPECT_TRUE(is_str_or_null(c["file"]));
        EXPECT_TRUE(is_uint_or_null(c["line"]));
      }
      EXPECT_TRUE(one_of(r["state"], {"live", "dead", "corrupt"}));
      EXPECT_TRUE(one_of(r["evidence"], {"header", "stub", "span"}));
    }
  }

  ASSERT_TRUE(doc["findings"].is_array());
  for (const ojson &f : doc["findings"]) {
    EXPECT_EQ(keys(f),
              (std::vector<std::string>{"kind", "severity", "thread", "frame", "region", "function",
                                        "address", "file", "line", "message"}));
    EXPECT_TRUE(f["kind"].is_string());
    EXPECT_TRUE(one_of(f["severity"], {"error", "warning", "note"}));
    EXPECT_TRUE(is_uint_or_null(f["thread"]));
    EXPECT_TRUE(is_uint_or_null(f["frame"]));
    EXPECT_TRUE(is_str_or_null(f["region"]));
    EXPECT_TRUE(is_str_or_null(f["function"]));
    EXPECT_TRUE(is_hex_or_null(f["address"]));
    EXPECT_TRUE(is_str_or_null(f["file"]));
    EXPECT_TRUE(is_uint_or_null(f["line"]));
    EXPECT_TRUE(f["message"].is_string());
  }

  EXPECT_EQ(keys(doc["summary"]), (std::vector<std::string>{"threads", "frames", "regions",
                                                            "errors", "warnings", "notes"}));
  for (auto it = doc["summary"].begin(); it != doc["summary"].end(); ++it)
    EXPECT_TRUE(it->is_number_unsigned()) << it.key();
}

TEST(RenderJson, FullReportFollowsTheContract) {
  const std::string text = render_json(sample::full_report());
  check_document(parse(text));
}

TEST(RenderJson, EmptyReportFollowsTheContract) {
  const Report report = sample::empty_report();
  const ojson doc = parse(render_json(report));
  check_document(doc);
  EXPECT_TRUE(doc["target"]["executable"].is_null());
  EXPECT_TRUE(doc["target"]["core"].is_null());
  EXPECT_TRUE(doc["target"]["pid"].is_null());
  EXPECT_TRUE(doc["threads"].empty());
  EXPECT_TRUE(doc["findings"].empty());
  EXPECT_EQ(doc["summary"]["threads"], 0u);
}

TEST(RenderJson, ValuesMatchTheReport) {
  const Report report = sample::full_report();
  const ojson doc = parse(render_json(report));
  EXPECT_EQ(doc["tool"]["version"], "0.1.0");
  EXPECT_EQ(doc["target"]["executable"], "/src/build/tests/fixtures/fixture");
  EXPECT_EQ(doc["target"]["pid"], 4242);

  const ojson &t = doc["threads"][0];
  EXPECT_EQ(t["tid"], 4242u);
  EXPECT_EQ(t["index"], 1u);
  EXPECT_EQ(t["name"], "main");
  EXPECT_EQ(t["stack"]["low"], "0x7ffc9b1d4000");
  EXPECT_EQ(t["stack"]["high"], "0x7ffc9b1f5000");
  EXPECT_EQ(t["registers"]["rsp"], "0x7ffc9b1f4e40");
  EXPECT_EQ(t["chain_end"], "outermost");
  EXPECT_EQ(t["selected"], true);
  EXPECT_EQ(t["stop_reason"], "signal SIGSEGV: address not mapped to object (fault address: 0x0)");

  const ojson &f1 = t["frames"][1];
  EXPECT_EQ(f1["pc"], "0x401236");
  EXPECT_EQ(f1["function"], "level2");
  EXPECT_EQ(f1["inlined"], ojson::array({"helper"}));
  EXPECT_EQ(f1["kind"], "relocated");
  EXPECT_EQ(f1["static_size"], 48);
  EXPECT_EQ(f1["span"], 160);
  EXPECT_EQ(f1["dynamic_bytes"], 112);
  EXPECT_EQ(f1["regions"], ojson::array({"t1.r0", "t1.r1"}));
  EXPECT_EQ(f1["line"], 22u);

  const ojson &f3 = t["frames"][3];
  EXPECT_TRUE(f3["cfa"].is_null());
  EXPECT_TRUE(f3["rbp"].is_null());
  EXPECT_TRUE(f3["file"].is_null());
  EXPECT_TRUE(f3["line"].is_null());
  EXPECT_TRUE(f3["static_size"].is_null());
  EXPECT_TRUE(f3["inlined"].is_array() && f3["inlined"].empty());
  EXPECT_EQ(f3["kind"], "unknown");

  const ojson &r2 = t["regions"][2];
  EXPECT_EQ(r2["id"], "t1.r2");
  EXPECT_EQ(r2["base"], "0x7ffc9b1f4dc0");
  EXPECT_EQ(r2["size"], 32u);
  EXPECT_EQ(r2["reserved"], 48u);
  EXPECT_TRUE(r2["frame"].is_null());
  EXPECT_EQ(r2["state"], "dead");
  EXPECT_EQ(r2["evidence"], "stub");
  EXPECT_EQ(r2["call_site"]["pc"], "0x401300");
  EXPECT_TRUE(r2["call_site"]["function"].is_null());

  const ojson &t2 = doc["threads"][1];
  EXPECT_TRUE(t2["name"].is_null());
  EXPECT_TRUE(t2["stack"].is_null());
  EXPECT_TRUE(t2["stop_reason"].is_null());
  EXPECT_EQ(t2["chain_end"], "misaligned");

  ASSERT_EQ(doc["findings"].size(), report.findings.size());
  const ojson &overflow = doc["findings"][3];
  EXPECT_EQ(overflow["kind"], "region-overflow");
  EXPECT_EQ(overflow["severity"], "error");
  EXPECT_EQ(overflow["region"], "t1.r1");
  EXPECT_EQ(overflow["address"], "0x7ffc9b1f4e60");
  const ojson &exhaustion = doc["findings"][8];
  EXPECT_TRUE(exhaustion["thread"].is_null());
  EXPECT_TRUE(exhaustion["address"].is_null());

  EXPECT_EQ(doc["summary"]["threads"], 2u);
  EXPECT_EQ(doc["summary"]["frames"], 5u);
  EXPECT_EQ(doc["summary"]["regions"], 3u);
  EXPECT_EQ(doc["summary"]["errors"], 4u);
  EXPECT_EQ(doc["summary"]["warnings"], 8u);
  EXPECT_EQ(doc["summary"]["notes"], 1u);
}

TEST(RenderJson, AddressesAreLowercaseHexWithoutPadding) {
  Report report = sample::empty_report();
  ThreadReport t;
  t.registers.rip = 0xABCDEF;
  t.registers.rsp = 0;
  t.registers.rbp = UINT64_MAX;
  report.threads.push_back(t);
  const ojson doc = parse(render_json(report));
  EXPECT_EQ(doc["threads"][0]["registers"]["rip"], "0xabcdef");
  EXPECT_EQ(doc["threads"][0]["registers"]["rsp"], "0x0");
  EXPECT_EQ(doc["threads"][0]["registers"]["rbp"], "0xffffffffffffffff");
}

TEST(RenderJson, PrettyPrintedWithTwoSpacesAndTrailingNewline) {
  const std::string text = render_json(sample::full_report());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.rfind("}\n"), text.size() - 2);
  EXPECT_EQ(text.substr(0, 29), "{\n  \"schema\": \"frameaudit/1\",");
  EXPECT_NE(text.find("\n    \"name\": \"frameaudit\""), std::string::npos);
  EXPECT_EQ(text.find('\t'), std::string::npos);
}

TEST(RenderJson, HostileNamesBecomeValidUtf8) {
  const std::string text = render_json(sample::full_report());
  // Parsing without exceptions and finding U+FFFD proves the repair.
  const ojson doc = parse(text);
  const std::string name = doc["threads"][1]["frames"][0]["function"].get<std::string>();
  EXPECT_EQ(name.substr(0, 9), "bad\xef\xbf\xbd\xef\xbf\xbd");
  // Escape characters stay in the data (JSON escapes them), never raw.
  EXPECT_NE(name.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("\\u001b[31m"), std::string::npos);
  // Valid UTF-8 passes through untouched.
  EXPECT_EQ(doc["threads"][1]["frames"][0]["inlined"][0], "gr\xc3\xb6\xc3\x9f"
                                                          "e_\xe5\x90\x8d\xe5\x89\x8d");
}

TEST(RenderJson, EveryInvalidSequenceIsRepaired) {
  const char *bad[] = {
      "\xc0\xaf",         // overlong '/'
      "\xe0\x80\xaf",     // overlong, 3 bytes
      "\xed\xa0\x80",     // UTF-16 surrogate
      "\xf4\x90\x80\x80", // above U+10FFFF
      "\xe5\x90",         // truncated
      "\x80",             // stray continuation
      "\xff",
  };
  for (const char *s : bad) {
    Report report = sample::empty_report();
    report.target.executable = std::string("x") + s + "y";
    const ojson doc = parse(render_json(report));
    const std::string exe = doc["target"]["executable"].get<std::string>();
    EXPECT_EQ(exe.front(), 'x');
    EXPECT_EQ(exe.back(), 'y');
    EXPECT_NE(exe.find("\xef\xbf\xbd"), std::string::npos) << s;
  }
}

TEST(RenderJson, Deterministic) {
  EXPECT_EQ(render_json(sample::full_report()), render_json(sample::full_report()));
  EXPECT_EQ(render_json_array({sample::full_report()}), render_json_array({sample::full_report()}));
}

TEST(RenderJson, ArrayHoldsOneDocumentPerReportInOrder) {
  Report a = sample::full_report();
  Report b = sample::empty_report();
  b.target.core = "/tmp/second.core";
  const ojson doc = parse(render_json_array({a, b}));
  ASSERT_TRUE(doc.is_array());
  ASSERT_EQ(doc.size(), 2u);
  check_document(doc[0]);
  check_document(doc[1]);
  EXPECT_EQ(doc[0]["target"]["core"], "/tmp/cores/core.fixture.4242");
  EXPECT_EQ(doc[1]["target"]["core"], "/tmp/second.core");
  // Each element is exactly the single document.
  EXPECT_EQ(doc[1], parse(render_json(b)));
  EXPECT_EQ(render_json_array({}), "[]\n");
}

TEST(RenderJson, RenderedSummaryIsTheReportsSummary) {
  // Renderers print what analysis computed; they do not recount.
  Report report = sample::full_report();
  report.summary.errors = 77;
  EXPECT_EQ(parse(render_json(report))["summary"]["errors"], 77u);
}

TEST(RenderJson, ExtensionsAreNullWhenEmpty) {
  Report report = sample::empty_report();
  report.threads.push_back(ThreadReport{});
  const ojson t = parse(render_json(report))["threads"][0];
  EXPECT_TRUE(t["stop_reason"].is_null());
  EXPECT_TRUE(t["chain_end_detail"].is_null());
  EXPECT_EQ(t["selected"], false);
  EXPECT_EQ(t["frames"], ojson::array());
  EXPECT_EQ(t["regions"], ojson::array());
}

TEST(RenderJson, ParsesToTheTreeDocument) {
  for (const Report &r : {sample::full_report(), sample::empty_report(), sample::deep_report(3)})
    expect_same_document(parse(render_json(r)), reference_document(r));
  ojson array = ojson::array();
  array.push_back(reference_document(sample::full_report()));
  array.push_back(reference_document(sample::empty_report()));
  expect_same_document(parse(render_json_array({sample::full_report(), sample::empty_report()})),
                       array);
}

TEST(RenderJson, FramesRegionsAndFindingsAreOneLineEach) {
  const Report report = sample::full_report();
  const std::string text = render_json(report);
  // The frames of thread 1, as docs/formats.md shows them.
  EXPECT_NE(text.find("\n      \"frames\": [\n"
                      "        {\"index\": 0, \"pc\": \"0x401196\", \"cfa\": \"0x7ffc9b1f4e60\", "
                      "\"rsp\": \"0x7ffc9b1f4e40\", \"rbp\": \"0x7ffc9b1f4e50\", \"function\": "
                      "\"level3\", \"inlined\": [], \"module\": \"fixture\", \"file\": "
                      "\"/src/tests/fixtures/fixture.c\", \"line\": 30, \"static_size\": 32, "
                      "\"span\": 32, \"dynamic_bytes\": 0, \"kind\": \"normal\", \"regions\": [], "
                      "\"unwind\": \"context\", \"repaired\": false},\n"
                      "        {\"index\": 1, "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"inlined\": [\"helper\"]"), std::string::npos);
  EXPECT_NE(text.find("\"kind\": \"relocated\", \"regions\": [\"t1.r0\", \"t1.r1\"], \"unwind\": "),
            std::string::npos);
  EXPECT_NE(text.find("\n        {\"id\": \"t1.r2\", \"base\": \"0x7ffc9b1f4dc0\", \"size\": 32, "
                      "\"reserved\": 48, \"frame\": null, \"function\": \"level4\", "
                      "\"call_site\": {\"pc\": \"0x401300\", \"function\": null, \"file\": null, "
                      "\"line\": null}, \"state\": \"dead\", \"evidence\": \"stub\"}\n"
                      "      ],\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n    {\"kind\": \"stack-exhaustion-risk\", \"severity\": \"warning\", "
                      "\"thread\": null, \"frame\": null, \"region\": null, \"function\": null, "
                      "\"address\": null, \"file\": null, \"line\": null, \"message\": "),
            std::string::npos)
      << text;

  // Every element line parses on its own to the element.
  const ojson doc = parse(text);
  size_t frames = 0, regions = 0, findings = 0, modules = 0;
  for (std::string line : lines(text)) {
    if (!line.empty() && line.back() == ',')
      line.pop_back();
    const size_t brace = line.find('{');
    if (brace == std::string::npos || line.back() != '}')
      continue;
    const ojson element = parse(line.substr(brace));
    if (line.rfind("        {\"index\": ", 0) == 0) {
      const ojson &t = doc["threads"][frames < 4 ? 0 : 1];
      EXPECT_EQ(element, t["frames"][frames < 4 ? frames : frames - 4]);
      ++frames;
    } else if (line.rfind("        {\"id\": ", 0) == 0) {
      EXPECT_EQ(element, doc["threads"][0]["regions"][regions]);
      ++regions;
    } else if (line.rfind("    {\"kind\": ", 0) == 0) {
      EXPECT_EQ(element, doc["findings"][findings]);
      ++findings;
    } else if (line.rfind("    {\"path\": ", 0) == 0) {
      EXPECT_EQ(element, doc["modules"][modules]);
      ++modules;
    } else {
      ADD_FAILURE() << "an object on one line that is not an element: " << line;
    }
  }
  EXPECT_EQ(frames, report.summary.frames);
  EXPECT_EQ(regions, report.summary.regions);
  EXPECT_EQ(findings, report.findings.size());
}

TEST(RenderJson, ArrayElementsAreTheDocumentsIndented) {
  // What a front-end joining documents from several processes relies on.
  const Report a = sample::full_report(), b = sample::empty_report();
  auto indented = [](const std::string &doc) {
    std::string out = "  ";
    for (size_t i = 0; i + 1 < doc.size(); ++i) // without the trailing newline
      out += doc[i] == '\n' ? std::string("\n  ") : std::string(1, doc[i]);
    return out;
  };
  EXPECT_EQ(render_json_array({a, b}),
            "[\n" + indented(render_json(a)) + ",\n" + indented(render_json(b)) + "\n]\n");
  EXPECT_EQ(render_json_array({b}), "[\n" + indented(render_json(b)) + "\n]\n");
}

TEST(RenderJson, StringsAreEscapedAsNlohmannEscapesThem) {
  // Every ASCII byte, DEL, C1 controls and non-ASCII text written as UTF-8.
  std::string all;
  for (int c = 1; c < 0x80; ++c)
    all += static_cast<char>(c);
  all += "\xc2\x85\xc2\x9f \xe2\x80\xae \xf0\x9f\x98\x80 \\u0000 /";
  for (const std::string &s : {all, std::string("\"\\\""), std::string(1, '\0'),
                               std::string("a\0b", 3), std::string("\x1f\x7f")}) {
    const Report report = report_with_strings(s);
    const std::string text = render_json(report);
    const ojson doc = parse(text);
    expect_same_document(doc, reference_document(report));
    EXPECT_EQ(doc["target"]["executable"].get<std::string>(), s);
    // The exact bytes nlohmann wrote for the string (lowercase \u00xx, short
    // escapes, '/' and DEL raw).
    const std::string want = ojson(s).dump();
    EXPECT_NE(text.find("\"executable\": " + want + ",\n"), std::string::npos) << want;
    EXPECT_NE(text.find("{\"index\": 0, \"pc\": \"0x0\", \"cfa\": null, \"rsp\": null, \"rbp\": "
                        "null, \"function\": " +
                        want + ", \"inlined\": [" + want + ", " + want + "]"),
              std::string::npos)
        << text;
  }
  const std::string text = render_json(report_with_strings("\b\f\n\r\t\x01\x1b"));
  EXPECT_NE(text.find("\"\\b\\f\\n\\r\\t\\u0001\\u001b\""), std::string::npos) << text;
}

TEST(RenderJson, EscapingDoesNotDependOnWhereTheByteIs) {
  // Plain ASCII is skipped a word at a time: a byte to escape or repair must
  // be found at every offset and word boundary.
  const std::string specials[] = {"\x01", "\x1f",     "\"",       "\\",  "\x7f",
                                  "\x80", "\xc3\xb6", "\xe5\x90", "\xff"};
  for (const std::string &special : specials) {
    for (size_t at = 0; at < 20; ++at) {
      std::string s(20, 'a');
      s.insert(at, special);
      Finding f;
      f.message = s;
      Report report = sample::empty_report();
      report.findings.push_back(f);
      const std::string text = render_json(report);
      const std::string want = ojson(render::valid_utf8(s)).dump();
      EXPECT_NE(text.find(", \"message\": " + want + "}\n"), std::string::npos)
          << want << " at " << at;
    }
  }
}

TEST(RenderJson, InvalidUtf8IsRepairedByteForByteAsValidUtf8Does) {
  const std::string cases[] = {
      "x\xc0\xafy",     "x\xe0\x80\xafy",
      "x\xed\xa0\x80y", "x\xf4\x90\x80\x80y",
      "x\xe5\x90",      "\x80",
      "\xff\xfe",       "bad\xff\n\"q\"\x1b[0m",
      "\xc3\xb6\xc3",   "ok \xc3\xb6 \xff",
      "\xf0\x9f\x98",   "\"\\\xe2\x80",
  };
  for (const std::string &s : cases) {
    const Report report = report_with_strings(s);
    const std::string text = render_json(report);
    const ojson doc = parse(text);
    expect_same_document(doc, reference_document(report));
    const std::string repaired = render::valid_utf8(s);
    EXPECT_EQ(doc["target"]["executable"].get<std::string>(), repaired);
    EXPECT_EQ(doc["threads"][0]["frames"][0]["inlined"][1].get<std::string>(), repaired);
    EXPECT_EQ(doc["findings"][0]["message"].get<std::string>(), repaired);
    const std::string want = ojson(repaired).dump();
    EXPECT_NE(text.find("\"executable\": " + want + ",\n"), std::string::npos) << want;
    EXPECT_NE(text.find(", \"message\": " + want + "}"), std::string::npos) << want;
  }
}

TEST(RenderJson, AbsentValuesAreNull) {
  Report report = sample::empty_report();
  ThreadReport t;
  t.frames.push_back(Frame{});
  Region r;
  r.id = "t0.r0";
  t.regions.push_back(r);
  report.threads.push_back(t);
  report.findings.push_back(Finding{});
  summarize(report);
  const std::string text = render_json(report);
  expect_same_document(parse(text), reference_document(report));
  EXPECT_NE(text.find("\"target\": {\n    \"executable\": null,\n    \"core\": null,\n"
                      "    \"pid\": null,\n    \"arch\": \"x86_64\"\n  },"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n      \"name\": null,\n      \"stack\": null,\n"), std::string::npos);
  EXPECT_NE(text.find("\n        {\"index\": 0, \"pc\": \"0x0\", \"cfa\": null, \"rsp\": null, "
                      "\"rbp\": null, \"function\": null, \"inlined\": [], \"module\": null, "
                      "\"file\": null, \"line\": null, \"static_size\": null, \"span\": null, "
                      "\"dynamic_bytes\": null, \"kind\": \"unknown\", \"regions\": [], "
                      "\"unwind\": \"context\", \"repaired\": false}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n        {\"id\": \"t0.r0\", \"base\": \"0x0\", \"size\": 0, "
                      "\"reserved\": 0, \"frame\": null, \"function\": null, \"call_site\": null, "
                      "\"state\": \"live\", \"evidence\": \"span\"}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n    {\"kind\": \"\", \"severity\": \"warning\", \"thread\": null, "
                      "\"frame\": null, \"region\": null, \"function\": null, \"address\": null, "
                      "\"file\": null, \"line\": null, \"message\": \"\"}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n      \"stop_reason\": null,\n      \"selected\": false,\n"
                      "      \"chain_end_detail\": null\n"),
            std::string::npos)
      << text;
}

TEST(RenderJson, HugeValues) {
  constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();
  constexpr uint32_t kMax32 = std::numeric_limits<uint32_t>::max();
  constexpr int64_t kMinI = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMaxI = std::numeric_limits<int64_t>::max();
  Report report = sample::empty_report();
  report.target.pid = kMinI;
  ThreadReport t;
  t.tid = kMax64;
  t.index = kMax32;
  t.stack = StackRange{0, kMax64};
  t.registers.rip = kMax64;
  t.registers.rsp = 0x8000000000000000;
  t.registers.rbp = 1;
  Frame f;
  f.index = kMax32;
  f.pc = kMax64;
  f.cfa = kMax64;
  f.rsp = 0;
  f.rbp = 0x0123456789abcdef;
  f.line = kMax32;
  f.static_size = kMinI;
  f.span = kMaxI;
  f.dynamic_bytes = -1;
  t.frames.push_back(f);
  Region r;
  r.base = kMax64;
  r.size = kMax64;
  r.reserved = kMax64;
  r.frame = kMax32;
  r.call_site = CallSite{kMax64, std::nullopt, std::nullopt, kMax32};
  t.regions.push_back(r);
  report.threads.push_back(t);
  Finding finding;
  finding.thread = kMax32;
  finding.frame = 0;
  finding.address = kMax64;
  finding.line = kMax32;
  report.findings.push_back(finding);
  summarize(report);
  report.summary.frames = kMax64;
  const std::string text = render_json(report);
  const ojson doc = parse(text);
  expect_same_document(doc, reference_document(report));
  check_document(doc);
  EXPECT_NE(text.find("\"pid\": -9223372036854775808,"), std::string::npos);
  EXPECT_NE(text.find("\"tid\": 18446744073709551615,"), std::string::npos);
  EXPECT_NE(text.find("{\"index\": 4294967295, \"pc\": \"0xffffffffffffffff\", \"cfa\": "
                      "\"0xffffffffffffffff\", \"rsp\": \"0x0\", \"rbp\": \"0x123456789abcdef\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"line\": 4294967295, \"static_size\": -9223372036854775808, \"span\": "
                      "9223372036854775807, \"dynamic_bytes\": -1,"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"rsp\": \"0x8000000000000000\""), std::string::npos);
  EXPECT_NE(text.find("\"size\": 18446744073709551615, \"reserved\": 18446744073709551615"),
            std::string::npos);
  EXPECT_EQ(doc["summary"]["frames"].get<uint64_t>(), kMax64);
  EXPECT_EQ(doc["threads"][0]["frames"][0]["static_size"].get<int64_t>(), kMinI);
}

TEST(RenderJson, DeterministicForDeepAndHostileReports) {
  const Report deep = sample::deep_report(5000);
  EXPECT_EQ(render_json(deep), render_json(Report(deep)));
  const Report hostile = report_with_strings("bad\xff\xfe\x1b\"\\");
  EXPECT_EQ(render_json(hostile), render_json(hostile));
  EXPECT_EQ(render_json_array({deep, hostile}), render_json_array({deep, hostile}));
}

TEST(RenderJson, DeepStack) {
  const Report report = sample::deep_report(20000);
  const ojson doc = parse(render_json(report));
  EXPECT_EQ(doc["threads"][0]["frames"].size(), 20000u);
  EXPECT_EQ(doc["threads"][0]["frames"][19999]["function"], "main");
}

} // namespace
} // namespace frameaudit
