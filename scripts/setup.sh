#!/usr/bin/env bash
# Installs the Debian packages frameaudit needs, and only the missing ones.
# Idempotent; prints nothing when everything is already there.
set -euo pipefail

PACKAGES=(
  build-essential gcc g++ clang clang-format cmake ninja-build pkg-config
  lldb-22 liblldb-22-dev python3-lldb-22
  pybind11-dev python3-dev python3-pytest
  libzydis-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libclang-rt-14-dev gdb binutils file
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libelf-dev libdw-dev elfutils debuginfod
  nodejs
  chromium tmux
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

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
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The SARIF validator used by the test suite comes from npm, into a project
# folder (never global), so it is removed with the checkout.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/build/tools"
if [ "${FRAMEAUDIT_SKIP_NPM:-0}" != 1 ] && [ ! -x "$TOOLS/node_modules/.bin/sarif-multitool-linux" ]; then
  mkdir -p "$TOOLS"
  echo "setup: installing @microsoft/sarif-multitool-linux into build/tools"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund @microsoft/sarif-multitool-linux >/dev/null 2>&1) \
    || echo "setup: warning: could not install the SARIF validator; SARIF validation tests will fail" >&2
fi
