// target_types.cpp: the plain values a Python Target hands the core:
// MemoryRegion, Registers, DebuggerFrame, ThreadInfo, Symbol, TargetInfo.
// Dataclass-like: keyword constructors, read/write fields, ==, repr.
#include <pybind11/stl.h>

#include <algorithm>
#include <sstream>

#include "bindings.h"
#include "frameaudit/target.h"
#include "frameaudit/hex.h"

namespace frameaudit::python {

namespace {

// repr of a field value, the way Python would print it.
template <class T> std::string field_repr(const T &value) {
  return std::string(py::repr(py::cast(value)));
}

bool same(const MemoryRegion &a, const MemoryRegion &b) {
  return a.start == b.start && a.end == b.end && a.readable == b.readable &&
         a.writable == b.writable && a.executable == b.executable && a.is_stack == b.is_stack &&
         a.name == b.name;
}
bool same(const Registers &a, const Registers &b) {
  return a.rip == b.rip && a.rsp == b.rsp && a.rbp == b.rbp && a.general == b.general;
}
bool same(const DebuggerFrame &a, const DebuggerFrame &b) {
  return a.pc == b.pc && a.cfa == b.cfa && a.sp == b.sp && a.fp == b.fp;
}
bool same_frames(const std::optional<std::vector<DebuggerFrame>> &a,
                 const std::optional<std::vector<DebuggerFrame>> &b) {
  if (a.has_value() != b.has_value())
    return false;
  if (!a)
    return true;
  return std::equal(a->begin(), a->end(), b->begin(), b->end(),
                    [](const DebuggerFrame &x, const DebuggerFrame &y) { return same(x, y); });
}
bool same(const ThreadInfo &a, const ThreadInfo &b) {
  return a.tid == b.tid && a.index == b.index && a.name == b.name &&
         same(a.registers, b.registers) && same_frames(a.debugger_frames, b.debugger_frames) &&
         a.stop_reason == b.stop_reason && a.is_selected == b.is_selected;
}
bool same(const Symbol &a, const Symbol &b) {
  return a.module == b.module && a.function == b.function &&
         a.function_start == b.function_start && a.function_end == b.function_end &&
         a.inlined == b.inlined && a.file == b.file && a.line == b.line;
}
bool same(const TargetInfo &a, const TargetInfo &b) {
  return a.executable == b.executable && a.core == b.core && a.pid == b.pid && a.arch == b.arch;
}

using frameaudit::hex;

std::string hex(const std::optional<uint64_t> &v) { return v ? hex(*v) : "None"; }

} // namespace

void bind_target_types(py::module_ &m) {
  py::class_<MemoryRegion>(m, "MemoryRegion",
                           "One mapping of the target's address space: [start, end).")
      .def(py::init([](uint64_t start, uint64_t end, bool readable, bool writable,
                       bool executable, std::optional<bool> is_stack, std::string name) {
             return MemoryRegion{start, end, readable, writable, executable, is_stack,
                                 std::move(name)};
           }),
           py::arg("start"), py::arg("end"), py::arg("readable") = false,
           py::arg("writable") = false, py::arg("executable") = false,
           py::arg("is_stack") = py::none(), py::arg("name") = "")
      .def_readwrite("start", &MemoryRegion::start)
      .def_readwrite("end", &MemoryRegion::end)
      .def_readwrite("readable", &MemoryRegion::readable)
      .def_readwrite("writable", &MemoryRegion::writable)
      .def_readwrite("executable", &MemoryRegion::executable)
      .def_readwrite("is_stack", &MemoryRegion::is_stack,
                     "True/False when the debugger knows whether this is a thread stack, "
                     "else None.")
      .def_readwrite("name", &MemoryRegion::name)
      .def("__eq__", [](const MemoryRegion &a, const MemoryRegion &b) { return same(a, b); })
      .def("__repr__", [](const MemoryRegion &r) {
        std::string perms = std::string(r.readable ? "r" : "-") + (r.writable ? "w" : "-") +
                            (r.executable ? "x" : "-");
        return "MemoryRegion(" + hex(r.start) + "-" + hex(r.end) + " " + perms +
               ", is_stack=" + field_repr(r.is_stack) + ", name=" + field_repr(r.name) + ")";
      });

  py::class_<Registers>(m, "Registers", "Register values of a thread's innermost frame.")
      .def(py::init([](uint64_t rip, uint64_t rsp, uint64_t rbp,
                       std::vector<std::pair<std::string, uint64_t>> general) {
             return Registers{rip, rsp, rbp, std::move(general)};
           }),
           py::arg("rip") = 0, py::arg("rsp") = 0, py::arg("rbp") = 0,
           py::arg("general") = std::vector<std::pair<std::string, uint64_t>>{})
      .def_readwrite("rip", &Registers::rip)
      .def_readwrite("rsp", &Registers::rsp)
      .def_readwrite("rbp", &Registers::rbp)
      .def_readwrite("general", &Registers::general,
                     "Other general-purpose registers as (name, value) pairs, in a stable "
                     "order (rax, rbx, rcx, rdx, rsi, rdi, r8..r15).")
      .def("__eq__", [](const Registers &a, const Registers &b) { return same(a, b); })
      .def("__repr__", [](const Registers &r) {
        return "Registers(rip=" + hex(r.rip) + ", rsp=" + hex(r.rsp) + ", rbp=" + hex(r.rbp) +
               ", general=<" + std::to_string(r.general.size()) + " registers>)";
      });

  py::class_<DebuggerFrame>(m, "DebuggerFrame",
                            "A frame as the debugger's own unwinder sees it.")
      .def(py::init([](uint64_t pc, std::optional<uint64_t> cfa, std::optional<uint64_t> sp,
                       std::optional<uint64_t> fp) { return DebuggerFrame{pc, cfa, sp, fp}; }),
           py::arg("pc"), py::arg("cfa") = py::none(), py::arg("sp") = py::none(),
           py::arg("fp") = py::none())
      .def_readwrite("pc", &DebuggerFrame::pc)
      .def_readwrite("cfa", &DebuggerFrame::cfa)
      .def_readwrite("sp", &DebuggerFrame::sp)
      .def_readwrite("fp", &DebuggerFrame::fp)
      .def("__eq__", [](const DebuggerFrame &a, const DebuggerFrame &b) { return same(a, b); })
      .def("__repr__", [](const DebuggerFrame &f) {
        return "DebuggerFrame(pc=" + hex(f.pc) + ", cfa=" + hex(f.cfa) + ", sp=" + hex(f.sp) +
               ", fp=" + hex(f.fp) + ")";
      });

  py::class_<ThreadInfo>(m, "ThreadInfo", "One thread to audit.")
      .def(py::init([](uint64_t tid, uint32_t index, std::optional<std::string> name,
                       Registers registers,
                       std::optional<std::vector<DebuggerFrame>> debugger_frames,
                       std::string stop_reason, bool is_selected) {
             return ThreadInfo{tid,
                               index,
                               std::move(name),
                               std::move(registers),
                               std::move(debugger_frames),
                               std::move(stop_reason),
                               is_selected};
           }),
           py::arg("tid"), py::arg("index"), py::arg("name") = py::none(),
           py::arg("registers") = Registers{}, py::arg("debugger_frames") = py::none(),
           py::arg("stop_reason") = "", py::arg("is_selected") = false)
      .def_readwrite("tid", &ThreadInfo::tid)
      .def_readwrite("index", &ThreadInfo::index, "The debugger's 1-based thread index.")
      .def_readwrite("name", &ThreadInfo::name)
      .def_readwrite("registers", &ThreadInfo::registers)
      .def_readwrite("debugger_frames", &ThreadInfo::debugger_frames,
                     "The debugger's frames, innermost first, or None (no unwinder-mismatch "
                     "check).")
      .def_readwrite("stop_reason", &ThreadInfo::stop_reason)
      .def_readwrite("is_selected", &ThreadInfo::is_selected)
      .def("__eq__", [](const ThreadInfo &a, const ThreadInfo &b) { return same(a, b); })
      .def("__repr__", [](const ThreadInfo &t) {
        return "ThreadInfo(tid=" + std::to_string(t.tid) + ", index=" + std::to_string(t.index) +
               ", name=" + field_repr(t.name) + ", rip=" + hex(t.registers.rip) +
               ", stop_reason=" + field_repr(t.stop_reason) +
               ", is_selected=" + (t.is_selected ? "True" : "False") + ")";
      });

  py::class_<Symbol>(m, "Symbol", "What the debugger knows about a code address.")
      .def(py::init([](std::optional<std::string> module, std::optional<std::string> function,
                       std::optional<uint64_t> function_start,
                       std::optional<uint64_t> function_end, std::vector<std::string> inlined,
                       std::optional<std::string> file, std::optional<uint32_t> line) {
             return Symbol{std::move(module), std::move(function), function_start, function_end,
                           std::move(inlined),  std::move(file),     line};
           }),
           py::arg("module") = py::none(), py::arg("function") = py::none(),
           py::arg("function_start") = py::none(), py::arg("function_end") = py::none(),
           py::arg("inlined") = std::vector<std::string>{}, py::arg("file") = py::none(),
           py::arg("line") = py::none())
      .def_readwrite("module", &Symbol::module)
      .def_readwrite("function", &Symbol::function,
                     "The out-of-line function (the core strips any argument list).")
      .def_readwrite("function_start", &Symbol::function_start)
      .def_readwrite("function_end", &Symbol::function_end)
      .def_readwrite("inlined", &Symbol::inlined,
                     "Functions inlined at this pc, innermost first.")
      .def_readwrite("file", &Symbol::file)
      .def_readwrite("line", &Symbol::line)
      .def("__eq__", [](const Symbol &a, const Symbol &b) { return same(a, b); })
      .def("__repr__", [](const Symbol &s) {
        return "Symbol(module=" + field_repr(s.module) + ", function=" + field_repr(s.function) +
               ", function_start=" + hex(s.function_start) + ", function_end=" +
               hex(s.function_end) + ", inlined=" + field_repr(s.inlined) +
               ", file=" + field_repr(s.file) + ", line=" + field_repr(s.line) + ")";
      });

  py::class_<TargetInfo>(m, "TargetInfo", "Static facts about the target.")
      .def(py::init([](std::optional<std::string> executable, std::optional<std::string> core,
                       std::optional<int64_t> pid, std::string arch) {
             return TargetInfo{std::move(executable), std::move(core), pid, std::move(arch)};
           }),
           py::arg("executable") = py::none(), py::arg("core") = py::none(),
           py::arg("pid") = py::none(), py::arg("arch") = "x86_64")
      .def_readwrite("executable", &TargetInfo::executable)
      .def_readwrite("core", &TargetInfo::core)
      .def_readwrite("pid", &TargetInfo::pid)
      .def_readwrite("arch", &TargetInfo::arch,
                     "The debugger's triple arch; the core rejects anything but x86_64.")
      .def("__eq__", [](const TargetInfo &a, const TargetInfo &b) { return same(a, b); })
      .def("__repr__", [](const TargetInfo &t) {
        return "TargetInfo(executable=" + field_repr(t.executable) + ", core=" +
               field_repr(t.core) + ", pid=" + field_repr(t.pid) + ", arch=" + field_repr(t.arch) +
               ")";
      });
}

} // namespace frameaudit::python
