// Attributes: getattr, setattr (including truncate).
#include <spdlog/spdlog.h>

#include "fs/fs_impl.h"

namespace hapm {

using format::Inode;
using format::kBlockSize;

void Attr::to_stat(struct stat* st) const {
  *st = {};
  st->st_ino = ino;
  st->st_mode = mode;
  st->st_nlink = nlink;
  st->st_uid = uid;
  st->st_gid = gid;
  st->st_size = static_cast<off_t>(size);
  st->st_blocks = static_cast<blkcnt_t>(blocks_512);
  st->st_blksize = kBlockSize;
  st->st_rdev = rdev;
  st->st_atim = {atime_ns / 1000000000, atime_ns % 1000000000};
  st->st_mtim = {mtime_ns / 1000000000, mtime_ns % 1000000000};
  st->st_ctim = {ctime_ns / 1000000000, ctime_ns % 1000000000};
}

Status Filesystem::getattr(uint64_t ino, Attr* out) {
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  impl_->fill_attr(ino, *inode, out);
  return Status::ok();
}

namespace {
// Zeroes the bytes of the last block between the old end of file and the end
// of that block, so that growing the file exposes zeros, never old bytes. The
// bytes lie past EOF, so writing them in place is invisible until the size
// change commits (and the commit's first fence makes them durable first).
void zero_tail(PoolMemory& pool, const BlockMap& map, const Inode& inode, uint64_t new_size) {
  const uint64_t old_size = inode.size;
  const uint64_t in_block = old_size % kBlockSize;
  if (new_size <= old_size || in_block == 0) return;
  const uint64_t block = map.lookup(inode, old_size / kBlockSize);
  if (block == 0) return;
  const uint64_t end = std::min<uint64_t>(kBlockSize, in_block + (new_size - old_size));
  pool.zero(block * kBlockSize + in_block, end - in_block);
}
}  // namespace

void zero_tail_for_extend(PoolMemory& pool, const BlockMap& map, const Inode& inode,
                          uint64_t new_size) {
  zero_tail(pool, map, inode, new_size);
}

Status Filesystem::setattr(uint64_t ino, const SetAttrRequest& req, Attr* out) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  Transaction txn(pool_);
  auto loaded = im.load(txn, ino);
  if (!loaded.is_ok()) return loaded.status();
  Inode inode = *loaded;
  const int64_t now = now_ns();
  const uint64_t old_size = inode.size;
  // With the writeback cache the kernel sends its own mtime (moving forward)
  // before most fsyncs. That needs no journal commit of its own: it waits
  // with the pending write time and is committed by the fsync that follows.
  const bool times_only = req.set_mtime && !req.set_size && !req.set_mode && !req.set_uid &&
                          !req.set_gid && !req.set_atime;
  if (times_only && S_ISREG(inode.mode)) {
    const int64_t mtime = req.mtime_now ? now : req.mtime_ns;
    auto pending = im.pending_mtime.find(ino);
    const int64_t current =
        std::max(inode.mtime_ns, pending == im.pending_mtime.end() ? 0 : pending->second);
    // A pending time becomes both mtime and ctime: take this path only when
    // that is exactly what was asked.
    if ((!req.set_ctime || req.ctime_ns == mtime) && mtime >= current && mtime >= inode.ctime_ns) {
      im.pending_mtime[ino] = mtime;
      im.fill_attr(ino, inode, out);
      return Status::ok();
    }
  }
  if (req.set_size) {
    if (S_ISDIR(inode.mode)) return Status(Code::IsADirectory, "cannot truncate a directory");
    if (!S_ISREG(inode.mode)) return Status(Code::InvalidArgument, "truncate needs a regular file");
    if (req.size > kMaxFileSize) return Status(Code::TooBig, "size beyond the largest file");
    BlockMap map(pool_, &txn);
    zero_tail(pool_, map, inode, req.size);
    inode.size = req.size;
    inode.mtime_ns = now;
  }
  if (req.set_mode) inode.mode = (inode.mode & S_IFMT) | (req.mode & 07777);
  if (req.set_uid) inode.uid = req.uid;
  if (req.set_gid) inode.gid = req.gid;
  if (req.set_atime) inode.atime_ns = req.atime_now ? now : req.atime_ns;
  if (req.set_mtime) {
    inode.mtime_ns = req.mtime_now ? now : req.mtime_ns;
    im.pending_mtime.erase(ino);  // an explicit time wins over a pending write time
  }
  inode.ctime_ns = req.set_ctime ? req.ctime_ns : now;
  im.store(txn, ino, inode);
  HAPM_TRY(im.commit(txn));
  // Shrinking: the size change above is the atomic step; the blocks past the
  // new end are freed in bounded transactions (recovery finishes the job if
  // a crash interrupts it).
  if (req.set_size && req.size < old_size)
    HAPM_TRY(im.punch_blocks(ino, (req.size + kBlockSize - 1) / kBlockSize, kNoBlock));
  auto fresh = im.load(ino);
  if (!fresh.is_ok()) return fresh.status();
  im.fill_attr(ino, *fresh, out);
  return Status::ok();
}

}  // namespace hapm
