// sarif.cpp: SARIF 2.1.0 output (CONTRACT section 8) for code-scanning
// services: one run per report, one rule per finding kind, one result per
// finding with its source location where known and the addresses in the
// result's property bag. Checked with Microsoft's SARIF validator by
// tests/sarif; see docs/formats.md for the mapping.
#include <cctype>
#include <map>

#include "frameaudit/render.h"
#include "render/json_document.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {
namespace render {
namespace {

constexpr const char *kSchema = "https://json.schemastore.org/sarif-2.1.0.json";
/// uriBaseId for source paths the debug info gives relative to the build
/// directory; consumers map it to their checkout.
constexpr const char *kSourceRoot = "SRCROOT";

const char *sarif_level(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "note";
}

/// "broken-chain" -> "BrokenChain" (SARIF's reportingDescriptor.name).
std::string pascal_case(std::string_view kind) {
  std::string out;
  bool upper = true;
  for (char c : kind) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out.empty() ? std::string("Finding") : out;
}

/// Percent-encode a path for a URI (RFC 3986): unreserved characters and
/// '/' stay, every other byte (spaces, '%', '#', UTF-8) becomes %XX.
std::string percent_encode_path(std::string_view path) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xF];
    }
  }
  return out;
}

/// An artifactLocation for a file path: absolute paths as file:// URIs,
/// relative ones as relative references against SRCROOT.
Json artifact_location(const std::string &path) {
  const std::string clean = valid_utf8(path);
  Json j = Json::object();
  if (!clean.empty() && clean[0] == '/') {
    j["uri"] = "file://" + percent_encode_path(clean);
  } else {
    j["uri"] = percent_encode_path(clean);
    j["uriBaseId"] = kSourceRoot;
  }
  return j;
}

bool is_relative_path(const std::optional<std::string> &path) {
  return path && !path->empty() && (*path)[0] != '/';
}

/// SARIF asks for messages that are sentences (validator rule SARIF2001).
std::string sentence(const std::string &text) {
  std::string out = valid_utf8(text);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n'))
    out.pop_back();
  if (out.empty())
    return "No details.";
  if (out.back() != '.' && out.back() != '!' && out.back() != '?')
    out += '.';
  return out;
}

struct RuleTable {
  Json rules = Json::array();
  std::map<std::string, size_t> index;

  size_t add(const std::string &id, const std::string &name, const std::string &summary,
             const std::string &help, Severity level) {
    auto it = index.find(id);
    if (it != index.end())
      return it->second;
    Json rule = Json::object();
    rule["id"] = json_string(id);
    rule["name"] = json_string(name);
    rule["shortDescription"] = {{"text", sentence(summary)}};
    rule["fullDescription"] = {{"text", sentence(help)}};
    rule["help"] = {{"text", sentence(help)}};
    rule["defaultConfiguration"] = {{"level", sarif_level(level)}};
    rules.push_back(std::move(rule));
    const size_t i = rules.size() - 1;
    index.emplace(id, i);
    return i;
  }
};

const ThreadReport *find_thread(const Report &report, uint32_t index) {
  for (const ThreadReport &t : report.threads)
    if (t.index == index)
      return &t;
  return nullptr;
}

const Frame *find_frame(const ThreadReport &thread, uint32_t index) {
  if (index < thread.frames.size() && thread.frames[index].index == index)
    return &thread.frames[index];
  for (const Frame &f : thread.frames)
    if (f.index == index)
      return &f;
  return nullptr;
}

/// FNV-1a 64, as 16 hex digits: deterministic everywhere, unlike std::hash.
std::string fingerprint(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4)
    out[static_cast<size_t>(i)] = digits[h & 0xF];
  return out;
}

/// The file a finding without a source location is anchored at.
const std::string *anchor_binary(const TargetInfo &target) {
  if (target.executable && !target.executable->empty())
    return &*target.executable;
  if (target.core && !target.core->empty())
    return &*target.core;
  return nullptr;
}

Json result_json(const Report &report, const Finding &f, RuleTable &rules) {
  // A kind the catalogue does not know (a newer analysis) still gets a rule,
  // so ruleIndex is always valid.
  const size_t rule = rules.add(f.kind, pascal_case(f.kind), "frameaudit finding " + f.kind,
                                "See the finding's message.", f.severity);
  Json j = Json::object();
  j["ruleId"] = json_string(f.kind);
  j["ruleIndex"] = rule;
  j["level"] = sarif_level(f.severity);
  j["message"] = {{"text", sentence(f.message)}};

  // GitHub code scanning rejects a whole log if one result lacks a physical
  // location, so a finding without a source file is anchored at the binary
  // it was found in (the executable, else the core); the address is in the
  // result's properties.
  // Without a line the location is the whole file; SARIF wants a region
  // anyway and GitHub reads startLine, so such anchors point at line 1.
  Json location = Json::object();
  const bool from_source = f.file && !f.file->empty();
  const std::string *anchor = from_source ? &*f.file : anchor_binary(report.target);
  if (anchor) {
    Json physical = Json::object();
    physical["artifactLocation"] = artifact_location(*anchor);
    const bool has_line = from_source && f.line && *f.line > 0;
    physical["region"] = {{"startLine", has_line ? *f.line : 1u}};
    location["physicalLocation"] = std::move(physical);
  }
  if (f.function && !f.function->empty()) {
    Json logical = Json::object();
    logical["name"] = json_string(*f.function);
    logical["kind"] = "function";
    location["logicalLocations"] = Json::array({std::move(logical)});
  }
  if (!location.empty())
    j["locations"] = Json::array({std::move(location)});

  // Stable across runs of the same program (no addresses: ASLR moves them),
  // so code-scanning services match a finding with its earlier alerts.
  std::string identity = f.kind + '\n' + f.function.value_or("") + '\n' + f.file.value_or("") +
                         '\n' + (f.line ? std::to_string(*f.line) : "");
  j["partialFingerprints"] = {{"frameauditFinding/v1", fingerprint(identity)}};

  Json props = Json::object();
  if (f.address)
    props["address"] = json_address(*f.address);
  const ThreadReport *thread = f.thread ? find_thread(report, *f.thread) : nullptr;
  if (f.thread)
    props["thread"] = *f.thread;
  if (thread)
    props["tid"] = thread->tid;
  if (f.frame) {
    props["frame"] = *f.frame;
    if (const Frame *frame = thread ? find_frame(*thread, *f.frame) : nullptr)
      props["pc"] = json_address(frame->pc);
  }
  if (f.region)
    props["region"] = json_string(*f.region);
  if (!props.empty())
    j["properties"] = std::move(props);
  return j;
}

Json run_json(const Report &report, size_t index, size_t count) {
  RuleTable rules;
  for (const FindingKindInfo &k : finding_kinds())
    rules.add(k.kind, pascal_case(k.kind), k.summary, k.help, k.default_severity);

  Json results = Json::array();
  bool relative_sources = false;
  for (const Finding &f : report.findings) {
    results.push_back(result_json(report, f, rules));
    relative_sources = relative_sources || is_relative_path(f.file);
  }

  Json driver = Json::object();
  driver["name"] = "frameaudit";
  if (!report.tool_version.empty())
    driver["version"] = json_string(report.tool_version);
  driver["rules"] = std::move(rules.rules);

  Json run = Json::object();
  run["tool"] = {{"driver", std::move(driver)}};
  if (relative_sources) {
    Json base = Json::object();
    base[kSourceRoot] = {
        {"description",
         {{"text", "The directory the debug info's relative source paths start from."}}}};
    run["originalUriBaseIds"] = std::move(base);
  }

  // The inputs of the analysis: the executable and the core it came from.
  Json artifacts = Json::array();
  if (report.target.executable && !report.target.executable->empty()) {
    Json a = Json::object();
    a["location"] = artifact_location(*report.target.executable);
    a["roles"] = Json::array({"analysisTarget"});
    artifacts.push_back(std::move(a));
  }
  if (report.target.core && !report.target.core->empty()) {
    Json a = Json::object();
    a["location"] = artifact_location(*report.target.core);
    a["roles"] = Json::array({"analysisTarget", "memoryContents"});
    artifacts.push_back(std::move(a));
  }
  if (!artifacts.empty())
    run["artifacts"] = std::move(artifacts);

  run["results"] = std::move(results);

  // Code-scanning services refuse several runs of one tool in one log unless
  // each has its own category (automationDetails.id up to the last '/').
  // Name the run after its core (or executable): unique for distinct core
  // files and stable across re-runs.
  {
    const std::optional<std::string> &input =
        report.target.core ? report.target.core : report.target.executable;
    std::string name = "live";
    if (input && !input->empty()) {
      size_t slash = input->find_last_of('/');
      name = slash == std::string::npos ? *input : input->substr(slash + 1);
    }
    for (char &c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
        c = '_';
    // Position-independent, so a log joined from per-core logs (the CLI's
    // -j workers) equals one rendered from all reports at once.
    (void)index;
    (void)count;
    run["automationDetails"] = {{"id", json_string("frameaudit/" + name + "/")}};
  }

  // What a CI job wants without opening the JSON report: which core, which
  // threads, where their walks stopped, and the counts.
  Json props = Json::object();
  props["schema"] = "frameaudit/1";
  props["target"] = target_json(report.target);
  Json threads = Json::array();
  for (const ThreadReport &t : report.threads) {
    Json th = Json::object();
    th["index"] = t.index;
    th["tid"] = t.tid;
    th["name"] = t.name ? json_string(*t.name) : Json(nullptr);
    th["selected"] = t.is_selected;
    th["stop_reason"] = t.stop_reason.empty() ? Json(nullptr) : json_string(t.stop_reason);
    th["frames"] = t.frames.size();
    th["chain_end"] = to_string(t.chain_end);
    threads.push_back(std::move(th));
  }
  props["threads"] = std::move(threads);
  props["summary"] = summary_json(report.summary);
  run["properties"] = std::move(props);
  return run;
}

} // namespace
} // namespace render

std::string render_sarif(const std::vector<Report> &reports) {
  return render::guarded([&] {
    render::Json doc = render::Json::object();
    doc["$schema"] = render::kSchema;
    doc["version"] = "2.1.0";
    render::Json runs = render::Json::array();
    for (size_t i = 0; i < reports.size(); ++i)
      runs.push_back(render::run_json(reports[i], i, reports.size()));
    doc["runs"] = std::move(runs);
    return render::dump_json(doc);
  });
}

} // namespace frameaudit
