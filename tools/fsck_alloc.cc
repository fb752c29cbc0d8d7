// Allocation for repairs (new directory blocks, map nodes, /lost+found).
//
// fsck never asks the core's allocator: a block is free only if the on-pool
// bitmap says so AND no inode references it (the reference set of pass 1),
// so a damaged bitmap can never make a repair overwrite live data.
#include <sys/stat.h>

#include <bit>

#include "fs/inode_util.h"
#include "tools/fsck_checker.h"

namespace hapm::fsck {

using format::Inode;
using format::kBlockSize;

Result<uint64_t> Checker::allocate_block() {
  const uint64_t bitmap = h_.bitmap_block * kBlockSize;
  uint64_t w = std::max(alloc_cursor_, h_.data_block) / 64;
  for (; w < refs_.size(); ++w) {
    const uint64_t used = refs_[w] | repairer_->get<uint64_t>(bitmap + w * 8);
    uint64_t free_bits = ~used;
    while (free_bits) {
      const uint64_t b = w * 64 + static_cast<uint64_t>(std::countr_zero(free_bits));
      free_bits &= free_bits - 1;
      if (b < h_.data_block) continue;
      if (b >= h_.block_count) break;
      mark(b);
      repairer_->put<uint64_t>(
          bitmap + w * 8, repairer_->get<uint64_t>(bitmap + w * 8) | (uint64_t{1} << (b & 63)));
      alloc_cursor_ = b + 1;
      return b;
    }
  }
  return Status(Code::NoSpace, "no free block in the pool");
}

Result<uint64_t> Checker::allocate_inode() {
  for (uint64_t ino = std::max<uint64_t>(inode_cursor_, 2); ino < inodes_.size(); ++ino) {
    if (inodes_[ino].in_use() || pool_.load<uint32_t>(inode_offset(ino)) != 0) continue;
    inode_cursor_ = ino + 1;
    return ino;
  }
  return Status(Code::NoSpace, "no free inode in the pool");
}

Result<uint64_t> Checker::new_node(Inode& inode, uint64_t ino) {
  auto b = allocate_block();
  if (!b.is_ok()) return b;
  static const std::vector<uint8_t> kZero(kBlockSize, 0);
  repairer_->write_fresh(*b * kBlockSize, kZero.data(), kBlockSize);
  ++inode.blocks;
  ++inodes_[ino].blocks;
  return b;
}

// Same tree shape as fs/block_map.cc: grow by making the old root child 0.
Status Checker::map_block(Inode& inode, uint64_t ino, uint64_t fblock, uint64_t block) {
  const uint32_t needed = map_height_for(fblock);
  if (fblock >= map_span(format::kMapHeightMax)) return Status(Code::TooBig, "file too large");
  if (inode.map_root == 0) {
    auto root = new_node(inode, ino);
    if (!root.is_ok()) return root.status();
    inode.map_root = *root;
    inode.map_height = needed;
  }
  while (inode.map_height < needed) {
    auto root = new_node(inode, ino);
    if (!root.is_ok()) return root.status();
    repairer_->put<uint64_t>(map_slot_offset(*root, 0), inode.map_root);
    inode.map_root = *root;
    ++inode.map_height;
  }
  uint64_t node = inode.map_root;
  for (uint32_t level = inode.map_height; level > 1; --level) {
    const uint64_t i =
        (fblock >> (format::kMapFanoutShift * (level - 1))) & (format::kMapFanout - 1);
    uint64_t child = repairer_->get<uint64_t>(map_slot_offset(node, i));
    if (child == 0) {
      auto made = new_node(inode, ino);
      if (!made.is_ok()) return made.status();
      child = *made;
      repairer_->put<uint64_t>(map_slot_offset(node, i), child);
    }
    node = child;
  }
  repairer_->put<uint64_t>(map_slot_offset(node, fblock & (format::kMapFanout - 1)), block);
  ++inode.blocks;
  ++inodes_[ino].blocks;
  return Status::ok();
}

uint64_t Checker::lookup(const Inode& inode, uint64_t fblock) const {
  if (inode.map_root == 0 || inode.map_height > format::kMapHeightMax ||
      fblock >= map_span(inode.map_height))
    return 0;
  uint64_t ptr = inode.map_root;
  for (uint32_t level = inode.map_height; level > 0 && ptr != 0; --level) {
    if (!block_in_bounds(ptr)) return 0;
    const uint64_t i =
        (fblock >> (format::kMapFanoutShift * (level - 1))) & (format::kMapFanout - 1);
    ptr = repairer_->get<uint64_t>(map_slot_offset(ptr, i));
  }
  return block_in_bounds(ptr) ? ptr : 0;
}

// Pass 1's holes in directories become empty blocks, so that every slot the
// core may address exists.
void Checker::fill_dir_holes() {
  static const std::vector<uint8_t> kZero(kBlockSize, 0);
  for (const auto& [dir, fblock] : dir_holes_) {
    if (!repairing()) return;
    Inode inode = repairer_->get<Inode>(inode_offset(dir));
    auto b = allocate_block();
    if (!b.is_ok()) {
      problem("directory-hole",
              "inode " + std::to_string(dir) + ": cannot fill block " + std::to_string(fblock) +
                  ": " + b.status().message(),
              dir, false);
      continue;
    }
    repairer_->write_fresh(*b * kBlockSize, kZero.data(), kBlockSize);
    Status s = map_block(inode, dir, fblock, *b);
    if (!s.is_ok()) {
      problem("directory-hole",
              "inode " + std::to_string(dir) + ": cannot fill block " + std::to_string(fblock) +
                  ": " + s.message(),
              dir, false);
      continue;
    }
    seal_inode(inode);
    repairer_->put(inode_offset(dir), inode);
  }
}

Checker::DirAppender Checker::appender_for(uint64_t dir) const {
  DirAppender a;
  a.dir = dir;
  const Inode inode = repairer_->get<Inode>(inode_offset(dir));
  const uint64_t n = inode.size / kBlockSize;
  for (uint64_t fb = 0; fb < n; ++fb) a.blocks.push_back(lookup(inode, fb));
  const InodeState& st = inodes_[dir];
  for (uint32_t i = st.child_begin; i < st.child_begin + st.child_count; ++i)
    if (!entries_[i].removed) a.names.emplace(entries_[i].name);
  return a;
}

// Adds the entry `name` -> `ino` to the directory; for a directory target
// also its parent field and the new parent's link count.
Status Checker::link_into(DirAppender& a, std::string_view name, uint64_t ino) {
  uint64_t off = 0;
  for (; a.cursor < a.blocks.size() * format::kDirentsPerBlock; ++a.cursor) {
    const uint64_t block = a.blocks[a.cursor / format::kDirentsPerBlock];
    if (block == 0) continue;
    const uint64_t o =
        block * kBlockSize + (a.cursor % format::kDirentsPerBlock) * sizeof(format::Dirent);
    if (repairer_->get<format::Dirent>(o).ino == 0) {
      off = o;
      break;
    }
  }
  if (off == 0) {  // every slot taken: one more block
    static const std::vector<uint8_t> kZero(kBlockSize, 0);
    Inode dir = repairer_->get<Inode>(inode_offset(a.dir));
    auto b = allocate_block();
    if (!b.is_ok()) return b.status();
    repairer_->write_fresh(*b * kBlockSize, kZero.data(), kBlockSize);
    HAPM_TRY(map_block(dir, a.dir, dir.size / kBlockSize, *b));
    dir.size += kBlockSize;
    seal_inode(dir);
    repairer_->put(inode_offset(a.dir), dir);
    a.cursor = a.blocks.size() * format::kDirentsPerBlock;
    a.blocks.push_back(*b);
    off = *b * kBlockSize;
  }
  InodeState& t = inodes_[ino];
  repairer_->put(off, make_dirent(ino, mode_to_dtype(t.mode), name));
  ++a.cursor;
  added_names_.emplace_back(name);
  a.names.emplace(name);
  entries_.push_back(Entry{a.dir, off, ino, added_names_.back(), false});
  path_index_.clear();
  ++t.entries;
  t.flags |= kReachable;
  if (t.is_dir()) {
    t.canon = static_cast<uint32_t>(entries_.size() - 1);
    t.parent = a.dir;
    ++inodes_[a.dir].subdirs;
    Inode child = repairer_->get<Inode>(inode_offset(ino));
    child.parent = a.dir;
    seal_inode(child);
    repairer_->put(inode_offset(ino), child);
    Inode dir = repairer_->get<Inode>(inode_offset(a.dir));
    ++dir.nlink;
    seal_inode(dir);
    repairer_->put(inode_offset(a.dir), dir);
    ++inodes_[a.dir].nlink;
  }
  return Status::ok();
}

Result<Checker::DirAppender> Checker::make_lost_found() {
  DirAppender root = appender_for(format::kRootIno);
  const InodeState& rs = inodes_[format::kRootIno];
  for (uint32_t i = rs.child_begin; i < rs.child_begin + rs.child_count; ++i) {
    const Entry& e = entries_[i];
    if (e.removed || e.name != "lost+found") continue;
    const InodeState& t = inodes_[e.ino];
    if (!t.trusted() || !t.is_dir())
      return Status(Code::AlreadyExists, "/lost+found exists but is not a usable directory");
    return appender_for(e.ino);
  }
  auto ino = allocate_inode();
  if (!ino.is_ok()) return ino.status();
  const Inode old = pool_.load<Inode>(inode_offset(*ino));
  Inode lf{};
  lf.mode = S_IFDIR | 0700;
  lf.nlink = 2;
  lf.generation = old.generation + 1;
  lf.atime_ns = lf.mtime_ns = lf.ctime_ns = lf.btime_ns = now_ns();
  lf.parent = format::kRootIno;
  seal_inode(lf);
  repairer_->put(inode_offset(*ino), lf);
  InodeState& st = inodes_[*ino];
  st = InodeState{};
  st.flags = kInUse;
  st.mode = lf.mode;
  st.nlink = 2;
  ++report_.inodes_used;
  ++report_.directories;
  HAPM_TRY(link_into(root, "lost+found", *ino));
  return appender_for(*ino);
}

}  // namespace hapm::fsck
