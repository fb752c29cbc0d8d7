#include "fs/directory.h"

#include "fs/inode_util.h"

namespace hapm {

using format::kBlockSize;
using format::kDirentsPerBlock;

uint64_t dirent_offset(const BlockMap& map, const format::Inode& dir, uint32_t slot) {
  const uint64_t block = map.lookup(dir, slot / kDirentsPerBlock);
  if (block == 0) return 0;
  return block * kBlockSize + (slot % kDirentsPerBlock) * sizeof(format::Dirent);
}

std::unique_ptr<DirIndex> DirIndex::build(PoolMemory& pool, const format::Inode& dir) {
  auto index = std::make_unique<DirIndex>();
  const uint64_t blocks = dir.size / kBlockSize;
  index->slot_count = static_cast<uint32_t>(blocks * kDirentsPerBlock);
  BlockMap map(pool, nullptr);
  for (uint64_t fb = 0; fb < blocks; ++fb) {
    const uint64_t block = map.lookup(dir, fb);
    for (uint32_t i = 0; i < kDirentsPerBlock; ++i) {
      const uint32_t slot = static_cast<uint32_t>(fb * kDirentsPerBlock + i);
      if (block == 0) {  // fsck reports this; keep the slot unusable
        continue;
      }
      const auto* d = reinterpret_cast<const format::Dirent*>(
          pool.at(block * kBlockSize + i * sizeof(format::Dirent)));
      if (d->ino == 0) {
        index->free_slots.push_back(slot);
      } else if (d->name_len > 0) {
        index->slots.emplace(std::string(d->name, d->name_len), slot);
      }
    }
  }
  // Reuse low slots first: keeps listings compact.
  std::reverse(index->free_slots.begin(), index->free_slots.end());
  return index;
}

Status check_entry_name(std::string_view name) {
  if (name.size() > format::kNameMax)
    return Status(Code::NameTooLong,
                  "name longer than " + std::to_string(format::kNameMax) + " bytes");
  if (!valid_name(name))
    return Status(Code::InvalidArgument, "invalid name '" + std::string(name) + "'");
  return Status::ok();
}

void dir_write_slot(PoolMemory& pool, Transaction& txn, const format::Inode& dir, uint32_t slot,
                    const format::Dirent& entry) {
  BlockMap map(pool, &txn);
  const uint64_t block = map.lookup(dir, slot / kDirentsPerBlock);
  const uint64_t off = block * kBlockSize + (slot % kDirentsPerBlock) * sizeof(format::Dirent);
  if (txn.is_fresh(block))
    pool.write(off, &entry, sizeof entry);
  else
    txn.put(off, entry);
}

format::Dirent dir_read_slot(PoolMemory& pool, const Transaction& txn, const format::Inode& dir,
                             uint32_t slot) {
  BlockMap map(pool, nullptr);
  return txn.get<format::Dirent>(dirent_offset(map, dir, slot));
}

Result<uint32_t> dir_take_slot(PoolMemory& pool, Transaction& txn, BlockAllocator& alloc,
                               DirIndex& index, format::Inode& dir) {
  if (index.free_slots.empty()) {
    const uint64_t fb = dir.size / kBlockSize;
    if ((fb + 1) * kDirentsPerBlock > UINT32_MAX)
      return Status(Code::NoSpace, "directory too large");
    bool fresh = false;
    BlockMap map(pool, &txn);
    auto block = map.allocate(alloc, dir, fb, 0, &fresh);
    if (!block.is_ok()) return block.status();
    pool.zero(*block * kBlockSize, kBlockSize);
    dir.size += kBlockSize;
    for (uint32_t i = kDirentsPerBlock; i-- > 0;)
      index.free_slots.push_back(static_cast<uint32_t>(fb * kDirentsPerBlock + i));
    index.slot_count += kDirentsPerBlock;
  }
  const uint32_t slot = index.free_slots.back();
  index.free_slots.pop_back();
  return slot;
}

}  // namespace hapm
