// lint.cpp: `frameaudit lint` over one ELF file (docs/lint.md):
// find the allocator (symbol, PLT stub, GOT slot, or by its entry code in a
// stripped binary), find every call to it, and judge each caller with
// check_allocator_caller. Also the Report wrapper.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "decode/instruction.h"
#include "frameaudit/analysis.h"
#include "frameaudit/lint.h"
#include "frameaudit/names.h"
#include "lint/eh_frame.h"
#include "lint/elf_image.h"
#include "lint/line_table.h"

namespace frameaudit {
namespace {

using lint::CodeRange;
using lint::ElfImage;
using lint::ElfSection;

constexpr uint8_t kSttFunc = 2;
constexpr uint8_t kSttGnuIfunc = 10;
constexpr uint32_t kRJumpSlot = 7;
constexpr uint32_t kRGlobDat = 6;
constexpr uint64_t kMaxFunctionBytes = 16u << 20; // no real function is larger

struct Function {
  uint64_t start = 0, end = 0;
  std::string name; // empty when only an FDE gives the range
};

std::string demangled_plain(std::string_view raw) {
  return plain_function_name(demangled(raw));
}

bool is_plt_section(const std::string &name) {
  return name == ".plt" || name == ".plt.sec" || name == ".plt.got" || name == ".iplt";
}

// The functions of the file: symbols with a size, then FDE ranges that no
// symbol covers (stripped binaries, or local code without symbols).
std::vector<Function> collect_functions(const ElfImage &img, const std::vector<CodeRange> &fdes) {
  std::vector<Function> fns;
  for (const char *table : {".symtab", ".dynsym"}) {
    const ElfSection *s = img.section(table);
    if (!s)
      continue;
    for (const auto &sym : img.symbols(*s)) {
      if ((sym.type != kSttFunc && sym.type != kSttGnuIfunc) || !sym.defined() || sym.size == 0 ||
          sym.size > kMaxFunctionBytes || sym.name.empty() || !img.is_code(sym.value))
        continue;
      fns.push_back({sym.value, sym.value + sym.size, std::string(sym.name)});
    }
  }
  // Stable choice among aliases: the first name in sort order.
  std::sort(fns.begin(), fns.end(), [](const Function &a, const Function &b) {
    return a.start != b.start ? a.start < b.start : a.name < b.name;
  });
  fns.erase(std::unique(fns.begin(), fns.end(),
                        [](const Function &a, const Function &b) { return a.start == b.start; }),
            fns.end());
  std::vector<Function> extra;
  for (const auto &r : fdes) {
    if (r.end - r.start > kMaxFunctionBytes || !img.is_code(r.start))
      continue;
    auto it = std::upper_bound(fns.begin(), fns.end(), r.start,
                               [](uint64_t a, const Function &f) { return a < f.start; });
    const bool covered = it != fns.begin() && std::prev(it)->end > r.start;
    if (!covered)
      extra.push_back({r.start, r.end, {}});
  }
  fns.insert(fns.end(), extra.begin(), extra.end());
  std::sort(fns.begin(), fns.end(),
            [](const Function &a, const Function &b) { return a.start < b.start; });
  return fns;
}

const Function *function_at(const std::vector<Function> &fns, uint64_t address) {
  auto it = std::upper_bound(fns.begin(), fns.end(), address,
                             [](uint64_t a, const Function &f) { return a < f.start; });
  // Symbols may nest (a local alias inside a bigger one): look back a little.
  for (int i = 0; i < 4 && it != fns.begin(); ++i) {
    --it;
    if (address >= it->start && address < it->end)
      return &*it;
  }
  return nullptr;
}

struct Allocator {
  std::unordered_set<uint64_t> targets; // entry, PLT stubs, GOT slots
  bool named = false;                   // some symbol names it (defined or imported)
  std::vector<uint64_t> entries;        // defined entry points (to skip when scanning callers)
};

// Map each PLT entry to the GOT slot its `jmp *slot(%rip)` goes through.
std::unordered_map<uint64_t, uint64_t> plt_entries(const ElfImage &img) {
  std::unordered_map<uint64_t, uint64_t> out;
  for (const auto &s : img.sections()) {
    if (!is_plt_section(s.name) || !s.executable())
      continue;
    const uint64_t entsize = (s.entsize == 8 || s.entsize == 16) ? s.entsize : 16;
    const auto bytes = img.data(s);
    for (uint64_t off = 0; off + entsize <= bytes.size(); off += entsize) {
      const auto insns = decode::decode_all(bytes.subspan(off, entsize), s.addr + off, 8);
      for (const auto &in : insns)
        if (in.op == decode::Op::Jmp && in.slot) {
          out.emplace(s.addr + off, *in.slot);
          break;
        }
    }
  }
  return out;
}

Allocator find_allocator(const ElfImage &img, const LintOptions &opt,
                         const std::vector<Function> &fns, const std::vector<CodeRange> &fdes) {
  Allocator a;
  auto wanted = [&](std::string_view name) {
    for (const auto &n : opt.allocator_names)
      if (name == n)
        return true;
    return false;
  };
  for (const char *table : {".symtab", ".dynsym"}) {
    const ElfSection *s = img.section(table);
    if (!s)
      continue;
    for (const auto &sym : img.symbols(*s)) {
      if (!wanted(sym.name))
        continue;
      a.named = true;
      if (sym.defined() && sym.value && img.is_code(sym.value)) {
        a.targets.insert(sym.value);
        a.entries.push_back(sym.value);
      }
    }
  }
  // Imports: GOT slots bound to the allocator, and the PLT entries using them.
  std::unordered_set<uint64_t> slots;
  for (const auto &s : img.sections()) {
    if (s.type != 4 || s.link >= img.sections().size()) // SHT_RELA
      continue;
    const ElfSection &symtab = img.sections()[s.link];
    if (symtab.type != 11 && symtab.type != 2)
      continue;
    std::vector<lint::ElfSymbol> syms;
    bool loaded = false;
    for (const auto &r : img.relocations(s)) {
      if ((r.type != kRJumpSlot && r.type != kRGlobDat) || r.symbol == 0)
        continue;
      if (!loaded) {
        syms = img.symbols(symtab);
        loaded = true;
      }
      if (r.symbol < syms.size() && wanted(syms[r.symbol].name)) {
        slots.insert(r.offset);
        a.named = true;
      }
    }
  }
  if (!slots.empty()) {
    for (const auto &[entry, slot] : plt_entries(img))
      if (slots.count(slot))
        a.targets.insert(entry);
    a.targets.insert(slots.begin(), slots.end());
  }
  // Stripped: recognise the entry code at function starts.
  if (a.targets.empty() && opt.match_signature) {
    std::unordered_set<uint64_t> starts;
    for (const auto &r : fdes)
      starts.insert(r.start);
    for (const auto &f : fns)
      starts.insert(f.start);
    for (uint64_t st : starts) {
      auto bytes = img.bytes_at(st, 48);
      if (bytes.empty())
        continue;
      if (looks_like_allocator(bytes)) {
        a.targets.insert(st);
        a.entries.push_back(st);
      }
    }
  }
  return a;
}

// Candidate call sites by a byte scan: call/jmp rel32 to a target, or
// call/jmp *disp32(%rip) through a slot. Decoding the containing function
// then keeps only real instructions.
void scan_code(const ElfImage &img, const Allocator &a, std::vector<uint64_t> &hits,
               uint64_t &code_bytes) {
  for (const auto &s : img.sections()) {
    if (!s.executable())
      continue;
    const auto bytes = img.data(s);
    code_bytes += bytes.size();
    if (is_plt_section(s.name) || a.targets.empty())
      continue;
    const uint8_t *p = bytes.data();
    const size_t n = bytes.size();
    for (size_t i = 0; i + 5 <= n; ++i) {
      const uint8_t b = p[i];
      if (b == 0xe8 || b == 0xe9) {
        int32_t rel;
        std::memcpy(&rel, p + i + 1, 4);
        const uint64_t target = s.addr + i + 5 + static_cast<int64_t>(rel);
        if (a.targets.count(target))
          hits.push_back(s.addr + i);
      } else if (b == 0xff && i + 6 <= n && (p[i + 1] == 0x15 || p[i + 1] == 0x25)) {
        int32_t rel;
        std::memcpy(&rel, p + i + 2, 4);
        const uint64_t slot = s.addr + i + 6 + static_cast<int64_t>(rel);
        if (a.targets.count(slot))
          hits.push_back(s.addr + i);
      }
    }
  }
  if (img.sections().empty()) { // no section headers: scan executable segments
    for (const auto &p : img.segments()) {
      if (p.type != 1 || !p.executable())
        continue;
      auto bytes = img.bytes_at(p.vaddr, p.filesz);
      code_bytes += bytes.size();
      for (size_t i = 0; i + 5 <= bytes.size() && !a.targets.empty(); ++i) {
        if (bytes[i] != 0xe8 && bytes[i] != 0xe9)
          continue;
        int32_t rel;
        std::memcpy(&rel, bytes.data() + i + 1, 4);
        if (a.targets.count(p.vaddr + i + 5 + static_cast<int64_t>(rel)))
          hits.push_back(p.vaddr + i);
      }
    }
  }
}

std::string message_for(const LintCallSite &site, const std::string &who) {
  return "raw sra_alloc " + std::string(site.tail_call ? "tail call" : "call") + " at " +
         hex(site.address) + " in " + who + " is unsafe: " + site.reason +
         ". Use SRA_ALLOC(), which makes the frame dynamic.";
}

} // namespace

Result<LintResult> lint_elf_file(const std::string &path, uint64_t load_bias) {
  LintOptions o;
  o.load_bias = load_bias;
  return lint_elf_file(path, o);
}

Result<LintResult> lint_elf_file(const std::string &path, const LintOptions &opt) {
  auto opened = ElfImage::open(path);
  if (!opened)
    return opened.error();
  const ElfImage &img = *opened;
  LintResult res;
  res.module = path;

  const std::vector<CodeRange> fdes = lint::fde_ranges(img);
  const std::vector<Function> fns = collect_functions(img, fdes);
  const Allocator alloc = find_allocator(img, opt, fns, fdes);

  std::vector<uint64_t> hits;
  scan_code(img, alloc, hits, res.code_bytes);
  if (hits.empty())
    return res;

  // Judge each function holding a candidate once.
  std::vector<const Function *> callers;
  std::unordered_set<uint64_t> seen;
  std::vector<uint64_t> orphans;
  for (uint64_t h : hits) {
    const Function *f = function_at(fns, h);
    if (!f) {
      orphans.push_back(h);
      continue;
    }
    if (std::find(alloc.entries.begin(), alloc.entries.end(), f->start) != alloc.entries.end())
      continue; // the allocator itself
    if (seen.insert(f->start).second)
      callers.push_back(f);
  }
  std::sort(callers.begin(), callers.end(),
            [](const Function *a, const Function *b) { return a->start < b->start; });

  std::optional<lint::LineTable> lines;
  if (opt.read_line_table)
    lines = lint::LineTable::load(path, opt.debug_dirs);

  const std::vector<uint64_t> targets(alloc.targets.begin(), alloc.targets.end());
  for (const Function *f : callers) {
    const auto bytes = img.bytes_at(f->start, f->end - f->start);
    if (bytes.empty())
      continue;
    const AllocatorCallerCheck check = check_allocator_caller(bytes, f->start, targets);
    size_t unjudged = 0;
    std::optional<uint64_t> first_unjudged;
    std::optional<std::string> unjudged_file;
    std::optional<uint32_t> unjudged_line;
    for (const auto &v : check.calls) {
      LintCallSite site;
      site.address = v.address + opt.load_bias;
      if (!f->name.empty())
        site.function = demangled_plain(f->name);
      site.function_start = f->start + opt.load_bias;
      site.safe = v.safe;
      site.reason = v.reason;
      site.tail_call = v.tail_call;
      site.judged = v.judged;
      if (v.culprit)
        site.culprit = *v.culprit + opt.load_bias;
      if (lines) {
        if (auto loc = lines->lookup(v.address)) {
          site.file = loc->file;
          site.line = loc->line;
        }
      }
      if (!v.judged && unjudged++ == 0) {
        first_unjudged = site.address;
        unjudged_file = site.file;
        unjudged_line = site.line;
      }
      res.call_sites.push_back(site);
      if (site.safe)
        continue;
      Finding fd;
      fd.kind = finding_kind::kUnsafeCaller;
      fd.severity = Severity::Error;
      fd.function = site.function;
      fd.address = site.address;
      fd.file = site.file;
      fd.line = site.line;
      fd.message =
          message_for(site, site.function ? *site.function
                                          : "the function at " + hex(site.function_start));
      res.findings.push_back(std::move(fd));
    }
    if (unjudged) {
      // One note per function, however many of its calls it leaves open.
      Finding fd;
      fd.kind = finding_kind::kUnjudgedCaller;
      fd.severity = Severity::Warning;
      fd.function = f->name.empty() ? std::nullopt : std::optional(demangled_plain(f->name));
      fd.address = first_unjudged;
      fd.file = unjudged_file;
      fd.line = unjudged_line;
      const std::string who =
          fd.function ? *fd.function : "the function at " + hex(f->start + opt.load_bias);
      fd.message = "lint stopped following the paths of " + who + " at its bound of " +
                   std::to_string(check.work_bound) +
                   " steps (docs/lint.md, \"Work\"): no verdict for " + std::to_string(unjudged) +
                   " of its " + std::to_string(check.calls.size()) +
                   (check.calls.size() == 1 ? " call" : " calls") + " to sra_alloc, the first at " +
                   hex(*first_unjudged) + ". Check them by hand or use SRA_ALLOC() there.";
      res.findings.push_back(std::move(fd));
    }
  }
  (void)orphans; // calls outside any known function cannot be judged; nothing to report
  return res;
}

Report lint_report(const std::vector<LintResult> &results, const TargetInfo &target) {
  Report r;
  r.tool_version = version();
  r.target = target;
  for (const auto &res : results)
    r.findings.insert(r.findings.end(), res.findings.begin(), res.findings.end());
  summarize(r);
  return r;
}

} // namespace frameaudit
