#!/usr/bin/env bash
# Checks in a few seconds that every toolchain the test suites call really
# works, not just that its package is installed: compiles, links and runs a
# one-line program with each compiler (gcc, g++, clang, clang++, clang's
# libFuzzer + ASan + UBSan runtime as the fuzz suite uses it, the AArch64
# cross compiler with -static under qemu-aarch64), finds LLDB's Python module
# with `lldb-22 -P` and imports it with /usr/bin/python3, and runs the SARIF
# validator that npm installed into build/tools.
#
# Each failure is one line naming the Debian package that provides what is
# missing; the exit status is 1 if any check failed. scripts/setup.sh runs
# it last. Usage: scripts/check-toolchain.sh [-v]   (-v: one line per check)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LLDB_VERSION="${FRAMEAUDIT_LLDB_VERSION:-22}"
CLANG_RT="${FRAMEAUDIT_CLANG_RT_PACKAGE:-libclang-rt-14-dev}"
VERBOSE=0
[ "${1:-}" = "-v" ] && VERBOSE=1

WORK="$(mktemp -d "${TMPDIR:-/tmp}/frameaudit-toolchain.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
printf 'int main(void) { return 0; }\n' >t.c
printf '#include <vector>\nint main() { std::vector<int> v{1}; return v[0] - 1; }\n' >t.cpp
printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t *, size_t) { return 0; }\n' >fuzz.cpp

failures=0
passed=()
fail() { # package sentence
  echo "toolchain: $2: install the Debian package $1" >&2
  failures=$((failures + 1))
}
ok() {
  passed+=("$1")
  [ "$VERBOSE" = 1 ] && echo "toolchain: ok: $1"
  return 0
}
# has COMMAND PACKAGE: the command is on PATH, else one failure line.
has() {
  command -v "$1" >/dev/null 2>&1 && return 0
  fail "$2" "$1 is not on PATH"
  return 1
}

# compile NAME PACKAGE-OF-DRIVER PACKAGE-OF-LIBS RUNNER DRIVER ARGS...: build
# ./NAME with DRIVER ARGS and run it (through RUNNER unless it is "-").
compile() {
  local name=$1 driver_pkg=$2 lib_pkg=$3 runner=$4 driver=$5
  shift 5
  has "$driver" "$driver_pkg" || return 0
  if ! "$driver" "$@" -o "$name" >"$name.log" 2>&1; then
    # The driver runs but cannot link or find headers: the libraries' package.
    fail "$lib_pkg" "$driver $* -o $name fails ($(grep -m1 -E 'error|cannot|undefined' "$name.log" | cut -c1-120))"
    return 0
  fi
  if [ "$runner" = - ]; then
    "./$name" ${RUN_ARGS:-} >/dev/null 2>&1 || { fail "$lib_pkg" "$name, built by $driver, does not run"; return 0; }
  else
    has "$runner" qemu-user || return 0
    "$runner" "./$name" >/dev/null 2>&1 || { fail qemu-user "$runner ./$name does not run"; return 0; }
  fi
  ok "$name"
}

compile gcc gcc libc6-dev - gcc -x c t.c
compile g++ g++ libstdc++-12-dev - g++ -x c++ t.cpp
compile clang clang libc6-dev - clang -x c t.c
compile clang++ clang libstdc++-12-dev - clang++ -x c++ t.cpp
# A libFuzzer binary run without input fuzzes forever: -runs=0 only starts it.
RUN_ARGS=-runs=0 compile clang-fuzzer clang "$CLANG_RT" - clang++ -fsanitize=fuzzer,address,undefined fuzz.cpp
compile aarch64-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-aarch64 \
  aarch64-linux-gnu-gcc -static -x c t.c

# Binary tools the lint, plugin and core suites call.
for tool in nm readelf objdump strip objcopy ar addr2line; do
  has "$tool" binutils && ok "$tool"
done
has file file && ok file
has gdb gdb && { gdb -q -batch -nx -ex 'python print(1)' >/dev/null 2>&1 && ok gdb ||
  fail gdb "gdb has no Python (gdb_step_sra.py needs it)"; }
has cmake cmake && ok cmake
has ninja ninja-build && ok ninja
has pkg-config pkg-config && ok pkg-config

# Headers and libraries found by CMake (a missing one fails the build, but
# not with the package's name).
header() { # path package
  [ -e "$1" ] && ok "$(basename "$1")" || fail "$2" "$1 is missing"
}
header /usr/include/Zydis/Zydis.h libzydis-dev
header /usr/include/nlohmann/json.hpp nlohmann-json3-dev
header /usr/include/gtest/gtest.h libgtest-dev
header /usr/include/gmock/gmock.h libgmock-dev
header /usr/include/benchmark/benchmark.h libbenchmark-dev
header /usr/include/pybind11/pybind11.h pybind11-dev
header /usr/include/elfutils/libdw.h libdw-dev
header /usr/include/libelf.h libelf-dev
header "/usr/lib/llvm-$LLDB_VERSION/include/lldb/API/LLDB.h" "liblldb-$LLDB_VERSION-dev"
PY=/usr/bin/python3
if [ -x "$PY" ]; then
  inc="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)"
  header "$inc/Python.h" python3-dev
  "$PY" -c 'import pytest' >/dev/null 2>&1 && ok pytest || fail python3-pytest "$PY cannot import pytest"
  "$PY" -c 'import yaml' >/dev/null 2>&1 && ok PyYAML || fail python3-yaml "$PY cannot import yaml"
else
  fail python3 "$PY is missing"
fi

# LLDB: the executable, lldb-server (live tests), and its Python module as
# the suites load it: /usr/bin/python3 with the directory `lldb -P` prints.
if has "lldb-$LLDB_VERSION" "lldb-$LLDB_VERSION"; then
  has "lldb-server-$LLDB_VERSION" "lldb-$LLDB_VERSION" && ok "lldb-server-$LLDB_VERSION"
  pydir="$("lldb-$LLDB_VERSION" -P 2>/dev/null | tail -n1)"
  if [ -z "$pydir" ] || [ ! -d "$pydir/lldb" ]; then
    fail "python3-lldb-$LLDB_VERSION" "lldb-$LLDB_VERSION -P gives no Python module directory (${pydir:-nothing})"
  elif [ -x "$PY" ] && PYTHONPATH="$pydir" "$PY" -c 'import lldb; lldb.SBDebugger.Initialize()' >py.log 2>&1; then
    ok "import lldb ($pydir)"
  else
    fail "python3-lldb-$LLDB_VERSION" "$PY cannot import lldb from $pydir ($(tail -n1 py.log | cut -c1-120))"
  fi
fi

# The SARIF validator: node runs the npm wrapper, which runs a .NET program
# that loads ICU at run time.
VALIDATOR="$ROOT/build/tools/node_modules/.bin/sarif-multitool-linux"
if has node nodejs; then
  has npm npm && ok npm
  if [ ! -x "$VALIDATOR" ]; then
    if [ "${FRAMEAUDIT_SKIP_NPM:-0}" != 1 ]; then
      echo "toolchain: the SARIF validator is not installed in $ROOT/build/tools (npm install @microsoft/sarif-multitool-linux failed in scripts/setup.sh)" >&2
      failures=$((failures + 1))
    fi
  elif "$VALIDATOR" --version >sarif.log 2>&1; then
    ok sarif-multitool
  elif grep -qi icu sarif.log; then
    fail libicu72 "the SARIF validator cannot load ICU"
  else
    echo "toolchain: the SARIF validator in build/tools does not run: $(head -n1 sarif.log | cut -c1-120)" >&2
    failures=$((failures + 1))
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "toolchain: $failures check(s) failed (scripts/setup.sh installs every package named above)" >&2
  exit 1
fi
echo "toolchain: ${#passed[@]} checks passed (compilers, cross, fuzzer runtime, LLDB Python, SARIF validator)"
