#!/usr/bin/env bash
# Runs the test command on a clean Debian 12, not on this machine: debootstraps
# bookworm (minbase, plus git and ca-certificates) into a folder outside the
# repository, gives it this machine's apt sources and resolv.conf, clones a
# branch of this repository into it and runs scripts/test.sh there as root
# with CI=true, as CI would. Proves that scripts/setup.sh installs everything
# the suites need. Needs root; takes 30-60 minutes.
#
#   scripts/fresh-check.sh [BRANCH]        # default: the checked-out branch
#   FRAMEAUDIT_FRESH_ROOT=/path            # where the system goes (default: /work/fresh-root)
#   FRAMEAUDIT_FRESH_KEEP=1                # reuse an existing system instead of a new one
#   extra arguments after BRANCH go to ctest (e.g. -L unit)
#
# The chroot shares this machine's kernel, so kernel cores follow this
# machine's core_pattern. Everything mounted is unmounted on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRESH="${FRAMEAUDIT_FRESH_ROOT:-/work/fresh-root}"
BRANCH="${1:-$(git -C "$ROOT" rev-parse --abbrev-ref HEAD)}"
[ $# -gt 0 ] && shift
SUITE=bookworm

[ "$(id -u)" -eq 0 ] || { echo "fresh-check: run as root (debootstrap and chroot need it)" >&2; exit 2; }
case "$FRESH" in
  "$ROOT" | "$ROOT"/*) echo "fresh-check: $FRESH is inside the repository" >&2; exit 2 ;;
esac

# The mirror this machine's apt uses for Debian itself (not -security).
mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' |
    grep -E '/debian/?$' | head -n1 || true)"
  [ -n "$uri" ] || uri="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  [ -n "$uri" ] || { echo "fresh-check: no Debian mirror in /etc/apt/sources.list*" >&2; exit 2; }
  echo "$uri"
}

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "fresh-check: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends debootstrap >/dev/null
fi

MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Never reuse a half-built system, and never one that still has mounts.
if mount | grep -q " $FRESH/"; then
  echo "fresh-check: $FRESH still has mounts (an interrupted run?); unmount them first" >&2
  exit 2
fi
if [ "${FRAMEAUDIT_FRESH_KEEP:-0}" != 1 ] || [ ! -x "$FRESH/usr/bin/apt-get" ]; then
  rm -rf "$FRESH"
  MIRROR="$(mirror)"
  echo "fresh-check: debootstrap $SUITE (minbase) from $MIRROR into $FRESH"
  start=$(date +%s)
  debootstrap --variant=minbase --include=git,ca-certificates "$SUITE" "$FRESH" "$MIRROR" \
    >"$FRESH.debootstrap.log" 2>&1 || { tail -n 20 "$FRESH.debootstrap.log" >&2; exit 1; }
  echo "fresh-check: debootstrap took $(($(date +%s) - start)) s"
fi

for m in /proc /sys /dev /dev/pts /dev/shm; do
  [ -d "$m" ] || continue
  mkdir -p "$FRESH$m"
  mount --bind "$m" "$FRESH$m"
  MOUNTS+=("$FRESH$m")
done
cp -L /etc/resolv.conf "$FRESH/etc/resolv.conf"
# The network this machine reaches the registries through may present its
# own certificate authority (this machine trusts it through
# /usr/local/share/ca-certificates); a new machine here is given the same
# trust, so the fresh system is too. Without it npm cannot fetch the SARIF
# validator. Not a package: apt's own sources need no TLS.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$FRESH/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$FRESH/usr/local/share/ca-certificates/"
  chroot "$FRESH" /usr/sbin/update-ca-certificates >/dev/null 2>&1
fi
# This machine's enabled apt sources (Debian 12 and its security updates,
# where the LLDB 22 packages are), in place of debootstrap's one line.
rm -f "$FRESH/etc/apt/sources.list"
rm -f "$FRESH"/etc/apt/sources.list.d/*
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  case "$f" in
    /etc/apt/sources.list) cp "$f" "$FRESH/etc/apt/sources.list" ;;
    *) cp "$f" "$FRESH/etc/apt/sources.list.d/" ;;
  esac
done

REPO_IN=/root/frameaudit
rm -rf "$FRESH$REPO_IN"
git clone -q --branch "$BRANCH" --single-branch "$ROOT" "$FRESH$REPO_IN"
echo "fresh-check: testing $BRANCH at $(git -C "$FRESH$REPO_IN" rev-parse --short HEAD) in $FRESH"

start=$(date +%s)
set +e
chroot "$FRESH" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  FRAMEAUDIT_JOBS="${FRAMEAUDIT_JOBS:-$(nproc)}" FRAMEAUDIT_TEST_JOBS="${FRAMEAUDIT_TEST_JOBS:-$(nproc)}" \
  bash -c 'cd "$1" && shift && scripts/test.sh "$@"' fresh-check "$REPO_IN" "$@"
rc=$?
set -e
echo "fresh-check: scripts/test.sh exited $rc after $(($(date +%s) - start)) s (setup, build and tests)"
exit "$rc"
