// stop_reason.cpp: Linux signal names and si_code descriptions as LLDB 22's
// LinuxSignals table words them, so the elfutils engine's stop reasons equal
// the LLDB engine's (docs/formats.md, "Engines").
#include "elfcore/stop_reason.h"

#include <array>
#include <string_view>

#include "frameaudit/hex.h"

namespace frameaudit::detail {
namespace {

constexpr std::array<std::string_view, 34> kNames = {
    "",         "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",  "SIGTRAP",   "SIGABRT",
    "SIGBUS",   "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV", "SIGUSR2",   "SIGPIPE",
    "SIGALRM",  "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",   "SIGTSTP",
    "SIGTTIN",  "SIGTTOU", "SIGURG",    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
    "SIGWINCH", "SIGIO",   "SIGPWR",    "SIGSYS",  "SIG32",   "SIG33"};

std::string signal_name(int signo) {
  if (signo > 0 && static_cast<size_t>(signo) < kNames.size())
    return std::string(kNames[static_cast<size_t>(signo)]);
  if (signo == 34)
    return "SIGRTMIN";
  if (signo > 34 && signo < 50)
    return "SIGRTMIN+" + std::to_string(signo - 34);
  if (signo >= 50 && signo < 64)
    return "SIGRTMAX-" + std::to_string(64 - signo);
  if (signo == 64)
    return "SIGRTMAX";
  return std::to_string(signo);
}

enum class Extra { None, Address, Sender };

struct Code {
  int signo; ///< 0: any signal
  int code;
  std::string_view text;
  Extra extra;
};

// The signal's own codes first: they win over the generic ones.
constexpr Code kCodes[] = {
    {4, 1, "illegal opcode", Extra::None},
    {4, 2, "illegal operand", Extra::None},
    {4, 3, "illegal addressing mode", Extra::None},
    {4, 4, "illegal trap", Extra::None},
    {4, 5, "privileged opcode", Extra::None},
    {4, 6, "privileged register", Extra::None},
    {4, 7, "coprocessor error", Extra::None},
    {4, 8, "internal stack error", Extra::None},
    {7, 1, "illegal alignment", Extra::None},
    {7, 2, "illegal address", Extra::None},
    {7, 3, "hardware error", Extra::None},
    {8, 1, "integer divide by zero", Extra::None},
    {8, 2, "integer overflow", Extra::None},
    {8, 3, "floating point divide by zero", Extra::None},
    {8, 4, "floating point overflow", Extra::None},
    {8, 5, "floating point underflow", Extra::None},
    {8, 6, "floating point inexact result", Extra::None},
    {8, 7, "floating point invalid operation", Extra::None},
    {8, 8, "subscript out of range", Extra::None},
    {11, 1, "address not mapped to object", Extra::Address},
    {11, 2, "invalid permissions for mapped object", Extra::Address},
    {11, 3, "failed address bounds checks", Extra::None},
    {11, 8, "async tag check fault", Extra::None},
    {11, 9, "sync tag check fault", Extra::Address},
    {11, 10, "control protection fault", Extra::None},
    {0, 0, "sent by kill, sigsend or raise", Extra::Sender},
    {0, 0x80, "sent by kernel (SI_KERNEL)", Extra::Sender},
    {0, -1, "sent by sigqueue", Extra::Sender},
    {0, -2, "sent by timer expiration", Extra::Sender},
    {0, -3, "sent by real time mesq state change", Extra::Sender},
    {0, -4, "sent by AIO completion", Extra::Sender},
    {0, -5, "sent by queued SIGIO", Extra::Sender},
    {0, -6, "sent by tkill system call", Extra::Sender},
    {0, -7, "sent by execve() killing subsidiary threads", Extra::Sender},
    {0, -60, "sent by glibc async name lookup completion", Extra::Sender},
};

} // namespace

std::string stop_reason(const CoreThread &thread) {
  if (!thread.siginfo || thread.siginfo->signo == 0)
    return "signal " + (thread.cursig == 0 ? std::string("0") : signal_name(thread.cursig));
  const CoreSiginfo &si = *thread.siginfo;
  std::string out = signal_name(si.signo);
  for (const Code &c : kCodes) {
    if ((c.signo != 0 && c.signo != si.signo) || c.code != si.code)
      continue;
    out += ": ";
    out += c.text;
    if (c.extra == Extra::Address)
      out += " (fault address=" + hex(si.addr) + ")";
    else if (c.extra == Extra::Sender)
      out += " (sender pid=" + std::to_string(si.pid) + ", uid=" + std::to_string(si.uid) + ")";
    break;
  }
  return out;
}

} // namespace frameaudit::detail
