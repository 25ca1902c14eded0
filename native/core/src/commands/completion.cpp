// completion.cpp: tab completion of `frameaudit` command lines, from the same
// command table the parser reads: option names, option values (threads,
// formats, files) and operands (modules, on/off). A front-end hands over the
// words and what the debugger knows (thread indexes, module names, files);
// nothing here knows LLDB.
#include <algorithm>
#include <set>

#include "frameaudit/commands.h"

namespace frameaudit::commands {
namespace {

bool starts_with(std::string_view word, std::string_view prefix) {
  return word.substr(0, prefix.size()) == prefix;
}

const OptionInfo *find_long(const SubcommandInfo &info, std::string_view name) {
  for (const auto &o : info.options)
    if (name == o.long_name)
      return &o;
  return nullptr;
}

const OptionInfo *find_short(const SubcommandInfo &info, char c) {
  for (const auto &o : info.options)
    if (o.short_name && o.short_name == c)
      return &o;
  return nullptr;
}

// The option whose value the word after `word` is, if `word` is an option
// that takes a value and does not carry it inline ("-t", "--thread", "-at").
const OptionInfo *option_wanting_value(const SubcommandInfo &info, std::string_view word) {
  if (word.size() < 2 || word[0] != '-' || word == "--")
    return nullptr;
  if (starts_with(word, "--")) {
    if (word.find('=') != std::string_view::npos)
      return nullptr;
    const OptionInfo *o = find_long(info, word.substr(2));
    return o && o->argument ? o : nullptr;
  }
  for (size_t k = 1; k < word.size(); ++k) {
    const OptionInfo *o = find_short(info, word[k]);
    if (!o)
      return nullptr;
    if (o->argument)
      return k + 1 == word.size() ? o : nullptr; // "-t2" carries its value
  }
  return nullptr;
}

void add_values(std::vector<Completion> &out, ValueKind kind, std::string_view prefix,
                std::string_view before, const CompletionSources &sources) {
  auto add = [&](std::string_view value, std::string description) {
    if (starts_with(value, prefix))
      out.push_back({std::string(before) + std::string(value), std::move(description)});
  };
  switch (kind) {
  case ValueKind::Thread:
    for (const auto &t : sources.thread_indexes)
      add(t, "thread #" + t);
    break;
  case ValueKind::Format:
    add("text", "the text report");
    add("json", "the frameaudit/1 document");
    break;
  case ValueKind::OnOff:
    add("on", "register frameaudit's frame provider");
    add("off", "remove it");
    break;
  case ValueKind::Module: {
    std::set<std::string> seen;
    for (const auto &m : sources.modules)
      if (seen.insert(m).second)
        add(m, "module");
    break;
  }
  case ValueKind::File:
    if (sources.files)
      for (const auto &f : sources.files(prefix))
        add(f, "");
    break;
  case ValueKind::None:
  case ValueKind::Number:
    break;
  }
}

void add_options(std::vector<Completion> &out, const SubcommandInfo &info, std::string_view prefix,
                 const std::vector<std::string> &words, size_t cursor) {
  // Options already given (and not repeatable) are not offered again.
  std::set<std::string_view> given;
  for (size_t i = 0; i < words.size() && i < cursor; ++i) {
    std::string_view w = words[i];
    if (starts_with(w, "--")) {
      std::string_view name = w.substr(
          2, w.find('=') == std::string_view::npos ? std::string_view::npos : w.find('=') - 2);
      given.insert(name);
    } else if (w.size() == 2 && w[0] == '-') {
      if (const OptionInfo *o = find_short(info, w[1]))
        given.insert(o->long_name);
    }
  }
  for (const auto &o : info.options) {
    if (!o.repeatable && given.count(o.long_name))
      continue;
    std::string long_word = std::string("--") + o.long_name;
    if (starts_with(long_word, prefix))
      out.push_back({long_word, o.help});
  }
}

} // namespace

std::vector<Completion> complete(Subcommand subcommand, const std::vector<std::string> &words,
                                 size_t cursor, const CompletionSources &sources) {
  const SubcommandInfo &info = subcommand_info(subcommand);
  std::vector<Completion> out;
  if (cursor > words.size())
    return out;
  std::string_view word = cursor < words.size() ? std::string_view(words[cursor]) : "";
  bool options_done = false;
  for (size_t i = 0; i < cursor; ++i)
    if (words[i] == "--")
      options_done = true;

  // The value of the option before the cursor: "-t <Tab>", "--format <Tab>".
  if (!options_done && cursor > 0) {
    if (const OptionInfo *o = option_wanting_value(info, words[cursor - 1])) {
      add_values(out, o->value, word, "", sources);
      return out;
    }
  }
  // An inline value: "--format=j<Tab>".
  if (!options_done && starts_with(word, "--")) {
    if (size_t eq = word.find('='); eq != std::string_view::npos) {
      if (const OptionInfo *o = find_long(info, word.substr(2, eq - 2)); o && o->argument)
        add_values(out, o->value, word.substr(eq + 1), word.substr(0, eq + 1), sources);
      return out;
    }
  }
  if (!options_done && starts_with(word, "-")) {
    add_options(out, info, word, words, cursor);
    return out;
  }
  // An operand (lint's module, provider's on/off), else the options.
  if (info.operand_kind != ValueKind::None)
    add_values(out, info.operand_kind, word, "", sources);
  else if (word.empty() && !options_done)
    add_options(out, info, word, words, cursor);
  return out;
}

} // namespace frameaudit::commands
