// rename(2) and renameat2(2): plain, RENAME_NOREPLACE, RENAME_EXCHANGE — each
// one journal transaction, so a crash leaves the old or the new namespace.
#include <linux/fs.h>

#include "fs/fs_impl.h"

namespace hapm {

using format::Dirent;
using format::Inode;

namespace {

// True if `ancestor` is `ino` or one of its ancestors (walking ".." up).
bool is_ancestor(const Filesystem::Impl& im, const Transaction& txn, uint64_t ancestor,
                 uint64_t ino) {
  for (int depth = 0; depth < 4096; ++depth) {
    if (ino == ancestor) return true;
    if (ino == format::kRootIno) return false;
    auto inode = im.load(txn, ino);
    if (!inode.is_ok()) return false;
    ino = inode->parent;
  }
  return true;  // a cycle: treat as unsafe
}

}  // namespace

Status Filesystem::rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                          std::string_view new_name, unsigned flags) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
    return Status(Code::InvalidArgument, "unsupported rename flags");
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
    return Status(Code::InvalidArgument, "RENAME_NOREPLACE and RENAME_EXCHANGE together");
  HAPM_TRY(check_entry_name(name));
  HAPM_TRY(check_entry_name(new_name));

  Transaction txn(pool_);
  AbortGuard guard(im, txn);
  auto src_dir = im.load_dir(txn, parent);
  if (!src_dir.is_ok()) return src_dir.status();
  auto dst_dir = im.load_dir(txn, new_parent);
  if (!dst_dir.is_ok()) return dst_dir.status();
  DirIndex& src_index = im.dir_index(parent, *src_dir);
  DirIndex& dst_index = im.dir_index(new_parent, *dst_dir);
  auto src_slot = src_index.find(name);
  if (!src_slot) return Status(Code::NotFound, std::string(name));
  const Dirent src_entry = dir_read_slot(pool_, txn, *src_dir, *src_slot);
  auto src_loaded = im.load(txn, src_entry.ino);
  if (!src_loaded.is_ok()) return src_loaded.status();
  const Inode src = *src_loaded;
  const bool src_is_dir = S_ISDIR(src.mode);
  auto dst_slot = dst_index.find(new_name);

  if (dst_slot && parent == new_parent && *dst_slot == *src_slot)
    return Status::ok();  // same entry
  if (dst_slot && (flags & RENAME_NOREPLACE))
    return Status(Code::AlreadyExists, std::string(new_name));
  if (!dst_slot && (flags & RENAME_EXCHANGE)) return Status(Code::NotFound, std::string(new_name));
  if (src_is_dir && parent != new_parent && is_ancestor(im, txn, src_entry.ino, new_parent))
    return Status(Code::InvalidArgument, "cannot move a directory into itself");

  const int64_t now = now_ns();
  Dirent dst_entry{};
  Inode dst{};
  if (dst_slot) {
    dst_entry = dir_read_slot(pool_, txn, *dst_dir, *dst_slot);
    if (dst_entry.ino == src_entry.ino && !(flags & RENAME_EXCHANGE)) {
      // Two hard links to one inode: POSIX says do nothing.
      return Status::ok();
    }
    auto dst_loaded = im.load(txn, dst_entry.ino);
    if (!dst_loaded.is_ok()) return dst_loaded.status();
    dst = *dst_loaded;
    if (S_ISDIR(dst.mode) && parent != new_parent && (flags & RENAME_EXCHANGE) &&
        is_ancestor(im, txn, dst_entry.ino, parent))
      return Status(Code::InvalidArgument, "cannot move a directory into itself");
  }

  // Directory link counts move with "..": a directory leaving `parent` for
  // `new_parent` takes one link from the first and gives one to the second.
  auto adjust_nlink = [&](uint64_t dir_ino, int delta) {
    Inode d = txn.get<Inode>(im.ino_offset(dir_ino));
    d.nlink = static_cast<uint32_t>(static_cast<int64_t>(d.nlink) + delta);
    d.mtime_ns = d.ctime_ns = now;
    im.store(txn, dir_ino, d);
  };
  auto set_parent = [&](uint64_t ino, uint64_t new_parent_ino) {
    Inode i = txn.get<Inode>(im.ino_offset(ino));
    i.parent = new_parent_ino;
    i.ctime_ns = now;
    im.store(txn, ino, i);
  };
  auto touch = [&](uint64_t ino) {
    Inode i = txn.get<Inode>(im.ino_offset(ino));
    i.ctime_ns = now;
    if (S_ISDIR(i.mode)) i.mtime_ns = now;
    im.store(txn, ino, i);
  };

  bool reclaim_dst = false;
  if (flags & RENAME_EXCHANGE) {
    dir_write_slot(pool_, txn, *src_dir, *src_slot,
                   make_dirent(dst_entry.ino, dst_entry.type, name));
    dir_write_slot(pool_, txn, *dst_dir, *dst_slot,
                   make_dirent(src_entry.ino, src_entry.type, new_name));
    touch(parent);
    touch(new_parent);
    touch(src_entry.ino);
    touch(dst_entry.ino);
    if (parent != new_parent) {
      const bool dst_is_dir = S_ISDIR(dst.mode);
      if (src_is_dir) set_parent(src_entry.ino, new_parent);
      if (dst_is_dir) set_parent(dst_entry.ino, parent);
      const int delta = (src_is_dir ? 1 : 0) - (dst_is_dir ? 1 : 0);
      if (delta != 0) {
        adjust_nlink(parent, -delta);
        adjust_nlink(new_parent, delta);
      }
    }
  } else {
    Inode dd = *dst_dir;
    uint32_t slot;
    if (dst_slot) {
      const bool dst_is_dir = S_ISDIR(dst.mode);
      if (src_is_dir && !dst_is_dir) return Status(Code::NotADirectory, std::string(new_name));
      if (!src_is_dir && dst_is_dir) return Status(Code::IsADirectory, std::string(new_name));
      if (dst_is_dir && !im.dir_index(dst_entry.ino, dst).empty())
        return Status(Code::NotEmpty, std::string(new_name));
      Inode victim = dst;
      victim.nlink = dst_is_dir ? 0 : victim.nlink - 1;
      victim.ctime_ns = now;
      im.store(txn, dst_entry.ino, victim);
      if (dst_is_dir) adjust_nlink(new_parent, -1);  // the replaced directory's ".."
      reclaim_dst = victim.nlink == 0;
      slot = *dst_slot;
    } else {
      auto taken = dir_take_slot(pool_, txn, blocks_, dst_index, dd);
      if (!taken.is_ok()) return taken.status();
      slot = *taken;
      dd.mtime_ns = dd.ctime_ns = now;
      im.store(txn, new_parent, dd);
    }
    dir_write_slot(pool_, txn, dd, slot, make_dirent(src_entry.ino, src_entry.type, new_name));
    // Re-read: the source directory may be the destination directory.
    Inode sd = txn.get<Inode>(im.ino_offset(parent));
    dir_write_slot(pool_, txn, sd, *src_slot, Dirent{});
    touch(parent);
    touch(src_entry.ino);
    if (src_is_dir && parent != new_parent) {
      set_parent(src_entry.ino, new_parent);
      adjust_nlink(parent, -1);
      adjust_nlink(new_parent, +1);
    }
    if (!dst_slot) dst_index.slots.emplace(std::string(new_name), slot);
  }
  guard.dismiss();
  HAPM_TRY(im.commit(txn));

  // The DRAM indexes follow the committed state.
  if (!(flags & RENAME_EXCHANGE)) {
    src_index.slots.erase(std::string(name));
    src_index.free_slots.push_back(*src_slot);
    if (dst_slot) dst_index.slots[std::string(new_name)] = *dst_slot;
  }
  if (reclaim_dst && !im.referenced(dst_entry.ino)) return im.reclaim(dst_entry.ino);
  return Status::ok();
}

}  // namespace hapm
