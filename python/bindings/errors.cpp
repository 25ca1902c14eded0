// errors.cpp: the one place a frameaudit::Error becomes a Python exception.
// FrameauditError carries the error's code ("no_process", ...) so scripts and
// the LLDB commands can tell "nothing to inspect" from "not x86-64".
#include <pybind11/eval.h>

#include "bindings.h"

namespace frameaudit::python {

namespace {

// Owned for the life of the interpreter (the module is never unloaded).
PyObject *g_error_type = nullptr;

constexpr const char *kErrorClass = R"py(
class FrameauditError(Exception):
    """An operation of the frameaudit core failed.

    ``code`` says why, one of: ``"invalid_argument"``, ``"no_process"``,
    ``"unsupported_arch"``, ``"unreadable"``, ``"bad_input"``, ``"internal"``.
    ``str(error)`` is one sentence a user can act on.
    """

    def __init__(self, message, code="internal"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self):
        return f"FrameauditError({self.message!r}, code={self.code!r})"
)py";

} // namespace

const char *error_code_name(Error::Code code) {
  switch (code) {
  case Error::Code::InvalidArgument: return "invalid_argument";
  case Error::Code::NoProcess: return "no_process";
  case Error::Code::UnsupportedArch: return "unsupported_arch";
  case Error::Code::Unreadable: return "unreadable";
  case Error::Code::BadInput: return "bad_input";
  case Error::Code::Internal: return "internal";
  }
  return "internal";
}

void raise_error(const Error &error) {
  py::object type = py::reinterpret_borrow<py::object>(g_error_type);
  py::object value = type(error.message, error_code_name(error.code));
  PyErr_SetObject(g_error_type, value.ptr());
  throw py::error_already_set();
}

void bind_errors(py::module_ &m) {
  py::dict scope;
  scope["__builtins__"] = py::module_::import("builtins");
  scope["__name__"] = m.attr("__name__");
  py::exec(kErrorClass, scope);
  py::object type = scope["FrameauditError"];
  g_error_type = type.inc_ref().ptr();
  m.attr("FrameauditError") = type;
}

} // namespace frameaudit::python
