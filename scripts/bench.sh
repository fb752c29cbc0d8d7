#!/usr/bin/env bash
# Benchmark (not a test): tmpfs directly, a FUSE passthrough over tmpfs (bindfs)
# and hapm without a replica (pool in /dev/shm), measured side by side in one
# run with tools/fileops_bench.cc.
#
#   scripts/bench.sh [--quick] [--rounds N] [--no-build]
#
# Repetitions are interleaved round-robin across the targets and the median is
# reported. Everything runs twice: pinned (benchmark and FUSE daemons all under
# `taskset -c 0`) and unpinned, because a wake-up across CPUs costs tens of
# microseconds here and would otherwise decide the result
# (shared/notes/fuse-latency.md). The table goes to stdout and to
# results/bench-<date>.txt.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

quick=0
rounds=""
build=1
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --rounds)
      rounds="${2:-}"
      shift
      ;;
    --no-build) build=0 ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "usage: $0 [--quick] [--rounds N] [--no-build]" >&2
      exit 2
      ;;
  esac
  shift
done
if ((quick)); then
  rounds="${rounds:-3}"
  sizes=(--ops 2000 --seq-mib 64 --files 2000 --file-mib 16)
else
  rounds="${rounds:-5}"
  sizes=(--ops 10000 --seq-mib 256 --files 10000 --file-mib 64)
fi
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive number"

require_root
if ((build)); then
  "$HAPM_ROOT/scripts/install-deps.sh"
  "$HAPM_ROOT/scripts/build.sh" tools/hapm tools/hapm-fileops-bench
fi
HAPM="$HAPM_ROOT/build/tools/hapm"
BENCH="$HAPM_ROOT/build/tools/hapm-fileops-bench"
[[ -x "$HAPM" && -x "$BENCH" ]] || die "build/tools/hapm or hapm-fileops-bench missing: run scripts/build.sh"

work=/dev/shm/hapm-bench # tmpfs target, bindfs source, hapm pool
mnt=/tmp/hapm-bench      # FUSE mountpoints
pool="$work/hapm.pool"
raw="$(mktemp /tmp/hapm-bench-raw.XXXXXX)"
bindfs_pid=""
hapm_pid=""

# Unmounts a FUSE mount and waits (bounded) for its daemon to exit.
stop_daemon() {
  local where="$1" pid="$2"
  if is_mounted "$where"; then
    umount "$where" 2>/dev/null || fusermount3 -u "$where" 2>/dev/null || umount -l "$where" || true
  fi
  [[ -n "$pid" ]] || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "daemon $pid serving $where did not exit after unmount; sending SIGTERM"
    kill "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

stop_targets() {
  stop_daemon "$mnt/bindfs" "$bindfs_pid"
  stop_daemon "$mnt/hapm" "$hapm_pid"
  bindfs_pid=""
  hapm_pid=""
}

cleanup() {
  stop_targets
  rm -rf "$work" "$raw"
  rmdir "$mnt/bindfs" "$mnt/hapm" "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_mounted() {
  local where="$1" pid="$2" log="$3"
  for _ in $(seq 100); do
    is_mounted "$where" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2 || true
  die "could not mount $where (log above)"
}

# Starts both FUSE daemons in the foreground as our children (so we know their
# pids), under the placement's CPU prefix.
start_targets() {
  local -a pin=("$@")
  rm -rf "$work"
  mkdir -p "$work/tmpfs" "$work/bindfs-src" "$mnt/bindfs" "$mnt/hapm"
  "${pin[@]}" bindfs -f "$work/bindfs-src" "$mnt/bindfs" >"$work/bindfs.log" 2>&1 &
  bindfs_pid=$!
  wait_mounted "$mnt/bindfs" "$bindfs_pid" "$work/bindfs.log"

  "$HAPM" mkfs "$pool" --size 2G --force >/dev/null
  "${pin[@]}" "$HAPM" mount "$pool" "$mnt/hapm" -f >"$work/hapm.log" 2>&1 &
  hapm_pid=$!
  wait_mounted "$mnt/hapm" "$hapm_pid" "$work/hapm.log"
}

target_dir() {
  case "$1" in
    tmpfs) echo "$work/tmpfs" ;;
    bindfs) echo "$mnt/bindfs" ;;
    hapm) echo "$mnt/hapm" ;;
  esac
}

targets=(tmpfs bindfs hapm)
ops=(fsync-lat seq-write small-files)
failures=0

run_placement() {
  local placement="$1"
  shift
  local -a pin=("$@")
  say "Placement: $placement${pin[*]:+ (${pin[*]})}"
  start_targets "${pin[@]}"
  local r op i t out
  for ((r = 0; r < rounds; r++)); do
    printf '  round %d/%d:' $((r + 1)) "$rounds"
    for op in "${ops[@]}"; do
      # Rotate which target goes first, so none always runs on a warm cache.
      for ((i = 0; i < ${#targets[@]}; i++)); do
        t="${targets[$(((i + r) % ${#targets[@]}))]}"
        if out="$("${pin[@]}" "$BENCH" "$(target_dir "$t")" --op "$op" --seed $((r + 1)) "${sizes[@]}")"; then
          while IFS='=' read -r key value; do
            printf '%s\t%s\t%d\t%s\t%s\n' "$placement" "$t" "$r" "$key" "$value" >>"$raw"
          done <<<"$out"
        else
          warn "$op on $t failed (see above)"
          failures=$((failures + 1))
        fi
      done
      printf ' %s' "$op"
    done
    echo
  done
  stop_targets
}

started="$(date '+%Y-%m-%d %H:%M:%S')"
run_placement pinned taskset -c 0
run_placement unpinned

mkdir -p "$HAPM_ROOT/results"
out_file="$HAPM_ROOT/results/bench-$(date +%Y%m%d-%H%M%S).txt"
{
  echo "hapm file-operation benchmark, started $started"
  echo "commit: $(git -C "$HAPM_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "| kernel $(uname -r) | $(nproc) CPUs | mode: $([[ $quick == 1 ]] && echo quick || echo full)," \
    "$rounds rounds, sizes: ${sizes[*]}"
  echo "targets: tmpfs = $work/tmpfs; bindfs = bindfs over tmpfs (Debian, defaults);" \
    "hapm = pool file in /dev/shm, no replica"
  python3 "$HAPM_ROOT/scripts/lib/bench_table.py" "$raw"
  ((failures == 0)) || echo "WARNING: $failures benchmark runs failed; their figures are missing"
} | tee "$out_file"
say "Written to ${out_file#"$HAPM_ROOT"/}"
