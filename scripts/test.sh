#!/usr/bin/env bash
# The test command (README "Quick start"): installs what is
# missing, builds into build/, then runs every suite through CTest: core unit
# tests, allocator tests, the fixture matrix, lint, the LLDB front-ends
# (Python and native, live and on three core formats), the CLI, SARIF
# validation and a short fuzz run.
#
#   scripts/test.sh                 # everything CI runs
#   FRAMEAUDIT_FULL_MATRIX=1 scripts/test.sh   # every fixture build under LLDB too (slow)
#   scripts/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FRAMEAUDIT_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
cd "$BUILD"
JOBS="${FRAMEAUDIT_TEST_JOBS:-$(nproc)}"
# LLDB 22 occasionally fails to load a file or hangs on a minidump it wrote
# itself after many launches in one process; a failing test gets one more
# run, and a test that fails twice fails the suite.
ctest --output-on-failure -j "$JOBS" --timeout 1500 --repeat until-pass:2 "$@"
