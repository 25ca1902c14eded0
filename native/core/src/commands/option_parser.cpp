// option_parser.cpp: argument words -> CommandOptions, with the same error
// sentences in every front-end. The words arrive already split by the
// debugger (quotes removed).
#include <charconv>

#include "frameaudit/commands.h"

namespace frameaudit::commands {
namespace {

Error usage_error(Subcommand sub, const std::string &what) {
  std::string name = subcommand_info(sub).name;
  return make_error(Error::Code::InvalidArgument,
                    what + " (see `help " + kCommandName + " " + name + "`).");
}

std::optional<uint64_t> parse_number(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty())
    return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

const OptionInfo *find_short(const SubcommandInfo &info, char c) {
  for (const auto &o : info.options)
    if (o.short_name == c)
      return &o;
  return nullptr;
}

const OptionInfo *find_long(const SubcommandInfo &info, std::string_view name) {
  for (const auto &o : info.options)
    if (name == o.long_name)
      return &o;
  return nullptr;
}

// Applies one recognised option; `value` is set iff the option takes one.
std::optional<Error> apply(CommandOptions &out, const OptionInfo &o, const std::string &spelled,
                           const std::string *value) {
  std::string_view name = o.long_name;
  if (name == "thread") {
    auto n = parse_number(*value);
    if (!n)
      return usage_error(out.subcommand,
                         "invalid thread '" + *value + "': expected a thread index or a thread id");
    out.threads.push_back(*n);
  } else if (name == "all-threads") {
    out.all_threads = true;
  } else if (name == "json") {
    out.format = OutputFormat::Json;
  } else if (name == "max-depth") {
    auto n = parse_number(*value);
    if (!n || *n == 0)
      return usage_error(out.subcommand, "invalid value '" + *value + "' for " + spelled +
                                             ": expected a positive number");
    out.max_depth = *n;
  } else if (name == "ascii") {
    out.ascii = true;
  } else if (name == "svg") {
    if (value->empty())
      return usage_error(out.subcommand, "option '" + spelled + "' needs a file name");
    out.svg = *value;
  } else if (name == "format") {
    if (*value == "text")
      out.format = OutputFormat::Text;
    else if (*value == "json")
      out.format = OutputFormat::Json;
    else
      return usage_error(out.subcommand, "invalid value '" + *value + "' for " + spelled +
                                             ": expected text or json");
  } else if (name == "help") {
    out.help = true;
  }
  return std::nullopt;
}

} // namespace

Result<CommandOptions> parse_options(Subcommand subcommand, const std::vector<std::string> &args) {
  const SubcommandInfo &info = subcommand_info(subcommand);
  CommandOptions out;
  out.subcommand = subcommand;
  std::vector<std::string> operands;
  bool options_done = false;

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &word = args[i];
    if (options_done || word.size() < 2 || word[0] != '-') {
      operands.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    if (word.starts_with("--")) {
      std::string name = word.substr(2);
      std::optional<std::string> inline_value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      const OptionInfo *o = find_long(info, name);
      if (!o)
        return usage_error(subcommand, "unknown option '--" + name + "' for '" + kCommandName +
                                           " " + info.name + "'");
      std::string spelled = "--" + name;
      if (!o->argument && inline_value)
        return usage_error(subcommand, "option '" + spelled + "' takes no value");
      std::string value;
      if (o->argument) {
        if (inline_value)
          value = *inline_value;
        else if (i + 1 < args.size())
          value = args[++i];
        else
          return usage_error(subcommand, "option '" + spelled + "' needs a value " + o->argument);
      }
      if (auto err = apply(out, *o, spelled, o->argument ? &value : nullptr))
        return *err;
      continue;
    }
    // A cluster of short options: -aj, -t2, -t 2.
    for (size_t k = 1; k < word.size(); ++k) {
      const OptionInfo *o = find_short(info, word[k]);
      std::string spelled = std::string("-") + word[k];
      if (!o)
        return usage_error(subcommand, "unknown option '" + spelled + "' for '" + kCommandName +
                                           " " + info.name + "'");
      if (!o->argument) {
        if (auto err = apply(out, *o, spelled, nullptr))
          return *err;
        continue;
      }
      std::string value;
      if (k + 1 < word.size())
        value = word.substr(k + 1);
      else if (i + 1 < args.size())
        value = args[++i];
      else
        return usage_error(subcommand, "option '" + spelled + "' needs a value " + o->argument);
      if (auto err = apply(out, *o, spelled, &value))
        return *err;
      break;
    }
  }

  if (out.help)
    return out;
  if (out.all_threads && !out.threads.empty())
    return usage_error(subcommand, "--thread and --all-threads exclude each other");
  if (out.svg && out.format == OutputFormat::Json)
    return usage_error(subcommand, "--svg and --json exclude each other");
  if (subcommand == Subcommand::Provider) {
    if (operands.size() > 1)
      return usage_error(subcommand, "provider takes on or off, got " +
                                         std::to_string(operands.size()) + " arguments");
    if (!operands.empty()) {
      if (operands.front() == "on")
        out.provider_on = true;
      else if (operands.front() == "off")
        out.provider_on = false;
      else
        return usage_error(subcommand,
                           "invalid argument '" + operands.front() + "': expected on or off");
    }
  } else if (subcommand == Subcommand::Lint) {
    if (operands.size() > 1)
      return usage_error(subcommand,
                         "lint takes at most one module, got " + std::to_string(operands.size()));
    if (!operands.empty())
      out.module = operands.front();
  } else if (!operands.empty()) {
    return usage_error(subcommand, "unexpected argument '" + operands.front() + "'");
  }
  return out;
}

AnalysisOptions analysis_options(const CommandOptions &options) {
  AnalysisOptions a;
  a.threads = options.threads;
  a.all_threads = options.all_threads;
  if (options.max_depth)
    a.max_depth = *options.max_depth;
  // Only `chain` prints the links' checks and only `map` draws the pairs;
  // audit and regions skip recording them (80 bytes and 7 checks a frame).
  a.record_links = options.subcommand == Subcommand::Chain || options.subcommand == Subcommand::Map;
  return a;
}

} // namespace frameaudit::commands
