// plain_name.cpp: the names symbols and files are shown by: demangled,
// argument lists stripped, a path's last component.
#include "frameaudit/names.h"

#include <cxxabi.h>

#include <cstdlib>

namespace frameaudit {

std::string demangled(std::string_view raw) {
  std::string name(raw);
  if (name.size() > 2 && name[0] == '_' && name[1] == 'Z') {
    int status = -1;
    char *d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
    if (d && status == 0)
      name = d;
    std::free(d);
  }
  return name;
}

std::string_view basename(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string_view::npos || slash + 1 == path.size())
    return path;
  return path.substr(slash + 1);
}

std::string plain_function_name(std::string_view name) {
  // Find the '(' that opens the argument list: the last top-level '(' whose
  // group runs to the end (ignoring trailing qualifiers). Scan once, tracking
  // template depth; "operator()" is a name, not an argument list.
  int angle = 0;
  size_t open = std::string_view::npos;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    // "operator<<", "operator()", "operator->": the symbol is part of the
    // name, not a bracket; skip the whole operator token.
    if (c == 'o' && name.substr(i, 8) == "operator" &&
        (i == 0 || name[i - 1] == ':' || name[i - 1] == ' ')) {
      size_t j = i + 8;
      while (j < name.size() && name[j] == ' ')
        ++j;
      if (name.substr(j, 2) == "()" || name.substr(j, 2) == "[]")
        j += 2;
      else
        while (j < name.size() && std::string_view("<>=!+-*/%&|^~,").find(name[j]) !=
                                      std::string_view::npos)
          ++j;
      i = j - 1;
      continue;
    }
    if (c == '<') {
      ++angle;
    } else if (c == '>') {
      if (angle > 0)
        --angle;
    } else if (c == '(' && angle == 0) {
      // "(anonymous namespace)::f(int)": a group followed by "::" is scope.
      size_t depth = 0, j = i;
      for (; j < name.size(); ++j) {
        if (name[j] == '(')
          ++depth;
        else if (name[j] == ')' && --depth == 0)
          break;
      }
      if (j + 2 < name.size() && name[j + 1] == ':' && name[j + 2] == ':') {
        i = j;
        continue;
      }
      open = i;
      break;
    }
  }
  std::string_view out = open == std::string_view::npos ? name : name.substr(0, open);
  while (!out.empty() && out.back() == ' ')
    out.remove_suffix(1);
  return std::string(out);
}

} // namespace frameaudit
