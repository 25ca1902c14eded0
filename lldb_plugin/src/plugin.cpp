// plugin.cpp: the entry point LLDB calls on `plugin load`. Registers the
// `frameaudit` multiword command, its subcommands (from the shared command
// table) and the `fa` alias, unless a `frameaudit` command already exists
// (the Python front-end), in which case it says so and registers nothing.
//
// Frame recognizer: LLDB's C++ SB API cannot register frame recognizers, so
// the recognizer for frames inside sra_alloc ships with the Python front-end
// only (see lldb_plugin/README.md).
#include <exception>
#include <string>

#include <lldb/API/SBCommandInterpreter.h>
#include <lldb/API/SBCommandReturnObject.h>
#include <lldb/API/SBDebugger.h>
#include <lldb/API/SBFile.h>

#include "frameaudit/commands.h"
#include "subcommand.h"

namespace frameaudit::lldb_plugin {
namespace {

void say(lldb::SBDebugger &debugger, const std::string &text) {
  lldb::SBFile out = debugger.GetOutputFile();
  if (!out.IsValid())
    return;
  size_t written = 0;
  out.Write(reinterpret_cast<const uint8_t *>(text.data()), text.size(), &written);
  out.Flush();
}

bool name_taken(lldb::SBCommandInterpreter &interpreter, const char *name) {
  if (interpreter.CommandExists(name) || interpreter.UserCommandExists(name) ||
      interpreter.AliasExists(name))
    return true;
  // Multiword user commands (`command container add`) are not in the lists
  // above; `help` finds every kind of command.
  lldb::SBCommandReturnObject ret;
  interpreter.HandleCommand((std::string("help ") + name).c_str(), ret, false);
  return ret.Succeeded();
}

// A double-quoted argument of a raw-input LLDB command (`command alias`),
// where an unescaped backtick would run an expression.
std::string quoted(const std::string &text) {
  std::string s = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"' || c == '`')
      s += '\\';
    s += c;
  }
  return s + "\"";
}

bool register_commands(lldb::SBDebugger &debugger) {
  lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
  if (!interpreter.IsValid())
    return false;
  if (name_taken(interpreter, commands::kCommandName)) {
    say(debugger, commands::messages::already_loaded("native plugin"));
    return true;
  }
  lldb::SBCommand root =
      interpreter.AddMultiwordCommand(commands::kCommandName, commands::command_help());
  if (!root.IsValid())
    return false;
  root.SetHelpLong(commands::command_long_help().c_str());
  for (const auto &sub : commands::subcommands()) {
    // LLDB owns the command object from here on.
    lldb::SBCommand cmd = root.AddCommand(sub.name, new SubcommandObject(sub.id), sub.help,
                                          sub.syntax.c_str(), /*auto_repeat_command=*/"");
    if (cmd.IsValid())
      cmd.SetHelpLong(sub.long_help.c_str());
  }
  if (!name_taken(interpreter, commands::kAliasName)) {
    lldb::SBCommandReturnObject ret;
    // The alias carries the whole text `help frameaudit` prints (LLDB's
    // `help <alias>` shows only the alias's own long help).
    std::string full = commands::command_long_help() + commands::subcommand_list_help();
    interpreter.HandleCommand((std::string("command alias -H ") + quoted(full) + " -- " +
                               commands::kAliasName + " " + commands::kCommandName)
                                  .c_str(),
                              ret, false);
  }
  return true;
}

} // namespace
} // namespace frameaudit::lldb_plugin

namespace lldb {
__attribute__((visibility("default"))) bool PluginInitialize(lldb::SBDebugger debugger);
} // namespace lldb

bool lldb::PluginInitialize(lldb::SBDebugger debugger) {
  try {
    return frameaudit::lldb_plugin::register_commands(debugger);
  } catch (...) {
    return false;
  }
}
