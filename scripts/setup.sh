#!/usr/bin/env bash
# Installs the Debian packages frameaudit and its test suites need, and only
# the missing ones, then the SARIF validator from npm into build/tools, then
# checks that every toolchain the suites call really works
# (scripts/check-toolchain.sh). Idempotent; prints nothing but the check's
# one line when everything is already there.
#
# Packages are installed with --no-install-recommends, so every package a
# suite uses is listed here by name, even where another package recommends
# it today: a Recommends is not a dependency (the AArch64 C library was lost
# that way once).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  # building: the core, the allocator (GNU as), the fixtures with both compilers
  build-essential gcc g++ make clang clang-format cmake ninja-build pkg-config
  # LLDB 22: the plugin's SB headers and library, lldb/lldb-server, the Python module
  lldb-22 liblldb-22-dev python3-lldb-22
  # Python: the bindings and every pytest suite (run with /usr/bin/python3,
  # the Python LLDB embeds); only the standard library besides pytest, lldb
  # and PyYAML (the CI-guide test reads the guide's YAML jobs)
  python3 python3-dev python3-pytest python3-yaml pybind11-dev
  # libraries of the core and of the C++ tests and benchmarks
  libzydis-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  # the fuzz suite: clang's libFuzzer and sanitizer runtimes (clang 14 on Debian 12)
  libclang-rt-14-dev
  # cores (gdb's gcore, the demo), and nm, readelf, objdump, strip, objcopy,
  # ar, addr2line in the lint and plugin suites; sleep and true are coreutils
  gdb binutils file coreutils
  # the other-architecture suites: a static AArch64 crasher run under qemu-user
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  # elfutils: the module layer (CFI, build IDs) and debuginfod for --debuginfod
  libelf-dev libdw-dev elfutils debuginfod
  # compressed cores (analyze decompresses .zst and .lz4 with these tools)
  zstd lz4 xz-utils
  # the SARIF validator: npm installs it; it is a .NET program that loads ICU
  # at run time (not a package dependency of anything here), and npm needs
  # the CA certificates for the registry
  nodejs libicu72 ca-certificates
  # the real-program corpus (tests/realworld): programs whose cores it reads
  sqlite3 mawk tcl8.6 vim
  # the picture tests (headless Chromium screenshots) and tab completion in interactive lldb
  chromium tmux
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Debian's nodejs has no npm (the separate package npm brings it); a nodejs
# from elsewhere may bundle npm and conflict with Debian's: ask only for the
# command.
command -v npm >/dev/null 2>&1 || missing+=(npm)

SUDO=""
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO="sudo"
    else
      echo "setup: missing Debian packages: ${missing[*]}" >&2
      echo "setup: run this script as root (or with password-less sudo) to install them" >&2
      exit 1
    fi
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # apt may be held by another apt run (an unattended upgrade): wait for its lock.
  APT_WAIT=(-o DPkg::Lock::Timeout=600)
  $SUDO apt-get "${APT_WAIT[@]}" update -qq
  $SUDO apt-get "${APT_WAIT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The SARIF validator used by the test suite comes from npm, into a project
# folder (never global), so it is removed with the checkout.
TOOLS="$ROOT/build/tools"
if [ "${FRAMEAUDIT_SKIP_NPM:-0}" != 1 ] && [ ! -x "$TOOLS/node_modules/.bin/sarif-multitool-linux" ]; then
  mkdir -p "$TOOLS"
  echo "setup: installing @microsoft/sarif-multitool-linux into build/tools"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund @microsoft/sarif-multitool-linux >/dev/null 2>&1) \
    || echo "setup: warning: could not install the SARIF validator; SARIF validation tests will fail" >&2
fi

# Installed is not the same as working: compile, link and run one line with
# every toolchain the suites call, and load LLDB's Python module.
"$ROOT/scripts/check-toolchain.sh"
