// elf_image.cpp: mapping and validating an ELF64 x86-64 file. The file is
// mapped read-only; all structure reads go through bounds-checked helpers.
#include "lint/elf_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace frameaudit::lint {
namespace {

constexpr uint16_t kEmX86_64 = 62;
constexpr uint32_t kShtNobits = 8;
constexpr uint32_t kShtSymtab = 2;
constexpr uint32_t kShtDynsym = 11;
constexpr uint32_t kShtRela = 4;
constexpr uint32_t kPtLoad = 1;

template <class T> T rd(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool in_file(uint64_t offset, uint64_t size, size_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

const char *machine_name(uint16_t m) {
  switch (m) {
  case 3:
    return "i386";
  case 40:
    return "ARM";
  case 183:
    return "AArch64";
  case 243:
    return "RISC-V";
  case 8:
    return "MIPS";
  case 20:
    return "PowerPC";
  case 21:
    return "PowerPC64";
  case 22:
    return "s390";
  default:
    return nullptr;
  }
}

} // namespace

ElfImage::ElfImage(ElfImage &&o) noexcept
    : base_(o.base_), size_(o.size_), type_(o.type_), sections_(std::move(o.sections_)),
      segments_(std::move(o.segments_)) {
  o.base_ = nullptr;
  o.size_ = 0;
}

ElfImage &ElfImage::operator=(ElfImage &&o) noexcept {
  if (this != &o) {
    unmap();
    base_ = o.base_;
    size_ = o.size_;
    type_ = o.type_;
    sections_ = std::move(o.sections_);
    segments_ = std::move(o.segments_);
    o.base_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

ElfImage::~ElfImage() {
  unmap();
}

void ElfImage::unmap() {
  if (base_ && size_)
    munmap(const_cast<uint8_t *>(base_), size_);
  base_ = nullptr;
  size_ = 0;
}

Result<ElfImage> ElfImage::open(const std::string &path) {
  ElfImage img;
  auto r = img.parse(path);
  if (!r)
    return r.error();
  return img;
}

Result<bool> ElfImage::parse(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(Error::Code::Unreadable,
                      "cannot open '" + path + "': " + std::strerror(errno) + ".");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(Error::Code::BadInput, "'" + path + "' is not a regular file.");
  }
  if (st.st_size < 64) {
    ::close(fd);
    return make_error(Error::Code::BadInput, "'" + path + "' is not an ELF file (too short).");
  }
  void *m = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED)
    return make_error(Error::Code::Unreadable,
                      "cannot map '" + path + "': " + std::strerror(errno) + ".");
  base_ = static_cast<const uint8_t *>(m);
  size_ = static_cast<size_t>(st.st_size);

  const uint8_t *h = base_;
  if (std::memcmp(h,
                  "\x7f"
                  "ELF",
                  4) != 0)
    return make_error(Error::Code::BadInput, "'" + path + "' is not an ELF file.");
  if (h[4] == 1)
    return make_error(Error::Code::UnsupportedArch,
                      "'" + path + "' is a 32-bit ELF file; frameaudit supports x86-64 only.");
  if (h[4] != 2 || h[5] != 1)
    return make_error(Error::Code::UnsupportedArch,
                      "'" + path +
                          "' is not a little-endian ELF64 file; frameaudit supports x86-64 only.");
  type_ = rd<uint16_t>(h + 16);
  const uint16_t machine = rd<uint16_t>(h + 18);
  if (machine != kEmX86_64) {
    const char *name = machine_name(machine);
    return make_error(Error::Code::UnsupportedArch,
                      "'" + path + "' is built for " +
                          (name ? std::string(name) : "machine " + std::to_string(machine)) +
                          "; frameaudit supports x86-64 only.");
  }

  // Program headers.
  const uint64_t phoff = rd<uint64_t>(h + 32);
  const uint16_t phentsize = rd<uint16_t>(h + 54);
  const uint16_t phnum = rd<uint16_t>(h + 56);
  if (phnum) {
    if (phentsize < 56 || !in_file(phoff, uint64_t(phentsize) * phnum, size_))
      return make_error(Error::Code::BadInput,
                        "'" + path +
                            "' is truncated or corrupt: its program headers lie outside the file.");
    for (uint16_t i = 0; i < phnum; ++i) {
      const uint8_t *p = base_ + phoff + uint64_t(i) * phentsize;
      ElfSegment s;
      s.type = rd<uint32_t>(p);
      s.flags = rd<uint32_t>(p + 4);
      s.offset = rd<uint64_t>(p + 8);
      s.vaddr = rd<uint64_t>(p + 16);
      s.filesz = rd<uint64_t>(p + 32);
      s.memsz = rd<uint64_t>(p + 40);
      if (s.type == kPtLoad && !in_file(s.offset, s.filesz, size_))
        return make_error(Error::Code::BadInput,
                          "'" + path +
                              "' is truncated: a loadable segment ends past the end of the file.");
      segments_.push_back(s);
    }
  }

  // Section headers (extended numbering: counts in section 0).
  const uint64_t shoff = rd<uint64_t>(h + 40);
  const uint16_t shentsize = rd<uint16_t>(h + 58);
  uint64_t shnum = rd<uint16_t>(h + 60);
  uint32_t shstrndx = rd<uint16_t>(h + 62);
  if (shoff) {
    if (shentsize < 64 || !in_file(shoff, 64, size_))
      return make_error(Error::Code::BadInput,
                        "'" + path +
                            "' is truncated or corrupt: its section headers lie outside the file.");
    if (shnum == 0)
      shnum = rd<uint64_t>(base_ + shoff + 32);
    if (shstrndx == 0xffff)
      shstrndx = rd<uint32_t>(base_ + shoff + 40);
    if (shnum > (size_ - shoff) / shentsize)
      return make_error(Error::Code::BadInput,
                        "'" + path +
                            "' is truncated: its section headers end past the end of the file.");
    sections_.reserve(shnum);
    std::vector<uint32_t> name_offsets;
    name_offsets.reserve(shnum);
    for (uint64_t i = 0; i < shnum; ++i) {
      const uint8_t *p = base_ + shoff + i * shentsize;
      ElfSection s;
      name_offsets.push_back(rd<uint32_t>(p));
      s.type = rd<uint32_t>(p + 4);
      s.flags = rd<uint64_t>(p + 8);
      s.addr = rd<uint64_t>(p + 16);
      s.offset = rd<uint64_t>(p + 24);
      s.size = rd<uint64_t>(p + 32);
      s.link = rd<uint32_t>(p + 40);
      s.info = rd<uint32_t>(p + 44);
      s.entsize = rd<uint64_t>(p + 56);
      sections_.push_back(std::move(s));
    }
    const ElfSection *strtab = shstrndx < sections_.size() ? &sections_[shstrndx] : nullptr;
    const bool strtab_ok =
        strtab && strtab->type != kShtNobits && in_file(strtab->offset, strtab->size, size_);
    for (size_t i = 0; i < sections_.size(); ++i) {
      ElfSection &s = sections_[i];
      const uint32_t name_off = name_offsets[i];
      if (strtab_ok && name_off < strtab->size) {
        const char *b = reinterpret_cast<const char *>(base_ + strtab->offset + name_off);
        s.name.assign(b, strnlen(b, strtab->size - name_off));
      }
    }
    for (const auto &s : sections_) {
      if (s.type == kShtNobits || s.type == 0)
        continue;
      if (!in_file(s.offset, s.size, size_))
        return make_error(Error::Code::BadInput, "'" + path + "' is truncated: section " +
                                                     (s.name.empty() ? std::string("?") : s.name) +
                                                     " ends past the end of the file.");
    }
  }
  if (sections_.empty() && segments_.empty())
    return make_error(Error::Code::BadInput, "'" + path + "' has neither sections nor segments.");
  return true;
}

const ElfSection *ElfImage::section(std::string_view name) const {
  for (const auto &s : sections_)
    if (s.name == name)
      return &s;
  return nullptr;
}

std::span<const uint8_t> ElfImage::data(const ElfSection &s) const {
  if (s.type == kShtNobits || !in_file(s.offset, s.size, size_))
    return {};
  return {base_ + s.offset, static_cast<size_t>(s.size)};
}

std::span<const uint8_t> ElfImage::bytes_at(uint64_t vaddr, uint64_t size) const {
  for (const auto &s : sections_) {
    if (s.type == kShtNobits || s.addr == 0 || (s.flags & 0x2) == 0) // SHF_ALLOC
      continue;
    if (vaddr >= s.addr && vaddr - s.addr < s.size && size <= s.size - (vaddr - s.addr)) {
      const uint64_t off = s.offset + (vaddr - s.addr);
      if (in_file(off, size, size_))
        return {base_ + off, static_cast<size_t>(size)};
    }
  }
  for (const auto &p : segments_) {
    if (p.type != kPtLoad)
      continue;
    if (vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz && size <= p.filesz - (vaddr - p.vaddr)) {
      const uint64_t off = p.offset + (vaddr - p.vaddr);
      if (in_file(off, size, size_))
        return {base_ + off, static_cast<size_t>(size)};
    }
  }
  return {};
}

bool ElfImage::is_code(uint64_t vaddr) const {
  if (!sections_.empty()) {
    for (const auto &s : sections_)
      if (s.executable() && vaddr >= s.addr && vaddr - s.addr < s.size)
        return true;
    return false;
  }
  for (const auto &p : segments_)
    if (p.type == kPtLoad && p.executable() && vaddr >= p.vaddr && vaddr - p.vaddr < p.memsz)
      return true;
  return false;
}

std::vector<ElfSymbol> ElfImage::symbols(const ElfSection &symtab) const {
  std::vector<ElfSymbol> out;
  if (symtab.type != kShtSymtab && symtab.type != kShtDynsym)
    return out;
  const auto bytes = data(symtab);
  std::span<const uint8_t> strings;
  if (symtab.link < sections_.size())
    strings = data(sections_[symtab.link]);
  const size_t n = bytes.size() / 24;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t *p = bytes.data() + i * 24;
    ElfSymbol s;
    const uint32_t name = rd<uint32_t>(p);
    if (name < strings.size()) {
      const char *b = reinterpret_cast<const char *>(strings.data() + name);
      s.name = std::string_view(b, strnlen(b, strings.size() - name));
    }
    const uint8_t info = p[4];
    s.type = info & 0xf;
    s.bind = info >> 4;
    s.shndx = rd<uint16_t>(p + 6);
    s.value = rd<uint64_t>(p + 8);
    s.size = rd<uint64_t>(p + 16);
    out.push_back(s);
  }
  return out;
}

std::vector<ElfRelocation> ElfImage::relocations(const ElfSection &rela) const {
  std::vector<ElfRelocation> out;
  if (rela.type != kShtRela)
    return out;
  const auto bytes = data(rela);
  const size_t n = bytes.size() / 24;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t *p = bytes.data() + i * 24;
    const uint64_t info = rd<uint64_t>(p + 8);
    out.push_back(ElfRelocation{rd<uint64_t>(p), static_cast<uint32_t>(info & 0xffffffffu),
                                static_cast<uint32_t>(info >> 32), rd<int64_t>(p + 16)});
  }
  return out;
}

} // namespace frameaudit::lint
