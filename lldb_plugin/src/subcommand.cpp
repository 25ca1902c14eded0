// subcommand.cpp: one `frameaudit` subcommand run from LLDB: find the
// debuggee, parse the words, run the shared command, print or fail. This is
// the single place where frameaudit errors become LLDB command errors.
#include "subcommand.h"

#include <exception>
#include <string>
#include <vector>

#include <lldb/API/SBProcess.h>
#include <lldb/API/SBTarget.h>

#include "sb_target.h"

namespace frameaudit::lldb_plugin {
namespace {

commands::DebuggeeState debuggee_state(lldb::SBProcess &process) {
  if (!process.IsValid())
    return commands::DebuggeeState::None;
  switch (process.GetState()) {
  case lldb::eStateStopped:
  case lldb::eStateCrashed:
  case lldb::eStateSuspended:
    return commands::DebuggeeState::Stopped;
  case lldb::eStateRunning:
  case lldb::eStateStepping:
  case lldb::eStateLaunching:
  case lldb::eStateAttaching:
    return commands::DebuggeeState::Running;
  case lldb::eStateExited:
  case lldb::eStateDetached:
    return commands::DebuggeeState::Exited;
  default:
    return commands::DebuggeeState::None;
  }
}

void fail(lldb::SBCommandReturnObject &result, const std::string &message) {
  result.SetError(message.c_str());
  result.SetStatus(lldb::eReturnStatusFailed);
}

void succeed(lldb::SBCommandReturnObject &result, const std::string &text) {
  if (!text.empty())
    result.PutCString(text.data(), static_cast<int>(text.size()));
  result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
}

Result<std::string> run(commands::Subcommand id, lldb::SBDebugger &debugger, char **command) {
  std::vector<std::string> words;
  for (char **w = command; w && *w; ++w)
    words.emplace_back(*w);
  auto options = commands::parse_options(id, words);
  if (!options)
    return options.error();
  if (options->help)
    return commands::help_text(id);

  lldb::SBTarget target = debugger.GetSelectedTarget();
  lldb::SBProcess process = target.IsValid() ? target.GetProcess() : lldb::SBProcess();
  if (auto err = commands::check_debuggee(id, target.IsValid(), debuggee_state(process)))
    return *err;

  SBTargetAdapter adapter(target, process);
  if (id == commands::Subcommand::Lint)
    return commands::run_lint_command(adapter, adapter.modules(), *options);
  return commands::run_analysis_command(adapter, *options);
}

} // namespace

bool SubcommandObject::DoExecute(lldb::SBDebugger debugger, char **command,
                                 lldb::SBCommandReturnObject &result) {
  try {
    Result<std::string> out = run(id_, debugger, command);
    if (!out) {
      fail(result, out.error().message);
      return false;
    }
    succeed(result, *out);
    return true;
  } catch (const std::exception &e) {
    fail(result, commands::messages::internal_error(e.what()));
  } catch (...) {
    fail(result, commands::messages::internal_error("unknown exception"));
  }
  return false;
}

} // namespace frameaudit::lldb_plugin
