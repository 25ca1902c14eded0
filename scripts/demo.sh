#!/usr/bin/env bash
# The demo command (README "Quick start"): installs what is
# missing, builds into build/, builds a fixture that uses the allocator,
# crashes it to get a real core file, and prints `frameaudit analyze` of it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FRAMEAUDIT_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
echo "demo: building frameaudit into $BUILD"
"$ROOT/scripts/build.sh" >/dev/null

FIXTURE="$BUILD/fixtures/overflow-gcc-O0-fp-audit"
[ -x "$FIXTURE" ] || { echo "demo: fixture $FIXTURE was not built" >&2; exit 1; }
WORK="$BUILD/demo"
rm -rf "$WORK"; mkdir -p "$WORK"
CORE="$WORK/overflow.core"

echo "demo: running $(basename "$FIXTURE"): it allocates blocks with SRA_ALLOC, writes past one, and aborts"
# A real core of the crash, written by gdb at the moment of the signal, so
# the demo does not depend on this machine's kernel core pattern.
SRA_STOP=abort SRA_GROUND_TRUTH="$WORK/ground-truth.json" \
  gdb -q -batch -nx -ex "set pagination off" -ex run -ex "gcore $CORE" -ex kill "$FIXTURE" \
  >"$WORK/gdb.log" 2>&1 || true
[ -s "$CORE" ] || { echo "demo: gdb did not write a core; see $WORK/gdb.log" >&2; exit 1; }
echo "demo: core written: $CORE ($(du -h "$CORE" | cut -f1))"
echo "demo: frameaudit analyze $CORE"
echo
set +e
"$BUILD/bin/frameaudit" analyze --exe "$FIXTURE" "$CORE"
rc=$?
set -e
echo
echo "demo: frameaudit exited $rc (1 = error findings, as expected for an overflow)"
echo "demo: JSON: $BUILD/bin/frameaudit analyze --format json $CORE"
[ "$rc" -le 1 ]
