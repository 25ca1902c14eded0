// report_types.cpp: the analysis result as read-only Python objects
// (Report, ThreadReport, Frame, Region, Finding, ...) and lint results.
// Enums read as their contract spellings ("relocated", "live", "error"), the
// same strings the JSON document uses. Lists of sub-objects are views into
// the report (they keep it alive), not copies.
#include <pybind11/stl.h>

#include <sstream>

#include "bindings.h"
#include "frameaudit/lint.h"
#include "frameaudit/report.h"
#include "frameaudit/hex.h"

namespace frameaudit::python {

namespace {

// A property returning [owner.member[i] ...] as references kept alive by owner.
template <class Owner, class Elem> auto ref_list(std::vector<Elem> Owner::*member) {
  return [member](py::object self) {
    Owner &owner = self.cast<Owner &>();
    py::list out;
    for (Elem &e : owner.*member)
      out.append(py::cast(&e, py::return_value_policy::reference_internal, self));
    return out;
  };
}

// A property returning an interned Name as str or None.
template <class Owner> auto name_of(Name Owner::*member) {
  return [member](const Owner &owner) { return (owner.*member).optional(); };
}

// A link check as Python keeps it: its own strings, not views into the link.
struct OwnedCheck {
  std::string name;
  bool passed = false;
  std::string detail;
};

// A property returning to_string(owner.member).
template <class Owner, class Enum> auto enum_name(Enum Owner::*member) {
  return [member](const Owner &owner) { return std::string(to_string(owner.*member)); };
}

using frameaudit::hex;

std::string opt_str(const std::optional<std::string> &s) { return s ? "'" + *s + "'" : "None"; }

} // namespace

void bind_report(py::module_ &m) {
  py::class_<OwnedCheck>(m, "LinkCheck", "One check made on one link of the RBP chain.")
      .def_readonly("name", &OwnedCheck::name)
      .def_readonly("passed", &OwnedCheck::passed)
      .def_readonly("detail", &OwnedCheck::detail)
      .def("__repr__", [](const OwnedCheck &c) {
        return "LinkCheck(" + c.name + ", passed=" + (c.passed ? "True" : "False") + ")";
      });

  py::class_<ChainLink>(m, "ChainLink",
                        "One link of the raw RBP chain: the [saved rbp][return address] pair "
                        "at `address`.")
      .def_readonly("address", &ChainLink::address)
      .def_readonly("saved_rbp", &ChainLink::saved_rbp)
      .def_readonly("return_address", &ChainLink::return_address)
      .def_readonly("call_target", &ChainLink::call_target)
      .def_property_readonly("checks",
                             [](const ChainLink &l) {
                               std::vector<OwnedCheck> out;
                               for (const LinkCheck &c : l.checks)
                                 out.push_back({std::string(c.name), c.passed, std::string(c.detail)});
                               return out;
                             })
      .def("__repr__", [](const ChainLink &l) {
        return "ChainLink(address=" + hex(l.address) + ", saved_rbp=" + hex(l.saved_rbp) +
               ", return_address=" + hex(l.return_address) + ")";
      });

  py::class_<FrameVariable>(m, "FrameVariable",
                            "A debug-info variable in scope at a frame's pc and where it lives.")
      .def_readonly("name", &FrameVariable::name)
      .def_readonly("type", &FrameVariable::type, "C spelling of its type")
      .def_readonly("size", &FrameVariable::size)
      .def_readonly("parameter", &FrameVariable::parameter)
      .def_readonly("pointer", &FrameVariable::pointer)
      .def_property_readonly("where",
                             [](const FrameVariable &v) {
                               switch (v.where) {
                               case FrameVariable::Where::Memory: return "memory";
                               case FrameVariable::Where::Register: return "register";
                               case FrameVariable::Where::Value: return "value";
                               case FrameVariable::Where::Unavailable: break;
                               }
                               return "unavailable";
                             },
                             "memory, register, value or unavailable")
      .def_readonly("address", &FrameVariable::address, "where it lives (memory)")
      .def_readonly("reg", &FrameVariable::reg, "the register holding it (register)")
      .def_readonly("value", &FrameVariable::value,
                    "its value (register, value), or a pointer's value read from memory")
      .def_readonly("why", &FrameVariable::why, "why it is unavailable")
      .def("__repr__", [](const FrameVariable &v) {
        return "FrameVariable(" + v.type + " " + v.name + ")";
      });

  py::class_<Frame>(m, "Frame", "A physical frame of the RBP walk (innermost is index 0).")
      .def_readonly("index", &Frame::index)
      .def_readonly("pc", &Frame::pc)
      .def_readonly("cfa", &Frame::cfa)
      .def_readonly("rsp", &Frame::rsp)
      .def_readonly("rbp", &Frame::rbp)
      .def_property_readonly("function", name_of(&Frame::function))
      .def_property_readonly("inlined",
                             [](const Frame &f) {
                               std::vector<std::string> out;
                               for (const Name &n : f.inlined)
                                 out.push_back(n.value_or(""));
                               return out;
                             })
      .def_property_readonly("module", name_of(&Frame::module))
      .def_property_readonly("file", name_of(&Frame::file))
      .def_readonly("line", &Frame::line)
      .def_readonly("static_size", &Frame::static_size)
      .def_readonly("span", &Frame::span)
      .def_readonly("dynamic_bytes", &Frame::dynamic_bytes)
      .def_property_readonly("kind", enum_name(&Frame::kind),
                             "normal, dynamic, relocated, allocator or unknown")
      .def_readonly("regions", &Frame::regions, "Ids of the regions allocated in this frame.")
      .def_readonly("function_start", &Frame::function_start)
      .def_readonly("saved_rbp_slot", &Frame::saved_rbp_slot)
      .def_property_readonly("note", [](const Frame &f) { return f.note.value_or(""); })
      .def_property_readonly(
          "variables",
          [](const Frame &f) {
            return f.details ? f.details->variables : std::vector<FrameVariable>{};
          },
          "Debug-info variables in scope (analyze(frame_variables=True) only).")
      .def_property_readonly(
          "registers",
          [](const Frame &f) {
            return f.details ? f.details->registers
                             : std::vector<std::pair<std::string, uint64_t>>{};
          },
          "(name, value) of the registers the walk recovered (frame_variables=True only).")
      .def("__repr__", [](const Frame &f) {
        return "Frame(#" + std::to_string(f.index) + " " + hex(f.pc) + " " +
               opt_str(f.function) + ", kind=" + to_string(f.kind) + ")";
      });

  py::class_<CallSite>(m, "CallSite", "Where an allocation was requested.")
      .def_readonly("pc", &CallSite::pc, "Return address of the sra_alloc call.")
      .def_readonly("function", &CallSite::function)
      .def_readonly("file", &CallSite::file)
      .def_readonly("line", &CallSite::line)
      .def("__repr__", [](const CallSite &c) {
        return "CallSite(" + hex(c.pc) + " " + opt_str(c.function) + ":" +
               (c.line ? std::to_string(*c.line) : "None") + ")";
      });

  py::class_<Region>(m, "Region", "A stack block the allocator handed out.")
      .def_readonly("id", &Region::id)
      .def_readonly("base", &Region::base)
      .def_readonly("size", &Region::size)
      .def_readonly("reserved", &Region::reserved)
      .def_readonly("frame", &Region::frame)
      .def_readonly("function", &Region::function)
      .def_readonly("call_site", &Region::call_site)
      .def_property_readonly("state", enum_name(&Region::state), "live, dead or corrupt")
      .def_property_readonly("evidence", enum_name(&Region::evidence), "header, stub or span")
      .def_readonly("sequence", &Region::sequence)
      .def("__repr__", [](const Region &r) {
        return "Region(" + r.id + " base=" + hex(r.base) + " size=" + std::to_string(r.size) +
               " " + to_string(r.state) + ")";
      });

  py::class_<StackRange>(m, "StackRange", "A thread's stack: [low, high).")
      .def_readonly("low", &StackRange::low)
      .def_readonly("high", &StackRange::high)
      .def("__repr__", [](const StackRange &s) {
        return "StackRange(" + hex(s.low) + "-" + hex(s.high) + ")";
      });

  py::class_<ThreadReport>(m, "ThreadReport", "One audited thread.")
      .def_readonly("tid", &ThreadReport::tid)
      .def_readonly("index", &ThreadReport::index)
      .def_readonly("name", &ThreadReport::name)
      .def_readonly("stack", &ThreadReport::stack)
      .def_readonly("registers", &ThreadReport::registers)
      .def_property_readonly("frames", ref_list(&ThreadReport::frames))
      .def_property_readonly("chain_end", enum_name(&ThreadReport::chain_end))
      .def_readonly("chain_end_detail", &ThreadReport::chain_end_detail)
      .def_property_readonly("regions", ref_list(&ThreadReport::regions))
      .def_property_readonly("links", ref_list(&ThreadReport::links))
      .def_readonly("stop_reason", &ThreadReport::stop_reason)
      .def_readonly("is_selected", &ThreadReport::is_selected)
      .def("__repr__", [](const ThreadReport &t) {
        return "ThreadReport(index=" + std::to_string(t.index) + ", tid=" +
               std::to_string(t.tid) + ", frames=" + std::to_string(t.frames.size()) +
               ", regions=" + std::to_string(t.regions.size()) +
               ", chain_end=" + to_string(t.chain_end) + ")";
      });

  py::class_<Finding>(m, "Finding", "One problem (or note) the analysis found.")
      .def_readonly("kind", &Finding::kind)
      .def_property_readonly("severity", enum_name(&Finding::severity), "error, warning or note")
      .def_readonly("thread", &Finding::thread)
      .def_readonly("frame", &Finding::frame)
      .def_readonly("region", &Finding::region)
      .def_readonly("function", &Finding::function)
      .def_readonly("address", &Finding::address)
      .def_readonly("file", &Finding::file)
      .def_readonly("line", &Finding::line)
      .def_readonly("message", &Finding::message)
      .def("__repr__", [](const Finding &f) {
        return "Finding(" + f.kind + ", " + to_string(f.severity) + ": " + f.message + ")";
      });

  py::class_<Summary>(m, "Summary")
      .def_readonly("threads", &Summary::threads)
      .def_readonly("frames", &Summary::frames)
      .def_readonly("regions", &Summary::regions)
      .def_readonly("errors", &Summary::errors)
      .def_readonly("warnings", &Summary::warnings)
      .def_readonly("notes", &Summary::notes)
      .def("__repr__", [](const Summary &s) {
        return "Summary(threads=" + std::to_string(s.threads) + ", frames=" +
               std::to_string(s.frames) + ", regions=" + std::to_string(s.regions) +
               ", errors=" + std::to_string(s.errors) + ", warnings=" +
               std::to_string(s.warnings) + ", notes=" + std::to_string(s.notes) + ")";
      });

  py::class_<Report>(m, "Report", "The analysis result; render it with the render_* functions.")
      .def_readonly("tool_version", &Report::tool_version)
      .def_readonly("target", &Report::target)
      .def_property_readonly("threads", ref_list(&Report::threads))
      .def_property_readonly("findings", ref_list(&Report::findings))
      .def_readonly("summary", &Report::summary)
      .def("__repr__", [](const Report &r) {
        return "Report(threads=" + std::to_string(r.threads.size()) +
               ", findings=" + std::to_string(r.findings.size()) + ")";
      });

  py::class_<FindingKindInfo>(m, "FindingKindInfo", "A finding kind frameaudit emits.")
      .def_property_readonly("kind", [](const FindingKindInfo &k) { return std::string(k.kind); })
      .def_property_readonly("default_severity", enum_name(&FindingKindInfo::default_severity))
      .def_property_readonly("summary",
                             [](const FindingKindInfo &k) { return std::string(k.summary); })
      .def_property_readonly("help", [](const FindingKindInfo &k) { return std::string(k.help); })
      .def("__repr__", [](const FindingKindInfo &k) {
        return std::string("FindingKindInfo(") + k.kind + ")";
      });
}

void bind_lint_types(py::module_ &m) {
  py::class_<LintCallSite>(m, "LintCallSite", "One call of sra_alloc found by lint.")
      .def_readonly("address", &LintCallSite::address)
      .def_readonly("function", &LintCallSite::function)
      .def_readonly("function_start", &LintCallSite::function_start)
      .def_readonly("safe", &LintCallSite::safe)
      .def_readonly("reason", &LintCallSite::reason)
      .def_readonly("file", &LintCallSite::file)
      .def_readonly("line", &LintCallSite::line)
      .def_readonly("judged", &LintCallSite::judged)
      .def("__repr__", [](const LintCallSite &c) {
        return "LintCallSite(" + hex(c.address) + " " + opt_str(c.function) +
               (c.safe ? ", safe)" : ", unsafe)");
      });

  py::class_<LintResult>(m, "LintResult", "Lint of one module.")
      .def_readonly("module", &LintResult::module)
      .def_readonly("code_bytes", &LintResult::code_bytes)
      .def_property_readonly("call_sites", ref_list(&LintResult::call_sites))
      .def_property_readonly("findings", ref_list(&LintResult::findings))
      .def("__repr__", [](const LintResult &r) {
        return "LintResult(" + r.module + ", call_sites=" + std::to_string(r.call_sites.size()) +
               ", findings=" + std::to_string(r.findings.size()) + ")";
      });
}

} // namespace frameaudit::python
