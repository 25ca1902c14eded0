// command_table.cpp: names, one-line helps, syntax and long help (with
// examples) of `frameaudit` and its subcommands. Both front-ends register
// exactly these strings, so `help frameaudit ...` reads the same in each.
#include "frameaudit/commands.h"

#include <algorithm>

namespace frameaudit::commands {
namespace {

OptionInfo thread_option() {
  return {'t',
          "thread",
          "<index-or-tid>",
          "This thread: its index in `thread list`, else its thread id. Repeatable. "
          "Default: the selected thread.",
          true,
          ValueKind::Thread};
}
OptionInfo all_threads_option() {
  return {'a', "all-threads", nullptr, "Every thread.", false, ValueKind::None};
}
OptionInfo json_option() {
  return {'j',     "json",
          nullptr, "Print the JSON document (schema frameaudit/1) instead of text.",
          false,   ValueKind::None};
}
OptionInfo max_depth_option() {
  static const std::string help = "Stop the RBP walk after <n> frames (default " +
                                  std::to_string(AnalysisOptions{}.max_depth) + ").";
  return {0, "max-depth", "<n>", help.c_str(), false, ValueKind::Number};
}
OptionInfo ascii_option() {
  return {0,     "ascii",        nullptr, "Draw with ASCII characters only (no box drawing).",
          false, ValueKind::None};
}
OptionInfo svg_option() {
  return {0,
          "svg",
          "<file>",
          "Write the map as an SVG picture to <file> (a new or regular file; never a "
          "device, FIFO or symlink) instead of drawing it as text.",
          false,
          ValueKind::File};
}
OptionInfo format_option() {
  return {0,           "format",
          "text|json", "Output format (default text); json is the frameaudit/1 document.",
          false,       ValueKind::Format};
}
OptionInfo help_option() {
  return {'h', "help", nullptr, "Show this help.", false, ValueKind::None};
}

std::string option_label(const OptionInfo &o) {
  std::string label = o.short_name ? std::string("-") + o.short_name + ", " : std::string("    ");
  label += "--";
  label += o.long_name;
  if (o.argument) {
    label += ' ';
    label += o.argument;
  }
  return label;
}

// One syntax line per subcommand; the option list in the long help says
// what each option takes.
std::string make_syntax(const char *name, const std::vector<OptionInfo> &options,
                        const char *operand) {
  std::string s = std::string(kCommandName) + " " + name;
  if (!options.empty())
    s += " [options]";
  if (operand) {
    s += ' ';
    s += operand;
  }
  return s;
}

// LLDB re-wraps help lines longer than its terminal width and loses their
// indentation, so every line here stays under 80 columns.
std::string wrap(std::string_view text, size_t indent, size_t width = 78) {
  std::string out, line;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    if (!line.empty())
      line += ' ';
    line += word;
  }
  if (!line.empty())
    out += std::string(indent, ' ') + line + "\n";
  return out;
}

std::string make_long_help(const char *description, const std::vector<OptionInfo> &options,
                           const std::vector<const char *> &examples) {
  // The leading newline: LLDB prints the long help right after "Syntax: ...".
  std::string s = "\n";
  s += description;
  s += "\n\nOptions:\n";
  for (const auto &o : options) {
    s += "  " + option_label(o) + "\n";
    s += wrap(o.help, 8);
  }
  s += "\nExamples:\n";
  for (const char *e : examples) {
    s += "  ";
    s += e;
    s += "\n";
  }
  return s;
}

SubcommandInfo make(Subcommand id, const char *name, const char *help, const char *description,
                    std::vector<OptionInfo> options, const char *operand, ValueKind operand_kind,
                    std::vector<const char *> examples) {
  options.push_back(help_option());
  SubcommandInfo info{id,
                      name,
                      help,
                      make_syntax(name, options, operand),
                      make_long_help(description, options, examples),
                      options,
                      operand,
                      operand_kind};
  return info;
}

std::vector<OptionInfo> thread_options() {
  return {thread_option(), all_threads_option(), json_option(), max_depth_option()};
}

// The one-line helps stay under 61 characters: LLDB lists them after a
// 19-column name field and would wrap them otherwise.
std::vector<SubcommandInfo> build_table() {
  std::vector<SubcommandInfo> t;
  t.push_back(
      make(Subcommand::Chain, "chain", "Show a thread's raw RBP chain, every link checked.",
           "Walks the saved-RBP chain from the thread's RBP and prints each link (the\n"
           "[saved rbp][return address] pair), the checks made on it, and the reason the\n"
           "walk stopped.",
           thread_options(), nullptr, ValueKind::None,
           {"(lldb) fa chain", "(lldb) fa chain -t 2 --max-depth 50", "(lldb) fa chain -a -j"}));
  t.push_back(
      make(Subcommand::Audit, "audit", "Audit threads: frames, kinds, stack blocks, findings.",
           "Prints, per thread, the frames of the RBP walk with their kind (normal, dynamic,\n"
           "relocated, allocator, unknown) and sizes, the stack regions sra_alloc handed\n"
           "out, then every finding and a summary.",
           thread_options(), nullptr, ValueKind::None,
           {"(lldb) fa audit", "(lldb) fa audit -a", "(lldb) fa audit -t 0x1a2b -j"}));
  t.push_back(
      make(Subcommand::Regions, "regions", "List the stack blocks sra_alloc handed out.",
           "Prints the allocated stack regions of each thread: base, size, reserved bytes,\n"
           "owning frame, call site, state (live, dead, corrupt) and evidence.",
           thread_options(), nullptr, ValueKind::None,
           {"(lldb) fa regions", "(lldb) fa regions -a -j"}));
  auto map_options = thread_options();
  map_options.push_back(ascii_option());
  map_options.push_back(svg_option());
  t.push_back(
      make(Subcommand::Map, "map", "Draw a thread's stack map, as text or as an SVG file.",
           "Draws the thread's stack from high to low addresses: each frame, the relocated\n"
           "allocator stubs, the allocated regions, and where RSP and RBP point. With\n"
           "--svg, writes the same map as a picture (one panel per thread).",
           map_options, nullptr, ValueKind::None,
           {"(lldb) fa map", "(lldb) fa map -t 2 --ascii", "(lldb) fa map -a --svg stack.svg"}));
  t.push_back(make(Subcommand::Lint, "lint",
                   "Find unsafe callers of sra_alloc in the target's modules.",
                   "Decodes the machine code of every module that references sra_alloc (or of the\n"
                   "named module, by full path or file name) and reports each call site whose\n"
                   "caller is unsafe: its frame is not dynamic, its epilogue trusts RSP, or it\n"
                   "addresses its frame through RSP after the call.",
                   {format_option(), json_option()}, "[<module>]", ValueKind::Module,
                   {"(lldb) fa lint", "(lldb) fa lint a.out --format json"}));
  t.push_back(make(Subcommand::Backtrace, "bt", "Print frameaudit's frames in the layout of `bt`.",
                   "Prints the frames frameaudit's own walk found, in the layout of LLDB's `bt`,\n"
                   "each marked where it differs from LLDB's unwind ([repaired]) and where the\n"
                   "allocator touched it (sra: relocated, allocator). Registers nothing; see\n"
                   "`fa provider on` to make `bt` itself show these frames.",
                   thread_options(), nullptr, ValueKind::None,
                   {"(lldb) fa bt", "(lldb) fa bt -a", "(lldb) fa bt -t 2"}));
  t.push_back(make(Subcommand::Provider, "provider",
                   "Make bt, frame select and lldb-dap show frameaudit's frames.",
                   "`on` registers frameaudit as the target's frame provider (LLDB 22+, Python\n"
                   "front-end): `bt`, `frame select`, `up`/`down` and lldb-dap's call stack then\n"
                   "show the frames of frameaudit's walk, marked [repaired] where they differ\n"
                   "from LLDB's own unwind. `off` removes it. Without an argument, says whether\n"
                   "it is on.",
                   {}, "[on|off]", ValueKind::OnOff,
                   {"(lldb) fa provider on", "(lldb) bt", "(lldb) fa provider off"}));
  return t;
}

} // namespace

const char *command_help() {
  return "Audit stack frames and sra stack allocations of the current process or core.";
}

const std::string &command_long_help() {
  static const std::string text = [] {
    std::string s =
        "\nframeaudit walks each thread's RBP chain itself (without trusting the unwinder),\n"
        "classifies the frames, finds the stack blocks sra_alloc handed out and reports\n"
        "what is wrong with them. `fa` is an alias of `frameaudit`.\n";
    s +=
        "\nExamples:\n  (lldb) fa audit\n  (lldb) fa map --ascii\n  (lldb) help frameaudit audit\n";
    return s;
  }();
  return text;
}

const std::string &subcommand_list_help() {
  // LLDB's layout (CommandObjectMultiword::GenerateHelpText): names sorted,
  // each padded to the longest plus four, then "-- " and the one-line help.
  static const std::string text = [] {
    std::vector<const SubcommandInfo *> sorted;
    size_t width = 0;
    for (const auto &sub : subcommands()) {
      sorted.push_back(&sub);
      width = std::max(width, std::string_view(sub.name).size());
    }
    std::sort(sorted.begin(), sorted.end(), [](const SubcommandInfo *a, const SubcommandInfo *b) {
      return std::string_view(a->name) < std::string_view(b->name);
    });
    std::string s = "\nThe following subcommands are supported:\n\n";
    for (const SubcommandInfo *sub : sorted) {
      std::string name = "    " + std::string(sub->name);
      name.resize(width + 4, ' ');
      s += "  " + name + " -- " + sub->help + "\n";
    }
    s += "\nFor more help on any particular subcommand, type 'help <command> <subcommand>'.\n";
    return s;
  }();
  return text;
}

const std::vector<SubcommandInfo> &subcommands() {
  static const std::vector<SubcommandInfo> table = build_table();
  return table;
}

const SubcommandInfo &subcommand_info(Subcommand id) {
  for (const auto &sub : subcommands())
    if (sub.id == id)
      return sub;
  return subcommands().front(); // unreachable: every Subcommand is in the table
}

const SubcommandInfo *find_subcommand(std::string_view name) {
  for (const auto &sub : subcommands())
    if (name == sub.name)
      return &sub;
  return nullptr;
}

} // namespace frameaudit::commands
