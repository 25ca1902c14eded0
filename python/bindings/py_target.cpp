// py_target.cpp: the trampoline between the core's Target interface and a
// Python subclass of frameaudit.Target. See py_target.h for the rules.
#include "py_target.h"

#include <pybind11/stl.h>

#include <cstring>

#include "bindings.h"

namespace frameaudit::python {

namespace {

// A value the override returned: an instance of the bound class, or a dict
// of its constructor's keyword arguments (convenient for quick scripts).
template <class T> T to_value(py::handle value) {
  if (py::isinstance<py::dict>(value)) {
    py::object type = py::type::of<T>();
    return type(**py::reinterpret_borrow<py::dict>(value)).template cast<T>();
  }
  return value.cast<T>();
}

template <class T> std::vector<T> to_values(py::handle values) {
  std::vector<T> out;
  if (values.is_none())
    return out;
  for (py::handle v : values)
    out.push_back(to_value<T>(v));
  return out;
}

} // namespace

py::function PyTarget::override_of(const char *name) {
  py::function f = py::get_override(static_cast<const Target *>(this), name);
  if (!f) {
    PyErr_Format(PyExc_NotImplementedError, "frameaudit.Target subclass must implement %s()",
                 name);
    throw py::error_already_set();
  }
  return f;
}

void PyTarget::keep(py::error_already_set &e) {
  if (!pending_)
    pending_ = e.value();
}

void PyTarget::end_call() {
  if (!pending_)
    return;
  py::object value = std::move(pending_);
  pending_ = py::object();
  PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(value.ptr())), value.ptr());
  throw py::error_already_set();
}

TargetInfo PyTarget::info() {
  py::gil_scoped_acquire gil;
  try {
    return to_value<TargetInfo>(override_of("info")());
  } catch (py::error_already_set &e) {
    keep(e);
  } catch (py::cast_error &e) {
    PyErr_SetString(PyExc_TypeError, (std::string("Target.info(): ") + e.what()).c_str());
    py::error_already_set err;
    keep(err);
  }
  // An arch the core rejects: nothing is analysed with a broken info().
  TargetInfo unknown;
  unknown.arch = "unknown";
  return unknown;
}

size_t PyTarget::read_memory(uint64_t addr, std::span<std::byte> buf) {
  if (buf.empty())
    return 0;
  py::gil_scoped_acquire gil;
  try {
    py::object data = override_of("read_memory")(addr, buf.size());
    if (data.is_none())
      return 0;
    // bytes, bytearray, memoryview: anything with the buffer protocol.
    py::buffer_info info = py::reinterpret_borrow<py::buffer>(data).request();
    size_t n = static_cast<size_t>(info.size * info.itemsize);
    n = std::min(n, buf.size());
    if (n)
      std::memcpy(buf.data(), info.ptr, n);
    return n;
  } catch (py::error_already_set &) {
    // The Python side could not read: that is "unreadable", not a bug.
    return 0;
  } catch (std::exception &) {
    return 0;
  }
}

std::vector<MemoryRegion> PyTarget::memory_regions() {
  py::gil_scoped_acquire gil;
  try {
    return to_values<MemoryRegion>(override_of("memory_regions")());
  } catch (py::error_already_set &e) {
    keep(e);
  } catch (py::cast_error &e) {
    PyErr_SetString(PyExc_TypeError,
                    (std::string("Target.memory_regions(): ") + e.what()).c_str());
    py::error_already_set err;
    keep(err);
  }
  return {};
}

std::vector<ThreadInfo> PyTarget::threads() {
  py::gil_scoped_acquire gil;
  try {
    return to_values<ThreadInfo>(override_of("threads")());
  } catch (py::error_already_set &e) {
    keep(e);
  } catch (py::cast_error &e) {
    PyErr_SetString(PyExc_TypeError, (std::string("Target.threads(): ") + e.what()).c_str());
    py::error_already_set err;
    keep(err);
  }
  return {};
}

Symbol PyTarget::symbolize(uint64_t pc) {
  py::gil_scoped_acquire gil;
  if (auto it = symbols_.find(pc); it != symbols_.end())
    return it->second;
  Symbol symbol;
  try {
    py::object value = override_of("symbolize")(pc);
    if (!value.is_none())
      symbol = to_value<Symbol>(value);
  } catch (py::error_already_set &e) {
    keep(e);
    return symbol;
  } catch (py::cast_error &e) {
    PyErr_SetString(PyExc_TypeError, (std::string("Target.symbolize(): ") + e.what()).c_str());
    py::error_already_set err;
    keep(err);
    return symbol;
  }
  symbols_.emplace(pc, symbol);
  return symbol;
}

std::vector<uint64_t> PyTarget::allocator_entries() {
  py::gil_scoped_acquire gil;
  try {
    py::object values = override_of("allocator_entries")();
    if (values.is_none())
      return {};
    return values.cast<std::vector<uint64_t>>();
  } catch (py::error_already_set &e) {
    keep(e);
  } catch (py::cast_error &e) {
    PyErr_SetString(PyExc_TypeError,
                    (std::string("Target.allocator_entries(): ") + e.what()).c_str());
    py::error_already_set err;
    keep(err);
  }
  return {};
}

std::vector<Module> PyTarget::modules() {
  py::gil_scoped_acquire gil;
  // Optional: a Target without modules() is unwound without CFI.
  py::function f = py::get_override(static_cast<const Target *>(this), "modules");
  if (!f)
    return {};
  try {
    return to_values<Module>(f());
  } catch (py::error_already_set &e) {
    keep(e);
  } catch (py::cast_error &e) {
    PyErr_SetString(PyExc_TypeError, (std::string("Target.modules(): ") + e.what()).c_str());
    py::error_already_set err;
    keep(err);
  }
  return {};
}

void PyTarget::clear_symbol_cache() { symbols_.clear(); }

void bind_target(py::module_ &m) {
  py::class_<Target, PyTarget>(m, "Target", R"(The debuggee, read-only, as the core sees it.

Subclass it and implement every method; the core calls them while
analyze() runs:

- ``info() -> TargetInfo``
- ``read_memory(address: int, size: int) -> bytes``: the leading readable
  bytes (b"" or an exception: nothing readable)
- ``memory_regions() -> list[MemoryRegion]`` sorted by start
- ``threads() -> list[ThreadInfo]`` in the debugger's order
- ``symbolize(pc: int) -> Symbol | None`` (asked once per distinct pc)
- ``allocator_entries() -> list[int]``: entry addresses of ``sra_alloc``
- ``modules() -> list[commands.ModuleInfo]`` (optional): the loaded files
  and their load bias; the core reads CFI and build IDs from them

Methods may return a dict of constructor keywords instead of an instance.
An exception in ``read_memory`` means "unreadable"; an exception anywhere
else is re-raised by analyze().)")
      .def(py::init<>())
      .def(
          "clear_symbol_cache",
          [](Target &self) {
            if (auto *target = dynamic_cast<PyTarget *>(&self))
              target->clear_symbol_cache();
          },
           "Forget the symbols cached by earlier analyses (e.g. after new modules loaded).");
}

} // namespace frameaudit::python
