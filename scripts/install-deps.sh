#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing, demoing and
# benchmarking hapm needs. Idempotent: only missing packages are installed, and
# `apt-get update` runs only when something is missing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"
require_root

packages=(
  # toolchain and build
  build-essential g++ meson ninja-build pkg-config python3
  # libraries hapm links against
  libfuse3-dev libpmem2-dev libspdlog-dev libfmt-dev libcli11-dev
  nlohmann-json3-dev libisal-dev libssl-dev
  # tests
  catch2 clang-format attr
  # mounting and the demo/benchmark scripts
  fuse3 bindfs util-linux procps psmisc coreutils findutils kmod
)

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  say "All ${#packages[@]} packages already installed"
else
  say "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# FUSE needs its character device; in a container it may have to be loaded.
if [[ ! -e /dev/fuse ]]; then
  if modprobe fuse 2>/dev/null && [[ -e /dev/fuse ]]; then
    say "Loaded the fuse kernel module"
  else
    warn "/dev/fuse is missing and 'modprobe fuse' did not create it:" \
      "mounting hapm will fail (in a container, start it with --device /dev/fuse)"
  fi
fi
