// commands.h: the `frameaudit` debugger command, shared by every front-end.
//
// The native LLDB plugin and the Python commands must offer the same names,
// help texts, options, error sentences and output (docs/user-guide.md).
// Keeping them here, next to the renderers, means a front-end only has to
// (1) turn the debugger's state into a Target, (2) hand the argument words to
// parse_options(), (3) call run_analysis_command() or run_lint_command(), and
// (4) print the text or report the Error. Nothing here knows LLDB.
#pragma once

#include <cstdint>
#include <functional>
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

enum class Subcommand { Chain, Audit, Regions, Map, Lint, Backtrace, Provider };

/// What an option's value (or a subcommand's operand) is, for completion.
enum class ValueKind {
  None,   ///< a flag, or no operand
  Thread, ///< a thread index (or tid): completes the process's thread indexes
  Number, ///< a positive number: nothing to complete
  Format, ///< text|json
  File,   ///< a path to write: completes file names
  Module, ///< a module of the target: completes module file names
  OnOff,  ///< on|off
};

/// One option of a subcommand: what help lists, the parser accepts and
/// completion offers. Both front-ends leave parsing to parse_options(), so
/// this table is the only option list there is.
struct OptionInfo {
  char short_name = 0;            ///< 't', or 0 if there is no short form
  const char *long_name = "";     ///< "thread"
  const char *argument = nullptr; ///< "<index-or-tid>", or nullptr for a flag
  const char *help = "";
  bool repeatable = false;
  ValueKind value = ValueKind::None;
};

/// One subcommand: what `help frameaudit <name>` shows.
struct SubcommandInfo {
  Subcommand id;
  const char *name;      ///< "audit"
  const char *help;      ///< one line, short enough for LLDB's subcommand list
  std::string syntax;    ///< "frameaudit audit [options]"
  std::string long_help; ///< "\n", description, options, examples; ends with a newline
  std::vector<OptionInfo> options;
  const char *operand = nullptr; ///< "[<module>]", "on|off", or nullptr
  ValueKind operand_kind = ValueKind::None;
};

/// One-line help of the multiword command.
const char *command_help();
/// Long help of the multiword command (description, examples).
const std::string &command_long_help();
/// What `help frameaudit` prints after its long help: the subcommand list in
/// LLDB's own layout. The `fa` alias carries long help + this, so `help fa`
/// and `help frameaudit` say the same.
const std::string &subcommand_list_help();
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
  std::optional<std::string> svg;    ///< map --svg FILE
  std::optional<std::string> module; ///< lint [module]
  std::optional<bool> provider_on;   ///< provider on|off (absent: report the state)
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

/// Called with (done, total) units of work: threads for the analysis
/// commands, functions decoded for lint. May be empty.
using ProgressCallback = std::function<void(size_t done, size_t total)>;

/// chain / audit / regions / map / bt: check the thread selection against
/// target.threads(), analyze, render. Each thread's data is gathered once.
/// `map --svg FILE` writes the picture to FILE (write_output_file) and
/// returns one line saying so.
/// Errors: an unknown thread, an empty process, anything analyze() rejects,
/// an output file that cannot or must not be written.
Result<std::string> run_analysis_command(Target &target, const CommandOptions &options,
                                         const ProgressCallback &progress = {});

/// Render an analysed report the way `options.subcommand` prints it (the
/// dispatcher behind run_analysis_command, for callers that analyse
/// themselves).
std::string render_command_output(const Report &report, const CommandOptions &options);

/// A module of the debugger's target, as `lint` sees it. Front-end rule
/// (same in both): every module of the target in the debugger's order;
/// `path` is the module's file, full path; `name` its basename;
/// `load_bias` = load address of the module's object file header minus its
/// file address (0 when it is not loaded); `references_allocator` is true when
/// the module has any symbol named `sra_alloc` (defined, or a PLT stub);
/// `debug_info` is true when the debugger has compile units for it.
using ModuleInfo = Module;

/// lint: without a module, lints every module that references the allocator;
/// with one, the module whose full path or basename matches (error if none).
/// Call sites and findings without a source location get one from
/// target.symbolize(address) (the call instruction's line).
Result<std::string> run_lint_command(Target &target, const std::vector<ModuleInfo> &modules,
                                     const CommandOptions &options,
                                     const ProgressCallback &progress = {});

/// What completion may offer besides the command table, gathered by the
/// front-end from the debugger.
struct CompletionSources {
  std::vector<std::string> thread_indexes; ///< "1", "2", ... of the process
  std::vector<std::string> modules;        ///< file names of the target's modules
  /// File names starting with a prefix (a directory part is kept); may be empty.
  std::function<std::vector<std::string>(std::string_view prefix)> files;
};

/// One completion candidate: the whole word, and what it is.
struct Completion {
  std::string word;
  std::string description;
};

/// Candidates for the word at `cursor` of `words` (the words after the
/// subcommand, as the debugger split them; `words[cursor]` is the part of
/// the word before the cursor, and `cursor == words.size()` means a new,
/// empty word). Option names, option values (threads, formats, files) and
/// operands (modules, on/off), each matching the word typed so far.
std::vector<Completion> complete(Subcommand subcommand, const std::vector<std::string> &words,
                                 size_t cursor, const CompletionSources &sources);

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
