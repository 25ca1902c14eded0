// line_table.cpp: the line tables of one file through libdwfl and libdw.
// The file is reported to a libdwfl session of its own at bias 0 (so rows
// are file addresses, as lint's call sites are); dwfl_module_getdwarf opens
// its DWARF, decompressing SHF_COMPRESSED sections, or finds the separate
// debug file with dwfl_standard_find_debuginfo (.gnu_debuglink next to the
// file or in its .debug directory, build ID under each debug directory,
// both checked against the file). Each unit's rows (dwarf_getsrclines) go
// into one table sorted by address.
#include "lint/line_table.h"

#include "elf/dwfl_session.h"

#include <elfutils/libdwfl.h>

#include <algorithm>
#include <unordered_map>

namespace frameaudit::lint {
namespace {

constexpr size_t kMaxRows = 50'000'000;
constexpr int kMaxUnits = 10'000'000;

} // namespace

std::optional<LineTable> LineTable::load(const std::string &path,
                                         const std::vector<std::string> &debug_dirs) {
  detail::DwflSession session(debug_dirs);
  Dwfl *dwfl = session.get();
  if (!dwfl)
    return std::nullopt;
  dwfl_report_begin(dwfl);
  Dwfl_Module *mod = dwfl_report_elf(dwfl, "lint", path.c_str(), -1, 0, true);
  dwfl_report_end(dwfl, nullptr, nullptr);
  if (!mod)
    return std::nullopt;
  Dwarf_Addr bias = 0;
  if (!dwfl_module_getdwarf(mod, &bias))
    return std::nullopt;

  LineTable t;
  std::unordered_map<const char *, uint32_t> file_index; // libdw's file names, per pointer
  Dwarf_Die *cu = nullptr;
  for (int units = 0; units < kMaxUnits && (cu = dwfl_module_nextcu(mod, cu, &bias)); ++units) {
    Dwarf_Lines *lines = nullptr;
    size_t n = 0;
    if (dwarf_getsrclines(cu, &lines, &n) != 0)
      continue;
    for (size_t i = 0; i < n && t.rows_.size() < kMaxRows; ++i) {
      Dwarf_Line *l = dwarf_onesrcline(lines, i);
      Dwarf_Addr addr = 0;
      int line = 0;
      bool end = false;
      if (!l || dwarf_lineaddr(l, &addr) != 0 || dwarf_lineno(l, &line) != 0 ||
          dwarf_lineendsequence(l, &end) != 0)
        continue;
      const char *file = dwarf_linesrc(l, nullptr, nullptr);
      uint32_t f = UINT32_MAX; // no file: no location
      if (file) {
        auto [it, added] = file_index.emplace(file, static_cast<uint32_t>(t.files_.size()));
        if (added)
          t.files_.emplace_back(file);
        f = it->second;
      }
      t.rows_.push_back({addr + bias, f, line > 0 ? static_cast<uint32_t>(line) : 0, end});
    }
  }
  std::stable_sort(t.rows_.begin(), t.rows_.end(), [](const Row &a, const Row &b) {
    if (a.address != b.address)
      return a.address < b.address;
    return a.end_sequence && !b.end_sequence;
  });
  return t;
}

std::optional<SourceLocation> LineTable::lookup(uint64_t address) const {
  // The last row at or before the address; an end_sequence row there means
  // the address lies between sequences.
  auto it = std::upper_bound(rows_.begin(), rows_.end(), address,
                             [](uint64_t a, const Row &r) { return a < r.address; });
  if (it == rows_.begin())
    return std::nullopt;
  --it;
  if (it->end_sequence)
    return std::nullopt;
  if (it->line == 0 || it->file >= files_.size() || files_[it->file].empty())
    return std::nullopt;
  return SourceLocation{files_[it->file], it->line};
}

} // namespace frameaudit::lint
