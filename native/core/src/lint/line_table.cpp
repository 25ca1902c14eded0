// line_table.cpp: a DWARF .debug_line reader (v2-v5): runs each unit's line
// program into one sorted row table. Every read is bounded by its unit;
// a malformed unit is skipped, never trusted.
#include "lint/line_table.h"

#include "lint/byte_cursor.h"

#include <algorithm>
#include <cstring>
#include <span>

namespace frameaudit::lint {
namespace {

constexpr uint64_t kShfCompressed = 0x800;
constexpr size_t kMaxRows = 50'000'000;

using Cursor = ByteCursor;

std::string string_at(std::span<const uint8_t> sec, uint64_t off) {
  if (off >= sec.size())
    return {};
  const char *s = reinterpret_cast<const char *>(sec.data() + off);
  return std::string(s, strnlen(s, sec.size() - off));
}

std::string join(const std::string &dir, const std::string &name) {
  if (name.empty() || name[0] == '/' || dir.empty())
    return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

} // namespace

class LineProgramReader {
public:
  LineProgramReader(LineTable &t, std::span<const uint8_t> line, std::span<const uint8_t> line_str,
                    std::span<const uint8_t> str)
      : t_(t), line_(line), line_str_(line_str), str_(str) {}

  // Read one unit at `pos`; returns the next unit's offset, or 0 to stop.
  size_t unit(size_t pos) {
    Cursor c(line_, pos);
    uint64_t length = c.fixed<uint32_t>();
    bool dwarf64 = false;
    if (length == 0xffffffffu) {
      length = c.fixed<uint64_t>();
      dwarf64 = true;
    }
    if (!c.ok() || length > line_.size() - c.pos())
      return 0;
    const size_t end = c.pos() + static_cast<size_t>(length);
    Cursor u(line_, c.pos(), end);
    const uint16_t version = u.fixed<uint16_t>();
    if (version < 2 || version > 5)
      return end;
    if (version >= 5) {
      u.fixed<uint8_t>(); // address_size
      u.fixed<uint8_t>(); // segment_selector_size
    }
    const uint64_t header_length = dwarf64 ? u.fixed<uint64_t>() : u.fixed<uint32_t>();
    const size_t program =
        u.pos() + static_cast<size_t>(std::min<uint64_t>(header_length, end - u.pos()));
    const uint8_t min_inst = u.fixed<uint8_t>();
    if (version >= 4)
      u.fixed<uint8_t>(); // maximum_operations_per_instruction (VLIW only)
    const bool default_is_stmt = u.fixed<uint8_t>() != 0;
    (void)default_is_stmt;
    const int8_t line_base = u.fixed<int8_t>();
    const uint8_t line_range = u.fixed<uint8_t>();
    const uint8_t opcode_base = u.fixed<uint8_t>();
    std::vector<uint8_t> std_lengths;
    for (int i = 1; i < opcode_base && u.ok(); ++i)
      std_lengths.push_back(u.fixed<uint8_t>());
    if (!u.ok() || line_range == 0)
      return end;

    // Directories and files, made into global file indices.
    std::vector<uint32_t> files; // unit file number -> t_.files_ index
    if (version >= 5) {
      std::vector<std::string> dirs;
      if (!entries(u, dwarf64, [&](const std::string &path, uint64_t) { dirs.push_back(path); }))
        return end;
      if (!entries(u, dwarf64, [&](const std::string &path, uint64_t dir) {
            files.push_back(add_file(join(dir < dirs.size() ? dirs[dir] : "", path)));
          }))
        return end;
    } else {
      std::vector<std::string> dirs{""}; // 0: the compilation directory (not known here)
      for (int i = 0; i < 100000 && u.ok(); ++i) {
        std::string d = u.cstr();
        if (d.empty())
          break;
        dirs.push_back(d);
      }
      files.push_back(add_file("")); // file numbers start at 1
      for (int i = 0; i < 1000000 && u.ok(); ++i) {
        std::string name = u.cstr();
        if (name.empty())
          break;
        const uint64_t dir = u.uleb();
        u.uleb(); // mtime
        u.uleb(); // length
        files.push_back(add_file(join(dir < dirs.size() ? dirs[dir] : "", name)));
      }
    }
    if (!u.ok())
      return end;

    // The line program.
    Cursor p(line_, program, end);
    uint64_t address = 0;
    uint64_t file = 1;
    int64_t line = 1;
    auto emit = [&](bool end_seq) {
      if (t_.rows_.size() >= kMaxRows)
        return;
      const uint32_t f = file < files.size() ? files[file] : 0;
      const uint32_t l = line > 0 && line < (int64_t(1) << 31) ? static_cast<uint32_t>(line) : 0;
      t_.rows_.push_back({address, f, l, end_seq});
    };
    auto reset = [&] {
      address = 0;
      file = 1;
      line = 1;
    };
    while (!p.at_end() && p.ok()) {
      const uint8_t op = p.fixed<uint8_t>();
      if (op >= opcode_base) {
        const uint8_t adj = op - opcode_base;
        address += uint64_t(adj / line_range) * min_inst;
        line += line_base + adj % line_range;
        emit(false);
        continue;
      }
      switch (op) {
      case 0: { // extended
        const uint64_t len = p.uleb();
        if (!p.ok() || len == 0)
          return end;
        const size_t after = p.pos() + static_cast<size_t>(std::min<uint64_t>(len, end - p.pos()));
        const uint8_t sub = p.fixed<uint8_t>();
        if (sub == 1) { // end_sequence
          emit(true);
          reset();
        } else if (sub == 2 && len == 9) { // set_address
          address = p.fixed<uint64_t>();
        }
        p = Cursor(line_, after, end);
        break;
      }
      case 1:
        emit(false);
        break; // copy
      case 2:
        address += p.uleb() * min_inst;
        break; // advance_pc
      case 3:
        line += p.sleb();
        break; // advance_line
      case 4:
        file = p.uleb();
        break; // set_file
      case 5:
        p.uleb();
        break; // set_column
      case 6:
      case 7:
      case 10:
      case 11:
        break; // flags
      case 8:
        address += uint64_t((255 - opcode_base) / line_range) * min_inst;
        break; // const_add_pc
      case 9:
        address += p.fixed<uint16_t>();
        break; // fixed_advance_pc
      default: // unknown standard opcode: skip its uleb operands
        for (uint8_t i = 0; op - 1u < std_lengths.size() && i < std_lengths[op - 1u]; ++i)
          p.uleb();
        break;
      }
    }
    return end;
  }

private:
  uint32_t add_file(const std::string &path) {
    t_.files_.push_back(path);
    return static_cast<uint32_t>(t_.files_.size() - 1);
  }

  // A DWARF 5 entry-format list and its entries; calls fn(path, dir index).
  template <class Fn> bool entries(Cursor &u, bool dwarf64, Fn fn) {
    const uint8_t nformats = u.fixed<uint8_t>();
    std::vector<std::pair<uint64_t, uint64_t>> formats;
    for (int i = 0; i < nformats && u.ok(); ++i) {
      const uint64_t type = u.uleb();
      const uint64_t form = u.uleb();
      formats.emplace_back(type, form);
    }
    const uint64_t count = u.uleb();
    for (uint64_t e = 0; e < count && u.ok() && e < 10'000'000; ++e) {
      std::string path;
      uint64_t dir = 0;
      for (const auto &[type, form] : formats) {
        std::string s;
        uint64_t v = 0;
        switch (form) {
        case 0x08:
          s = u.cstr();
          break; // string
        case 0x1f:
          s = string_at(line_str_, dwarf64 ? u.fixed<uint64_t>() : u.fixed<uint32_t>());
          break; // line_strp
        case 0x0e:
          s = string_at(str_, dwarf64 ? u.fixed<uint64_t>() : u.fixed<uint32_t>());
          break; // strp
        case 0x0f:
          v = u.uleb();
          break; // udata
        case 0x0b:
          v = u.fixed<uint8_t>();
          break; // data1
        case 0x05:
          v = u.fixed<uint16_t>();
          break; // data2
        case 0x06:
          v = u.fixed<uint32_t>();
          break; // data4
        case 0x07:
          v = u.fixed<uint64_t>();
          break; // data8
        case 0x1e:
          u.skip(16);
          break; // data16 (MD5)
        case 0x09:
          u.skip(u.uleb());
          break; // block
        default:
          return false; // a form we cannot size: give up on this unit
        }
        if (type == 1)
          path = s;
        else if (type == 2)
          dir = v;
      }
      fn(path, dir);
    }
    return u.ok();
  }

  LineTable &t_;
  std::span<const uint8_t> line_, line_str_, str_;
};

std::optional<LineTable> LineTable::load(const ElfImage &image) {
  const ElfSection *line = image.section(".debug_line");
  if (!line || (line->flags & kShfCompressed))
    return std::nullopt;
  auto bytes = image.data(*line);
  if (bytes.empty())
    return std::nullopt;
  std::span<const uint8_t> line_str, str;
  if (const ElfSection *s = image.section(".debug_line_str"); s && !(s->flags & kShfCompressed))
    line_str = image.data(*s);
  if (const ElfSection *s = image.section(".debug_str"); s && !(s->flags & kShfCompressed))
    str = image.data(*s);
  LineTable t;
  LineProgramReader reader(t, bytes, line_str, str);
  size_t pos = 0;
  for (int units = 0; pos < bytes.size() && units < 10'000'000; ++units) {
    const size_t next = reader.unit(pos);
    if (next <= pos)
      break;
    pos = next;
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
  // Several rows may share the address: prefer the last non-terminating one.
  if (it->end_sequence)
    return std::nullopt;
  if (it->line == 0 || it->file >= files_.size() || files_[it->file].empty())
    return std::nullopt;
  return SourceLocation{files_[it->file], it->line};
}

} // namespace frameaudit::lint
