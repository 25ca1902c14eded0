// subcommand.h: the LLDB command object behind each `frameaudit` subcommand.
// One class for all five: the shared command table in the core says what
// each one accepts and prints.
#pragma once

#include <lldb/API/SBCommandInterpreter.h>
#include <lldb/API/SBCommandReturnObject.h>
#include <lldb/API/SBDebugger.h>

#include "frameaudit/commands.h"

namespace frameaudit::lldb_plugin {

class SubcommandObject final : public lldb::SBCommandPluginInterface {
public:
  explicit SubcommandObject(commands::Subcommand id) : id_(id) {}

  /// Never throws: a failure (even a bug) becomes an error in `result`.
  bool DoExecute(lldb::SBDebugger debugger, char **command,
                 lldb::SBCommandReturnObject &result) override;

private:
  commands::Subcommand id_;
};

} // namespace frameaudit::lldb_plugin
