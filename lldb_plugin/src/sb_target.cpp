// sb_target.cpp: the gathering rules of docs/design/gathering.md in C++.
// Keep each method's comment pointing at its row of the rule book; a change
// here without the same change in python/frameaudit breaks byte-identity.
#include "sb_target.h"

#include <algorithm>
#include <cstring>

#include <lldb/API/SBAddress.h>
#include <lldb/API/SBBlock.h>
#include <lldb/API/SBError.h>
#include <lldb/API/SBFileSpec.h>
#include <lldb/API/SBFrame.h>
#include <lldb/API/SBFunction.h>
#include <lldb/API/SBLineEntry.h>
#include <lldb/API/SBMemoryRegionInfo.h>
#include <lldb/API/SBMemoryRegionInfoList.h>
#include <lldb/API/SBModule.h>
#include <lldb/API/SBSymbol.h>
#include <lldb/API/SBSymbolContext.h>
#include <lldb/API/SBSymbolContextList.h>
#include <lldb/API/SBThread.h>
#include <lldb/API/SBValue.h>
#include <lldb/API/SBValueList.h>

namespace frameaudit::lldb_plugin {
namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kMaxDebuggerFrames = 64;
constexpr size_t kMaxInlined = 64;

std::optional<std::string> cstr(const char *s) {
  if (!s)
    return std::nullopt;
  return std::string(s);
}

// "full path (dirname/basename)"; null if the spec is invalid.
std::optional<std::string> full_path(const lldb::SBFileSpec &spec) {
  if (!spec.IsValid() || !spec.GetFilename())
    return std::nullopt;
  std::string path;
  if (const char *dir = spec.GetDirectory(); dir && *dir) {
    path = dir;
    if (path.back() != '/')
      path += '/';
  }
  path += spec.GetFilename();
  return path;
}

std::optional<uint64_t> valid_address(lldb::addr_t a) {
  if (a == 0 || a == LLDB_INVALID_ADDRESS)
    return std::nullopt;
  return a;
}

std::string strip(std::string s) {
  const char *ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos)
    return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

void read_registers(lldb::SBFrame frame, Registers &regs) {
  lldb::SBValueList sets = frame.GetRegisters();
  lldb::SBValue gpr = sets.GetFirstValueByName("General Purpose Registers");
  if (!gpr.IsValid())
    return;
  auto read = [&](const char *name) -> std::optional<uint64_t> {
    lldb::SBValue v = gpr.GetChildMemberWithName(name);
    if (!v.IsValid())
      return std::nullopt;
    lldb::SBError error;
    uint64_t value = v.GetValueAsUnsigned(error, 0);
    if (error.Fail())
      return std::nullopt;
    return value;
  };
  regs.rip = read("rip").value_or(0);
  regs.rsp = read("rsp").value_or(0);
  regs.rbp = read("rbp").value_or(0);
  static const char *const general[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8",
                                        "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (const char *name : general)
    if (auto v = read(name))
      regs.general.emplace_back(name, *v);
}

} // namespace

SBTargetAdapter::SBTargetAdapter(lldb::SBTarget target, lldb::SBProcess process)
    : target_(target), process_(process) {}

TargetInfo SBTargetAdapter::info() {
  TargetInfo info;
  info.executable = full_path(target_.GetExecutable());
  if (process_.IsValid()) {
    info.core = full_path(process_.GetCoreFile());
    if (lldb::pid_t pid = process_.GetProcessID(); pid != 0 && pid != LLDB_INVALID_PROCESS_ID)
      info.pid = static_cast<int64_t>(pid);
  }
  std::string triple = target_.GetTriple() ? target_.GetTriple() : "";
  info.arch = triple.substr(0, triple.find('-'));
  return info;
}

// Rule: process.ReadMemory; if short, the rest page by page; pages still
// unreadable from target.ReadMemory (file-backed code in cores). Leading bytes.
size_t SBTargetAdapter::read_memory(uint64_t addr, std::span<std::byte> buf) {
  if (!process_.IsValid() || buf.empty())
    return 0;
  lldb::SBError error;
  size_t done = process_.ReadMemory(addr, buf.data(), buf.size(), error);
  if (error.Fail())
    done = 0;
  while (done < buf.size()) {
    uint64_t at = addr + done;
    if (at < addr) // wrapped around the address space
      break;
    size_t chunk = std::min<uint64_t>(buf.size() - done, kPage - at % kPage);
    lldb::SBError page_error;
    size_t got = process_.ReadMemory(at, buf.data() + done, chunk, page_error);
    if (page_error.Fail())
      got = 0;
    if (got < chunk) {
      // The count is good even when the error is set: SBTarget::ReadMemory
      // tries the process first (which fails for code a kernel core left
      // out), keeps that error, then reads the module file.
      lldb::SBError file_error;
      lldb::SBAddress sb_addr(at, target_);
      size_t from_file = target_.ReadMemory(sb_addr, buf.data() + done, chunk, file_error);
      got = std::max(got, std::min(from_file, chunk));
    }
    done += got;
    if (got < chunk)
      break;
  }
  return done;
}

std::vector<MemoryRegion> SBTargetAdapter::memory_regions() {
  std::vector<MemoryRegion> out;
  if (!process_.IsValid())
    return out;
  lldb::SBMemoryRegionInfoList list = process_.GetMemoryRegions();
  for (uint32_t i = 0; i < list.GetSize(); ++i) {
    lldb::SBMemoryRegionInfo info;
    if (!list.GetMemoryRegionAtIndex(i, info))
      continue;
    MemoryRegion r;
    r.start = info.GetRegionBase();
    r.end = info.GetRegionEnd();
    r.readable = info.IsReadable();
    r.writable = info.IsWritable();
    r.executable = info.IsExecutable();
    r.name = info.GetName() ? info.GetName() : "";
    if (r.name == "[stack]")
      r.is_stack = true;
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const MemoryRegion &a, const MemoryRegion &b) { return a.start < b.start; });
  return out;
}

std::vector<ThreadInfo> SBTargetAdapter::threads() {
  std::vector<ThreadInfo> out;
  if (!process_.IsValid())
    return out;
  lldb::SBThread selected = process_.GetSelectedThread();
  lldb::tid_t selected_tid = selected.IsValid() ? selected.GetThreadID() : LLDB_INVALID_THREAD_ID;
  uint32_t n = process_.GetNumThreads();
  for (uint32_t i = 0; i < n; ++i) {
    lldb::SBThread thread = process_.GetThreadAtIndex(i);
    if (!thread.IsValid())
      continue;
    ThreadInfo t;
    t.tid = thread.GetThreadID();
    t.index = thread.GetIndexID();
    t.name = cstr(thread.GetName());
    t.is_selected = t.tid == selected_tid;
    char description[256] = {};
    thread.GetStopDescription(description, sizeof description);
    description[sizeof description - 1] = '\0';
    t.stop_reason = strip(description);

    lldb::SBFrame frame0 = thread.GetFrameAtIndex(0);
    if (frame0.IsValid())
      read_registers(frame0, t.registers);
    std::vector<DebuggerFrame> frames;
    for (uint32_t f = 0; f < kMaxDebuggerFrames; ++f) {
      lldb::SBFrame frame = thread.GetFrameAtIndex(f);
      if (!frame.IsValid())
        break;
      DebuggerFrame d;
      d.pc = frame.GetPC();
      d.cfa = valid_address(frame.GetCFA());
      d.sp = valid_address(frame.GetSP());
      d.fp = valid_address(frame.GetFP());
      frames.push_back(d);
    }
    t.debugger_frames = std::move(frames);
    out.push_back(std::move(t));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ThreadInfo &a, const ThreadInfo &b) { return a.index < b.index; });
  return out;
}

Symbol SBTargetAdapter::symbolize(uint64_t pc) {
  Symbol s;
  lldb::SBAddress addr = target_.ResolveLoadAddress(pc);
  if (!addr.IsValid())
    return s;
  lldb::SBSymbolContext sc = addr.GetSymbolContext(lldb::eSymbolContextEverything);
  lldb::SBFunction function = sc.GetFunction();
  lldb::SBSymbol symbol = sc.GetSymbol();
  const char *name = nullptr;
  if (function.IsValid())
    name = function.GetName(); // raw: the core applies plain_function_name
  else if (symbol.IsValid())
    name = symbol.GetName();
  if (name)
    s.function = std::string(name);

  // Rule: the function's range if it holds pc, else the symbol's. A function
  // split into hot and cold parts reports an end before its start.
  auto range = [&](lldb::SBAddress start, lldb::SBAddress end) {
    lldb::addr_t a = start.GetLoadAddress(target_);
    lldb::addr_t b = end.GetLoadAddress(target_);
    if (a == LLDB_INVALID_ADDRESS || b == LLDB_INVALID_ADDRESS || !(a <= pc && pc < b))
      return false;
    s.function_start = a;
    s.function_end = b;
    return true;
  };
  if (!(function.IsValid() && range(function.GetStartAddress(), function.GetEndAddress())) &&
      symbol.IsValid())
    range(symbol.GetStartAddress(), symbol.GetEndAddress());

  lldb::SBBlock block = sc.GetBlock().GetContainingInlinedBlock();
  while (block.IsValid() && s.inlined.size() < kMaxInlined) {
    if (const char *inlined = block.GetInlinedName())
      s.inlined.emplace_back(inlined);
    block = block.GetParent().GetContainingInlinedBlock();
  }

  lldb::SBLineEntry line = sc.GetLineEntry();
  if (line.IsValid()) {
    s.file = full_path(line.GetFileSpec());
    if (uint32_t n = line.GetLine(); n != 0)
      s.line = n;
  }
  lldb::SBModule module = sc.GetModule();
  if (module.IsValid())
    s.module = cstr(module.GetFileSpec().GetFilename());
  return s;
}

std::vector<uint64_t> SBTargetAdapter::allocator_entries() {
  std::vector<uint64_t> out;
  lldb::SBSymbolContextList list = target_.FindSymbols("sra_alloc");
  for (uint32_t i = 0; i < list.GetSize(); ++i) {
    lldb::SBSymbol symbol = list.GetContextAtIndex(i).GetSymbol();
    if (!symbol.IsValid())
      continue;
    lldb::SymbolType type = symbol.GetType();
    if (type != lldb::eSymbolTypeCode && type != lldb::eSymbolTypeTrampoline)
      continue;
    lldb::addr_t a = symbol.GetStartAddress().GetLoadAddress(target_);
    if (a != LLDB_INVALID_ADDRESS)
      out.push_back(a);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<commands::ModuleInfo> SBTargetAdapter::modules() {
  std::vector<commands::ModuleInfo> out;
  for (uint32_t i = 0; i < target_.GetNumModules(); ++i) {
    lldb::SBModule module = target_.GetModuleAtIndex(i);
    if (!module.IsValid())
      continue;
    auto path = full_path(module.GetFileSpec());
    if (!path)
      continue;
    commands::ModuleInfo m;
    m.path = *path;
    m.name = module.GetFileSpec().GetFilename();
    lldb::SBAddress header = module.GetObjectFileHeaderAddress();
    lldb::addr_t load = header.GetLoadAddress(target_);
    if (header.IsValid() && load != LLDB_INVALID_ADDRESS)
      m.load_bias = load - header.GetFileAddress();
    m.references_allocator = module.FindSymbols("sra_alloc").GetSize() > 0;
    m.debug_info = module.GetNumCompileUnits() > 0;
    out.push_back(std::move(m));
  }
  return out;
}

} // namespace frameaudit::lldb_plugin
