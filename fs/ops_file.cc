// File data: read, write, fallocate, SEEK_DATA/SEEK_HOLE.
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "fs/fs_impl.h"

namespace hapm {

using format::Inode;
using format::kBlockSize;

namespace {
alignas(4096) const uint8_t kZeroBlock[kBlockSize] = {};
}  // namespace

Status Filesystem::read(uint64_t ino, uint64_t offset, size_t size,
                        const std::function<void(const struct iovec*, int)>& consume) {
  // The reply is built while the shared lock is held: the iovecs point into
  // the pool, and no writer may free or reuse those blocks until the kernel
  // has copied them (fuse_reply_iov does not block on the application).
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  if (S_ISDIR(inode->mode)) return Status(Code::IsADirectory, "is a directory");
  std::vector<iovec> iov;
  if (offset < inode->size) {
    size = static_cast<size_t>(std::min<uint64_t>(size, inode->size - offset));
    BlockMap map(pool_, nullptr);
    uint64_t pos = offset;
    const uint64_t end = offset + size;
    while (pos < end) {
      const uint64_t in_block = pos % kBlockSize;
      const uint64_t n = std::min<uint64_t>(kBlockSize - in_block, end - pos);
      const uint64_t block = map.lookup(*inode, pos / kBlockSize);
      const uint8_t* src = block ? pool_.at(block * kBlockSize + in_block) : kZeroBlock + in_block;
      if (!iov.empty() &&
          static_cast<const uint8_t*>(iov.back().iov_base) + iov.back().iov_len == src &&
          block != 0)
        iov.back().iov_len += n;  // contiguous pool blocks become one iovec
      else
        iov.push_back({const_cast<uint8_t*>(src), n});
      pos += n;
    }
  }
  consume(iov.data(), static_cast<int>(iov.size()));
  return Status::ok();
}

Result<size_t> Filesystem::write(uint64_t ino, uint64_t offset, const void* data, size_t size,
                                 bool* allocated) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  if (offset > kMaxFileSize || size > kMaxFileSize - offset)
    return Status(Code::TooBig, "write beyond the largest file size");
  Transaction txn(pool_);
  AbortGuard guard(im, txn);
  auto loaded = im.load(txn, ino);
  if (!loaded.is_ok()) return loaded.status();
  Inode inode = *loaded;
  if (S_ISDIR(inode.mode)) return Status(Code::IsADirectory, "is a directory");
  if (size == 0) return size_t{0};

  BlockMap map(pool_, &txn);
  zero_tail_for_extend(pool_, map, inode, offset + size);
  const auto* src = static_cast<const uint8_t*>(data);
  uint64_t pos = offset, hint = 0;
  const uint64_t end = offset + size;
  bool metadata_changed = false;
  while (pos < end) {
    const uint64_t fblock = pos / kBlockSize;
    const uint64_t in_block = pos % kBlockSize;
    const uint64_t n = std::min<uint64_t>(kBlockSize - in_block, end - pos);
    bool fresh = false;
    uint64_t block = map.lookup(inode, fblock);
    if (block == 0) {
      // All or nothing: a short count would be taken by the kernel's
      // writeback as "done" and the rest of the page silently dropped.
      auto made = map.allocate(blocks_, inode, fblock, hint, &fresh);
      if (!made.is_ok()) return made.status();
      block = *made;
      metadata_changed = true;
    }
    const uint64_t base = block * kBlockSize;
    if (fresh) {  // a new block holds garbage: zero what this write does not cover
      if (in_block) pool_.zero(base, in_block);
      if (in_block + n < kBlockSize) pool_.zero(base + in_block + n, kBlockSize - in_block - n);
    }
    pool_.write(base + in_block, src + (pos - offset), n, StoreKind::Bulk);
    hint = block;
    pos += n;
  }
  const size_t written = pos - offset;
  if (pos > inode.size) {
    inode.size = pos;
    metadata_changed = true;
  }
  if (allocated) *allocated = inode.blocks != loaded->blocks;
  const int64_t now = now_ns();
  if (metadata_changed) {
    inode.mtime_ns = inode.ctime_ns = now;
    im.store(txn, ino, inode);
    guard.dismiss();
    HAPM_TRY(im.commit(txn));
  } else {
    // An overwrite in place: no journal commit; the data is durable at the
    // next fsync, the time is committed with the inode's next transaction.
    guard.dismiss();
    im.pending_mtime[ino] = now;
  }
  return written;
}

Status Filesystem::fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  if (length == 0) return Status(Code::InvalidArgument, "zero length");
  if (offset > kMaxFileSize || length > kMaxFileSize - offset)
    return Status(Code::TooBig, "range beyond the largest file size");
  auto loaded = im.load(ino);
  if (!loaded.is_ok()) return loaded.status();
  if (!S_ISREG(loaded->mode)) return Status(Code::InvalidArgument, "not a regular file");
  const uint64_t end = offset + length;

  if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
    const uint64_t size = loaded->size;
    const uint64_t stop = std::min(end, size);
    if (offset >= stop) return Status::ok();
    // Whole blocks go back to the allocator; partial edges are zeroed in place.
    const uint64_t first_full = (offset + kBlockSize - 1) / kBlockSize;
    const uint64_t end_full = stop / kBlockSize;
    BlockMap map(pool_, nullptr);
    auto zero_range = [&](uint64_t from, uint64_t to) {
      for (uint64_t pos = from; pos < to;) {
        const uint64_t n = std::min<uint64_t>(kBlockSize - pos % kBlockSize, to - pos);
        if (uint64_t b = map.lookup(*loaded, pos / kBlockSize))
          pool_.zero(b * kBlockSize + pos % kBlockSize, n);
        pos += n;
      }
    };
    if (first_full >= end_full) {
      zero_range(offset, stop);
    } else {
      zero_range(offset, first_full * kBlockSize);
      zero_range(end_full * kBlockSize, stop);
      HAPM_TRY(im.punch_blocks(ino, first_full, end_full));
    }
    im.pending_mtime[ino] = now_ns();
    return Status::ok();
  }
  if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE)
    return Status(Code::NotSupported,
                  "fallocate mode " + std::to_string(mode) + " is not supported");
  if ((mode & FALLOC_FL_KEEP_SIZE) && end > loaded->size)
    return Status(Code::NotSupported,
                  "preallocation past end of file (KEEP_SIZE) is not supported");

  // Allocate (zeroed) blocks in bounded transactions; the size moves last.
  constexpr uint64_t kBlocksPerTxn = 2048;
  uint64_t fb = offset / kBlockSize;
  const uint64_t end_fb = (end + kBlockSize - 1) / kBlockSize;
  while (true) {
    Transaction txn(pool_);
    AbortGuard guard(im, txn);
    auto cur = im.load(txn, ino);
    if (!cur.is_ok()) return cur.status();
    Inode inode = *cur;
    BlockMap map(pool_, &txn);
    const uint64_t stop_fb = std::min(end_fb, fb + kBlocksPerTxn);
    if (fb == offset / kBlockSize) zero_tail_for_extend(pool_, map, inode, end);
    for (; fb < stop_fb; ++fb) {
      bool fresh = false;
      auto block = map.allocate(blocks_, inode, fb, 0, &fresh);
      if (!block.is_ok()) return block.status();
      if (fresh) pool_.zero(*block * kBlockSize, kBlockSize);
    }
    const bool last = fb >= end_fb;
    // Blocks past EOF would be trimmed by recovery, so the size must cover
    // them in the same transaction.
    if (!(mode & FALLOC_FL_KEEP_SIZE))
      inode.size = std::max(inode.size, last ? end : fb * kBlockSize);
    inode.ctime_ns = now_ns();
    im.store(txn, ino, inode);
    guard.dismiss();
    HAPM_TRY(im.commit(txn));
    if (last) return Status::ok();
  }
}

Result<uint64_t> Filesystem::seek_data_hole(uint64_t ino, uint64_t offset, int whence) {
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  const uint64_t size = inode->size;
  if (offset >= size) return Status(Code::NoSuchOffset, "offset at or past end of file");
  BlockMap map(pool_, nullptr);
  if (whence == SEEK_DATA) {
    const uint64_t fb = map.next_mapped(*inode, offset / kBlockSize);
    if (fb == kNoBlock || fb * kBlockSize >= size)
      return Status(Code::NoSuchOffset, "no data after offset");
    return std::max(offset, fb * kBlockSize);
  }
  if (whence == SEEK_HOLE) {
    for (uint64_t fb = offset / kBlockSize; fb * kBlockSize < size; ++fb)
      if (map.lookup(*inode, fb) == 0) return std::max(offset, fb * kBlockSize);
    return size;
  }
  return Status(Code::InvalidArgument, "whence must be SEEK_DATA or SEEK_HOLE");
}

}  // namespace hapm
