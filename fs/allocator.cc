#include "fs/allocator.h"

#include <bit>

namespace hapm {

using format::kBlockSize;

BlockAllocator::BlockAllocator(const PoolMemory& pool, const format::PoolHeader& header)
    : bitmap_offset_(header.bitmap_block * kBlockSize),
      block_count_(header.block_count),
      first_data_(header.data_block),
      cursor_(header.data_block) {
  words_.resize((block_count_ + 63) / 64);
  for (size_t w = 0; w < words_.size(); ++w)
    words_[w] = pool.load<uint64_t>(bitmap_offset_ + w * 8);
  // Bits past the end of the pool count as allocated.
  if (block_count_ % 64) words_.back() |= ~uint64_t{0} << (block_count_ % 64);
  uint64_t used = 0;
  for (uint64_t w : words_) used += static_cast<uint64_t>(std::popcount(w));
  free_ = words_.size() * 64 - used;
}

bool BlockAllocator::is_allocated(uint64_t block) const {
  if (block >= block_count_) return true;
  return (words_[block / 64] >> (block % 64)) & 1;
}

void BlockAllocator::set_bit(uint64_t block, bool on) {
  uint64_t mask = uint64_t{1} << (block % 64);
  if (on)
    words_[block / 64] |= mask;
  else
    words_[block / 64] &= ~mask;
}

Result<uint64_t> BlockAllocator::allocate(Transaction& txn, uint64_t hint) {
  if (free_ <= kReserveBlocks) return Status(Code::NoSpace, "pool is full");
  uint64_t start = (hint >= first_data_ && hint + 1 < block_count_) ? hint + 1 : cursor_;
  // Next-fit over words, wrapping once.
  const uint64_t nwords = words_.size();
  uint64_t w = start / 64;
  for (uint64_t scanned = 0; scanned <= nwords; ++scanned, w = (w + 1) % nwords) {
    uint64_t bits = words_[w];
    if (scanned == 0) bits |= (uint64_t{1} << (start % 64)) - 1;  // only at/after start
    if (bits == ~uint64_t{0}) continue;
    uint64_t block = w * 64 + static_cast<uint64_t>(std::countr_one(bits));
    if (block < first_data_ || block >= block_count_) continue;
    set_bit(block, true);
    --free_;
    cursor_ = block;
    txn.note_fresh_block(block);
    return block;
  }
  return Status(Code::NoSpace, "pool is full");
}

void BlockAllocator::release(Transaction& txn, uint64_t block) {
  txn.note_freed_block(block);
}

void BlockAllocator::prepare(Transaction& txn) const {
  std::set<uint64_t> touched;
  for (uint64_t b : txn.fresh_blocks()) touched.insert(b / 64);
  for (uint64_t b : txn.freed_blocks()) touched.insert(b / 64);
  for (uint64_t w : touched) {
    uint64_t value = words_[w];
    for (uint64_t b : txn.freed_blocks())
      if (b / 64 == w) value &= ~(uint64_t{1} << (b % 64));
    if (w == words_.size() - 1 && block_count_ % 64)  // keep the on-pool tail bits clear
      value &= ~(~uint64_t{0} << (block_count_ % 64));
    txn.put(bitmap_offset_ + w * 8, value);
  }
}

void BlockAllocator::finish(const Transaction& txn, bool committed) {
  if (committed) {
    for (uint64_t b : txn.freed_blocks()) {
      if (is_allocated(b)) {
        set_bit(b, false);
        ++free_;
      }
    }
  } else {
    for (uint64_t b : txn.fresh_blocks()) {
      set_bit(b, false);
      ++free_;
    }
  }
}

InodeAllocator::InodeAllocator(const PoolMemory& pool, const format::PoolHeader& header)
    : total_(header.inode_count) {
  const uint64_t table = header.inode_table_block * kBlockSize;
  for (uint64_t ino = 1; ino < header.inode_count; ++ino) {
    if (pool.load<uint32_t>(table + ino * sizeof(format::Inode)) == 0)
      free_.insert(free_.end(), ino);
  }
}

Result<uint64_t> InodeAllocator::allocate(Transaction& txn) {
  if (free_.empty()) return Status(Code::NoSpace, "no free inodes");
  uint64_t ino = *free_.begin();
  free_.erase(free_.begin());
  txn.note_allocated_inode(ino);
  return ino;
}

void InodeAllocator::finish(const Transaction& txn, bool committed) {
  if (committed) {
    for (uint64_t ino : txn.freed_inodes()) free_.insert(ino);
  } else {
    for (uint64_t ino : txn.allocated_inodes()) free_.insert(ino);
  }
}

}  // namespace hapm
