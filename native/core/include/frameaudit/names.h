// names.h: normalising the names debuggers report, so every front-end hands
// the core the same strings.
#pragma once

#include <string>
#include <string_view>

namespace frameaudit {

/// The plain name of a function as docs/formats.md, "JSON document" wants it: no argument list,
/// no trailing qualifiers. "ns::f<int>(int) const" -> "ns::f<int>",
/// "operator()(int)" -> "operator()", "main" -> "main". Angle brackets and
/// parentheses inside template arguments are respected.
std::string plain_function_name(std::string_view name);

/// A symbol's name demangled when it is an Itanium C++ mangling ("_Z..."),
/// else unchanged.
std::string demangled(std::string_view raw);

/// A file's name: the last component of its path ("/a/b/fixture.c" ->
/// "fixture.c"); the path itself when it has no slash or ends in one.
std::string_view basename(std::string_view path);

} // namespace frameaudit
