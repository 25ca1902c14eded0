// commands.cpp: frameaudit._core.commands, the `frameaudit` debugger command
// shared with the native plugin (frameaudit/commands.h): the command table
// and help texts, the option parser, the dispatcher and the fixed error
// sentences. The Python front-end only gathers a Target and prints.
#include <pybind11/stl.h>

#include "bindings.h"
#include "frameaudit/commands.h"
#include "py_target.h"

namespace frameaudit::python {

namespace {

namespace fc = frameaudit::commands;

fc::Subcommand subcommand_named(const std::string &name) {
  if (const fc::SubcommandInfo *info = fc::find_subcommand(name))
    return info->id;
  raise_error(make_error(Error::Code::InvalidArgument, "no frameaudit subcommand '" + name + "'."));
}

std::string subcommand_name(fc::Subcommand id) {
  return fc::subcommand_info(id).name;
}

fc::DebuggeeState state_named(const std::string &name) {
  if (name == "none")
    return fc::DebuggeeState::None;
  if (name == "running")
    return fc::DebuggeeState::Running;
  if (name == "stopped")
    return fc::DebuggeeState::Stopped;
  if (name == "exited")
    return fc::DebuggeeState::Exited;
  raise_error(
      make_error(Error::Code::InvalidArgument,
                 "debuggee state must be none, running, stopped or exited, not '" + name + "'."));
}

// Run a core command on a Python Target: GIL released, the Target's
// callback exceptions re-raised afterwards, core errors raised.
// A Python progress(done, total) as a core ProgressCallback: called from any
// thread, the GIL taken for the call, a raising callback ignored.
struct PyProgress {
  std::optional<py::function> fn;
  fc::ProgressCallback callback() {
    if (!fn)
      return {};
    return [this](size_t done, size_t total) {
      py::gil_scoped_acquire gil;
      try {
        (*fn)(done, total);
      } catch (py::error_already_set &e) {
        e.discard_as_unraisable("frameaudit progress callback");
      }
    };
  }
};

template <class F> std::string run_on(Target &target, F &&body) {
  auto *py_target = dynamic_cast<PyTarget *>(&target);
  if (py_target)
    py_target->begin_call();
  std::optional<Result<std::string>> result;
  {
    py::gil_scoped_release release;
    result.emplace(body());
  }
  if (py_target)
    py_target->end_call();
  return unwrap(std::move(*result));
}

} // namespace

void bind_commands(py::module_ &parent) {
  py::module_ m = parent.def_submodule(
      "commands", "The `frameaudit` debugger command, shared by the native plugin and the Python "
                  "commands: names, help, option parsing, dispatch, error sentences.");
  m.attr("COMMAND_NAME") = fc::kCommandName;
  m.attr("ALIAS_NAME") = fc::kAliasName;

  py::class_<fc::OptionInfo>(m, "OptionInfo", "One option of a subcommand.")
      .def_property_readonly("short_name",
                             [](const fc::OptionInfo &o) -> std::optional<std::string> {
                               if (!o.short_name)
                                 return std::nullopt;
                               return std::string(1, o.short_name);
                             })
      .def_property_readonly("long_name",
                             [](const fc::OptionInfo &o) { return std::string(o.long_name); })
      .def_property_readonly("argument",
                             [](const fc::OptionInfo &o) -> std::optional<std::string> {
                               if (!o.argument)
                                 return std::nullopt;
                               return std::string(o.argument);
                             })
      .def_property_readonly("help", [](const fc::OptionInfo &o) { return std::string(o.help); })
      .def_readonly("repeatable", &fc::OptionInfo::repeatable)
      .def("__repr__", [](const fc::OptionInfo &o) {
        return std::string("OptionInfo(--") + o.long_name + ")";
      });

  py::class_<fc::SubcommandInfo>(m, "SubcommandInfo", "One subcommand of `frameaudit`.")
      .def_property_readonly("name",
                             [](const fc::SubcommandInfo &s) { return std::string(s.name); })
      .def_property_readonly("help",
                             [](const fc::SubcommandInfo &s) { return std::string(s.help); })
      .def_readonly("syntax", &fc::SubcommandInfo::syntax)
      .def_readonly("long_help", &fc::SubcommandInfo::long_help)
      .def_readonly("options", &fc::SubcommandInfo::options)
      .def("__repr__", [](const fc::SubcommandInfo &s) {
        return std::string("SubcommandInfo(") + s.name + ")";
      });

  py::class_<fc::CommandOptions>(m, "CommandOptions", "A parsed command line.")
      .def_property_readonly(
          "subcommand", [](const fc::CommandOptions &o) { return subcommand_name(o.subcommand); })
      .def_readonly("threads", &fc::CommandOptions::threads)
      .def_readonly("all_threads", &fc::CommandOptions::all_threads)
      .def_property_readonly("format",
                             [](const fc::CommandOptions &o) {
                               return o.format == fc::OutputFormat::Json ? "json" : "text";
                             })
      .def_readonly("max_depth", &fc::CommandOptions::max_depth)
      .def_readonly("ascii", &fc::CommandOptions::ascii)
      .def_readonly("svg", &fc::CommandOptions::svg)
      .def_readonly("provider_on", &fc::CommandOptions::provider_on)
      .def_readonly("module", &fc::CommandOptions::module)
      .def_readonly("help", &fc::CommandOptions::help)
      .def("__repr__", [](const fc::CommandOptions &o) {
        return "CommandOptions(" + subcommand_name(o.subcommand) + ")";
      });

  py::class_<fc::ModuleInfo>(m, "ModuleInfo", "A module of the debugger's target, for lint.")
      .def(py::init([](std::string path, std::string name, uint64_t load_bias,
                       bool references_allocator, bool debug_info) {
             return fc::ModuleInfo{std::move(path), std::move(name), load_bias,
                                   references_allocator, debug_info};
           }),
           py::arg("path"), py::arg("name"), py::arg("load_bias") = 0,
           py::arg("references_allocator") = false, py::arg("debug_info") = false)
      .def_readwrite("path", &fc::ModuleInfo::path)
      .def_readwrite("name", &fc::ModuleInfo::name)
      .def_readwrite("load_bias", &fc::ModuleInfo::load_bias)
      .def_readwrite("references_allocator", &fc::ModuleInfo::references_allocator)
      .def_readwrite("debug_info", &fc::ModuleInfo::debug_info)
      .def("__repr__", [](const fc::ModuleInfo &mi) { return "ModuleInfo(" + mi.path + ")"; });

  m.def(
      "command_help", [] { return std::string(fc::command_help()); },
      "One-line help of `frameaudit`.");
  m.def(
      "command_long_help", [] { return fc::command_long_help(); },
      "Long help of `frameaudit` (subcommands, examples).");
  m.def(
      "subcommand_list_help", [] { return fc::subcommand_list_help(); },
      "The subcommand list `help frameaudit` prints, in LLDB's layout.");
  m.def(
      "complete",
      [](const std::string &name, const std::vector<std::string> &words, size_t cursor,
         const std::vector<std::string> &thread_indexes, const std::vector<std::string> &modules,
         std::optional<py::function> files) {
        fc::CompletionSources sources;
        sources.thread_indexes = thread_indexes;
        sources.modules = modules;
        if (files)
          sources.files = [&files](std::string_view prefix) {
            return py::cast<std::vector<std::string>>((*files)(std::string(prefix)));
          };
        std::vector<std::pair<std::string, std::string>> out;
        for (auto &c : fc::complete(subcommand_named(name), words, cursor, sources))
          out.emplace_back(std::move(c.word), std::move(c.description));
        return out;
      },
      py::arg("subcommand"), py::arg("words"), py::arg("cursor"),
      py::arg("thread_indexes") = std::vector<std::string>{},
      py::arg("modules") = std::vector<std::string>{}, py::arg("files") = py::none(),
      "Completion candidates (word, description) for words[cursor] of a subcommand line. "
      "files(prefix) lists file names for options that take a file.");
  m.def(
      "subcommands", [] { return fc::subcommands(); },
      "Every subcommand, in the order help lists them.");
  m.def(
      "help_text", [](const std::string &name) { return fc::help_text(subcommand_named(name)); },
      py::arg("subcommand"), "What `frameaudit <subcommand> --help` prints.");
  m.def(
      "parse_options",
      [](const std::string &name, const std::vector<std::string> &args) {
        return unwrap(fc::parse_options(subcommand_named(name), args));
      },
      py::arg("subcommand"), py::arg("args"),
      "Parse the argument words of a subcommand (as the debugger split them). Raises "
      "FrameauditError (invalid_argument) with the sentence both front-ends print.");
  m.def(
      "check_debuggee",
      [](const std::string &name, bool has_target, const std::string &state) {
        if (auto err = fc::check_debuggee(subcommand_named(name), has_target, state_named(state)))
          raise_error(*err);
      },
      py::arg("subcommand"), py::arg("has_target"), py::arg("state"),
      "Raise FrameauditError if the subcommand cannot run on this debuggee. state: none, "
      "running, stopped or exited.");
  m.def(
      "run_analysis_command",
      [](Target &target, const fc::CommandOptions &options, std::optional<py::function> progress) {
        PyProgress p{std::move(progress)};
        auto cb = p.callback();
        std::string out =
            run_on(target, [&] { return fc::run_analysis_command(target, options, cb); });
        return out;
      },
      py::arg("target"), py::arg("options"), py::arg("progress") = py::none(),
      "chain/audit/regions/map: check the thread selection, analyze, render. Returns the text "
      "to print.");
  m.def(
      "run_lint_command",
      [](Target &target, const std::vector<fc::ModuleInfo> &modules,
         const fc::CommandOptions &options, std::optional<py::function> progress) {
        PyProgress p{std::move(progress)};
        auto cb = p.callback();
        return run_on(target, [&] { return fc::run_lint_command(target, modules, options, cb); });
      },
      py::arg("target"), py::arg("modules"), py::arg("options"), py::arg("progress") = py::none(),
      "lint over the target's modules (or options.module). Returns the text to print.");
  m.def(
      "render_command_output",
      [](const Report &report, const fc::CommandOptions &options) {
        return fc::render_command_output(report, options);
      },
      py::arg("report"), py::arg("options"),
      "Render an analysed report the way options.subcommand prints it.");

  py::module_ msg = m.def_submodule("messages", "Fixed sentences both front-ends print.");
  msg.attr("NO_TARGET") = fc::messages::kNoTarget;
  msg.attr("NO_PROCESS") = fc::messages::kNoProcess;
  msg.attr("PROCESS_RUNNING") = fc::messages::kProcessRunning;
  msg.attr("PROCESS_EXITED") = fc::messages::kProcessExited;
  msg.def(
      "already_loaded",
      [](const std::string &front_end) { return fc::messages::already_loaded(front_end); },
      py::arg("this_front_end"));
  msg.def(
      "internal_error", [](const std::string &what) { return fc::messages::internal_error(what); },
      py::arg("what"));
}

} // namespace frameaudit::python
