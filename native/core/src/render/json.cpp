// json.cpp: the frameaudit/1 JSON document (CONTRACT section 7). Keys in the
// contract's order, every required key present (absent values as null),
// addresses as lowercase hex strings. The only keys beyond the contract are
// the thread extensions documented in docs/formats.md.
#include "render/json_document.h"

#include "frameaudit/render.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {
namespace render {
namespace {

template <class T> Json opt_number(const std::optional<T> &value) {
  return value ? Json(*value) : Json(nullptr);
}

Json opt_string(const std::optional<std::string> &value) {
  return value ? json_string(*value) : Json(nullptr);
}

Json opt_address(const std::optional<uint64_t> &value) {
  return value ? json_address(*value) : Json(nullptr);
}

/// Empty strings in the report mean "unknown" for these extension fields.
Json nonempty_string(const std::string &value) {
  return value.empty() ? Json(nullptr) : json_string(value);
}

Json frame_json(const Frame &f) {
  Json j = Json::object();
  j["index"] = f.index;
  j["pc"] = json_address(f.pc);
  j["cfa"] = opt_address(f.cfa);
  j["rsp"] = opt_address(f.rsp);
  j["rbp"] = opt_address(f.rbp);
  j["function"] = opt_string(f.function);
  Json inlined = Json::array();
  for (const std::string &name : f.inlined)
    inlined.push_back(json_string(name));
  j["inlined"] = std::move(inlined);
  j["module"] = opt_string(f.module);
  j["file"] = opt_string(f.file);
  j["line"] = opt_number(f.line);
  j["static_size"] = opt_number(f.static_size);
  j["span"] = opt_number(f.span);
  j["dynamic_bytes"] = opt_number(f.dynamic_bytes);
  j["kind"] = to_string(f.kind);
  Json regions = Json::array();
  for (const std::string &id : f.regions)
    regions.push_back(json_string(id));
  j["regions"] = std::move(regions);
  return j;
}

Json region_json(const Region &r) {
  Json j = Json::object();
  j["id"] = json_string(r.id);
  j["base"] = json_address(r.base);
  j["size"] = r.size;
  j["reserved"] = r.reserved;
  j["frame"] = opt_number(r.frame);
  j["function"] = opt_string(r.function);
  if (r.call_site) {
    Json c = Json::object();
    c["pc"] = json_address(r.call_site->pc);
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

Json thread_json(const ThreadReport &t) {
  Json j = Json::object();
  j["tid"] = t.tid;
  j["index"] = t.index;
  j["name"] = opt_string(t.name);
  if (t.stack) {
    Json s = Json::object();
    s["low"] = json_address(t.stack->low);
    s["high"] = json_address(t.stack->high);
    j["stack"] = std::move(s);
  } else {
    j["stack"] = nullptr;
  }
  Json regs = Json::object();
  regs["rip"] = json_address(t.registers.rip);
  regs["rsp"] = json_address(t.registers.rsp);
  regs["rbp"] = json_address(t.registers.rbp);
  j["registers"] = std::move(regs);
  Json frames = Json::array();
  for (const Frame &f : t.frames)
    frames.push_back(frame_json(f));
  j["frames"] = std::move(frames);
  j["chain_end"] = to_string(t.chain_end);
  Json regions = Json::array();
  for (const Region &r : t.regions)
    regions.push_back(region_json(r));
  j["regions"] = std::move(regions);
  // Extensions (docs/formats.md): what a CI log needs to tell the crashing
  // thread and why its walk stopped without re-running the text report.
  j["stop_reason"] = nonempty_string(t.stop_reason);
  j["selected"] = t.is_selected;
  j["chain_end_detail"] = nonempty_string(t.chain_end_detail);
  return j;
}

Json finding_json(const Finding &f) {
  Json j = Json::object();
  j["kind"] = json_string(f.kind);
  j["severity"] = to_string(f.severity);
  j["thread"] = opt_number(f.thread);
  j["frame"] = opt_number(f.frame);
  j["region"] = opt_string(f.region);
  j["function"] = opt_string(f.function);
  j["address"] = opt_address(f.address);
  j["file"] = opt_string(f.file);
  j["line"] = opt_number(f.line);
  j["message"] = json_string(f.message);
  return j;
}

} // namespace

Json json_string(const std::string &s) { return Json(valid_utf8(s)); }

Json json_address(uint64_t value) { return Json(hex(value)); }

Json target_json(const TargetInfo &t) {
  Json j = Json::object();
  j["executable"] = opt_string(t.executable);
  j["core"] = opt_string(t.core);
  j["pid"] = opt_number(t.pid);
  j["arch"] = json_string(t.arch);
  return j;
}

Json summary_json(const Summary &s) {
  Json j = Json::object();
  j["threads"] = s.threads;
  j["frames"] = s.frames;
  j["regions"] = s.regions;
  j["errors"] = s.errors;
  j["warnings"] = s.warnings;
  j["notes"] = s.notes;
  return j;
}

Json report_json(const Report &report) {
  Json j = Json::object();
  j["schema"] = "frameaudit/1";
  Json tool = Json::object();
  tool["name"] = "frameaudit";
  tool["version"] = json_string(report.tool_version);
  j["tool"] = std::move(tool);
  j["target"] = target_json(report.target);
  Json threads = Json::array();
  for (const ThreadReport &t : report.threads)
    threads.push_back(thread_json(t));
  j["threads"] = std::move(threads);
  Json findings = Json::array();
  for (const Finding &f : report.findings)
    findings.push_back(finding_json(f));
  j["findings"] = std::move(findings);
  j["summary"] = summary_json(report.summary);
  return j;
}

std::string dump_json(const Json &value) {
  return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace render

std::string render_json(const Report &report) {
  return render::guarded([&] { return render::dump_json(render::report_json(report)); });
}

std::string render_json_array(const std::vector<Report> &reports) {
  return render::guarded([&] {
    render::Json array = render::Json::array();
    for (const Report &r : reports)
      array.push_back(render::report_json(r));
    return render::dump_json(array);
  });
}

} // namespace frameaudit
