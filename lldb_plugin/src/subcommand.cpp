// subcommand.cpp: one `frameaudit` subcommand run from LLDB: find the
// debuggee, parse the words, run the shared command, print or fail. This is
// the single place where frameaudit errors become LLDB command errors.
#include "subcommand.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <lldb/API/SBProcess.h>
#include <lldb/API/SBProgress.h>
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

// Reports the core's (done, total) through SBProgress, which LLDB shows on
// its status line and lldb-dap sends as progressStart/Update/End events.
// The core may call from its worker threads. With `expected` units known
// up front (threads), the progress starts before the debugger is asked for
// anything: reading every thread's stack is most of the wait, and lldb-dap
// holds back progress that ends within a second of its start.
class ProgressReporter {
public:
  ProgressReporter(lldb::SBDebugger &debugger, std::string title, size_t expected = 0)
      : debugger_(debugger), title_(std::move(title)) {
    if (expected >= 2)
      start(expected);
  }
  ~ProgressReporter() {
    if (progress_)
      progress_->Finalize();
  }

  commands::ProgressCallback callback() {
    return [this](size_t done, size_t total) { update(done, total); };
  }

private:
  void update(size_t done, size_t total) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (total < 2)
      return; // one unit of work is no news
    if (!progress_)
      start(total);
    // The last unit is rendering the report (for a deep stack, longer than
    // the analysis): it ends when the command does (Finalize).
    if (done > reported_ && done <= units_ - 1) {
      std::string detail = done == units_ - 1
                               ? std::string("writing the report")
                               : std::to_string(done) + " of " + std::to_string(total);
      progress_->Increment(done - reported_, detail.c_str());
      reported_ = done;
    }
  }

  void start(size_t total) {
    units_ = total + 1;
    progress_ = std::make_unique<lldb::SBProgress>(title_.c_str(), "",
                                                   static_cast<uint64_t>(units_), debugger_);
  }

  lldb::SBDebugger debugger_;
  std::string title_;
  std::mutex mutex_;
  std::unique_ptr<lldb::SBProgress> progress_;
  size_t reported_ = 0;
  size_t units_ = 0;
};

constexpr const char *kNoProvider =
    "the frame provider needs LLDB's Python scripting, which the native plugin does not use: "
    "load the Python front-end instead (`command script import <python dir>`; `frameaudit "
    "paths` prints the line), then `fa provider on`. `fa bt` prints the same frames here.";

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
  if (id == commands::Subcommand::Provider)
    return make_error(Error::Code::InvalidArgument, kNoProvider);
  if (auto err = commands::check_debuggee(id, target.IsValid(), debuggee_state(process)))
    return *err;

  SBTargetAdapter adapter(target, process);
  if (id == commands::Subcommand::Lint) {
    ProgressReporter progress(debugger, "frameaudit: linting modules");
    return commands::run_lint_command(adapter, adapter.modules(), *options, progress.callback());
  }
  size_t expected =
      options->all_threads ? process.GetNumThreads() : std::max<size_t>(1, options->threads.size());
  ProgressReporter progress(debugger, "frameaudit: analysing threads", expected);
  return commands::run_analysis_command(adapter, *options, progress.callback());
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
