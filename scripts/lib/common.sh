# shellcheck shell=bash
# Shared bits of the hapm scripts: the repo root, messages, root check.
# Sourced, not run.

HAPM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export HAPM_ROOT

# Bold only on a terminal, so CI logs stay plain text.
say() {
  if [[ -t 1 ]]; then
    printf '\033[1m==> %s\033[0m\n' "$*"
  else
    printf '==> %s\n' "$*"
  fi
}
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Every script here installs packages or mounts filesystems: both need root.
require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    die "$(basename "$0") must run as root (it installs packages and mounts FUSE filesystems)"
  fi
}

# True when PATH is a mountpoint (does not follow a FUSE mount that hangs).
is_mounted() {
  grep -qs " $(realpath -m "$1") " /proc/self/mounts
}
