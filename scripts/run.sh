#!/usr/bin/env bash
# The demo: installs what is missing, builds, then walks through the life of a
# hapm filesystem: mkfs a pool, mount it, copy files in and fsync them, look at
# it, unmount, fsck the pool and delete it. Safe to run again: it first tears
# down what a previous (interrupted) run left behind.
#
#   scripts/run.sh [--keep]    --keep: stop while mounted and print how to finish
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

keep=0
case "${1:-}" in
  "") ;;
  --keep) keep=1 ;;
  -h | --help)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [--keep]" >&2
    exit 2
    ;;
esac

require_root
"$HAPM_ROOT/scripts/install-deps.sh"
"$HAPM_ROOT/scripts/build.sh" tools/hapm
HAPM="$HAPM_ROOT/build/tools/hapm"

pool=/dev/shm/hapm-demo.pool
demo=/tmp/hapm-demo
mnt="$demo/mnt"

# Shows a command, then runs it, so the output reads like a session.
show() {
  printf '\n$ %s\n' "$*"
  "$@"
}

# Unmounts (if mounted) and waits, bounded, until the daemon lets go of the pool.
teardown() {
  if is_mounted "$mnt"; then
    umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"
  fi
  for _ in $(seq 100); do
    [[ -e "$pool" ]] && fuser -s "$pool" 2>/dev/null || return 0
    sleep 0.1
  done
  die "the hapm daemon still holds $pool 10 s after unmount"
}

say "Tearing down any previous demo"
teardown
rm -f "$pool" "$pool.log"
mkdir -p "$mnt"

say "Creating a 1 GiB pool and mounting it"
cat <<EOF
The pool lives in /dev/shm (tmpfs) so the demo runs anywhere. A pool on tmpfs is
as fast as memory but survives neither a reboot nor a power loss: its durability
will come from replication to a replica server, which arrives with the
replication work (not in this version). A pool on a DAX mount of real persistent
memory is durable locally; a pool on an ordinary disk file is durable on that
disk once fsync returns. See README.md, "Durability".
EOF
show "$HAPM" mkfs "$pool" --size 1G
show "$HAPM" mount "$pool" "$mnt"
for _ in $(seq 100); do
  is_mounted "$mnt" && break
  sleep 0.1
done
is_mounted "$mnt" || die "$mnt is not mounted"

say "Copying /usr/share/doc into the filesystem"
show cp -r /usr/share/doc "$mnt/"
# fsync every file and directory: that is what makes data durable in hapm
# (`sync` with file arguments fsyncs each one).
printf '\n$ find %s/doc -type f -o -type d | xargs sync   # fsync each file and directory\n' "$mnt"
find "$mnt/doc" \( -type f -o -type d \) -print0 | xargs -0 sync --
show ls -l "$mnt"
printf '\n$ ls %s/doc | head\n' "$mnt"
# shellcheck disable=SC2012 # display only
ls "$mnt/doc" | sed -n "1,10p" # sed, not head: no SIGPIPE under pipefail
echo "... ($(find "$mnt/doc" | wc -l) entries in $mnt/doc)"
show df -h "$mnt"
show "$HAPM" status "$mnt"
echo
echo "Replication is not configured: the replica server arrives with replication (a later"
echo "version); then status shows the replica's state and the pool gains durability from it."

if ((keep)); then
  cat <<EOF

The filesystem stays mounted at $mnt. When you are done:
  # unmount (the daemon exits and closes the pool)
  umount $mnt
  # check the pool: exit 0 = clean
  $HAPM fsck $pool
  # delete the pool and the daemon's log
  rm $pool $pool.log
EOF
  exit 0
fi

say "Unmounting, checking and deleting the pool"
echo "To unmount a hapm filesystem yourself:  umount $mnt   (or: fusermount3 -u $mnt)"
printf '\n$ umount %s\n' "$mnt"
teardown
show "$HAPM" fsck "$pool"
show rm "$pool"
rm -f "$pool.log" # the daemon's log (hapm mount --log-file changes where it goes)
rmdir "$mnt" "$demo" 2>/dev/null || true
echo
say "Demo finished: the pool was clean after unmount and has been deleted."
