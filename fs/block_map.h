// Block maps: file block -> pool block, as a radix tree of 4 KiB nodes of 512
// pointers (fs/pool_format.h). Sparse files cost nothing for their holes; a
// 4-level tree addresses 256 TiB.
//
// Pointer slots of nodes reachable on the pool change only through the
// transaction; nodes allocated by the same transaction ("fresh") are written
// directly, since nothing on the pool points at them until commit.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "fs/allocator.h"
#include "fs/pool_format.h"
#include "fs/transaction.h"

namespace hapm {

constexpr uint64_t kNoBlock = ~uint64_t{0};

class BlockMap {
 public:
  // `txn` may be null for read-only walks.
  BlockMap(PoolMemory& pool, Transaction* txn);

  // Pool block holding file block `fblock`, or 0 for a hole.
  uint64_t lookup(const format::Inode& inode, uint64_t fblock) const;
  // First mapped file block >= fblock, or kNoBlock.
  uint64_t next_mapped(const format::Inode& inode, uint64_t fblock) const;
  // Maps `fblock`, allocating nodes and the data block as needed (counted in
  // inode.blocks). *fresh says the data block is new: its bytes are
  // undefined and the caller must write or zero all of them.
  Result<uint64_t> allocate(BlockAllocator& alloc, format::Inode& inode, uint64_t fblock,
                            uint64_t hint, bool* fresh);
  // Frees mapped blocks for file blocks [first, end), at most `budget` data
  // blocks; *done is false when the budget ran out first. Nodes left empty by
  // a partial punch stay (fsck accepts empty nodes).
  uint64_t punch(BlockAllocator& alloc, format::Inode& inode, uint64_t first, uint64_t end,
                 uint64_t budget, bool* done);

 private:
  uint64_t slot(uint64_t node, uint64_t index) const;
  void set_slot(uint64_t node, uint64_t index, uint64_t value);
  Result<uint64_t> new_node(BlockAllocator& alloc, format::Inode& inode, uint64_t hint);
  uint64_t next_mapped_in(uint64_t node, uint32_t level, uint64_t base, uint64_t from) const;
  struct Punch;
  bool punch_node(Punch& p, uint64_t node, uint32_t level, uint64_t base);

  // Node pointers are not checksummed: a pointer outside the data area
  // (damage) reads as a hole and is never written through or freed, so a
  // corrupt map can never make the core touch memory outside the pool.
  bool valid(uint64_t block) const { return block >= first_data_ && block < block_limit_; }
  bool valid_height(const format::Inode& inode) const {
    return inode.map_height >= 1 && inode.map_height <= format::kMapHeightMax;
  }

  PoolMemory& pool_;
  Transaction* txn_;
  uint64_t first_data_;
  uint64_t block_limit_;
};

}  // namespace hapm
