// module_set.cpp: one libdwfl session per analysis. Modules are reported at
// the debugger's load bias with dwfl_report_elf; CFI comes from
// dwfl_module_eh_cfi (.eh_frame) and dwfl_module_dwarf_cfi (.debug_frame,
// including a separate debug file found through the debuginfo path), and each
// row from dwarf_cfi_addrframe, dwarf_frame_cfa and dwarf_frame_register.
#include "elf/module_set.h"
#include "elf/dwfl_session.h"

#include "unwind/cfi_eval.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string_view>

namespace frameaudit::detail {

struct ModuleSet::Session {
  explicit Session(const std::vector<std::string> &debug_dirs) : dwfl_session(debug_dirs) {}
  DwflSession dwfl_session;
  Dwfl *dwfl = dwfl_session.get();
  std::vector<Dwfl_Module *> mods; ///< parallel to facts_
};

namespace {

std::string hex_bytes(const unsigned char *p, int n) {
  std::string out;
  out.reserve(static_cast<size_t>(n) * 2);
  char buf[3];
  for (int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    out += buf;
  }
  return out;
}

CfiRule copy_rule(const Dwarf_Op *ops, size_t nops) {
  CfiRule r;
  r.kind = CfiRule::Kind::Expr;
  r.ops.reserve(nops);
  for (size_t i = 0; i < nops; ++i) {
    if (ops[i].atom == DW_OP_stack_value && i + 1 == nops) {
      r.value = true;
      break;
    }
    r.ops.push_back(CfiOp{ops[i].atom, ops[i].number, ops[i].number2});
  }
  return r;
}

// The row at file address addr of cfi, or nullopt when no FDE covers it.
std::optional<CfiRow> row_from(Dwarf_CFI *cfi, Dwarf_Addr addr, const char *source) {
  if (!cfi)
    return std::nullopt;
  Dwarf_Frame *frame = nullptr;
  if (dwarf_cfi_addrframe(cfi, addr, &frame) != 0 || !frame)
    return std::nullopt;
  CfiRow row;
  row.source = source;
  bool signal = false;
  const int ra = dwarf_frame_info(frame, nullptr, nullptr, &signal);
  row.signal_frame = signal;
  Dwarf_Op *ops = nullptr;
  size_t nops = 0;
  if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops > 0) {
    row.cfa = copy_rule(ops, nops);
    const CfiOp &op = row.cfa.ops.empty() ? CfiOp{} : row.cfa.ops.front();
    if (row.cfa.ops.size() == 1 && op.atom == DW_OP_bregx) {
      row.cfa_reg = static_cast<int>(op.number);
      row.cfa_offset = static_cast<int64_t>(op.number2);
    } else if (row.cfa.ops.size() == 1 && op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg31) {
      row.cfa_reg = op.atom - DW_OP_breg0;
      row.cfa_offset = static_cast<int64_t>(op.number);
    }
  }
  for (int reg = 0; reg < kDwarfRegs; ++reg) {
    Dwarf_Op mem[3];
    Dwarf_Op *rops = nullptr;
    size_t rn = 0;
    // The return address column is the caller's rip.
    const int col = reg == kRip && ra >= 0 ? ra : reg;
    if (dwarf_frame_register(frame, col, mem, &rops, &rn) != 0)
      continue; // Undefined
    if (rn == 0)
      row.regs[reg].kind = rops == nullptr ? CfiRule::Kind::Same : CfiRule::Kind::Undefined;
    else
      row.regs[reg] = copy_rule(rops, rn);
  }
  free(frame);
  constexpr uint64_t kProbe = 1ull << 40;
  auto none = [](uint64_t) { return std::optional<uint64_t>(); };
  for (CfiRule &rule : row.regs)
    if (rule.kind == CfiRule::Kind::Expr && !rule.value)
      if (auto loc = eval_rule(rule, RegState{}, kProbe, none))
        rule.at_cfa = static_cast<int64_t>(*loc - kProbe);
  row.pair = row.cfa_reg == kRbp && row.cfa_offset == 16 && row.regs[kRbp].at_cfa == -16 &&
             row.regs[kRip].at_cfa == -8;
  return row;
}

} // namespace

ModuleSet::ModuleSet(Target &target, std::vector<std::string> debug_dirs)
    : target_(target), debug_dirs_(std::move(debug_dirs)) {
  listed_ = target_.modules();
}

ModuleSet::~ModuleSet() = default;

void ModuleSet::open_all() {
  if (opened_)
    return;
  opened_ = true;
  if (listed_.empty())
    return;
  session_ = std::make_unique<Session>(debug_dirs_);
  Session &s = *session_;
  if (!s.dwfl)
    return;
  dwfl_report_begin(s.dwfl);
  std::vector<std::pair<ModuleFacts, Dwfl_Module *>> found;
  for (const Module &m : listed_) {
    ModuleFacts f;
    f.module = m;
    if (m.path.empty() || m.path.front() != '/')
      continue; // [vdso] and friends: no file to open
    Dwfl_Module *mod = dwfl_report_elf(s.dwfl, m.name.empty() ? m.path.c_str() : m.name.c_str(),
                                       m.path.c_str(), -1, m.load_bias, true);
    if (!mod)
      continue; // unreadable, not ELF, or overlapping another module
    f.opened = true;
    Dwarf_Addr low = 0, high = 0;
    dwfl_module_info(mod, nullptr, &low, &high, nullptr, nullptr, nullptr, nullptr);
    f.low = low;
    f.high = high;
    const unsigned char *bits = nullptr;
    GElf_Addr vaddr = 0;
    const int n = dwfl_module_build_id(mod, &bits, &vaddr);
    if (n > 0 && bits)
      f.file_build_id = hex_bytes(bits, n);
    Dwarf_Addr bias = 0;
    if (Elf *elf = dwfl_module_getelf(mod, &bias)) {
      size_t phnum = 0;
      if (elf_getphdrnum(elf, &phnum) == 0) {
        for (size_t i = 0; i < phnum && i < 4096; ++i) {
          GElf_Phdr ph;
          if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
            continue;
          // A segment that is empty or wraps past the end of the address space holds no code.
          const uint64_t lo = ph.p_vaddr + bias, hi = lo + ph.p_memsz;
          if (hi > lo)
            f.code.emplace_back(lo, hi);
        }
      }
      size_t shstrndx = 0;
      if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
        size_t scanned = 0;
        for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn && scanned < 65536; scn = elf_nextscn(elf, scn), ++scanned) {
          GElf_Shdr sh;
          const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : nullptr;
          if (name && (std::string_view(name) == ".go.buildinfo" || std::string_view(name) == ".note.go.buildid"))
            f.go = true;
        }
      }
    }
    found.emplace_back(std::move(f), mod);
  }
  dwfl_report_end(s.dwfl, nullptr, nullptr);
  std::sort(found.begin(), found.end(), [](const auto &a, const auto &b) { return a.first.low < b.first.low; });
  for (auto &[f, mod] : found) {
    facts_.push_back(std::move(f));
    s.mods.push_back(mod);
  }
}

const std::vector<ModuleFacts> &ModuleSet::modules() {
  open_all();
  return facts_;
}

const ModuleFacts *ModuleSet::module_at(uint64_t addr) {
  open_all();
  if (facts_.empty())
    return nullptr;
  if (last_module_ < facts_.size() && addr >= facts_[last_module_].low && addr < facts_[last_module_].high)
    return &facts_[last_module_];
  auto it = std::upper_bound(facts_.begin(), facts_.end(), addr,
                             [](uint64_t a, const ModuleFacts &f) { return a < f.low; });
  if (it == facts_.begin())
    return nullptr;
  --it;
  if (addr >= it->high)
    return nullptr;
  last_module_ = static_cast<size_t>(it - facts_.begin());
  return &*it;
}

bool ModuleSet::is_module_code(uint64_t pc) {
  const ModuleFacts *f = module_at(pc);
  if (!f)
    return false;
  return std::any_of(f->code.begin(), f->code.end(), [&](const auto &r) { return pc >= r.first && pc < r.second; });
}

bool ModuleSet::follows_sysv_abi(uint64_t pc) {
  const ModuleFacts *f = module_at(pc);
  return f && !f->go;
}

const CfiRow *ModuleSet::row_at(uint64_t pc) {
  Memo &memo = memo_[(pc >> 2) & (memo_.size() - 1)];
  if (memo.pc == pc)
    return memo.row;
  if (auto it = rows_.find(pc); it != rows_.end()) {
    memo = {pc, it->second.get()};
    return it->second.get();
  }
  std::unique_ptr<CfiRow> row;
  if (const ModuleFacts *f = module_at(pc)) {
    Dwfl_Module *mod = session_->mods[static_cast<size_t>(f - facts_.data())];
    // The bias is an out-parameter: take it before computing the address.
    Dwarf_Addr bias = 0;
    Dwarf_CFI *eh = dwfl_module_eh_cfi(mod, &bias);
    std::optional<CfiRow> r = row_from(eh, pc - bias, ".eh_frame");
    if (!r) {
      Dwarf_Addr dbias = 0;
      Dwarf_CFI *debug = dwfl_module_dwarf_cfi(mod, &dbias);
      r = row_from(debug, pc - dbias, ".debug_frame");
    }
    if (r)
      row = std::make_unique<CfiRow>(std::move(*r));
  }
  const CfiRow *out = row.get();
  rows_.emplace(pc, std::move(row));
  memo = {pc, out};
  return out;
}

} // namespace frameaudit::detail

namespace frameaudit::detail {

std::optional<std::string> ModuleSet::memory_build_id(const ModuleFacts &m) {
  constexpr size_t kPage = 4096;
  std::vector<char> image(kPage);
  const size_t got = target_.read_memory(m.low, std::span<std::byte>(reinterpret_cast<std::byte *>(image.data()), kPage));
  if (got < sizeof(Elf64_Ehdr))
    return std::nullopt;
  image.resize(got);
  // Only the first page is in hand: hide the section headers, which lie
  // beyond it, so libelf reads the program headers and notes alone.
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof ehdr);
  ehdr.e_shoff = 0;
  ehdr.e_shnum = 0;
  ehdr.e_shstrndx = 0;
  std::memcpy(image.data(), &ehdr, sizeof ehdr);
  Elf *elf = elf_memory(image.data(), image.size());
  if (!elf)
    return std::nullopt;
  std::optional<std::string> id;
  size_t phnum = 0;
  if (elf_kind(elf) == ELF_K_ELF && elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum && i < 256 && !id; ++i) {
      GElf_Phdr ph;
      if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_NOTE || ph.p_offset > got ||
          ph.p_filesz > got - ph.p_offset)
        continue;
      Elf_Data *data = elf_getdata_rawchunk(elf, static_cast<int64_t>(ph.p_offset), ph.p_filesz, ELF_T_NHDR);
      if (!data)
        continue;
      GElf_Nhdr nh;
      size_t off = 0, name_off = 0, desc_off = 0;
      while (!id && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            std::memcmp(static_cast<const char *>(data->d_buf) + name_off, "GNU", 4) == 0 && nh.n_descsz <= 64)
          id = hex_bytes(static_cast<const unsigned char *>(data->d_buf) + desc_off, static_cast<int>(nh.n_descsz));
      }
    }
  }
  elf_end(elf);
  return id;
}

bool ModuleSet::has_symbols(const ModuleFacts &m) {
  if (!session_ || &m < facts_.data() || &m >= facts_.data() + facts_.size())
    return false;
  Dwfl_Module *mod = session_->mods[static_cast<size_t>(&m - facts_.data())];
  const int n = dwfl_module_getsymtab(mod);
  for (int i = 0; i < n && i < 1'000'000; ++i) {
    GElf_Sym sym;
    GElf_Addr addr = 0;
    GElf_Word shndx = 0;
    if (dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, nullptr, nullptr) &&
        GELF_ST_TYPE(sym.st_info) == STT_FUNC && shndx != SHN_UNDEF && addr != 0)
      return true;
  }
  return false;
}

namespace {

// A non-empty .debug_line (or GNU's old .zdebug_line) among elf's sections:
// read from the section headers alone, so a compressed section is never
// inflated just to learn that it is there.
bool holds_line_table(Elf *elf) {
  size_t shstrndx = 0;
  if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
    return false;
  Elf_Scn *scn = nullptr;
  for (int i = 0; i < 100'000 && (scn = elf_nextscn(elf, scn)) != nullptr; ++i) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS || shdr.sh_size == 0)
      continue;
    const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name && (std::strcmp(name, ".debug_line") == 0 || std::strcmp(name, ".zdebug_line") == 0))
      return true;
  }
  return false;
}

} // namespace

// Line tables in the file or in the separate debug file that libdwfl's
// standard search finds (the one dwfl_module_getdwarf would open), without
// opening its DWARF: libdw inflates every compressed debug section when it
// does, which costs more for libc's debug file than a whole audit.
bool ModuleSet::has_line_tables(const ModuleFacts &m) {
  if (!session_ || &m < facts_.data() || &m >= facts_.data() + facts_.size())
    return false;
  Dwfl_Module *mod = session_->mods[static_cast<size_t>(&m - facts_.data())];
  Dwarf_Addr bias = 0;
  Elf *elf = dwfl_module_getelf(mod, &bias);
  if (holds_line_table(elf))
    return true;
  void **userdata = nullptr;
  Dwarf_Addr start = 0;
  const char *mainfile = nullptr, *debugfile = nullptr;
  const char *name =
      dwfl_module_info(mod, &userdata, &start, nullptr, nullptr, nullptr, &mainfile, &debugfile);
  GElf_Word crc = 0;
  const char *link = elf ? dwelf_elf_gnu_debuglink(elf, &crc) : nullptr;
  char *found = nullptr;
  const int fd = debugfile ? open(debugfile, O_RDONLY | O_CLOEXEC)
                           : dwfl_standard_find_debuginfo(mod, userdata, name, start, mainfile,
                                                          link, crc, &found);
  std::free(found);
  if (fd < 0)
    return false;
  Elf *debug = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  const bool has = holds_line_table(debug);
  elf_end(debug);
  close(fd);
  return has;
}

} // namespace frameaudit::detail

// Variables in scope (ModuleSet::variables_at): dwarf_getscopes gives the
// nested scopes at the pc, innermost first, up to the function; each
// scope's DW_TAG_variable and DW_TAG_formal_parameter children are read with
// dwarf_attr_integrate (so an inlined instance takes its name and type from
// its abstract origin) and their location at the pc with
// dwarf_getlocation_addr (location lists included).
namespace frameaudit::detail {

namespace {

constexpr int kMaxTypeDepth = 8;

std::string type_name(Dwarf_Die *type, int depth) {
  if (!type)
    return "void";
  if (depth > kMaxTypeDepth)
    return "...";
  const char *name = dwarf_diename(type);
  Dwarf_Attribute attr;
  Dwarf_Die sub;
  Dwarf_Die *inner = dwarf_formref_die(dwarf_attr_integrate(type, DW_AT_type, &attr), &sub);
  switch (dwarf_tag(type)) {
  case DW_TAG_pointer_type:
    return type_name(inner, depth + 1) + " *";
  case DW_TAG_reference_type:
    return type_name(inner, depth + 1) + " &";
  case DW_TAG_rvalue_reference_type:
    return type_name(inner, depth + 1) + " &&";
  case DW_TAG_const_type:
  case DW_TAG_volatile_type: {
    // C spells a qualified pointer "T *const", a qualified object "const T".
    const char *q = dwarf_tag(type) == DW_TAG_const_type ? "const" : "volatile";
    if (inner && dwarf_tag(inner) == DW_TAG_pointer_type)
      return type_name(inner, depth + 1) + q;
    return std::string(q) + " " + type_name(inner, depth + 1);
  }
  case DW_TAG_restrict_type:
    return type_name(inner, depth + 1) + " restrict";
  case DW_TAG_array_type: {
    std::string dims;
    Dwarf_Die child;
    if (dwarf_child(type, &child) == 0) {
      do {
        if (dwarf_tag(&child) != DW_TAG_subrange_type)
          continue;
        Dwarf_Word count = 0, upper = 0;
        Dwarf_Attribute a;
        if (dwarf_formudata(dwarf_attr_integrate(&child, DW_AT_count, &a), &count) == 0)
          dims += "[" + std::to_string(count) + "]";
        else if (dwarf_formudata(dwarf_attr_integrate(&child, DW_AT_upper_bound, &a), &upper) == 0)
          dims += "[" + std::to_string(upper + 1) + "]";
        else
          dims += "[]";
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    return type_name(inner, depth + 1) + (dims.empty() ? "[]" : dims);
  }
  case DW_TAG_structure_type:
    return std::string("struct ") + (name ? name : "<anonymous>");
  case DW_TAG_union_type:
    return std::string("union ") + (name ? name : "<anonymous>");
  case DW_TAG_enumeration_type:
    return std::string("enum ") + (name ? name : "<anonymous>");
  case DW_TAG_class_type:
    return std::string("class ") + (name ? name : "<anonymous>");
  case DW_TAG_subroutine_type:
    return "function";
  default:
    return name ? name : "?";
  }
}

// One location expression into desc (form, location, reg, implicit, why).
void read_location(VariableDesc &desc, Dwarf_Attribute *attr, const Dwarf_Op *ops, size_t n) {
  if (n == 0) {
    desc.why = "optimized out";
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    switch (ops[i].atom) {
    case DW_OP_piece:
    case DW_OP_bit_piece:
      desc.why = "split into pieces";
      return;
    case DW_OP_entry_value:
    case DW_OP_GNU_entry_value:
      desc.why = "the value it had on entry (not recoverable from the stack)";
      return;
    case DW_OP_implicit_pointer:
    case DW_OP_GNU_implicit_pointer:
    case DW_OP_GNU_parameter_ref:
    case DW_OP_GNU_variable_value:
      desc.why = "optimized into an implicit form";
      return;
    default:
      break;
    }
  }
  const uint8_t a = ops[0].atom;
  if (n == 1 && ((a >= DW_OP_reg0 && a <= DW_OP_reg31) || a == DW_OP_regx)) {
    desc.form = VariableDesc::Form::Register;
    desc.reg = a == DW_OP_regx ? static_cast<int>(ops[0].number) : a - DW_OP_reg0;
    return;
  }
  if (n == 1 && a == DW_OP_implicit_value) {
    Dwarf_Block block;
    if (dwarf_getlocation_implicit_value(attr, &ops[0], &block) == 0 && block.length <= 8) {
      uint64_t v = 0;
      std::memcpy(&v, block.data, block.length);
      desc.form = VariableDesc::Form::Implicit;
      desc.implicit = v;
    } else {
      desc.why = "an implicit value wider than 8 bytes";
    }
    return;
  }
  desc.location = copy_rule(ops, n);
  desc.form = VariableDesc::Form::Expr;
}

} // namespace

const ScopeVariables *ModuleSet::variables_at(uint64_t pc) {
  if (auto it = scopes_.find(pc); it != scopes_.end())
    return it->second.get();
  std::unique_ptr<ScopeVariables> out;
  const ModuleFacts *f = module_at(pc);
  Dwarf_Addr bias = 0;
  Dwfl_Module *mod = f ? session_->mods[static_cast<size_t>(f - facts_.data())] : nullptr;
  Dwarf_Die *cu = mod ? dwfl_module_addrdie(mod, pc, &bias) : nullptr;
  Dwarf_Die *scopes = nullptr;
  int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : -1;
  if (mod && n <= 0) {
    // elfutils 0.188 can answer with the wrong unit of a clang DWARF 5
    // module (one whose DW_AT_ranges it reads as covering the pc): try the
    // units that claim the pc, in order, until one has a scope there.
    free(scopes);
    scopes = nullptr;
    Dwarf_Die *unit = nullptr;
    Dwarf_Addr ubias = 0;
    for (int k = 0; k < 4096 && (unit = dwfl_module_nextcu(mod, unit, &ubias)); ++k) {
      if (unit == cu || dwarf_haspc(unit, pc - ubias) != 1)
        continue;
      n = dwarf_getscopes(unit, pc - ubias, &scopes);
      if (n > 0) {
        bias = ubias;
        break;
      }
      free(scopes);
      scopes = nullptr;
    }
  }
  for (int i = 0; i < n; ++i) {
    Dwarf_Die *scope = &scopes[i];
    const int tag = dwarf_tag(scope);
    if (tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit)
      break;
    if (!out)
      out = std::make_unique<ScopeVariables>();
    Dwarf_Die child;
    if (dwarf_child(scope, &child) == 0) {
      do {
        const int ct = dwarf_tag(&child);
        if (ct != DW_TAG_variable && ct != DW_TAG_formal_parameter)
          continue;
        Dwarf_Attribute attr;
        const char *name = dwarf_formstring(dwarf_attr_integrate(&child, DW_AT_name, &attr));
        if (!name || std::any_of(out->vars.begin(), out->vars.end(),
                                 [&](const VariableDesc &v) { return v.name == name; }))
          continue; // unnamed, or hidden by an inner scope's
        VariableDesc desc;
        desc.name = name;
        desc.parameter = ct == DW_TAG_formal_parameter;
        Dwarf_Die type_mem, peeled;
        Dwarf_Die *type = dwarf_formref_die(dwarf_attr_integrate(&child, DW_AT_type, &attr), &type_mem);
        desc.type = type_name(type, 0);
        if (type && dwarf_peel_type(type, &peeled) == 0)
          desc.pointer = dwarf_tag(&peeled) == DW_TAG_pointer_type;
        Dwarf_Word size = 0;
        if (type && dwarf_aggregate_size(type, &size) == 0)
          desc.size = size;
        Dwarf_Attribute loc;
        if (dwarf_attr_integrate(&child, DW_AT_location, &loc)) {
          Dwarf_Op *ops = nullptr;
          size_t len = 0;
          const int got = dwarf_getlocation_addr(&loc, pc - bias, &ops, &len, 1);
          if (got == 1 && len > 0 &&
              (ops[0].atom == DW_OP_addr || ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index))
            continue; // a static: the data sections, not this frame
          if (got == 1)
            read_location(desc, &loc, ops, len);
          else
            desc.why = "optimized out here";
        } else if (Dwarf_Word v = 0; dwarf_formudata(dwarf_attr_integrate(&child, DW_AT_const_value, &attr), &v) == 0) {
          desc.form = VariableDesc::Form::Implicit;
          desc.implicit = v;
        } else if (dwarf_attr_integrate(&child, DW_AT_declaration, &attr) || dwarf_attr_integrate(&child, DW_AT_external, &attr)) {
          continue; // a declaration of a global
        } else {
          desc.why = "optimized out";
        }
        out->vars.push_back(std::move(desc));
      } while (dwarf_siblingof(&child, &child) == 0 && out->vars.size() < 4096);
    }
    if (tag == DW_TAG_subprogram) {
      if (const char *fn = dwarf_diename(scope))
        out->function = fn;
      Dwarf_Attribute fb;
      Dwarf_Op *ops = nullptr;
      size_t len = 0;
      if (dwarf_attr_integrate(scope, DW_AT_frame_base, &fb) &&
          dwarf_getlocation_addr(&fb, pc - bias, &ops, &len, 1) == 1 && len > 0)
        out->frame_base = copy_rule(ops, len);
      break;
    }
  }
  free(scopes);
  const ScopeVariables *p = out.get();
  scopes_.emplace(pc, std::move(out));
  return p;
}

} // namespace frameaudit::detail
