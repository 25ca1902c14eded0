// elf_image.h: lint's view of one ELF64 x86-64 file through libelf:
// sections, program headers, symbols, relocations, and reading bytes by
// virtual address. libelf reads the structures; this class checks the file
// is one lint can judge (class, byte order, machine) and that every header
// and section it names lies inside the file, so a malformed file yields an
// Error or empty results, never a crash. The header needs no libelf include.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frameaudit/result.h"

struct Elf; // libelf's handle (libelf.h: typedef struct Elf Elf)

namespace frameaudit::lint {

struct ElfSection {
  size_t index = 0; ///< section header index (sections() is indexed by it)
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t entsize = 0;
  bool executable() const { return (flags & 0x4) != 0; } // SHF_EXECINSTR
};

struct ElfSegment {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
  bool executable() const { return (flags & 0x1) != 0; } // PF_X
};

struct ElfSymbol {
  std::string_view name; ///< points into libelf's string table data
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0; ///< STT_*
  uint8_t bind = 0; ///< STB_*
  uint16_t shndx = 0;
  bool defined() const { return shndx != 0; }
};

struct ElfRelocation {
  uint64_t offset = 0; ///< r_offset: the slot's virtual address
  uint32_t type = 0;   ///< R_X86_64_*
  uint32_t symbol = 0; ///< index into the linked symbol table
  int64_t addend = 0;
};

/// An ELF file opened with libelf (ELF_C_READ_MMAP on a descriptor this
/// object owns). Movable, not copyable; symbol names and spans point into
/// libelf's data and live as long as the object.
class ElfImage {
public:
  /// Open and validate `path`: ELF64, little endian, x86-64, headers and
  /// sections inside the file.
  static Result<ElfImage> open(const std::string &path);

  ElfImage(ElfImage &&) noexcept;
  ElfImage &operator=(ElfImage &&) noexcept;
  ~ElfImage();

  const std::string &path() const { return path_; }
  uint16_t type() const { return type_; } ///< ET_EXEC (2) or ET_DYN (3), ...
  const std::vector<ElfSection> &sections() const { return sections_; }
  const std::vector<ElfSegment> &segments() const { return segments_; }
  const ElfSection *section(std::string_view name) const;

  /// The section's bytes as stored in the file (elf_getdata; empty for
  /// SHT_NOBITS or when libelf cannot read it).
  std::span<const uint8_t> data(const ElfSection &s) const;
  /// Bytes at [vaddr, vaddr + size) from the file, through the section or
  /// load segment that holds them; empty if not all present in the file.
  std::span<const uint8_t> bytes_at(uint64_t vaddr, uint64_t size) const;
  /// True if vaddr lies in executable code (an SHF_EXECINSTR section, or a
  /// PF_X segment when the file has no section headers).
  bool is_code(uint64_t vaddr) const;

  /// Symbols of a SHT_SYMTAB or SHT_DYNSYM section.
  std::vector<ElfSymbol> symbols(const ElfSection &symtab) const;
  /// Relocations of a SHT_RELA section.
  std::vector<ElfRelocation> relocations(const ElfSection &rela) const;

  /// The libelf handle (for libdw: CFI).
  ::Elf *elf() const { return elf_; }

private:
  ElfImage() = default;
  Result<bool> parse();
  void close();

  std::string path_;
  int fd_ = -1;
  ::Elf *elf_ = nullptr;
  const uint8_t *raw_ = nullptr; ///< elf_rawfile: the whole file as libelf mapped it
  size_t size_ = 0;
  uint16_t type_ = 0;
  std::vector<ElfSection> sections_;
  std::vector<ElfSegment> segments_;
};

} // namespace frameaudit::lint
