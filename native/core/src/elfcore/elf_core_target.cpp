// elf_core_target.cpp: frameaudit::Target over an ELF core, without LLDB.
// libelf reads the core (elfcore/core_file.h); libdwfl reports its modules
// from the link map and NT_FILE (dwfl_core_file_report) and unwinds its
// threads for the unwinder comparison (dwfl_core_file_attach); libdw gives
// symbols, inlined functions and lines. Each method hands the core what the
// LLDB adapters hand it for the same core (docs/design/gathering.md); the
// differences that remain are listed in docs/formats.md, "Engines".
#include "frameaudit/elf_core.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "elf/dwfl_session.h"
#include "elfcore/core_file.h"
#include "elfcore/stop_reason.h"
#include "frameaudit/hex.h"
#include "frameaudit/names.h"
#include "lint/eh_frame.h"

namespace frameaudit {
namespace {

using detail::CoreFile;

constexpr size_t kMaxDebuggerFrames = 64; // as the LLDB adapters gather
constexpr size_t kMaxInlined = 64;
constexpr const char *kAllocator = "sra_alloc";
// user_regs_struct indices (elfcore/core_file.h).
enum UserReg : size_t {
  R15,
  R14,
  R13,
  R12,
  RBP,
  RBX,
  R11,
  R10,
  R9,
  R8,
  RAX,
  RCX,
  RDX,
  RSI,
  RDI,
  ORIG_RAX,
  RIP,
  CS,
  EFLAGS,
  RSP
};

bool is_vdso(std::string_view name) {
  return name.rfind("[vdso", 0) == 0 || name.rfind("linux-vdso", 0) == 0 ||
         name.rfind("linux-gate", 0) == 0;
}

// A line table's file as LLDB spells it: "." components dropped, "d/.."
// folded, and a relative path's leading ".." dropped ("../csu/libc-start.c"
// is "csu/libc-start.c").
std::string lldb_path(std::string_view path) {
  const bool absolute = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos)
      slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".")
      continue;
    if (part == "..") {
      if (!parts.empty())
        parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i)
      out += '/';
    out += parts[i];
  }
  return out;
}

// The name LLDB gives a function or an inlined function: its linkage name
// demangled, else DW_AT_name (following abstract_origin and specification).
std::optional<std::string> die_name(Dwarf_Die *die) {
  Dwarf_Attribute attr;
  const char *linkage = nullptr;
  if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
      dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
    linkage = dwarf_formstring(&attr);
  if (linkage)
    return demangled(linkage);
  if (const char *name = dwarf_diename(die))
    return std::string(name);
  if (dwarf_attr_integrate(die, DW_AT_name, &attr))
    if (const char *name = dwarf_formstring(&attr))
      return std::string(name);
  return std::nullopt;
}

// Where the core's files are found: under the sysroot, in the solib search
// paths by file name, the executable the user named, then as the core names
// them (libdwfl's own build-ID search). libdwfl's callback has no user
// pointer, so the options of the session being set up are passed here; it is
// only called while open_elf_core reports and opens the modules.
struct FindElfContext {
  const ElfCoreOptions *options = nullptr;
  std::optional<uint64_t> entry;
};
thread_local FindElfContext *g_find_elf = nullptr;

int open_candidate(const std::string &path, char **file_name, Elf **elfp) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  GElf_Ehdr ehdr;
  if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
      (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)) {
    if (elf)
      elf_end(elf);
    ::close(fd);
    return -1;
  }
  *elfp = elf;
  *file_name = strdup(path.c_str());
  return fd;
}

int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
             char **file_name, Elf **elfp) {
  const FindElfContext *ctx = g_find_elf;
  if (ctx && ctx->options && modname && modname[0] == '/') {
    const ElfCoreOptions &o = *ctx->options;
    Dwarf_Addr low = 0, high = 0;
    dwfl_module_info(mod, nullptr, &low, &high, nullptr, nullptr, nullptr, nullptr);
    const bool main = ctx->entry && low <= *ctx->entry && *ctx->entry < high;
    std::vector<std::string> candidates;
    if (main && o.executable)
      candidates.push_back(*o.executable);
    if (o.sysroot)
      candidates.push_back(*o.sysroot + modname);
    for (const std::string &d : o.solib_search_paths)
      candidates.push_back(d + "/" + std::string(basename(modname)));
    for (const std::string &c : candidates) {
      int fd = open_candidate(c, file_name, elfp);
      if (fd >= 0)
        return fd;
    }
  }
  return dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
}

/// A compilation unit's address range, for units .debug_aranges leaves out.
struct CuRange {
  uint64_t low = 0, high = 0; ///< loaded addresses
  Dwarf_Die die;
};

struct ModuleEntry {
  Dwfl_Module *mod = nullptr;
  std::optional<std::vector<CuRange>> cu_ranges; ///< every unit's ranges, built on the first miss
  mutable std::optional<std::vector<lint::CodeRange>>
      fdes; ///< the file's FDEs, listed on first use
  Module module;
  uint64_t low = 0, high = 0;
  Elf *elf = nullptr; ///< the module's file (not its debug file), or null
  GElf_Addr bias = 0;
  bool main = false;
};

class ElfCoreTarget final : public Target {
public:
  ElfCoreTarget(std::unique_ptr<CoreFile> core, std::string path, ElfCoreOptions options)
      : core_(std::move(core)), path_(std::move(path)), options_(std::move(options)),
        session_(options_.debug_dirs, find_elf) {}

  Error setup();

  TargetInfo info() override {
    TargetInfo info;
    for (const ModuleEntry &m : modules_)
      if (m.main)
        info.executable = m.module.path;
    info.core = !path_.empty() && path_[0] == '/' ? lldb_path(path_) : path_;
    info.pid = core_->pid();
    info.arch = "x86_64";
    return info;
  }

  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override;
  std::vector<MemoryRegion> memory_regions() override;
  std::vector<ThreadInfo> threads() override;
  Symbol symbolize(uint64_t pc) override;
  std::vector<uint64_t> allocator_entries() override;
  std::vector<Module> modules() override {
    std::vector<Module> out;
    for (const ModuleEntry &m : modules_)
      out.push_back(m.module);
    return out;
  }

private:
  const ModuleEntry *module_at(uint64_t addr) const {
    for (const ModuleEntry &m : modules_)
      if (m.low <= addr && addr < m.high)
        return &m;
    return nullptr;
  }
  size_t read_module_file(uint64_t addr, std::span<std::byte> buf) const;
  Dwarf_Die *cu_at(const ModuleEntry &m, uint64_t pc, Dwarf_Addr &bias);
  std::optional<std::pair<uint64_t, uint64_t>> fde_at(const ModuleEntry &m, uint64_t file_pc) const;
  std::vector<DebuggerFrame> unwind(uint64_t tid);

  std::unique_ptr<CoreFile> core_;
  std::string path_;
  ElfCoreOptions options_;
  detail::DwflSession session_;
  bool attached_ = false;
  std::vector<ModuleEntry> modules_; ///< in LLDB's order: the executable first
  Dwarf_Die cu_die_{};               ///< cu_at's answer from the scan
};

Error ok() {
  return Error{Error::Code::Internal, {}};
}

Error ElfCoreTarget::setup() {
  Dwfl *dwfl = session_.get();
  if (!dwfl)
    return make_error(Error::Code::Internal, "libdwfl cannot start a session");
  FindElfContext ctx{&options_, core_->entry()};
  g_find_elf = &ctx;
  dwfl_report_begin(dwfl);
  const char *exe = options_.executable ? options_.executable->c_str() : nullptr;
  int reported = dwfl_core_file_report(dwfl, core_->elf(), exe);
  dwfl_report_end(dwfl, nullptr, nullptr);
  // A core whose link map and NT_FILE are unusable (reported < 0) still has
  // its threads and memory: it is analysed without modules.
  (void)reported;
  struct Collect {
    std::vector<ModuleEntry> *out;
  } collect{&modules_};
  dwfl_getmodules(
      dwfl,
      [](Dwfl_Module *mod, void **, const char *name, Dwarf_Addr low, void *arg) -> int {
        auto *c = static_cast<Collect *>(arg);
        ModuleEntry e;
        e.mod = mod;
        Dwarf_Addr start = 0, end = 0;
        const char *mainfile = nullptr;
        dwfl_module_info(mod, nullptr, &start, &end, nullptr, nullptr, &mainfile, nullptr);
        e.low = start;
        e.high = end;
        e.elf =
            dwfl_module_getelf(mod, &e.bias); // finds the file now, while find_elf has the options
        std::string modname = name ? name : "";
        if (is_vdso(modname)) {
          e.module.path = e.module.name = "[vdso]";
        } else {
          // libdwfl's build-ID search names the file by its .build-id link:
          // the path the core names is the one the user knows.
          std::string path = mainfile ? mainfile : modname;
          if (path.find("/.build-id/") != std::string::npos || path.empty())
            path = modname;
          e.module.path = path;
          e.module.name = std::string(basename(path));
        }
        e.module.load_bias = e.elf ? e.bias : low;
        c->out->push_back(std::move(e));
        return DWARF_CB_OK;
      },
      &collect, 0);
  g_find_elf = nullptr;
  if (auto entry = core_->entry())
    for (ModuleEntry &m : modules_)
      m.main = m.low <= *entry && *entry < m.high;
  std::stable_partition(modules_.begin(), modules_.end(),
                        [](const ModuleEntry &m) { return m.main; });
  std::stable_partition(modules_.begin() + (modules_.empty() || !modules_[0].main ? 0 : 1),
                        modules_.end(),
                        [](const ModuleEntry &m) { return m.module.name == "[vdso]"; });
  for (ModuleEntry &m : modules_) {
    // Debug info: compile units in the file or its separate debug file.
    Dwarf_Addr bias = 0;
    if (Dwarf *dw = dwfl_module_getdwarf(m.mod, &bias)) {
      Dwarf_Off off = 0, next = 0;
      size_t hsize = 0;
      m.module.debug_info = dwarf_nextcu(dw, off, &next, &hsize, nullptr, nullptr, nullptr) == 0;
    }
    int n = dwfl_module_getsymtab(m.mod);
    for (int i = 1; i < n; ++i) {
      GElf_Sym sym;
      const char *name = dwfl_module_getsym(m.mod, i, &sym, nullptr);
      if (name && std::strcmp(name, kAllocator) == 0) {
        m.module.references_allocator = true;
        break;
      }
    }
  }
  attached_ = dwfl_core_file_attach(dwfl, core_->elf()) >= 0;
  return ok();
}

// The unit holding pc. libdw trusts .debug_aranges, which holds only the
// units of compilers that write it (gcc does, clang does not): where it has
// no answer, every unit's own ranges are asked, as LLDB does.
Dwarf_Die *ElfCoreTarget::cu_at(const ModuleEntry &m, uint64_t pc, Dwarf_Addr &bias) {
  if (Dwarf_Die *cu = dwfl_module_addrdie(m.mod, pc, &bias); cu && dwarf_haspc(cu, pc - bias) > 0)
    return cu;
  auto &ranges = const_cast<ModuleEntry &>(m).cu_ranges;
  if (!ranges) {
    ranges.emplace();
    Dwarf_Die *cu = nullptr;
    Dwarf_Addr cu_bias = 0;
    while ((cu = dwfl_module_nextcu(m.mod, cu, &cu_bias)) != nullptr) {
      CuRange r;
      r.die = *cu;
      Dwarf_Addr base = 0, start = 0, end = 0;
      ptrdiff_t at = 0;
      for (int n = 0; n < 4096 && (at = dwarf_ranges(cu, at, &base, &start, &end)) > 0; ++n) {
        r.low = start + cu_bias;
        r.high = end + cu_bias;
        ranges->push_back(r);
      }
    }
  }
  bias = dwfl_module_getdwarf(m.mod, &bias) ? bias : 0;
  for (const CuRange &r : *ranges)
    if (r.low <= pc && pc < r.high) {
      cu_die_ = r.die;
      return &cu_die_;
    }
  return nullptr;
}

// The FDE covering file address file_pc, [start, end) in file addresses, as
// LLDB finds the functions of a module without symbols. The module's FDEs
// are listed once, the way lint lists them (lint/eh_frame.h).
std::optional<std::pair<uint64_t, uint64_t>> ElfCoreTarget::fde_at(const ModuleEntry &m,
                                                                   uint64_t file_pc) const {
  if (!m.fdes) {
    const Result<lint::ElfImage> image = lint::ElfImage::open(m.module.path);
    m.fdes = image ? lint::fde_ranges(*image) : std::vector<lint::CodeRange>{};
  }
  auto it = std::upper_bound(m.fdes->begin(), m.fdes->end(), file_pc,
                             [](uint64_t pc, const lint::CodeRange &r) { return pc < r.start; });
  if (it == m.fdes->begin() || file_pc >= std::prev(it)->end)
    return std::nullopt;
  --it;
  return std::make_pair(it->start, it->end);
}

size_t ElfCoreTarget::read_module_file(uint64_t addr, std::span<std::byte> buf) const {
  const ModuleEntry *m = module_at(addr);
  if (!m || !m->elf)
    return 0;
  size_t raw_size = 0;
  const char *raw = elf_rawfile(m->elf, &raw_size);
  size_t phnum = 0;
  if (!raw || elf_getphdrnum(m->elf, &phnum) != 0)
    return 0;
  const uint64_t file_addr = addr - m->bias;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(m->elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD)
      continue;
    if (file_addr < ph.p_vaddr || file_addr - ph.p_vaddr >= ph.p_filesz)
      continue;
    const uint64_t off = ph.p_offset + (file_addr - ph.p_vaddr);
    if (off >= raw_size)
      return 0;
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({buf.size(), ph.p_filesz - (file_addr - ph.p_vaddr), raw_size - off}));
    std::memcpy(buf.data(), raw + off, n);
    return n;
  }
  return 0;
}

size_t ElfCoreTarget::read_memory(uint64_t addr, std::span<std::byte> buf) {
  size_t done = 0;
  // The core's bytes first, then the module file's for what the core left
  // out (a kernel core keeps no file-backed code), as the LLDB adapters read.
  while (done < buf.size()) {
    const uint64_t at = addr + done;
    if (at < addr)
      break;
    size_t got = core_->read(at, buf.subspan(done));
    if (got == 0)
      got = read_module_file(at, buf.subspan(done));
    if (got == 0)
      break;
    done += got;
  }
  return done;
}

std::vector<MemoryRegion> ElfCoreTarget::memory_regions() {
  // One region per PT_LOAD with its permissions, unnamed: what LLDB lists
  // for an ELF core (docs/formats.md, "Engines").
  std::vector<MemoryRegion> out;
  for (const detail::CoreSegment &s : core_->segments()) {
    MemoryRegion r;
    r.start = s.vaddr;
    r.end = s.vaddr + s.memsz;
    r.readable = s.readable;
    r.writable = s.writable;
    r.executable = s.executable;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<DebuggerFrame> ElfCoreTarget::unwind(uint64_t tid) {
  std::vector<DebuggerFrame> frames;
  if (!attached_)
    return frames;
  struct Walk {
    std::vector<DebuggerFrame> *frames;
  } walk{&frames};
  dwfl_getthread_frames(
      session_.get(), static_cast<pid_t>(tid),
      [](Dwfl_Frame *state, void *arg) -> int {
        auto *w = static_cast<Walk *>(arg);
        Dwarf_Addr pc = 0;
        bool activation = false;
        if (!dwfl_frame_pc(state, &pc, &activation))
          return DWARF_CB_ABORT;
        DebuggerFrame d;
        d.pc = pc;
        Dwarf_Word v = 0;
        if (dwfl_frame_reg(state, 7, &v) == 0 && v != 0)
          d.sp = v;
        if (dwfl_frame_reg(state, 6, &v) == 0 && v != 0)
          d.fp = v;
        // A frame's CFA is its caller's RSP.
        if (!w->frames->empty() && d.sp)
          w->frames->back().cfa = d.sp;
        w->frames->push_back(d);
        return w->frames->size() >= kMaxDebuggerFrames ? DWARF_CB_ABORT : DWARF_CB_OK;
      },
      &walk);
  return frames;
}

std::vector<ThreadInfo> ElfCoreTarget::threads() {
  std::vector<ThreadInfo> out;
  const auto &threads = core_->threads();
  // The thread that stopped the process: the first one with a signal (the
  // kernel writes the dumping thread first; gdb its current thread).
  size_t selected = 0;
  for (size_t i = 0; i < threads.size(); ++i) {
    const auto &t = threads[i];
    if (t.cursig != 0 || (t.siginfo && t.siginfo->signo != 0)) {
      selected = i;
      break;
    }
  }
  for (size_t i = 0; i < threads.size(); ++i) {
    const detail::CoreThread &c = threads[i];
    ThreadInfo t;
    t.tid = c.tid;
    t.index = static_cast<uint32_t>(i + 1);
    t.name = c.name;
    t.is_selected = i == selected;
    t.stop_reason = detail::stop_reason(c);
    t.registers.rip = c.regs[RIP];
    t.registers.rsp = c.regs[RSP];
    t.registers.rbp = c.regs[RBP];
    const std::pair<const char *, UserReg> general[] = {
        {"rax", RAX}, {"rbx", RBX}, {"rcx", RCX}, {"rdx", RDX}, {"rsi", RSI},
        {"rdi", RDI}, {"r8", R8},   {"r9", R9},   {"r10", R10}, {"r11", R11},
        {"r12", R12}, {"r13", R13}, {"r14", R14}, {"r15", R15}};
    for (auto [name, reg] : general)
      t.registers.general.emplace_back(name, c.regs[reg]);
    t.debugger_frames = unwind(c.tid);
    out.push_back(std::move(t));
  }
  return out;
}

Symbol ElfCoreTarget::symbolize(uint64_t pc) {
  Symbol s;
  const ModuleEntry *m = module_at(pc);
  if (!m)
    return s;
  s.module = m->module.name;
  Dwfl_Module *mod = m->mod;

  // Debug info: the out-of-line function holding pc and the inlined ones.
  Dwarf_Addr cu_bias = 0;
  Dwarf_Die *cu = cu_at(*m, pc, cu_bias);
  if (cu) {
    Dwarf_Die *scopes = nullptr;
    int n = dwarf_getscopes(cu, pc - cu_bias, &scopes);
    for (int i = 0; i < n; ++i) {
      int tag = dwarf_tag(&scopes[i]);
      if (tag == DW_TAG_inlined_subroutine) {
        if (s.inlined.size() < kMaxInlined)
          if (auto name = die_name(&scopes[i]))
            s.inlined.push_back(*name);
      } else if (tag == DW_TAG_subprogram) {
        s.function = die_name(&scopes[i]);
        // Its range when one contiguous range holds pc (a function split
        // into parts takes its symbol's range, as LLDB does).
        Dwarf_Addr base = 0, start = 0, end = 0;
        ptrdiff_t off = 0;
        int ranges = 0;
        std::optional<std::pair<uint64_t, uint64_t>> holding;
        while ((off = dwarf_ranges(&scopes[i], off, &base, &start, &end)) > 0 && ranges < 2) {
          ++ranges;
          if (start + cu_bias <= pc && pc < end + cu_bias)
            holding = std::make_pair(start + cu_bias, end + cu_bias);
        }
        if (ranges == 1 && holding) {
          s.function_start = holding->first;
          s.function_end = holding->second;
        }
        break;
      }
    }
    std::free(scopes);
  }

  // The symbol table: the name without debug info, the range of a split part.
  GElf_Off offset = 0;
  GElf_Sym sym;
  const char *sym_name = dwfl_module_addrinfo(mod, pc, &offset, &sym, nullptr, nullptr, nullptr);
  const bool sym_holds = sym_name && sym.st_size > 0 && offset < sym.st_size;
  if (sym_name && !s.function)
    s.function = demangled(sym_name);
  if (!s.function_start && sym_holds) {
    s.function_start = pc - offset;
    s.function_end = pc - offset + sym.st_size;
  }
  if (!s.function) {
    // No symbol: the FDE covering pc, named module+0xSTART (its file
    // address), the one spelling of a nameless function for both engines
    // (docs/formats.md, "Engines").
    if (auto fde = fde_at(*m, pc - m->bias)) {
      s.function = m->module.name + "+" + hex(fde->first);
      s.function_start = fde->first + m->bias;
      s.function_end = fde->second + m->bias;
    }
  }

  if (Dwarf_Line *line = cu ? dwarf_getsrc_die(cu, pc - cu_bias) : nullptr) {
    int lineno = 0;
    dwarf_lineno(line, &lineno);
    const char *file = dwarf_linesrc(line, nullptr, nullptr);
    if (file)
      s.file = lldb_path(file);
    if (lineno > 0)
      s.line = static_cast<uint32_t>(lineno);
  }
  return s;
}

std::vector<uint64_t> ElfCoreTarget::allocator_entries() {
  std::vector<uint64_t> out;
  for (const ModuleEntry &m : modules_) {
    int n = dwfl_module_getsymtab(m.mod);
    for (int i = 1; i < n; ++i) {
      GElf_Sym sym;
      GElf_Addr addr = 0;
      const char *name = dwfl_module_getsym_info(m.mod, i, &sym, &addr, nullptr, nullptr, nullptr);
      if (name && std::strcmp(name, kAllocator) == 0 && sym.st_shndx != SHN_UNDEF &&
          GELF_ST_TYPE(sym.st_info) == STT_FUNC)
        out.push_back(addr);
    }
    if (!m.elf)
      continue;
    // PLT stubs that reach it: the JUMP_SLOT relocation's index i names the
    // stub (.plt.sec's entry i, or .plt's entry i + 1 after the header).
    Elf_Scn *scn = nullptr;
    Elf_Scn *rela = nullptr, *plt = nullptr, *plt_sec = nullptr;
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(m.elf, &shstrndx) != 0)
      continue;
    while ((scn = elf_nextscn(m.elf, scn)) != nullptr) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh))
        continue;
      const char *name = elf_strptr(m.elf, shstrndx, sh.sh_name);
      if (!name)
        continue;
      if (std::strcmp(name, ".rela.plt") == 0)
        rela = scn;
      else if (std::strcmp(name, ".plt") == 0)
        plt = scn;
      else if (std::strcmp(name, ".plt.sec") == 0)
        plt_sec = scn;
    }
    GElf_Shdr rela_sh, stub_sh;
    Elf_Scn *stubs = plt_sec ? plt_sec : plt;
    if (!rela || !stubs || !gelf_getshdr(rela, &rela_sh) || !gelf_getshdr(stubs, &stub_sh))
      continue;
    Elf_Data *data = elf_getdata(rela, nullptr);
    Elf_Scn *symscn = elf_getscn(m.elf, rela_sh.sh_link);
    GElf_Shdr sym_sh;
    Elf_Data *syms = symscn ? elf_getdata(symscn, nullptr) : nullptr;
    if (!data || !syms || !gelf_getshdr(symscn, &sym_sh) || rela_sh.sh_entsize == 0)
      continue;
    const size_t count = rela_sh.sh_size / rela_sh.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Rela r;
      GElf_Sym sym;
      if (!gelf_getrela(data, static_cast<int>(i), &r) ||
          GELF_R_TYPE(r.r_info) != R_X86_64_JUMP_SLOT ||
          !gelf_getsym(syms, static_cast<int>(GELF_R_SYM(r.r_info)), &sym))
        continue;
      const char *name = elf_strptr(m.elf, sym_sh.sh_link, sym.st_name);
      if (!name || std::strcmp(name, kAllocator) != 0)
        continue;
      const uint64_t slot = plt_sec ? i : i + 1;
      if ((slot + 1) * 16 <= stub_sh.sh_size)
        out.push_back(stub_sh.sh_addr + slot * 16 + m.bias);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace

bool is_elf_core(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  unsigned char header[EI_NIDENT + 2] = {};
  ssize_t n = ::pread(fd, header, sizeof header, 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof header) || std::memcmp(header, ELFMAG, SELFMAG) != 0)
    return false;
  uint16_t type = header[EI_DATA] == ELFDATA2MSB
                      ? uint16_t(header[EI_NIDENT] << 8 | header[EI_NIDENT + 1])
                      : uint16_t(header[EI_NIDENT + 1] << 8 | header[EI_NIDENT]);
  return type == ET_CORE;
}

Result<std::unique_ptr<Target>> open_elf_core(const std::string &core_path,
                                              const ElfCoreOptions &options) {
  auto core = CoreFile::open(core_path);
  if (!core)
    return core.error();
  auto target = std::make_unique<ElfCoreTarget>(std::move(*core), core_path, options);
  Error e = target->setup();
  if (!e.message.empty())
    return e;
  return std::unique_ptr<Target>(std::move(target));
}

} // namespace frameaudit
