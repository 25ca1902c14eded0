#!/usr/bin/env bash
# Configures and builds frameaudit out of source into build/ (or $FRAMEAUDIT_BUILD_DIR).
# Idempotent: reruns are incremental.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FRAMEAUDIT_BUILD_DIR:-$ROOT/build}"
JOBS="${FRAMEAUDIT_JOBS:-$(nproc)}"
GEN=()
command -v ninja >/dev/null 2>&1 && [ ! -f "$BUILD/Makefile" ] && GEN=(-G Ninja)
WERROR=OFF
[ "${CI:-}" = "true" ] && WERROR=ON
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DFRAMEAUDIT_WERROR="${FRAMEAUDIT_WERROR:-$WERROR}" ${FRAMEAUDIT_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD" -j "$JOBS"
