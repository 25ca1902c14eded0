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

/// An object whose key count is known: reserving spares the reallocations
/// that copy every key (ordered_map keys are const, so they cannot move).
Json object_of(size_t keys) {
  Json j = Json::object();
  j.get_ptr<Json::object_t *>()->reserve(keys);
  return j;
}

Json frame_json(const Frame &f) {
  Json j = object_of(15);
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
  Json j = object_of(9);
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
  Json j = object_of(10);
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

Json json_string(const std::string &s) {
  return Json(valid_utf8(s));
}

Json json_address(uint64_t value) {
  return Json(hex(value));
}

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

namespace {

// --- streaming -------------------------------------------------------------
// A stack of a million frames would need gigabytes as one nlohmann tree, so
// the document's skeleton (report, threads, the frame/region/finding arrays)
// is written directly and only each leaf object goes through nlohmann. The
// bytes are exactly those of dump_json(report_json(...)) (a unit test says so).

void newline(std::string &out, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

/// A value pretty-printed as if it sat `depth` levels deep in the document.
void put_value(std::string &out, const Json &value, int depth) {
  const std::string text = value.dump(2, ' ', false, Json::error_handler_t::replace);
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.append(text, start, nl + 1 - start);
    out.append(static_cast<size_t>(depth) * 2, ' ');
    start = nl + 1;
  }
  out.append(text, start, std::string::npos);
}

class ObjectWriter {
public:
  ObjectWriter(std::string &out, int depth) : out_(out), depth_(depth) {}
  /// Keys are constants of this file: plain ASCII, nothing to escape.
  void key(std::string_view k) {
    out_ += first_ ? "{" : ",";
    first_ = false;
    newline(out_, depth_ + 1);
    out_ += '"';
    out_ += k;
    out_ += "\": ";
  }
  void field(std::string_view k, const Json &value) {
    key(k);
    put_value(out_, value, depth_ + 1);
  }
  template <class Range, class Each> void array(std::string_view k, const Range &items, Each each) {
    key(k);
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    out_ += '[';
    bool first = true;
    for (const auto &item : items) {
      if (!first)
        out_ += ',';
      first = false;
      newline(out_, depth_ + 2);
      each(item, depth_ + 2);
    }
    newline(out_, depth_ + 1);
    out_ += ']';
  }
  void close() {
    if (first_) {
      out_ += "{}";
      return;
    }
    newline(out_, depth_);
    out_ += '}';
  }

private:
  std::string &out_;
  int depth_;
  bool first_ = true;
};

void write_thread(std::string &out, const ThreadReport &t, int depth) {
  // Same keys as thread_json, in the same order.
  const Json whole = [&] {
    ThreadReport head;
    head.tid = t.tid;
    head.index = t.index;
    head.name = t.name;
    head.stack = t.stack;
    head.registers.rip = t.registers.rip;
    head.registers.rsp = t.registers.rsp;
    head.registers.rbp = t.registers.rbp;
    head.chain_end = t.chain_end;
    head.chain_end_detail = t.chain_end_detail;
    head.stop_reason = t.stop_reason;
    head.is_selected = t.is_selected;
    return thread_json(head); // frames and regions empty: streamed below
  }();
  ObjectWriter o(out, depth);
  for (auto it = whole.begin(); it != whole.end(); ++it) {
    if (it.key() == "frames")
      o.array("frames", t.frames, [&](const Frame &f, int d) { put_value(out, frame_json(f), d); });
    else if (it.key() == "regions")
      o.array("regions", t.regions,
              [&](const Region &r, int d) { put_value(out, region_json(r), d); });
    else
      o.field(it.key(), it.value());
  }
  o.close();
}

void write_report(std::string &out, const Report &report, int depth) {
  ObjectWriter o(out, depth);
  o.field("schema", "frameaudit/1");
  Json tool = Json::object();
  tool["name"] = "frameaudit";
  tool["version"] = json_string(report.tool_version);
  o.field("tool", tool);
  o.field("target", target_json(report.target));
  o.array("threads", report.threads,
          [&](const ThreadReport &t, int d) { write_thread(out, t, d); });
  o.array("findings", report.findings,
          [&](const Finding &f, int d) { put_value(out, finding_json(f), d); });
  o.field("summary", summary_json(report.summary));
  o.close();
}

} // namespace

std::string stream_json(const Report &report) {
  std::string out;
  write_report(out, report, 0);
  out += '\n';
  return out;
}

std::string stream_json_array(const std::vector<Report> &reports) {
  if (reports.empty())
    return "[]\n";
  std::string out = "[";
  for (size_t i = 0; i < reports.size(); ++i) {
    out += i ? ",\n  " : "\n  ";
    write_report(out, reports[i], 1);
  }
  out += "\n]\n";
  return out;
}

} // namespace render

std::string render_json(const Report &report) {
  return render::guarded([&] { return render::stream_json(report); });
}

std::string render_json_array(const std::vector<Report> &reports) {
  return render::guarded([&] { return render::stream_json_array(reports); });
}

} // namespace frameaudit
