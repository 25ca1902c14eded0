// messages.cpp: sentences both front-ends print outside a report.
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
