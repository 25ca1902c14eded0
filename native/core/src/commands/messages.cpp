// messages.cpp: what both front-ends say outside a report: the checks made
// before a command runs, its --help text, and the fixed sentences.
#include "frameaudit/commands.h"

namespace frameaudit::commands::messages {

std::string already_loaded(std::string_view this_front_end) {
  return "frameaudit: a `" + std::string(kCommandName) + "` command is already loaded; the " +
         std::string(this_front_end) + " stays out of the way.\n";
}

std::string internal_error(std::string_view what) {
  return "internal error in frameaudit (please report it): " + std::string(what);
}

} // namespace frameaudit::commands::messages

namespace frameaudit::commands {

std::optional<Error> check_debuggee(Subcommand subcommand, bool has_target, DebuggeeState state) {
  if (!has_target)
    return make_error(Error::Code::NoProcess, messages::kNoTarget);
  if (subcommand == Subcommand::Lint)
    return std::nullopt;
  switch (state) {
  case DebuggeeState::Stopped:
    return std::nullopt;
  case DebuggeeState::Running:
    return make_error(Error::Code::NoProcess, messages::kProcessRunning);
  case DebuggeeState::Exited:
    return make_error(Error::Code::NoProcess, messages::kProcessExited);
  case DebuggeeState::None:
    break;
  }
  return make_error(Error::Code::NoProcess, messages::kNoProcess);
}

std::string help_text(Subcommand subcommand) {
  const SubcommandInfo &info = subcommand_info(subcommand);
  return std::string(info.help) + "\n\nSyntax: " + info.syntax + "\n" + info.long_help;
}

} // namespace frameaudit::commands
