// Directories: on the pool, an array of fixed-size entry slots (15 per
// block, fs/pool_format.h); in DRAM, an index from name to slot built on
// first use, so lookups stay O(1) with 100,000 entries. Slots never move, so
// the slot number is a readdir cookie that survives concurrent changes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fs/block_map.h"
#include "fs/pool_format.h"

namespace hapm {

struct DirIndex {
  std::unordered_map<std::string, uint32_t> slots;  // name -> slot
  std::vector<uint32_t> free_slots;
  uint32_t slot_count = 0;

  // Reads every slot of the directory.
  static std::unique_ptr<DirIndex> build(PoolMemory& pool, const format::Inode& dir);
  std::optional<uint32_t> find(std::string_view name) const {
    auto it = slots.find(std::string(name));
    if (it == slots.end()) return std::nullopt;
    return it->second;
  }
  bool empty() const { return slots.empty(); }
};

// Pool offset of slot `slot` of directory `dir` (its block must be mapped).
uint64_t dirent_offset(const BlockMap& map, const format::Inode& dir, uint32_t slot);

// Checks a name for a new entry (length, no '/' or NUL, not "." or "..").
Status check_entry_name(std::string_view name);
// Writes slot `slot` of `dir`: directly when its block is new in `txn`, else
// through the journal.
void dir_write_slot(PoolMemory& pool, Transaction& txn, const format::Inode& dir, uint32_t slot,
                    const format::Dirent& entry);
format::Dirent dir_read_slot(PoolMemory& pool, const Transaction& txn, const format::Inode& dir,
                             uint32_t slot);
// Takes a free slot of `dir`, adding a block to the directory when none is
// free (`dir` changes; the caller stores it).
Result<uint32_t> dir_take_slot(PoolMemory& pool, Transaction& txn, BlockAllocator& alloc,
                               DirIndex& index, format::Inode& dir);

}  // namespace hapm
