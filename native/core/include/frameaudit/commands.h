// commands.h: the `frameaudit` debugger command, shared by every front-end.
//
// The native LLDB plugin and the Python commands must offer the same names,
// help texts, options, error sentences and output (CONTRACT.md section 4).
// Keeping them here, next to the renderers, means a front-end only has to
// (1) turn the debugger's state into a Target, (2) hand the argument words to
// parse_options(), (3) call run_analysis_command() or run_lint_command(), and
// (4) print the text or report the Error. Nothing here knows LLDB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frameaudit/analysis.h"
#include "frameaudit/lint.h"
#include "frameaudit/result.h"
#include "frameaudit/target.h"

namespace frameaudit::commands {

/// The multiword command and its alias.
inline constexpr const char *kCommandName = "frameaudit";
inline constexpr const char *kAliasName = "fa";

enum class Subcommand { Chain, Audit, Regions, Map, Lint };

/// One option of a subcommand, for help texts and for the Python front-end
/// if it wants to declare options to LLDB's own parser.
struct OptionInfo {
  char short_name = 0;            ///< 't', or 0 if there is no short form
  const char *long_name = "";     ///< "thread"
  const char *argument = nullptr; ///< "<index-or-tid>", or nullptr for a flag
  const char *help = "";
  bool repeatable = false;
};

/// One subcommand: what `help frameaudit <name>` shows.
struct SubcommandInfo {
  Subcommand id;
  const char *name;      ///< "audit"
  const char *help;      ///< one line
  std::string syntax;    ///< "frameaudit audit [-t <index-or-tid>]... [-a] [-j] [--max-depth <n>]"
  std::string long_help; ///< "\n", description, options, examples; ends with a newline
  std::vector<OptionInfo> options;
};

/// One-line help of the multiword command.
const char *command_help();
/// Long help of the multiword command (subcommands, examples, loading).
const std::string &command_long_help();
/// Every subcommand, in the order help lists them.
const std::vector<SubcommandInfo> &subcommands();
const SubcommandInfo &subcommand_info(Subcommand id);
/// By name ("audit"); nullptr if there is none.
const SubcommandInfo *find_subcommand(std::string_view name);

enum class OutputFormat { Text, Json };

/// A parsed command line.
struct CommandOptions {
  Subcommand subcommand = Subcommand::Audit;
  /// -t/--thread values (thread index first, then tid), in the order given.
  std::vector<uint64_t> threads;
  bool all_threads = false;
  OutputFormat format = OutputFormat::Text; ///< -j/--json, or lint --format
  std::optional<uint64_t> max_depth;
  bool ascii = false;                ///< map --ascii
  std::optional<std::string> module; ///< lint [module]
  /// -h/--help was given: print help_text(subcommand) and
  /// do nothing else.
  bool help = false;
};

/// What `<command> --help` prints: the one-line help, the syntax and the
/// long help (as `help frameaudit <sub>` shows them).
std::string help_text(Subcommand subcommand);

/// Parse the words after the subcommand name (as the debugger split them).
/// Accepts -t N, -tN, --thread N, --thread=N, clustered flags (-aj), "--".
/// Numbers are decimal or 0x-hex.
Result<CommandOptions> parse_options(Subcommand subcommand, const std::vector<std::string> &args);

/// The analysis options a parsed command line asks for.
AnalysisOptions analysis_options(const CommandOptions &options);

/// chain / audit / regions / map: check the thread selection against
/// target.threads(), analyze, render. Each thread's data is gathered once.
/// Errors: an unknown thread, an empty process, anything analyze() rejects.
Result<std::string> run_analysis_command(Target &target, const CommandOptions &options);

/// Render an analysed report the way `options.subcommand` prints it (the
/// dispatcher behind run_analysis_command, for callers that analyse
/// themselves).
std::string render_command_output(const Report &report, const CommandOptions &options);

/// A module of the debugger's target, as `lint` sees it. Front-end rule
/// (same in both): every module of the target in the debugger's order;
/// `path` is the module's file, full path; `name` its basename;
/// `load_bias` = load address of the module's object file header minus its
/// file address (0 when it is not loaded); `references_allocator` is true when
/// the module has any symbol named `sra_alloc` (defined, or a PLT stub).
using ModuleInfo = Module;

/// lint: without a module, lints every module that references the allocator;
/// with one, the module whose full path or basename matches (error if none).
/// Call sites and findings without a source location get one from
/// target.symbolize(address) (the call instruction's line).
Result<std::string> run_lint_command(Target &target, const std::vector<ModuleInfo> &modules,
                                     const CommandOptions &options);

/// The debuggee as far as a command cares; front-ends map the debugger's
/// process state to it (LLDB: stopped/crashed/suspended -> Stopped,
/// running/stepping/launching/attaching -> Running, exited/detached ->
/// Exited, anything else or no process -> None).
enum class DebuggeeState { None, Running, Stopped, Exited };

/// The error a subcommand reports before doing anything, or nullopt if it can
/// run: lint needs a target; the others a stopped process (or a core).
std::optional<Error> check_debuggee(Subcommand subcommand, bool has_target, DebuggeeState state);

/// Error sentences both front-ends report before the core is involved.
namespace messages {
inline constexpr const char *kNoTarget =
    "no target: load a program or a core first (`file ./prog`, `target create --core core`).";
inline constexpr const char *kNoProcess =
    "no process: run the program or load a core first (`run`, `target create --core core`).";
inline constexpr const char *kProcessRunning =
    "the process is running: stop it first (`process interrupt`).";
inline constexpr const char *kProcessExited = "the process has exited: nothing to inspect.";
/// Printed on the debugger's output when a `frameaudit` command already
/// exists and this front-end does not register its own.
std::string already_loaded(std::string_view this_front_end);
/// An internal failure (a bug) caught at a command's boundary.
std::string internal_error(std::string_view what);
} // namespace messages

} // namespace frameaudit::commands
