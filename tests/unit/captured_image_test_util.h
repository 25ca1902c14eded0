// captured_image_test_util.h: a frameaudit::Target replaying a memory image
// that capture_image.py took from a real fixture under LLDB (schema
// "frameaudit-image/1"): regions, threads and their registers, stack and code
// bytes, a symbol table and the executable's line table. Symbolization
// follows docs/design/gathering.md: the innermost symbol holding the pc, the
// line-table entry holding it.
#pragma once

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frameaudit/target.h"

namespace fa_test {

class CapturedImage : public frameaudit::Target {
public:
  /// Load an image; returns false (with `error`) if the file is unusable.
  bool load(const std::string &path, std::string &error) {
    std::ifstream in(path);
    if (!in) {
      error = "cannot open " + path;
      return false;
    }
    nlohmann::json doc;
    try {
      in >> doc;
    } catch (const std::exception &e) {
      error = path + ": " + e.what();
      return false;
    }
    if (doc.value("schema", "") != "frameaudit-image/1") {
      error = path + ": not a frameaudit-image/1 document";
      return false;
    }
    const auto &info = doc["info"];
    if (!info["executable"].is_null())
      info_.executable = info["executable"].get<std::string>();
    if (!info["pid"].is_null())
      info_.pid = info["pid"].get<int64_t>();
    info_.arch = info.value("arch", "x86_64");
    for (const auto &r : doc["regions"]) {
      frameaudit::MemoryRegion m;
      m.start = r["start"];
      m.end = r["end"];
      m.readable = r["r"];
      m.writable = r["w"];
      m.executable = r["x"];
      if (!r["is_stack"].is_null())
        m.is_stack = r["is_stack"].get<bool>();
      m.name = r["name"];
      regions_.push_back(m);
    }
    for (const auto &t : doc["threads"]) {
      frameaudit::ThreadInfo ti;
      ti.tid = t["tid"];
      ti.index = t["index"];
      if (!t["name"].is_null())
        ti.name = t["name"].get<std::string>();
      ti.registers.rip = t["registers"]["rip"];
      ti.registers.rsp = t["registers"]["rsp"];
      ti.registers.rbp = t["registers"]["rbp"];
      for (const auto &g : t["registers"]["general"])
        ti.registers.general.emplace_back(g[0].get<std::string>(), g[1].get<uint64_t>());
      std::vector<frameaudit::DebuggerFrame> frames;
      for (const auto &f : t["debugger_frames"]) {
        // Inlined frames too, as the gathering rules hand them to the core.
        frameaudit::DebuggerFrame d;
        d.pc = f["pc"];
        if (!f["cfa"].is_null())
          d.cfa = f["cfa"].get<uint64_t>();
        if (!f["sp"].is_null())
          d.sp = f["sp"].get<uint64_t>();
        if (!f["fp"].is_null())
          d.fp = f["fp"].get<uint64_t>();
        frames.push_back(d);
      }
      ti.debugger_frames = std::move(frames);
      ti.stop_reason = t["stop_reason"];
      ti.is_selected = t["is_selected"];
      threads_.push_back(ti);
    }
    for (const auto &m : doc["memory"]) {
      Chunk c;
      c.address = m["address"];
      const std::string hex = m["hex"];
      c.bytes.resize(hex.size() / 2);
      for (size_t i = 0; i < c.bytes.size(); ++i)
        c.bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
      chunks_.push_back(std::move(c));
    }
    std::sort(chunks_.begin(), chunks_.end(), [](const Chunk &a, const Chunk &b) { return a.address < b.address; });
    for (const auto &f : doc["functions"])
      functions_.push_back({f["start"], f["end"], f["name"], f["module"]});
    for (const auto &l : doc["lines"])
      lines_.push_back({l["start"], l["end"], l["line"], l["file"]});
    for (const auto &e : doc["allocator_entries"])
      entries_.push_back(e);
    return true;
  }

  frameaudit::TargetInfo info() override { return info_; }

  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override {
    size_t n = 0;
    while (n < buf.size()) {
      const uint64_t a = addr + n;
      auto it = std::upper_bound(chunks_.begin(), chunks_.end(), a,
                                 [](uint64_t x, const Chunk &c) { return x < c.address; });
      if (it == chunks_.begin())
        break;
      --it;
      if (a >= it->address + it->bytes.size())
        break;
      const size_t k = std::min<size_t>(buf.size() - n, it->address + it->bytes.size() - a);
      std::memcpy(buf.data() + n, &it->bytes[a - it->address], k);
      n += k;
    }
    return n;
  }

  std::vector<frameaudit::MemoryRegion> memory_regions() override { return regions_; }
  std::vector<frameaudit::ThreadInfo> threads() override { return threads_; }
  std::vector<uint64_t> allocator_entries() override { return entries_; }

  frameaudit::Symbol symbolize(uint64_t pc) override {
    frameaudit::Symbol s;
    // The innermost (latest-starting) symbol holding pc.
    const Function *best = nullptr;
    for (const Function &f : functions_) {
      if (f.start > pc)
        break;
      if (pc < f.end && (!best || f.start >= best->start))
        best = &f;
    }
    if (best) {
      s.function = best->name;
      s.function_start = best->start;
      s.function_end = best->end;
      s.module = best->module;
    }
    const Line *line = nullptr;
    for (const Line &l : lines_) {
      if (l.start > pc)
        break;
      if (pc < l.end)
        line = &l;
    }
    if (line) {
      s.file = line->file;
      s.line = line->line;
    }
    return s;
  }

private:
  struct Chunk {
    uint64_t address = 0;
    std::vector<uint8_t> bytes;
  };
  struct Function {
    uint64_t start, end;
    std::string name, module;
  };
  struct Line {
    uint64_t start, end;
    uint32_t line;
    std::string file;
  };
  frameaudit::TargetInfo info_;
  std::vector<frameaudit::MemoryRegion> regions_;
  std::vector<frameaudit::ThreadInfo> threads_;
  std::vector<Chunk> chunks_;
  std::vector<Function> functions_;
  std::vector<Line> lines_;
  std::vector<uint64_t> entries_;
};

} // namespace fa_test
