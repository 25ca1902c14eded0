// module_set.h: the target's modules as elfutils opens them. Each file the
// debugger loaded is reported to one libdwfl session at its load bias, once
// and lazily (the first time an address asks for CFI or code), so .eh_frame,
// .debug_frame (also from a separate debug file found by debuglink or build
// ID) and the program headers come from elfutils, never from a parser of our
// own. CFI is turned into CfiRow, the one row form the unwinder consumes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "frameaudit/target.h"

namespace frameaudit::detail {

/// DWARF register numbers of x86-64 (System V psABI, figure 3.36).
enum DwarfReg : uint8_t {
  kRax = 0, kRdx = 1, kRcx = 2, kRbx = 3, kRsi = 4, kRdi = 5, kRbp = 6, kRsp = 7,
  kR8 = 8, kR9 = 9, kR10 = 10, kR11 = 11, kR12 = 12, kR13 = 13, kR14 = 14, kR15 = 15,
  kRip = 16, kDwarfRegs = 17,
};

/// One operation of a DWARF expression in a CFI rule (copied out of libdw,
/// so rows outlive the Dwarf_Frame they came from).
struct CfiOp {
  uint8_t atom = 0;
  uint64_t number = 0;
  uint64_t number2 = 0;
};

/// How to recover one register of the caller, or the CFA.
struct CfiRule {
  enum class Kind : uint8_t {
    Undefined, ///< cannot be recovered (the return address: the outermost frame)
    Same,      ///< unchanged by this frame
    Expr,      ///< `ops` computes its location (or its value if `value`)
  };
  Kind kind = Kind::Undefined;
  bool value = false; ///< ops end in DW_OP_stack_value: the result is the value itself
  std::vector<CfiOp> ops;
  /// The common case, worked out once: saved at CFA + at_cfa.
  std::optional<int64_t> at_cfa;
};

/// The CFI row in force at one pc: the CFA rule and a rule per register.
struct CfiRow {
  CfiRule cfa;
  std::array<CfiRule, kDwarfRegs> regs;
  bool signal_frame = false; ///< an 'S' augmentation: the caller is an interrupted context
  /// CFA = reg + offset (nearly every row): reg, offset; else reg = -1.
  int cfa_reg = -1;
  int64_t cfa_offset = 0;
  const char *source = ""; ///< ".eh_frame" or ".debug_frame"
  /// The frame-pointer row: CFA = RBP + 16, RBP saved at CFA - 16, the
  /// return address at CFA - 8.
  bool pair = false;
};

/// What the module layer knows of one module.
struct ModuleFacts {
  Module module;
  uint64_t low = 0, high = 0;                               ///< its mapped extent
  std::vector<std::pair<uint64_t, uint64_t>> code;          ///< executable PT_LOAD ranges (loaded addresses)
  std::optional<std::string> file_build_id;                 ///< hex, from the file on disk
  bool opened = false;                                      ///< elfutils could read the file
  /// Built by the Go toolchain (a .go.buildinfo or .note.go.buildid
  /// section): its code keeps Go's own stack conventions, not the System V ABI's.
  bool go = false;
};

/// A variable or parameter of one scope as the debug info describes it at
/// one pc: its type and the location expression in force there.
struct VariableDesc {
  enum class Form : uint8_t {
    Expr,        ///< `location` computes its address (or its value if location.value)
    Register,    ///< lives in DWARF register `reg`
    Implicit,    ///< DW_OP_implicit_value or DW_AT_const_value: `implicit` is the value
    Unavailable, ///< optimized out at this pc, or a form not evaluated (`why`)
  };
  std::string name;
  std::string type;
  uint64_t size = 0;
  bool parameter = false;
  bool pointer = false;
  Form form = Form::Unavailable;
  CfiRule location; ///< may hold DW_OP_fbreg: relative to the function's frame base
  int reg = -1;
  uint64_t implicit = 0;
  std::string why;
};

/// The variables in scope at one pc, innermost scope first (a name an inner
/// scope declares hides the outer one), and the frame base of the function
/// holding the pc.
struct ScopeVariables {
  std::string function;
  CfiRule frame_base; ///< Kind::Undefined when the function has none
  std::vector<VariableDesc> vars;
};

class ModuleSet {
public:
  /// Modules of target; nothing is opened until first use. debug_dirs are
  /// searched for separate debug files (debuglink and .build-id layouts)
  /// after the standard places.
  ModuleSet(Target &target, std::vector<std::string> debug_dirs = {});
  ~ModuleSet();
  ModuleSet(const ModuleSet &) = delete;
  ModuleSet &operator=(const ModuleSet &) = delete;

  /// The CFI row at pc (a return address minus one, or an exact pc), cached
  /// per pc; nullptr where no module holds pc or no FDE covers it.
  const CfiRow *row_at(uint64_t pc);
  /// True if pc lies in an executable segment of a module's file: code even
  /// when a core left the text out.
  bool is_module_code(uint64_t pc);
  /// The module holding addr, or nullptr.
  const ModuleFacts *module_at(uint64_t addr);
  /// True if pc is in a module whose code follows the System V ABI (known
  /// module, not Go); false for code outside every module (JIT code).
  bool follows_sysv_abi(uint64_t pc);
  /// The build ID of the ELF image mapped at the module's start in the
  /// target's memory (its first page), if the memory holds one.
  std::optional<std::string> memory_build_id(const ModuleFacts &m);
  /// Defined function symbols in the module (its .symtab or .dynsym, or its
  /// separate debug file's).
  bool has_symbols(const ModuleFacts &m);
  /// DWARF compilation units (and so line tables) in the module or its debug file.
  bool has_line_tables(const ModuleFacts &m);
  /// The debug-info variables in scope at pc (an exact pc: a return address
  /// minus one), cached per pc; nullptr where no DWARF describes pc.
  const ScopeVariables *variables_at(uint64_t pc);
  /// Every module (opens them all).
  const std::vector<ModuleFacts> &modules();
  /// Number of modules the target listed (cheap, no file opened).
  size_t listed() const { return listed_.size(); }
  const std::vector<Module> &listed_modules() const { return listed_; }

private:
  void open_all();
  struct Session;
  Target &target_;
  std::vector<Module> listed_;
  std::vector<std::string> debug_dirs_;
  std::unique_ptr<Session> session_;
  std::vector<ModuleFacts> facts_; ///< sorted by low
  bool opened_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<CfiRow>> rows_; ///< pc -> row (nullptr: none)
  std::unordered_map<uint64_t, std::unique_ptr<ScopeVariables>> scopes_; ///< pc -> scope (nullptr: none)
  size_t last_module_ = 0;
  /// Direct-mapped memo of row_at: deep stacks repeat a few return addresses.
  struct Memo {
    uint64_t pc = ~uint64_t{0};
    const CfiRow *row = nullptr;
  };
  std::array<Memo, 256> memo_{};
};

} // namespace frameaudit::detail
