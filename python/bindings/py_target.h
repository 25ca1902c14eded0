// py_target.h: frameaudit::Target implemented by a Python subclass.
//
// The core calls these methods with the GIL released (analyze() drops it);
// each method takes the GIL, calls the Python override and converts the
// result. No Python exception ever crosses into the core: an exception in
// read_memory means "0 bytes readable" (the expected way for a Python
// target to say "unmapped"); an exception anywhere else is a bug in the
// subclass, so the method returns an empty answer and the exception is kept
// and re-raised once analyze() is back in Python.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>
#include <unordered_map>

#include "frameaudit/target.h"

namespace frameaudit::python {

namespace py = pybind11;

class PyTarget : public Target {
public:
  TargetInfo info() override;
  size_t read_memory(uint64_t addr, std::span<std::byte> buf) override;
  std::vector<MemoryRegion> memory_regions() override;
  std::vector<ThreadInfo> threads() override;
  /// Resolved once per distinct address (cached for the Target's lifetime).
  Symbol symbolize(uint64_t pc) override;
  std::vector<uint64_t> allocator_entries() override;
  std::vector<Module> modules() override;

  /// Forget cached symbols (the target's modules changed).
  void clear_symbol_cache();

  /// Called by analyze() with the GIL held: forget a previous failure.
  void begin_call() { pending_ = py::object(); }
  /// Called by analyze() with the GIL held: raise the first exception a
  /// Python override threw during the call, if any.
  void end_call();

private:
  /// The Python override of `name`, or raise if the subclass has none.
  py::function override_of(const char *name);
  /// Keep the first exception (GIL held).
  void keep(py::error_already_set &e);

  py::object pending_; ///< first exception value raised by an override
  std::unordered_map<uint64_t, Symbol> symbols_;
};

} // namespace frameaudit::python
