#include "fs/mkfs.h"

#include <sys/stat.h>

#include <algorithm>
#include <random>
#include <vector>

#include "fs/inode_util.h"
#include "fs/journal.h"
#include "fs/pool_header.h"

namespace hapm {

using format::kBlockSize;

Status make_filesystem(PoolMemory& pool, const MkfsOptions& options, format::PoolHeader* out) {
  const uint64_t size = pool.size();
  if (size % kBlockSize != 0)
    return Status(Code::InvalidArgument, "pool size must be a multiple of 4 KiB");
  if (size < kPoolSizeMin)
    return Status(Code::InvalidArgument,
                  "pool must be at least " + std::to_string(kPoolSizeMin >> 20) + " MiB");
  const uint64_t blocks = size / kBlockSize;

  format::PoolHeader h{};
  h.magic = format::kPoolMagic;
  h.arch = local_arch();
  std::random_device rd;
  for (auto& b : h.uuid) b = static_cast<uint8_t>(rd());
  h.uuid[6] = static_cast<uint8_t>((h.uuid[6] & 0x0f) | 0x40);  // version 4
  h.uuid[8] = static_cast<uint8_t>((h.uuid[8] & 0x3f) | 0x80);
  h.pool_size = size;
  h.block_count = blocks;
  h.journal_block = format::kJournalBlock;
  h.journal_blocks =
      std::clamp<uint64_t>(blocks / 256, format::kJournalBlocksMin, format::kJournalBlocksMax);
  h.inode_table_block = h.journal_block + h.journal_blocks;
  h.inode_count =
      options.inode_count ? options.inode_count + 1 : std::max<uint64_t>(1024, size / (16 * 1024));
  h.bitmap_block =
      h.inode_table_block + (h.inode_count + format::kInodesPerBlock - 1) / format::kInodesPerBlock;
  h.bitmap_blocks = (blocks + 8 * kBlockSize - 1) / (8 * kBlockSize);
  // The dirty map: the smallest chunk (>= 64 KiB) whose bits fit the bound.
  h.dirty_chunk_shift = format::kDirtyChunkShiftMin;
  while (((size - 1) >> h.dirty_chunk_shift) + 1 > format::kDirtyMapBitsMax) ++h.dirty_chunk_shift;
  const uint64_t chunks = ((size - 1) >> h.dirty_chunk_shift) + 1;
  h.dirty_map_block = h.bitmap_block + h.bitmap_blocks;
  h.dirty_map_blocks = 1 + (chunks + 8 * kBlockSize - 1) / (8 * kBlockSize);
  h.data_block = h.dirty_map_block + h.dirty_map_blocks;
  if (h.data_block + 64 > blocks)
    return Status(Code::InvalidArgument,
                  "pool too small for " + std::to_string(h.inode_count - 1) + " inodes");
  h.created_ns = now_ns();
  h.clean = 1;
  h.unsafe_shutdown_count = format::kUnknownShutdownCount;
  h.epoch = 1;
  h.crc = header_crc(h);

  // Metadata areas start zeroed (a reused file may hold anything).
  pool.zero(0, h.data_block * kBlockSize);
  Journal::format(pool, h.journal_blocks);

  // Bitmap: every block before data_block is in use; bits past the end stay 0.
  std::vector<uint64_t> words(h.bitmap_blocks * kBlockSize / 8, 0);
  for (uint64_t b = 0; b < h.data_block; ++b) words[b / 64] |= uint64_t{1} << (b % 64);
  pool.write(h.bitmap_block * kBlockSize, words.data(), words.size() * 8);

  format::Inode root{};
  root.mode = S_IFDIR | (options.root_mode & 07777);
  root.nlink = 2;
  root.uid = options.root_uid;
  root.gid = options.root_gid;
  root.generation = 1;
  root.atime_ns = root.mtime_ns = root.ctime_ns = root.btime_ns = h.created_ns;
  root.parent = format::kRootIno;
  seal_inode(root);
  pool.write(h.inode_table_block * kBlockSize + format::kRootIno * sizeof(format::Inode), &root,
             sizeof root);

  // Headers last: a pool is only recognisable once everything else is durable.
  pool.flush_dirty();
  pool.write(format::kBackupHeaderBlock * kBlockSize, &h, sizeof h);
  pool.write(format::kHeaderBlock * kBlockSize, &h, sizeof h);
  pool.flush_dirty();
  if (out) *out = h;
  return Status::ok();
}

}  // namespace hapm
