// line_table.h: source file and line of a code address from DWARF
// .debug_line (versions 2 to 5), so `frameaudit lint` can name the source
// line of each call site without a debugger. Bounds-checked throughout;
// anything it cannot read simply yields no location.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lint/elf_image.h"

namespace frameaudit::lint {

struct SourceLocation {
  std::string file;
  uint32_t line = 0;
};

class LineTable {
public:
  /// Read every line program of the file; std::nullopt without (readable,
  /// uncompressed) .debug_line.
  static std::optional<LineTable> load(const ElfImage &image);

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
  friend class LineProgramReader;
};

} // namespace frameaudit::lint
