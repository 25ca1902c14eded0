// sarif.cpp: SARIF 2.1.0 output (docs/formats.md, "SARIF 2.1.0") for code-scanning
// services: one run per report (or per executable: reports of one program
// merged), one rule per finding kind, one result per finding with its
// source location where known, the addresses in the result's property bag
// and the thread's frames as its stack. GitHub's upload rules shape it:
// at most 20 runs, one category (automationDetails.id) per run named after
// the executable, unique fingerprints per run. Checked with Microsoft's
// SARIF validator by tests/sarif; see docs/formats.md for the mapping.
#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "frameaudit/names.h"
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
             const std::string &help, const std::string &remedy, Severity level) {
    auto it = index.find(id);
    if (it != index.end())
      return it->second;
    Json rule = Json::object();
    rule["id"] = json_string(id);
    rule["name"] = json_string(name);
    rule["shortDescription"] = {{"text", sentence(summary)}};
    rule["fullDescription"] = {{"text", sentence(help)}};
    // help is what code scanning shows under "how to fix": the remedy first,
    // then why it matters.
    const std::string todo = sentence(remedy.empty() ? help : remedy);
    rule["help"] = {{"text", todo},
                    {"markdown", "**What to do:** " + todo + "\n\n**Why:** " + sentence(help) +
                                     "\n\nSee `frameaudit` docs/formats.md, finding kind `" +
                                     valid_utf8(id) + "`."}};
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

constexpr const char *kFingerprintKey = "frameauditFinding/v2";
/// Frames of a thread given as a result's stack (SARIF wants a bound; a
/// runaway recursion has thousands).
constexpr size_t kStackFrames = 64;

const ThreadReport *selected_thread(const Report &report) {
  for (const ThreadReport &t : report.threads)
    if (t.is_selected)
      return &t;
  return report.threads.empty() ? nullptr : &report.threads.front();
}

/// What makes a finding itself, the same in every run of the same crash:
/// its kind, where in the source, which thread, frame and region, and the
/// frame's pc as an offset into its function (ASLR moves absolute
/// addresses, so they stay out). Two findings that still agree on all of it
/// are told apart by their order (see number_fingerprints).
std::string finding_identity(const Finding &f, const Frame *frame) {
  std::string id = f.kind;
  auto field = [&](std::string_view key, const std::string &value) {
    id += '\n';
    id += key;
    id += '=';
    id += value;
  };
  field("function", f.function.value_or(""));
  field("file", f.file ? std::string(basename(*f.file)) : "");
  field("line", f.line ? std::to_string(*f.line) : "");
  field("thread", f.thread ? std::to_string(*f.thread) : "");
  field("frame", f.frame ? std::to_string(*f.frame) : "");
  field("region", f.region.value_or(""));
  if (frame && frame->function_start && frame->pc >= *frame->function_start)
    field("pc", "+" + hex(frame->pc - *frame->function_start));
  return id;
}

Json stack_json(const ThreadReport &thread, bool crashed) {
  Json frames = Json::array();
  const size_t n = std::min(thread.frames.size(), kStackFrames);
  for (size_t i = 0; i < n; ++i) {
    const Frame &fr = thread.frames[i];
    Json physical = Json::object();
    if (fr.file && !fr.file->empty()) {
      physical["artifactLocation"] = artifact_location(*fr.file);
      if (fr.line && *fr.line > 0)
        physical["region"] = {{"startLine", *fr.line}};
    }
    physical["address"] = {{"absoluteAddress", fr.pc}};
    Json location = Json::object();
    location["physicalLocation"] = std::move(physical);
    if (fr.function && !fr.function->empty())
      location["logicalLocations"] =
          Json::array({{{"name", json_string(*fr.function)}, {"kind", "function"}}});
    location["message"] = {{"text", "#" + std::to_string(fr.index) + " " +
                                        valid_utf8(function_label(fr)) + " (" +
                                        to_string(fr.kind) + " frame)."}};
    Json frame = Json::object();
    frame["location"] = std::move(location);
    if (fr.module && !fr.module->empty())
      frame["module"] = json_string(std::string(basename(*fr.module)));
    frame["threadId"] = thread.tid;
    frames.push_back(std::move(frame));
  }
  std::string text = (crashed ? "The crashing thread #" : "Thread #") +
                     std::to_string(thread.index) + " (tid " + std::to_string(thread.tid) + ")";
  if (thread.frames.size() > n)
    text += ", its innermost " + std::to_string(n) + " of " +
            std::to_string(thread.frames.size()) + " frames";
  text += ".";
  Json stack = Json::object();
  stack["message"] = {{"text", text}};
  stack["frames"] = std::move(frames);
  return stack;
}

Json result_json(const Report &report, const Finding &f, RuleTable &rules) {
  // A kind the catalogue does not know (a newer analysis) still gets a rule,
  // so ruleIndex is always valid.
  const size_t rule = rules.add(f.kind, pascal_case(f.kind), "frameaudit finding " + f.kind,
                                "See the finding's message.", "", f.severity);
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

  const ThreadReport *thread = f.thread ? find_thread(report, *f.thread) : nullptr;
  const Frame *frame = thread && f.frame ? find_frame(*thread, *f.frame) : nullptr;
  j["partialFingerprints"] = {{kFingerprintKey, fingerprint(finding_identity(f, frame))}};
  if (const ThreadReport *crashed = selected_thread(report)) {
    Json stacks = Json::array();
    if (thread && thread != crashed)
      stacks.push_back(stack_json(*thread, false));
    stacks.push_back(stack_json(*crashed, true));
    j["stacks"] = std::move(stacks);
  }

  Json props = Json::object();
  if (f.address)
    props["address"] = json_address(*f.address);
  if (f.thread)
    props["thread"] = *f.thread;
  if (thread)
    props["tid"] = thread->tid;
  if (f.frame) {
    props["frame"] = *f.frame;
    if (frame)
      props["pc"] = json_address(frame->pc);
  }
  if (f.region)
    props["region"] = json_string(*f.region);
  if (report.target.core && !report.target.core->empty())
    props["core"] = json_string(*report.target.core);
  if (!props.empty())
    j["properties"] = std::move(props);
  return j;
}

int severity_rank(Severity s) {
  switch (s) {
  case Severity::Error:
    return 2;
  case Severity::Warning:
    return 1;
  case Severity::Note:
    return 0;
  }
  return 0;
}

/// "frameaudit/<executable name>/": the category code scanning files the
/// run's alerts under. Never the core's name or a pid: those change with
/// every crash, and each new category is a new set of alerts.
std::string run_category(const Report &report, const SarifOptions &options) {
  std::string name = "unknown-executable";
  const std::optional<std::string> &exe = report.target.executable;
  if (exe && !exe->empty()) {
    std::string_view base = basename(*exe);
    if (!base.empty())
      name = std::string(base);
  }
  for (char &c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == '+'))
      c = '_';
  return options.category + "/" + name + "/";
}

Json run_json(const Report &report, const SarifOptions &options) {
  RuleTable rules;
  for (const FindingKindInfo &k : finding_kinds())
    rules.add(k.kind, pascal_case(k.kind), k.summary, k.help, k.remedy ? k.remedy : "",
              k.default_severity);

  Json results = Json::array();
  bool relative_sources = false;
  for (const Finding &f : report.findings) {
    if (severity_rank(f.severity) < severity_rank(options.min_level))
      continue;
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
  // each has its own category (automationDetails.id up to the last '/');
  // assemble() numbers runs that share one under SarifRuns::PerCore.
  run["automationDetails"] = {{"id", json_string(run_category(report, options))}};

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

/// A run's category: automationDetails.id up to and including its last '/'.
std::string category_of(const Json &run) {
  auto it = run.find("automationDetails");
  if (it == run.end() || !it->contains("id") || !(*it)["id"].is_string())
    return "";
  const std::string id = (*it)["id"].get<std::string>();
  const size_t slash = id.find_last_of('/');
  return slash == std::string::npos ? id : id.substr(0, slash + 1);
}

void add_summaries(Json &into, const Json &from) {
  for (auto it = from.begin(); it != from.end(); ++it)
    if (it.value().is_number_unsigned())
      into[it.key()] = into.value(it.key(), uint64_t{0}) + it.value().get<uint64_t>();
}

/// The per-core part of a run's properties, as `cores` lists it.
Json core_entry(const Json &props) {
  Json entry = Json::object();
  for (const char *key : {"target", "threads", "summary"})
    if (props.contains(key))
      entry[key] = props[key];
  return entry;
}

/// Fold run `from` (another core of the same executable) into `into`:
/// results appended with their rule looked up by id, artifacts and base ids
/// unioned, per-core properties listed under `properties.cores`.
void merge_run(Json &into, Json &from) {
  Json &rules = into["tool"]["driver"]["rules"];
  std::map<std::string, size_t> rule_index;
  for (size_t i = 0; i < rules.size(); ++i)
    rule_index[rules[i].value("id", "")] = i;
  const Json &from_rules = from["tool"]["driver"]["rules"];
  for (Json &result : from["results"]) {
    const std::string id = result.value("ruleId", "");
    auto it = rule_index.find(id);
    if (it == rule_index.end()) {
      const size_t old = result.value("ruleIndex", size_t{0});
      rules.push_back(old < from_rules.size() ? from_rules[old] : Json{{"id", id}});
      it = rule_index.emplace(id, rules.size() - 1).first;
    }
    result["ruleIndex"] = it->second;
    into["results"].push_back(std::move(result));
  }
  if (from.contains("artifacts")) {
    Json &artifacts = into["artifacts"];
    if (!artifacts.is_array())
      artifacts = Json::array();
    std::set<std::string> seen;
    for (const Json &a : artifacts)
      seen.insert(a["location"].value("uri", ""));
    for (Json &a : from["artifacts"])
      if (seen.insert(a["location"].value("uri", "")).second)
        artifacts.push_back(std::move(a));
  }
  if (from.contains("originalUriBaseIds"))
    for (auto it = from["originalUriBaseIds"].begin(); it != from["originalUriBaseIds"].end(); ++it)
      into["originalUriBaseIds"][it.key()] = it.value();

  Json &props = into["properties"];
  const Json &other = from["properties"];
  if (!props.contains("cores")) {
    Json cores = Json::array({core_entry(props)});
    Json target = props.value("target", Json::object());
    target["core"] = nullptr;
    target["pid"] = nullptr;
    props["target"] = std::move(target);
    props.erase("threads");
    props["cores"] = std::move(cores);
  }
  props["cores"].push_back(core_entry(other));
  if (other.contains("summary"))
    add_summaries(props["summary"], other["summary"]);
}

/// Equal fingerprints in one run would make code scanning fold two alerts
/// into one: the second and later get their order mixed in.
void number_fingerprints(Json &run) {
  std::map<std::string, size_t> seen;
  for (Json &result : run["results"]) {
    auto pf = result.find("partialFingerprints");
    if (pf == result.end() || !pf->contains(kFingerprintKey))
      continue;
    const std::string value = (*pf)[kFingerprintKey].get<std::string>();
    const size_t n = seen[value]++;
    if (n)
      (*pf)[kFingerprintKey] = fingerprint(value + "#" + std::to_string(n));
  }
}

/// Runs in input order -> the log's runs: merged by category or numbered
/// apart, fingerprints unique per run, within options.max_runs.
Result<Json> assemble(std::vector<Json> runs, const SarifOptions &options) {
  std::vector<Json> out;
  if (options.runs == SarifRuns::PerExecutable) {
    std::map<std::string, size_t> at;
    for (Json &run : runs) {
      const std::string category = category_of(run);
      auto it = at.find(category);
      if (it == at.end()) {
        at.emplace(category, out.size());
        out.push_back(std::move(run));
      } else {
        merge_run(out[it->second], run);
      }
    }
  } else {
    std::map<std::string, size_t> total, next;
    for (const Json &run : runs)
      ++total[category_of(run)];
    for (Json &run : runs) {
      const std::string category = category_of(run);
      if (total[category] > 1 && !category.empty())
        run["automationDetails"]["id"] = category + std::to_string(++next[category]) + "/";
      out.push_back(std::move(run));
    }
  }
  for (Json &run : out)
    number_fingerprints(run);
  if (options.max_runs && out.size() > options.max_runs) {
    const bool per_core = options.runs == SarifRuns::PerCore;
    return make_error(Error::Code::InvalidArgument,
                      "the SARIF log would have " + std::to_string(out.size()) + " runs (one per " +
                          (per_core ? "core" : "executable") + "), more than the " +
                          std::to_string(options.max_runs) +
                          " GitHub code scanning accepts in one file; " +
                          (per_core ? "use --sarif-runs per-executable to merge the cores of "
                                      "each executable, or split the cores over several files"
                                    : "split the cores over several SARIF files"));
  }
  Json doc = Json::object();
  doc["$schema"] = kSchema;
  doc["version"] = "2.1.0";
  Json list = Json::array();
  for (Json &run : out)
    list.push_back(std::move(run));
  doc["runs"] = std::move(list);
  return doc;
}

Result<std::string> render_guarded(const std::function<Result<Json>()> &make) {
  std::optional<Error> failed;
  std::string text = guarded([&]() -> std::string {
    Result<Json> doc = make();
    if (!doc) {
      failed = doc.error();
      return "";
    }
    return dump_json(*doc);
  });
  if (failed)
    return *failed;
  return text;
}

} // namespace
} // namespace render

std::string render_sarif(const std::vector<Report> &reports) {
  SarifOptions options;
  options.max_runs = 0; // the one-run-per-report API never refuses
  Result<std::string> text = render_sarif(reports, options);
  return text ? *text : "frameaudit: " + text.error().message + "\n";
}

Result<std::string> render_sarif(const std::vector<Report> &reports, const SarifOptions &options) {
  return render::render_guarded([&]() -> Result<render::Json> {
    std::vector<render::Json> runs;
    runs.reserve(reports.size());
    for (const Report &report : reports)
      runs.push_back(render::run_json(report, options));
    return render::assemble(std::move(runs), options);
  });
}

Result<std::string> merge_sarif(const std::vector<std::string> &logs, const SarifOptions &options) {
  Result<std::string> text = render::render_guarded([&]() -> Result<render::Json> {
    std::vector<render::Json> runs;
    for (size_t i = 0; i < logs.size(); ++i) {
      render::Json log = render::Json::parse(logs[i], nullptr, false);
      if (log.is_discarded() || !log.is_object() || !log.contains("runs") ||
          !log["runs"].is_array())
        return make_error(Error::Code::BadInput,
                          "SARIF log " + std::to_string(i + 1) + " to merge is not a SARIF log");
      for (render::Json &run : log["runs"])
        runs.push_back(std::move(run));
    }
    return render::assemble(std::move(runs), options);
  });
  return text;
}

} // namespace frameaudit
