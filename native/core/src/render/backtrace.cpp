// backtrace.cpp: `fa bt`, frameaudit's frames in the layout of LLDB's `bt`
// (`* thread #1, ...` then `  * frame #0: 0x... module`function at file:line`),
// each marked where frameaudit's walk differs from LLDB's unwind and where
// the allocator touched the frame. The frame provider shows the same frames
// inside LLDB's own `bt`.
#include <cinttypes>
#include <cstdio>
#include <set>

#include "frameaudit/names.h"
#include "frameaudit/render.h"

namespace frameaudit {
namespace {

std::string pc_text(uint64_t pc) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, pc);
  return buf;
}

} // namespace

std::string frame_annotation(const Frame &frame, bool repaired) {
  std::string s;
  auto add = [&](const std::string &text) {
    s += s.empty() ? "[" : ", ";
    s += text;
  };
  if (repaired)
    add("repaired");
  switch (frame.kind) {
  case FrameKind::Relocated:
    add("sra: relocated" +
        (frame.dynamic_bytes ? ", " + std::to_string(*frame.dynamic_bytes) + " bytes" : ""));
    break;
  case FrameKind::Allocator:
    add("sra: allocator");
    break;
  case FrameKind::Dynamic:
    add("dynamic" +
        (frame.dynamic_bytes ? ", " + std::to_string(*frame.dynamic_bytes) + " bytes" : ""));
    break;
  case FrameKind::Unknown:
    add("unknown frame");
    break;
  case FrameKind::Normal:
    break;
  }
  if (!frame.regions.empty())
    add(std::to_string(frame.regions.size()) +
        (frame.regions.size() == 1 ? " sra block" : " sra blocks"));
  if (!s.empty())
    s += "]";
  return s;
}

std::set<std::pair<uint32_t, uint32_t>> differing_frames(const Report &report) {
  std::set<std::pair<uint32_t, uint32_t>> out;
  for (const auto &f : report.findings)
    if (f.kind == finding_kind::kUnwinderMismatch && f.thread && f.frame)
      out.insert({*f.thread, *f.frame});
  return out;
}

std::string render_backtrace(const Report &report) {
  std::string out;
  auto differ = differing_frames(report);
  for (const auto &thread : report.threads) {
    out += thread.is_selected ? "* " : "  ";
    out += "thread #" + std::to_string(thread.index);
    if (thread.name)
      out += ", name = '" + *thread.name + "'";
    if (!thread.stop_reason.empty())
      out += ", stop reason = " + thread.stop_reason;
    out += "\n";
    for (const auto &frame : thread.frames) {
      out += frame.index == 0 ? "  * " : "    ";
      out += "frame #" + std::to_string(frame.index) + ": " + pc_text(frame.pc);
      if (frame.module || frame.function) {
        out += " ";
        if (frame.module)
          out += std::string(basename(*frame.module)) + "`";
        out += frame.function ? *frame.function : "???";
      }
      if (frame.file) {
        out += " at " + std::string(basename(*frame.file));
        if (frame.line)
          out += ":" + std::to_string(*frame.line);
      }
      std::string note = frame_annotation(frame, differ.count({thread.index, frame.index}) > 0);
      if (!note.empty())
        out += " " + note;
      out += "\n";
    }
    if (thread.chain_end != ChainEnd::Outermost && !thread.chain_end_detail.empty())
      out += "    (walk stopped: " + thread.chain_end_detail + ")\n";
  }
  return out;
}

} // namespace frameaudit
