// line_table.h: source file and line of a code address from the DWARF line
// tables (libdw), so `frameaudit lint` can name the source line of each call
// site without a debugger: in the file itself (compressed sections too) or
// in a separate debug file found by .gnu_debuglink or build ID. Anything
// libdw cannot read simply yields no location.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace frameaudit::lint {

struct SourceLocation {
  std::string file;
  uint32_t line = 0;
};

class LineTable {
public:
  /// Every line table of the file at `path` or of its separate debug file
  /// (next to it, in its .debug directory, under /usr/lib/debug, or in
  /// `debug_dirs`, by debuglink or .build-id/xx/yyyy.debug); std::nullopt
  /// without any DWARF.
  static std::optional<LineTable> load(const std::string &path,
                                       const std::vector<std::string> &debug_dirs = {});

  /// The row covering `address` (the last row at or before it within its
  /// sequence); std::nullopt if no sequence covers it or its line is 0.
  std::optional<SourceLocation> lookup(uint64_t address) const;

  size_t rows() const { return rows_.size(); }

private:
  struct Row {
    uint64_t address = 0;
    uint32_t file = 0; // index into files_
    uint32_t line = 0;
    bool end_sequence = false;
  };
  std::vector<Row> rows_; // sorted by address, end-of-sequence rows first at equal addresses
  std::vector<std::string> files_;
};

} // namespace frameaudit::lint
