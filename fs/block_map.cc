#include "fs/block_map.h"

#include <algorithm>
#include <cassert>

#include "fs/inode_util.h"

namespace hapm {

using format::kBlockSize;
using format::kMapFanout;

BlockMap::BlockMap(PoolMemory& pool, Transaction* txn)
    : pool_(pool), txn_(txn), block_limit_(pool.size() / kBlockSize) {
  // The data area's start, from the header; a damaged value is clamped so
  // the check below stays safe (fsck reports the header).
  const uint64_t first = pool.load<uint64_t>(offsetof(format::PoolHeader, data_block));
  first_data_ = std::clamp<uint64_t>(first, format::kJournalBlock + 1, block_limit_);
}

uint64_t BlockMap::slot(uint64_t node, uint64_t index) const {
  const uint64_t off = map_slot_offset(node, index);
  return txn_ ? txn_->get<uint64_t>(off) : pool_.load<uint64_t>(off);
}

void BlockMap::set_slot(uint64_t node, uint64_t index, uint64_t value) {
  assert(txn_);
  const uint64_t off = map_slot_offset(node, index);
  if (txn_->is_fresh(node))
    pool_.write(off, &value, sizeof value);
  else
    txn_->put(off, value);
}

uint64_t BlockMap::lookup(const format::Inode& inode, uint64_t fblock) const {
  if (inode.map_root == 0 || !valid_height(inode) || fblock >= map_span(inode.map_height)) return 0;
  uint64_t ptr = inode.map_root;
  for (uint32_t level = inode.map_height; level > 0 && ptr != 0; --level) {
    if (!valid(ptr)) return 0;
    const uint64_t index = (fblock >> (format::kMapFanoutShift * (level - 1))) & (kMapFanout - 1);
    ptr = slot(ptr, index);
  }
  return valid(ptr) ? ptr : 0;
}

uint64_t BlockMap::next_mapped_in(uint64_t node, uint32_t level, uint64_t base,
                                  uint64_t from) const {
  if (!valid(node)) return kNoBlock;
  if (level == 0) return base;
  const uint64_t child_span = map_span(level - 1);
  for (uint64_t i = from > base ? (from - base) / child_span : 0; i < kMapFanout; ++i) {
    const uint64_t child = slot(node, i);
    if (child == 0) continue;
    const uint64_t child_base = base + i * child_span;
    uint64_t found = next_mapped_in(child, level - 1, child_base, std::max(from, child_base));
    if (found != kNoBlock) return found;
  }
  return kNoBlock;
}

uint64_t BlockMap::next_mapped(const format::Inode& inode, uint64_t fblock) const {
  if (inode.map_root == 0 || !valid_height(inode) || fblock >= map_span(inode.map_height))
    return kNoBlock;
  return next_mapped_in(inode.map_root, inode.map_height, 0, fblock);
}

Result<uint64_t> BlockMap::new_node(BlockAllocator& alloc, format::Inode& inode, uint64_t hint) {
  auto block = alloc.allocate(*txn_, hint);
  if (!block.is_ok()) return block;
  pool_.zero(*block * kBlockSize, kBlockSize);
  ++inode.blocks;
  return block;
}

Result<uint64_t> BlockMap::allocate(BlockAllocator& alloc, format::Inode& inode, uint64_t fblock,
                                    uint64_t hint, bool* fresh) {
  assert(txn_);
  *fresh = false;
  const uint32_t needed = map_height_for(fblock);
  if (fblock >= map_span(format::kMapHeightMax)) return Status(Code::TooBig, "file too large");
  if (inode.map_root != 0 && (!valid_height(inode) || !valid(inode.map_root)))
    return Status(Code::Corruption, "block map of this file is damaged (run hapm fsck)");
  if (inode.map_root == 0) {
    auto root = new_node(alloc, inode, hint);
    if (!root.is_ok()) return root;
    inode.map_root = *root;
    inode.map_height = needed;
  }
  while (inode.map_height < needed) {  // grow: the old root becomes child 0
    auto root = new_node(alloc, inode, hint);
    if (!root.is_ok()) return root;
    set_slot(*root, 0, inode.map_root);
    inode.map_root = *root;
    ++inode.map_height;
  }
  uint64_t node = inode.map_root;
  for (uint32_t level = inode.map_height; level > 1; --level) {
    const uint64_t index = (fblock >> (format::kMapFanoutShift * (level - 1))) & (kMapFanout - 1);
    uint64_t child = slot(node, index);
    if (child != 0 && !valid(child))
      return Status(Code::Corruption, "block map of this file is damaged (run hapm fsck)");
    if (child == 0) {
      auto made = new_node(alloc, inode, hint);
      if (!made.is_ok()) return made;
      child = *made;
      set_slot(node, index, child);
    }
    node = child;
  }
  const uint64_t index = fblock & (kMapFanout - 1);
  if (uint64_t existing = slot(node, index)) {
    if (!valid(existing))
      return Status(Code::Corruption, "block map of this file is damaged (run hapm fsck)");
    return existing;
  }
  auto data = alloc.allocate(*txn_, hint);
  if (!data.is_ok()) return data;
  set_slot(node, index, *data);
  ++inode.blocks;
  *fresh = true;
  return data;
}

struct BlockMap::Punch {
  BlockAllocator& alloc;
  uint64_t first, end;
  uint64_t budget;
  uint64_t freed = 0;
  bool complete = true;
};

// Frees what lies in [p.first, p.end) below `node` (a level-`level` node
// mapping file blocks from `base`); returns true if `node` itself was freed.
bool BlockMap::punch_node(Punch& p, uint64_t node, uint32_t level, uint64_t base) {
  const uint64_t span = map_span(level);
  const bool covered = p.first <= base && base + span <= p.end;
  const uint64_t child_span = map_span(level - 1);
  const uint64_t i0 = p.first > base ? (p.first - base) / child_span : 0;
  const uint64_t i1 = std::min<uint64_t>(kMapFanout, (p.end - base + child_span - 1) / child_span);
  for (uint64_t i = i0; i < i1; ++i) {
    if (p.budget == 0) {
      p.complete = false;
      break;
    }
    const uint64_t child = slot(node, i);
    if (child == 0 || !valid(child)) continue;  // damage stays for fsck to report
    bool child_freed;
    if (level == 1) {
      p.alloc.release(*txn_, child);
      --p.budget;
      ++p.freed;
      child_freed = true;
    } else {
      child_freed = punch_node(p, child, level - 1, base + i * child_span);
    }
    if (child_freed) set_slot(node, i, 0);
  }
  if (covered && p.complete) {
    p.alloc.release(*txn_, node);
    ++p.freed;
    return true;
  }
  return false;
}

uint64_t BlockMap::punch(BlockAllocator& alloc, format::Inode& inode, uint64_t first, uint64_t end,
                         uint64_t budget, bool* done) {
  assert(txn_);
  *done = true;
  if (inode.map_root == 0 || !valid_height(inode) || !valid(inode.map_root)) return 0;
  end = std::min(end, map_span(inode.map_height));
  if (first >= end) return 0;
  Punch p{alloc, first, end, budget};
  if (punch_node(p, inode.map_root, inode.map_height, 0)) {
    inode.map_root = 0;
    inode.map_height = 0;
  }
  inode.blocks -= std::min(inode.blocks, p.freed);
  *done = p.complete;
  return p.freed;
}

}  // namespace hapm
