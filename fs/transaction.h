// A metadata transaction: the writes one filesystem operation makes to the
// pool's metadata, held in DRAM until the journal commits them atomically.
//
// Reads inside an operation go through get() so they see the operation's own
// pending writes. Blocks allocated by the transaction ("fresh") are not
// reachable on the pool until commit, so their contents are written directly
// (and made durable before the commit record); blocks freed by the transaction
// are handed back to the allocator only after commit, so a crash can never
// expose a block that two owners share.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "fs/pool_memory.h"

namespace hapm {

class Transaction {
 public:
  explicit Transaction(const PoolMemory& pool) : pool_(pool) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Journals `len` bytes for `offset`. A later put of the same object
  // (same offset and length) replaces the earlier one; objects must not
  // partially overlap.
  void put(uint64_t offset, const void* src, uint32_t len);
  template <class T>
  void put(uint64_t offset, const T& value) {
    put(offset, &value, sizeof(T));
  }
  // The value at `offset` as this transaction would leave it.
  template <class T>
  T get(uint64_t offset) const {
    T value;
    if (!get_pending(offset, &value, sizeof(T))) value = pool_.load<T>(offset);
    return value;
  }

  void note_fresh_block(uint64_t block) { fresh_.insert(block); }
  bool is_fresh(uint64_t block) const { return fresh_.count(block) != 0; }
  void note_freed_block(uint64_t block) { freed_.push_back(block); }
  const std::set<uint64_t>& fresh_blocks() const { return fresh_; }
  const std::vector<uint64_t>& freed_blocks() const { return freed_; }
  void note_allocated_inode(uint64_t ino) { inodes_allocated_.push_back(ino); }
  void note_freed_inode(uint64_t ino) { inodes_freed_.push_back(ino); }
  const std::vector<uint64_t>& allocated_inodes() const { return inodes_allocated_; }
  const std::vector<uint64_t>& freed_inodes() const { return inodes_freed_; }

  bool empty() const { return records_.empty(); }
  // Records merged where adjacent, sorted by offset: what the journal writes.
  struct Record {
    uint64_t offset;
    std::vector<uint8_t> bytes;
  };
  std::vector<Record> merged_records() const;
  // Journal bytes this transaction needs (records with their headers).
  uint64_t payload_bytes() const;

 private:
  bool get_pending(uint64_t offset, void* dst, uint32_t len) const;

  const PoolMemory& pool_;
  std::map<uint64_t, std::vector<uint8_t>> records_;
  std::set<uint64_t> fresh_;
  std::vector<uint64_t> freed_;
  std::vector<uint64_t> inodes_allocated_;
  std::vector<uint64_t> inodes_freed_;
};

}  // namespace hapm
