// json.cpp: the frameaudit/1 JSON document (docs/formats.md, "JSON document"). Keys in the
// contract's order, every required key present (absent values as null),
// addresses as lowercase hex strings. The only keys beyond the contract are
// the thread extensions documented in docs/formats.md.
//
// The document is written straight into one string: a deep stack's document
// runs to tens of megabytes and building it as an nlohmann tree first cost
// microseconds per frame. Layout (docs/formats.md): the document, its small
// objects and each thread are pretty-printed with a 2-space indent; every
// element of `frames`, `regions` and `findings` is one line,
// `{"key": value, ...}`. The nlohmann helpers at the end serve the SARIF
// writer, which reuses the target and summary objects.
#include "render/json_document.h"

#include <type_traits>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

#include "frameaudit/render.h"
#include "render/text_blocks.h"
#include "render/text_format.h"

namespace frameaudit {
namespace render {
namespace {

// --- values ------------------------------------------------------------------

/// What a string byte needs: written as is, escaped, or (non-ASCII) the
/// string checked for well-formed UTF-8 first.
enum class ByteClass : unsigned char { Plain, Escape, NonAscii };

constexpr std::array<ByteClass, 256> byte_classes() {
  std::array<ByteClass, 256> table{};
  for (int c = 0; c < 256; ++c)
    table[static_cast<size_t>(c)] = c < 0x20 || c == '"' || c == '\\' ? ByteClass::Escape
                                    : c >= 0x80                       ? ByteClass::NonAscii
                                                                      : ByteClass::Plain;
  return table;
}
constexpr std::array<ByteClass, 256> kByteClass = byte_classes();

/// The escapes nlohmann-json (and Python's json) write: the short forms where
/// JSON has one, else \u00xx in lowercase. DEL and U+0080..U+009F stay raw.
void append_escape(std::string &out, unsigned char c) {
  switch (c) {
  case '"':
    out += "\\\"";
    return;
  case '\\':
    out += "\\\\";
    return;
  case '\b':
    out += "\\b";
    return;
  case '\f':
    out += "\\f";
    return;
  case '\n':
    out += "\\n";
    return;
  case '\r':
    out += "\\r";
    return;
  case '\t':
    out += "\\t";
    return;
  default:
    break;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  const char u[6] = {'\\', 'u', '0', '0', kDigits[c >> 4], kDigits[c & 0xF]};
  out.append(u, sizeof u);
}

/// Whether any of the 8 bytes in `w` may need more than a copy: below 0x20,
/// '"', '\\' or non-ASCII. Never misses one (it may flag a word whose bytes
/// are all plain, which the byte loop then just copies).
bool maybe_special(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
  const auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  return (((w - kOnes * 0x20) & ~w) | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) |
          w) &
         kHigh;
}

/// Escape `s` into `out`. Returns false, having written part of it, at the
/// first non-ASCII byte unless `utf8_checked`.
bool append_escaped(std::string &out, std::string_view s, bool utf8_checked) {
  size_t plain_from = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) { // names are mostly plain: skip them a word at a time
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!maybe_special(w)) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i++]);
    const ByteClass cls = kByteClass[c];
    if (cls == ByteClass::Plain || (cls == ByteClass::NonAscii && utf8_checked))
      continue;
    if (cls == ByteClass::NonAscii)
      return false;
    out.append(s.data() + plain_from, i - 1 - plain_from);
    append_escape(out, c);
    plain_from = i;
  }
  out.append(s.data() + plain_from, s.size() - plain_from);
  return true;
}

/// A JSON string from report text (target memory, debug info): repaired to
/// valid UTF-8 exactly as valid_utf8 does, then escaped. Names are almost
/// always ASCII, which is escaped in one pass without a copy.
void put_string(std::string &out, std::string_view s) {
  out += '"';
  const size_t mark = out.size();
  if (!append_escaped(out, s, false)) {
    out.resize(mark);
    append_escaped(out, valid_utf8(s), true);
  }
  out += '"';
}

/// "0x7ffd5a1c2e40", quotes included: lowercase, no padding.
void put_address(std::string &out, uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[20];
  char *p = buf + sizeof buf;
  *--p = '"';
  do {
    *--p = kDigits[value & 0xF];
    value >>= 4;
  } while (value != 0);
  *--p = 'x';
  *--p = '0';
  *--p = '"';
  out.append(p, static_cast<size_t>(buf + sizeof buf - p));
}

template <class Int> void put_int(std::string &out, Int value) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  out.append(buf, static_cast<size_t>(end - buf));
}

void put_bool(std::string &out, bool value) {
  out += value ? "true" : "false";
}

template <class Int> void put_int(std::string &out, const std::optional<Int> &value) {
  if (value)
    put_int(out, *value);
  else
    out += "null";
}

void put_string(std::string &out, const std::optional<std::string> &value) {
  if (value)
    put_string(out, std::string_view(*value));
  else
    out += "null";
}

void put_string(std::string &out, const Name &value) {
  if (value)
    put_string(out, std::string_view(*value));
  else
    out += "null";
}

void put_address(std::string &out, const std::optional<uint64_t> &value) {
  if (value)
    put_address(out, *value);
  else
    out += "null";
}

/// Empty strings in the report mean "unknown" for these extension fields.
void put_nonempty_string(std::string &out, const std::string &value) {
  if (value.empty())
    out += "null";
  else
    put_string(out, std::string_view(value));
}

/// ["a", "b"] on one line; [] when empty.
template <class Item> void put_string_list(std::string &out, const std::vector<Item> &items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ", ";
    if constexpr (std::is_same_v<Item, Name>)
      put_string(out, items[i]);
    else
      put_string(out, std::string_view(items[i]));
  }
  out += ']';
}

// --- one-line objects: the elements of frames, regions and findings ----------
// Each literal below is the separator before a key and the key itself, so the
// key order reads straight off the code (docs/formats.md, "JSON document").

void put_frame(std::string &out, const Frame &f) {
  out += "{\"index\": ";
  put_int(out, f.index);
  out += ", \"pc\": ";
  put_address(out, f.pc);
  out += ", \"cfa\": ";
  put_address(out, f.cfa);
  out += ", \"rsp\": ";
  put_address(out, f.rsp);
  out += ", \"rbp\": ";
  put_address(out, f.rbp);
  out += ", \"function\": ";
  put_string(out, f.function);
  out += ", \"inlined\": ";
  put_string_list(out, f.inlined);
  out += ", \"module\": ";
  put_string(out, f.module);
  out += ", \"file\": ";
  put_string(out, f.file);
  out += ", \"line\": ";
  put_int(out, f.line);
  out += ", \"static_size\": ";
  put_int(out, f.static_size);
  out += ", \"span\": ";
  put_int(out, f.span);
  out += ", \"dynamic_bytes\": ";
  put_int(out, f.dynamic_bytes);
  out += ", \"kind\": \"";
  out += to_string(f.kind);
  out += "\", \"regions\": ";
  put_string_list(out, f.regions);
  out += ", \"unwind\": \"";
  out += to_string(f.unwind);
  out += f.repaired ? "\", \"repaired\": true}" : "\", \"repaired\": false}";
}

void put_module(std::string &out, const ModuleReport &m) {
  out += "{\"path\": ";
  put_string(out, std::string_view(m.path));
  out += ", \"build_id\": ";
  put_string(out, m.build_id);
  out += ", \"load_bias\": ";
  put_address(out, m.load_bias);
  out += ", \"matches\": ";
  out += m.matches ? (*m.matches ? "true" : "false") : "null";
  out += m.symbols ? ", \"symbols\": true" : ", \"symbols\": false";
  out += m.line_tables ? ", \"line_tables\": true}" : ", \"line_tables\": false}";
}

void put_region(std::string &out, const Region &r) {
  out += "{\"id\": ";
  put_string(out, std::string_view(r.id));
  out += ", \"base\": ";
  put_address(out, r.base);
  out += ", \"size\": ";
  put_int(out, r.size);
  out += ", \"reserved\": ";
  put_int(out, r.reserved);
  out += ", \"frame\": ";
  put_int(out, r.frame);
  out += ", \"function\": ";
  put_string(out, r.function);
  out += ", \"call_site\": ";
  if (r.call_site) {
    out += "{\"pc\": ";
    put_address(out, r.call_site->pc);
    out += ", \"function\": ";
    put_string(out, r.call_site->function);
    out += ", \"file\": ";
    put_string(out, r.call_site->file);
    out += ", \"line\": ";
    put_int(out, r.call_site->line);
    out += '}';
  } else {
    out += "null";
  }
  out += ", \"state\": \"";
  out += to_string(r.state);
  out += "\", \"evidence\": \"";
  out += to_string(r.evidence);
  out += "\"}";
}

void put_finding(std::string &out, const Finding &f) {
  out += "{\"kind\": ";
  put_string(out, std::string_view(f.kind));
  out += ", \"severity\": \"";
  out += to_string(f.severity);
  out += "\", \"thread\": ";
  put_int(out, f.thread);
  out += ", \"frame\": ";
  put_int(out, f.frame);
  out += ", \"region\": ";
  put_string(out, f.region);
  out += ", \"function\": ";
  put_string(out, f.function);
  out += ", \"address\": ";
  put_address(out, f.address);
  out += ", \"file\": ";
  put_string(out, f.file);
  out += ", \"line\": ";
  put_int(out, f.line);
  out += ", \"message\": ";
  put_string(out, std::string_view(f.message));
  out += '}';
}

// --- pretty-printed objects: the document, its small objects, threads --------

void newline(std::string &out, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

/// An object whose keys go one per line, `depth` levels deep. Keys are
/// constants of this file: plain ASCII, nothing to escape.
class PrettyObject {
public:
  PrettyObject(std::string &out, int depth) : out_(out), depth_(depth) {}

  /// Starts the key's line; the caller writes the value.
  std::string &key(std::string_view k) {
    out_ += first_ ? '{' : ',';
    first_ = false;
    newline(out_, depth_ + 1);
    out_ += '"';
    out_ += k;
    out_ += "\": ";
    return out_;
  }

  /// An array of objects, one element per line.
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

  /// Nested objects are pretty too: the caller fills them.
  PrettyObject object(std::string_view k) {
    key(k);
    return PrettyObject(out_, depth_ + 1);
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

void put_thread(std::string &out, const ThreadReport &t, int depth) {
  PrettyObject o(out, depth);
  put_int(o.key("tid"), t.tid);
  put_int(o.key("index"), t.index);
  put_string(o.key("name"), t.name);
  if (t.stack) {
    PrettyObject s = o.object("stack");
    put_address(s.key("low"), t.stack->low);
    put_address(s.key("high"), t.stack->high);
    s.close();
  } else {
    o.key("stack") += "null";
  }
  PrettyObject regs = o.object("registers");
  put_address(regs.key("rip"), t.registers.rip);
  put_address(regs.key("rsp"), t.registers.rsp);
  put_address(regs.key("rbp"), t.registers.rbp);
  regs.close();
  o.array("frames", t.frames, [&](const Frame &f, int) { put_frame(out, f); });
  o.key("chain_end") += '"';
  out += to_string(t.chain_end);
  out += '"';
  o.array("regions", t.regions, [&](const Region &r, int) { put_region(out, r); });
  // Extensions (docs/formats.md): what a CI log needs to tell the crashing
  // thread and why its walk stopped without re-running the text report.
  put_nonempty_string(o.key("stop_reason"), t.stop_reason);
  put_bool(o.key("selected"), t.is_selected);
  put_nonempty_string(o.key("chain_end_detail"), t.chain_end_detail);
  o.close();
}

void put_report(std::string &out, const Report &report, int depth) {
  PrettyObject o(out, depth);
  o.key("schema") += "\"frameaudit/1\"";
  PrettyObject tool = o.object("tool");
  tool.key("name") += "\"frameaudit\"";
  put_string(tool.key("version"), std::string_view(report.tool_version));
  tool.close();
  PrettyObject target = o.object("target");
  put_string(target.key("executable"), report.target.executable);
  put_string(target.key("core"), report.target.core);
  put_int(target.key("pid"), report.target.pid);
  put_string(target.key("arch"), std::string_view(report.target.arch));
  target.close();
  o.array("threads", report.threads, [&](const ThreadReport &t, int d) { put_thread(out, t, d); });
  o.array("findings", report.findings, [&](const Finding &f, int) { put_finding(out, f); });
  o.array("modules", report.modules, [&](const ModuleReport &m, int) { put_module(out, m); });
  const Summary &s = report.summary;
  PrettyObject summary = o.object("summary");
  put_int(summary.key("threads"), s.threads);
  put_int(summary.key("frames"), s.frames);
  put_int(summary.key("regions"), s.regions);
  put_int(summary.key("errors"), s.errors);
  put_int(summary.key("warnings"), s.warnings);
  put_int(summary.key("notes"), s.notes);
  summary.close();
  o.close();
}

size_t opt_size(const std::optional<std::string> &s) {
  return s ? s->size() : 0;
}
size_t opt_size(const Name &s) { return s ? s->size() : 0; }

/// Bytes of an element's line: its fixed text plus the strings it quotes.
size_t frame_size(const Frame &f) {
  size_t n = 360 + opt_size(f.function) + opt_size(f.module) + opt_size(f.file);
  for (const Name &s : f.inlined)
    n += opt_size(s) + 4;
  for (const std::string &s : f.regions)
    n += s.size() + 4;
  return n;
}
size_t region_size(const Region &r) {
  size_t n = 300 + r.id.size() + opt_size(r.function);
  if (r.call_site)
    n += opt_size(r.call_site->function) + opt_size(r.call_site->file);
  return n;
}

/// The summed sizes of a long list's elements, from a sample spread evenly
/// over it plus a quarter: reading every element of a deep stack only to
/// size the string cost more than the over-reservation (pages never written
/// are never touched). An underestimate only costs the string a regrowth.
template <class Item>
size_t list_size(const std::vector<Item> &items, size_t (*size)(const Item &)) {
  constexpr size_t kSamples = 256;
  size_t sum = 0;
  if (items.size() <= kSamples) {
    for (const Item &item : items)
      sum += size(item);
    return sum;
  }
  const size_t stride = items.size() / kSamples;
  size_t sampled = 0;
  for (size_t i = 0; i < items.size(); i += stride, ++sampled)
    sum += size(items[i]);
  return sum / sampled * items.size() * 5 / 4;
}

/// What the document will take, so the string is allocated once.
size_t estimated_size(const Report &report) {
  size_t n = 1024 + report.tool_version.size() + opt_size(report.target.executable) +
             opt_size(report.target.core);
  for (const ThreadReport &t : report.threads)
    n += 640 + opt_size(t.name) + t.stop_reason.size() + t.chain_end_detail.size() +
         list_size(t.frames, frame_size) + list_size(t.regions, region_size);
  for (const Finding &f : report.findings)
    n += 300 + f.kind.size() + opt_size(f.region) + opt_size(f.function) + opt_size(f.file) +
         f.message.size();
  return n;
}

} // namespace

std::string write_json(const Report &report) {
  std::string out;
  out.reserve(estimated_size(report));
  put_report(out, report, 0);
  out += '\n';
  return out;
}

std::string write_json_array(const std::vector<Report> &reports) {
  if (reports.empty())
    return "[]\n";
  size_t size = 8;
  for (const Report &r : reports)
    size += estimated_size(r) * 9 / 8; // one more indent level
  std::string out;
  out.reserve(size);
  out += '[';
  for (size_t i = 0; i < reports.size(); ++i) {
    out += i ? ",\n  " : "\n  ";
    put_report(out, reports[i], 1);
  }
  out += "\n]\n";
  return out;
}

// --- nlohmann values, for the SARIF writer ------------------------------------

Json json_string(const std::string &s) {
  return Json(valid_utf8(s));
}

Json json_address(uint64_t value) {
  return Json(hex(value));
}

Json target_json(const TargetInfo &t) {
  Json j = Json::object();
  j["executable"] = t.executable ? json_string(*t.executable) : Json(nullptr);
  j["core"] = t.core ? json_string(*t.core) : Json(nullptr);
  j["pid"] = t.pid ? Json(*t.pid) : Json(nullptr);
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

std::string dump_json(const Json &value) {
  return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace render

std::string render_json(const Report &report) {
  return render::guarded([&] { return render::write_json(report); });
}

std::string render_json_array(const std::vector<Report> &reports) {
  return render::guarded([&] { return render::write_json_array(reports); });
}

} // namespace frameaudit
