// render_json_test.cpp: the frameaudit/1 document against CONTRACT section 7:
// every required key, in the contract's order, with the contract's types;
// nulls for absent values; lowercase hex addresses; valid UTF-8 from hostile
// names; byte-identical output for the same report.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "../sarif/sample_report.h"
#include "frameaudit/render.h"
#include "render/json_document.h"

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

/// Checks one document against CONTRACT section 7, key by key.
void check_document(const ojson &doc) {
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(keys(doc), (std::vector<std::string>{"schema", "tool", "target", "threads", "findings",
                                                 "summary"}));
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
      EXPECT_EQ(keys(f),
                (std::vector<std::string>{"index", "pc", "cfa", "rsp", "rbp", "function", "inlined",
                                          "module", "file", "line", "static_size", "span",
                                          "dynamic_bytes", "kind", "regions"}));
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
  EXPECT_EQ(doc["summary"]["warnings"], 4u);
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

TEST(RenderJson, StreamedDocumentIsTheTreeDocument) {
  // render_json streams the skeleton (bounded memory for deep stacks); it
  // must print exactly what nlohmann prints for the whole tree.
  for (const Report &r : {sample::full_report(), sample::empty_report(), sample::deep_report(3)}) {
    EXPECT_EQ(render_json(r), render::dump_json(render::report_json(r)));
  }
  render::Json array = render::Json::array();
  array.push_back(render::report_json(sample::full_report()));
  array.push_back(render::report_json(sample::empty_report()));
  EXPECT_EQ(render_json_array({sample::full_report(), sample::empty_report()}),
            render::dump_json(array));
}

TEST(RenderJson, DeepStack) {
  const Report report = sample::deep_report(20000);
  const ojson doc = parse(render_json(report));
  EXPECT_EQ(doc["threads"][0]["frames"].size(), 20000u);
  EXPECT_EQ(doc["threads"][0]["frames"][19999]["function"], "main");
}

} // namespace
} // namespace frameaudit
