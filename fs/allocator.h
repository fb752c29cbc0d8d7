// Block and inode allocation. The authoritative state lives on the pool
// (the bitmap, the inode table's mode fields); these DRAM copies are built at
// open and changed only through transactions: allocations are visible at
// once (so one operation never hands out a block twice), frees only after
// the freeing transaction commits.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "common/status.h"
#include "fs/pool_format.h"
#include "fs/transaction.h"

namespace hapm {

class BlockAllocator {
 public:
  BlockAllocator(const PoolMemory& pool, const format::PoolHeader& header);

  // One block, preferably right after `hint`; marked fresh in `txn`.
  Result<uint64_t> allocate(Transaction& txn, uint64_t hint);
  // Frees `block` when `txn` commits.
  void release(Transaction& txn, uint64_t block);
  // Adds the bitmap words `txn` changed to its records (call just before commit).
  void prepare(Transaction& txn) const;
  // After the journal's verdict: applies frees, or undoes allocations.
  void finish(const Transaction& txn, bool committed);

  bool is_allocated(uint64_t block) const;
  uint64_t free_blocks() const { return free_; }
  uint64_t total_blocks() const { return block_count_; }
  uint64_t data_blocks() const { return block_count_ - first_data_; }
  uint64_t first_data_block() const { return first_data_; }
  // Blocks kept back so that unlink and rmdir never fail for lack of space.
  static constexpr uint64_t kReserveBlocks = 16;

 private:
  void set_bit(uint64_t block, bool on);

  uint64_t bitmap_offset_;
  uint64_t block_count_;
  uint64_t first_data_;
  uint64_t free_ = 0;
  uint64_t cursor_;
  std::vector<uint64_t> words_;
};

class InodeAllocator {
 public:
  InodeAllocator(const PoolMemory& pool, const format::PoolHeader& header);
  Result<uint64_t> allocate(Transaction& txn);
  void release(Transaction& txn, uint64_t ino) { txn.note_freed_inode(ino); }
  void finish(const Transaction& txn, bool committed);
  uint64_t free_inodes() const { return free_.size(); }
  uint64_t total_inodes() const { return total_; }

 private:
  std::set<uint64_t> free_;
  uint64_t total_;
};

}  // namespace hapm
