// render_sarif_test.cpp: the SARIF mapping (docs/formats.md): one run per
// report, one rule per finding kind, results pointing at valid rules with
// the right levels, located where the finding has a file (and anchored at
// the binary otherwise), addresses in properties. Microsoft's validator runs
// on the same sample in tests/sarif (CTest label `sarif`).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "../sarif/sample_report.h"
#include "frameaudit/render.h"

namespace frameaudit {
namespace {

using json = nlohmann::json;

json parse(const std::string &text) {
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded());
  return j;
}

json sample_log() {
  return parse(render_sarif({sample::full_report(), sample::empty_report()}));
}

TEST(RenderSarif, TopLevel) {
  const std::string text = render_sarif({sample::full_report()});
  EXPECT_EQ(text.back(), '\n');
  const json log = parse(text);
  EXPECT_EQ(log["version"], "2.1.0");
  EXPECT_EQ(log["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  ASSERT_EQ(log["runs"].size(), 1u);
  EXPECT_EQ(parse(render_sarif({}))["runs"], json::array());
}

TEST(RenderSarif, OneRunPerReport) {
  const json log = sample_log();
  ASSERT_EQ(log["runs"].size(), 2u);
  EXPECT_EQ(log["runs"][0]["results"].size(), sample::all_findings().size());
  EXPECT_EQ(log["runs"][1]["results"], json::array());
}

TEST(RenderSarif, OneRulePerFindingKind) {
  const json log = sample_log();
  for (const json &run : log["runs"]) {
    const json &driver = run["tool"]["driver"];
    EXPECT_EQ(driver["name"], "frameaudit");
    EXPECT_EQ(driver["version"], "0.1.0");
    const json &rules = driver["rules"];
    ASSERT_EQ(rules.size(), finding_kinds().size());
    for (size_t i = 0; i < rules.size(); ++i) {
      const FindingKindInfo &k = finding_kinds()[i];
      const json &rule = rules[i];
      EXPECT_EQ(rule["id"], k.kind);
      const std::string name = rule["name"].get<std::string>();
      EXPECT_TRUE(std::isupper(static_cast<unsigned char>(name[0]))) << name;
      EXPECT_EQ(name.find('-'), std::string::npos) << name;
      EXPECT_FALSE(rule["shortDescription"]["text"].get<std::string>().empty());
      EXPECT_FALSE(rule["fullDescription"]["text"].get<std::string>().empty());
      EXPECT_FALSE(rule["help"]["text"].get<std::string>().empty());
      EXPECT_EQ(rule["defaultConfiguration"]["level"], to_string(k.default_severity));
    }
    EXPECT_EQ(rules[0]["name"], "BrokenChain");
    EXPECT_EQ(rules[8]["name"], "StackExhaustionRisk");
  }
}

TEST(RenderSarif, EveryFindingKindIsCoveredBySample) {
  // The validator test is only as good as its sample: every kind, and with
  // and without source locations.
  std::set<std::string> kinds;
  bool with_file = false, without_file = false;
  for (const Finding &f : sample::all_findings()) {
    kinds.insert(f.kind);
    (f.file ? with_file : without_file) = true;
  }
  for (const FindingKindInfo &k : finding_kinds())
    EXPECT_TRUE(kinds.count(k.kind)) << k.kind;
  EXPECT_TRUE(with_file);
  EXPECT_TRUE(without_file);
}

TEST(RenderSarif, ResultsPointAtTheirRules) {
  const json log = sample_log();
  const json &run = log["runs"][0];
  const auto findings = sample::all_findings();
  ASSERT_EQ(run["results"].size(), findings.size());
  for (size_t i = 0; i < findings.size(); ++i) {
    const json &result = run["results"][i];
    EXPECT_EQ(result["ruleId"], findings[i].kind);
    const size_t index = result["ruleIndex"].get<size_t>();
    ASSERT_LT(index, run["tool"]["driver"]["rules"].size());
    EXPECT_EQ(run["tool"]["driver"]["rules"][index]["id"], findings[i].kind);
    EXPECT_EQ(result["level"], to_string(findings[i].severity));
    const std::string message = result["message"]["text"].get<std::string>();
    EXPECT_EQ(message.back(), '.') << "SARIF messages are sentences";
    EXPECT_TRUE(result["partialFingerprints"]["frameauditFinding/v2"].is_string());
  }
  // A message without a final period gets one; the text is otherwise as is.
  EXPECT_EQ(run["results"][6]["message"]["text"],
            "Frame #0's span exceeds its static size by 4096 bytes and nothing explains it.");
}

TEST(RenderSarif, SourceLocations) {
  const json results = sample_log()["runs"][0]["results"];
  // unwinder-mismatch: absolute path, line, function.
  const json &loc = results[1]["locations"][0];
  EXPECT_EQ(loc["physicalLocation"]["artifactLocation"]["uri"],
            "file:///src/tests/fixtures/fixture.c");
  EXPECT_FALSE(loc["physicalLocation"]["artifactLocation"].contains("uriBaseId"));
  EXPECT_EQ(loc["physicalLocation"]["region"]["startLine"], 22);
  EXPECT_EQ(loc["logicalLocations"][0]["name"], "level2");
  EXPECT_EQ(loc["logicalLocations"][0]["kind"], "function");
  // region-overflow: a relative path is relative to SRCROOT, declared on the run.
  const json &rel = results[3]["locations"][0]["physicalLocation"]["artifactLocation"];
  EXPECT_EQ(rel["uri"], "fixture.c");
  EXPECT_EQ(rel["uriBaseId"], "SRCROOT");
  EXPECT_TRUE(sample_log()["runs"][0]["originalUriBaseIds"].contains("SRCROOT"));
  // dangling-pointer: spaces, '#' and non-ASCII are percent-encoded.
  EXPECT_EQ(results[4]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///src/dir%20with%20space/fixture%20%C3%BC%231.c");
}

TEST(RenderSarif, FindingsWithoutSourceAreAnchoredAtTheBinary) {
  // GitHub code scanning rejects a log with an unlocated result.
  const json run = sample_log()["runs"][0];
  for (const json &result : run["results"]) {
    ASSERT_TRUE(result.contains("locations")) << result.dump();
    const json &physical = result["locations"][0]["physicalLocation"];
    EXPECT_TRUE(physical["artifactLocation"]["uri"].is_string());
    EXPECT_GE(physical["region"]["startLine"].get<int>(), 1);
  }
  const json &broken = run["results"][0]["locations"][0];
  EXPECT_EQ(broken["physicalLocation"]["artifactLocation"]["uri"],
            "file:///src/build/tests/fixtures/fixture");
  EXPECT_EQ(broken["physicalLocation"]["region"]["startLine"], 1);
  EXPECT_FALSE(broken.contains("logicalLocations"));

  // Without an executable the core is the anchor; without either, no location.
  Report report = sample::empty_report();
  report.findings = sample::all_findings();
  report.target.core = "/tmp/core";
  EXPECT_EQ(parse(render_sarif({report}))["runs"][0]["results"][0]["locations"][0]
                                         ["physicalLocation"]["artifactLocation"]["uri"],
            "file:///tmp/core");
  report.target.core.reset();
  const json bare = parse(render_sarif({report}))["runs"][0]["results"];
  EXPECT_FALSE(bare[0].contains("locations"));
  EXPECT_FALSE(bare[7].contains("locations"));
  EXPECT_TRUE(bare[6]["locations"][0].contains("logicalLocations"));
}

TEST(RenderSarif, PropertiesHoldAddressesAndIds) {
  const json results = sample_log()["runs"][0]["results"];
  const json &relocated = results[2]["properties"];
  EXPECT_EQ(relocated["address"], "0x7ffc9b1f4e60");
  EXPECT_EQ(relocated["thread"], 1);
  EXPECT_EQ(relocated["tid"], 4242);
  EXPECT_EQ(relocated["frame"], 1);
  EXPECT_EQ(relocated["pc"], "0x401236");
  EXPECT_EQ(relocated["region"], "t1.r0");
  // Nothing to say but the core it came from (merged runs hold several).
  EXPECT_EQ(results[8]["properties"], json({{"core", "/tmp/cores/core.fixture.4242"}}));
}

TEST(RenderSarif, RunProperties) {
  const json run = sample_log()["runs"][0];
  EXPECT_EQ(run["properties"]["schema"], "frameaudit/1");
  EXPECT_EQ(run["properties"]["target"]["core"], "/tmp/cores/core.fixture.4242");
  EXPECT_EQ(run["properties"]["summary"]["errors"], 4);
  EXPECT_EQ(run["properties"]["threads"][0]["chain_end"], "outermost");
  EXPECT_EQ(run["properties"]["threads"][0]["selected"], true);
  ASSERT_EQ(run["artifacts"].size(), 2u);
  EXPECT_EQ(run["artifacts"][0]["location"]["uri"], "file:///src/build/tests/fixtures/fixture");
  EXPECT_EQ(run["artifacts"][1]["roles"], json::array({"analysisTarget", "memoryContents"}));
}

TEST(RenderSarif, UnknownKindGetsItsOwnRule) {
  Report report = sample::empty_report();
  Finding f;
  f.kind = "future-kind";
  f.severity = Severity::Note;
  f.message = "Something new";
  report.findings = {f, f};
  const json run = parse(render_sarif({report}))["runs"][0];
  const json &rules = run["tool"]["driver"]["rules"];
  ASSERT_EQ(rules.size(), finding_kinds().size() + 1);
  EXPECT_EQ(rules.back()["id"], "future-kind");
  EXPECT_EQ(rules.back()["name"], "FutureKind");
  EXPECT_EQ(run["results"][0]["ruleIndex"], finding_kinds().size());
  EXPECT_EQ(run["results"][1]["ruleIndex"], finding_kinds().size());
}

TEST(RenderSarif, FingerprintsIgnoreAddresses) {
  Report a = sample::full_report();
  Report b = sample::full_report();
  for (Finding &f : b.findings)
    if (f.address)
      *f.address += 0x1000; // another run, another ASLR slide
  const json ra = parse(render_sarif({a}))["runs"][0]["results"];
  const json rb = parse(render_sarif({b}))["runs"][0]["results"];
  for (size_t i = 0; i < ra.size(); ++i)
    EXPECT_EQ(ra[i]["partialFingerprints"], rb[i]["partialFingerprints"]);
  EXPECT_NE(ra[0]["partialFingerprints"], ra[1]["partialFingerprints"]);
}

TEST(RenderSarif, HostileNamesAndDeterminism) {
  const std::string a = render_sarif({sample::full_report()});
  EXPECT_EQ(a, render_sarif({sample::full_report()}));
  const json log = parse(a); // parses: all strings valid UTF-8
  EXPECT_EQ(log["runs"][0]["results"][6]["locations"][0]["logicalLocations"][0]["name"],
            "bad\xef\xbf\xbd\xef\xbf\xbd name");
}

// --- what GitHub code scanning needs (docs/formats.md, "SARIF") ----------

Report core_of(const std::string &exe, const std::string &core, int pid) {
  Report r = sample::full_report();
  r.target.executable = exe;
  r.target.core = core;
  r.target.pid = pid;
  return r;
}

SarifOptions per_executable() {
  SarifOptions o;
  o.runs = SarifRuns::PerExecutable;
  return o;
}

TEST(RenderSarif, CategoryIsTheExecutableNeverThePidOrCore) {
  const json run =
      parse(render_sarif({core_of("/bin/dir/prog", "/tmp/core.prog.12224", 12224)}))["runs"][0];
  EXPECT_EQ(run["automationDetails"]["id"], "frameaudit/prog/");
  // No executable: still no core name in it.
  Report bare = sample::full_report();
  bare.target.executable.reset();
  const std::string id =
      parse(render_sarif({bare}))["runs"][0]["automationDetails"]["id"].get<std::string>();
  EXPECT_EQ(id, "frameaudit/unknown-executable/");
}

TEST(RenderSarif, CoresOfOneExecutableShareARun) {
  std::vector<Report> reports;
  for (int i = 0; i < 21; ++i)
    reports.push_back(core_of("/bin/prog", "/tmp/core.prog." + std::to_string(100 + i), 100 + i));
  reports.push_back(core_of("/bin/other", "/tmp/core.other.1", 1));
  Result<std::string> merged = render_sarif(reports, per_executable());
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const json log = parse(*merged);
  ASSERT_EQ(log["runs"].size(), 2u);
  const json &run = log["runs"][0];
  EXPECT_EQ(run["automationDetails"]["id"], "frameaudit/prog/");
  EXPECT_EQ(run["results"].size(), 21 * sample::all_findings().size());
  EXPECT_EQ(run["properties"]["cores"].size(), 21u);
  EXPECT_EQ(run["properties"]["summary"]["errors"], 21 * 4);
  EXPECT_TRUE(run["properties"]["target"]["core"].is_null());
  EXPECT_EQ(run["artifacts"].size(), 22u); // the executable once, each core
  EXPECT_EQ(log["runs"][1]["automationDetails"]["id"], "frameaudit/other/");
  for (const json &result : run["results"]) {
    const size_t index = result["ruleIndex"].get<size_t>();
    EXPECT_EQ(run["tool"]["driver"]["rules"][index]["id"], result["ruleId"]);
  }
}

TEST(RenderSarif, AtMostTwentyRuns) {
  std::vector<Report> reports;
  for (int i = 0; i < 21; ++i)
    reports.push_back(
        core_of("/bin/prog" + std::to_string(i), "/tmp/core." + std::to_string(i), i));
  // 21 executables: too many either way.
  for (SarifRuns mode : {SarifRuns::PerCore, SarifRuns::PerExecutable}) {
    SarifOptions o;
    o.runs = mode;
    Result<std::string> text = render_sarif(reports, o);
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.error().message.find("21 runs"), std::string::npos) << text.error().message;
    EXPECT_NE(text.error().message.find("20"), std::string::npos);
  }
  reports.pop_back();
  EXPECT_EQ(parse(*render_sarif(reports, SarifOptions{}))["runs"].size(), 20u);
  // 21 cores of one program: per core refuses and says what to do; merged is one run.
  std::vector<Report> same;
  for (int i = 0; i < 21; ++i)
    same.push_back(core_of("/bin/prog", "/tmp/core." + std::to_string(i), i));
  Result<std::string> per_core = render_sarif(same, SarifOptions{});
  ASSERT_FALSE(per_core.ok());
  EXPECT_NE(per_core.error().message.find("--sarif-runs per-executable"), std::string::npos);
  EXPECT_EQ(parse(*render_sarif(same, per_executable()))["runs"].size(), 1u);
}

TEST(RenderSarif, PerCoreRunsOfOneExecutableAreNumbered) {
  const json log =
      parse(*render_sarif({core_of("/bin/prog", "/tmp/a", 1), core_of("/bin/prog", "/tmp/b", 2),
                           core_of("/bin/solo", "/tmp/c", 3)},
                          SarifOptions{}));
  EXPECT_EQ(log["runs"][0]["automationDetails"]["id"], "frameaudit/prog/1/");
  EXPECT_EQ(log["runs"][1]["automationDetails"]["id"], "frameaudit/prog/2/");
  EXPECT_EQ(log["runs"][2]["automationDetails"]["id"], "frameaudit/solo/");
}

std::vector<std::string> fingerprints(const json &run) {
  std::vector<std::string> out;
  for (const json &r : run["results"])
    out.push_back(r["partialFingerprints"]["frameauditFinding/v2"].get<std::string>());
  return out;
}

TEST(RenderSarif, FingerprintsUniquePerRunAndStable) {
  Report report = sample::full_report();
  // Two dangling findings that agree on everything a finding names.
  Finding twin;
  for (const Finding &f : report.findings)
    if (f.kind == "dangling-pointer")
      twin = f;
  ASSERT_EQ(twin.kind, "dangling-pointer");
  report.findings.push_back(twin);
  summarize(report);
  const auto once = fingerprints(parse(render_sarif({report}))["runs"][0]);
  EXPECT_EQ(std::set<std::string>(once.begin(), once.end()).size(), once.size());
  // Rendering again (another CI run of the same crash): the same values.
  EXPECT_EQ(fingerprints(parse(render_sarif({report}))["runs"][0]), once);
  // ASLR moves addresses and the pid: fingerprints stay.
  Report moved = report;
  moved.target.pid = 999;
  moved.target.core = "/tmp/core.fixture.999";
  for (Finding &f : moved.findings)
    if (f.address)
      *f.address += 0x1000;
  EXPECT_EQ(fingerprints(parse(render_sarif({moved}))["runs"][0]), once);
  // A finding on another thread or frame is another finding.
  Report other = report;
  other.findings[0].frame = 7;
  EXPECT_NE(fingerprints(parse(render_sarif({other}))["runs"][0])[0], once[0]);
  // Two cores of the same crash merged into one run: still unique.
  const auto merged =
      fingerprints(parse(*render_sarif({report, moved}, per_executable()))["runs"][0]);
  EXPECT_EQ(std::set<std::string>(merged.begin(), merged.end()).size(), merged.size());
}

TEST(RenderSarif, MinLevelLeavesOutResultsNotRules) {
  SarifOptions o;
  o.min_level = Severity::Warning;
  const Report full = sample::full_report();
  const auto at_least = [&](Severity level) {
    return static_cast<size_t>(
        std::count_if(full.findings.begin(), full.findings.end(), [&](const Finding &f) {
          return static_cast<int>(f.severity) <= static_cast<int>(level);
        }));
  };
  ASSERT_LT(at_least(Severity::Warning), full.findings.size()); // the sample has notes to leave out
  ASSERT_LT(at_least(Severity::Error), at_least(Severity::Warning));
  const json run = parse(*render_sarif({full}, o))["runs"][0];
  EXPECT_EQ(run["results"].size(), at_least(Severity::Warning)); // errors and warnings, no note
  for (const json &r : run["results"])
    EXPECT_NE(r["level"], "note");
  EXPECT_EQ(run["tool"]["driver"]["rules"].size(), finding_kinds().size());
  o.min_level = Severity::Error;
  EXPECT_EQ(parse(*render_sarif({full}, o))["runs"][0]["results"].size(),
            at_least(Severity::Error));
}

TEST(RenderSarif, HelpSaysWhatToDo) {
  const json rules = sample_log()["runs"][0]["tool"]["driver"]["rules"];
  for (size_t i = 0; i < rules.size(); ++i) {
    const FindingKindInfo &k = finding_kinds()[i];
    ASSERT_NE(k.remedy, nullptr) << k.kind;
    EXPECT_NE(rules[i]["help"]["text"], rules[i]["fullDescription"]["text"]) << k.kind;
    const std::string md = rules[i]["help"]["markdown"].get<std::string>();
    EXPECT_EQ(md.rfind("**What to do:**", 0), 0u) << md;
  }
}

TEST(RenderSarif, ResultsCarryTheCrashingThreadsStack) {
  const json results = sample_log()["runs"][0]["results"];
  const Report report = sample::full_report();
  const ThreadReport *crashed = nullptr;
  for (const ThreadReport &t : report.threads)
    if (t.is_selected)
      crashed = &t;
  ASSERT_NE(crashed, nullptr);
  for (const json &r : results) {
    ASSERT_TRUE(r.contains("stacks"));
    const json &stack = r["stacks"].back(); // the crashing thread's, always last
    EXPECT_NE(stack["message"]["text"].get<std::string>().find("crashing thread"),
              std::string::npos);
    ASSERT_EQ(stack["frames"].size(), crashed->frames.size());
    EXPECT_EQ(stack["frames"][0]["threadId"], crashed->tid);
    EXPECT_EQ(stack["frames"][0]["location"]["physicalLocation"]["address"]["absoluteAddress"],
              crashed->frames[0].pc);
  }
  // A finding on the other thread gets that thread's stack first.
  EXPECT_EQ(results[0]["stacks"].size(), 2u); // broken-chain on thread #2
}

TEST(RenderSarif, MergingWorkerLogsEqualsRenderingTogether) {
  const std::vector<Report> reports = {core_of("/bin/prog", "/tmp/a", 1),
                                       core_of("/bin/prog", "/tmp/b", 2),
                                       core_of("/bin/other", "/tmp/c", 3)};
  for (SarifOptions o : {SarifOptions{}, per_executable()}) {
    std::vector<std::string> logs;
    for (const Report &r : reports)
      logs.push_back(*render_sarif({r}, o));
    Result<std::string> merged = merge_sarif(logs, o);
    ASSERT_TRUE(merged.ok());
    EXPECT_EQ(*merged, *render_sarif(reports, o));
  }
  EXPECT_FALSE(merge_sarif({"not json"}, SarifOptions{}).ok());
}

} // namespace
} // namespace frameaudit
