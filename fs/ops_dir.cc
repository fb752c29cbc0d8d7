// Namespace operations: lookup, readdir, create, link, unlink, rename.
#include <dirent.h>
#include <linux/fs.h>

#include "fs/fs_impl.h"

namespace hapm {

using format::Dirent;
using format::Inode;
using format::kBlockSize;
using format::kDirentsPerBlock;

Status Filesystem::lookup(uint64_t parent, std::string_view name, Attr* out) {
  std::shared_lock lock(lock_);
  Impl& im = *impl_;
  auto dir = im.load(parent);
  if (!dir.is_ok()) return dir.status();
  if (!S_ISDIR(dir->mode)) return Status(Code::NotADirectory, "not a directory");
  uint64_t ino;
  if (name == ".") {
    ino = parent;
  } else if (name == "..") {
    ino = dir->parent;
  } else {
    if (name.size() > format::kNameMax) return Status(Code::NameTooLong, "name too long");
    DirIndex& index = im.dir_index(parent, *dir);
    auto slot = index.find(name);
    if (!slot) return Status(Code::NotFound, std::string(name));
    BlockMap map(pool_, nullptr);
    ino = pool_.load<uint64_t>(dirent_offset(map, *dir, *slot));
  }
  auto inode = im.load(ino);
  if (!inode.is_ok()) return inode.status();
  im.fill_attr(ino, *inode, out);
  im.add_lookup(ino);
  return Status::ok();
}

Status Filesystem::readdir(uint64_t ino, uint64_t offset,
                           const std::function<bool(const DirEntryView&)>& emit) {
  std::shared_lock lock(lock_);
  Impl& im = *impl_;
  auto dir = im.load(ino);
  if (!dir.is_ok()) return dir.status();
  if (!S_ISDIR(dir->mode)) return Status(Code::NotADirectory, "not a directory");
  // Cookies: 1 after ".", 2 after "..", slot + 3 after the entry in `slot`.
  if (offset == 0 && !emit({".", ino, DT_DIR, 1})) return Status::ok();
  if (offset <= 1 && !emit({"..", dir->parent, DT_DIR, 2})) return Status::ok();
  const uint64_t slots = dir->size / kBlockSize * kDirentsPerBlock;
  BlockMap map(pool_, nullptr);
  uint64_t cached_fb = ~uint64_t{0}, block = 0;
  for (uint64_t slot = offset > 2 ? offset - 2 : 0; slot < slots; ++slot) {
    const uint64_t fb = slot / kDirentsPerBlock;
    if (fb != cached_fb) {
      block = map.lookup(*dir, fb);
      cached_fb = fb;
    }
    if (block == 0) continue;
    const auto* d = reinterpret_cast<const Dirent*>(
        pool_.at(block * kBlockSize + (slot % kDirentsPerBlock) * sizeof(Dirent)));
    if (d->ino == 0 || d->name_len == 0) continue;
    if (!emit({std::string_view(d->name, d->name_len), d->ino, d->type, slot + 3})) break;
  }
  return Status::ok();
}

Status Filesystem::readlink(uint64_t ino, std::string* target) {
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  if (!S_ISLNK(inode->mode)) return Status(Code::InvalidArgument, "not a symbolic link");
  BlockMap map(pool_, nullptr);
  const uint64_t block = map.lookup(*inode, 0);
  if (block == 0 || inode->size >= kBlockSize)
    return Status(Code::Corruption,
                  "symbolic link " + std::to_string(ino) + " has no target block");
  target->assign(reinterpret_cast<const char*>(pool_.at(block * kBlockSize)), inode->size);
  return Status::ok();
}

Status Filesystem::Impl::create_node(uint64_t parent, std::string_view name, uint32_t mode,
                                     uint64_t rdev, const Caller& caller,
                                     std::string_view symlink_target, Attr* out) {
  if (read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  HAPM_TRY(check_entry_name(name));
  if (S_ISLNK(mode) && (symlink_target.empty() || symlink_target.size() >= kBlockSize))
    return Status(Code::NameTooLong, "symbolic link target must be 1..4095 bytes");
  PoolMemory& pool = fs.pool_;
  Transaction txn(pool);
  AbortGuard guard(*this, txn);
  auto dir = load_dir(txn, parent);
  if (!dir.is_ok()) return dir.status();
  if (S_ISDIR(mode) && dir->nlink >= UINT32_MAX - 1)
    return Status(Code::TooManyLinks, "too many subdirectories");
  DirIndex& index = dir_index(parent, *dir);
  if (index.find(name)) return Status(Code::AlreadyExists, std::string(name));
  auto ino = fs.inodes_.allocate(txn);
  if (!ino.is_ok()) return ino.status();

  const int64_t now = now_ns();
  Inode inode = pool.load<Inode>(ino_offset(*ino));
  const uint64_t generation = inode.generation + 1;
  inode = Inode{};
  inode.mode = mode;
  inode.nlink = S_ISDIR(mode) ? 2 : 1;
  inode.uid = caller.uid;
  inode.gid = (dir->mode & S_ISGID) ? dir->gid : caller.gid;
  if (S_ISDIR(mode) && (dir->mode & S_ISGID)) inode.mode |= S_ISGID;
  inode.generation = generation;
  inode.atime_ns = inode.mtime_ns = inode.ctime_ns = inode.btime_ns = now;
  inode.rdev = rdev;
  inode.parent = S_ISDIR(mode) ? parent : 0;
  if (S_ISLNK(mode)) {
    bool fresh = false;
    auto block = BlockMap(pool, &txn).allocate(fs.blocks_, inode, 0, 0, &fresh);
    if (!block.is_ok()) return block.status();
    std::vector<uint8_t> buf(kBlockSize, 0);
    std::memcpy(buf.data(), symlink_target.data(), symlink_target.size());
    pool.write(*block * kBlockSize, buf.data(), buf.size());
    inode.size = symlink_target.size();
  }

  Inode d = *dir;
  auto slot = dir_take_slot(pool, txn, fs.blocks_, index, d);
  if (!slot.is_ok()) return slot.status();
  dir_write_slot(pool, txn, d, *slot, make_dirent(*ino, mode_to_dtype(mode), name));
  if (S_ISDIR(mode)) ++d.nlink;
  d.mtime_ns = d.ctime_ns = now;
  store(txn, parent, d);
  store(txn, *ino, inode);
  guard.dismiss();
  HAPM_TRY(commit(txn));
  index.slots.emplace(std::string(name), *slot);
  fill_attr(*ino, inode, out);
  add_lookup(*ino);
  return Status::ok();
}

Status Filesystem::mknod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev,
                         const Caller& caller, Attr* out) {
  std::unique_lock lock(lock_);
  if (S_ISDIR(mode) || S_ISLNK(mode) || (mode & S_IFMT) == 0) mode = S_IFREG | (mode & 07777);
  return impl_->create_node(parent, name, mode, rdev, caller, {}, out);
}

Status Filesystem::mkdir(uint64_t parent, std::string_view name, uint32_t mode,
                         const Caller& caller, Attr* out) {
  std::unique_lock lock(lock_);
  return impl_->create_node(parent, name, S_IFDIR | (mode & 07777), 0, caller, {}, out);
}

Status Filesystem::symlink(uint64_t parent, std::string_view name, std::string_view target,
                           const Caller& caller, Attr* out) {
  std::unique_lock lock(lock_);
  return impl_->create_node(parent, name, S_IFLNK | 0777, 0, caller, target, out);
}

Status Filesystem::link(uint64_t ino, uint64_t new_parent, std::string_view new_name, Attr* out) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  HAPM_TRY(check_entry_name(new_name));
  Transaction txn(pool_);
  AbortGuard guard(im, txn);
  auto inode = im.load(txn, ino);
  if (!inode.is_ok()) return inode.status();
  if (S_ISDIR(inode->mode))
    return Status(Code::PermissionDenied, "hard links to directories are not allowed");
  if (inode->nlink == 0) return Status(Code::NotFound, "file was removed");
  if (inode->nlink >= UINT32_MAX - 1) return Status(Code::TooManyLinks, "too many links");
  auto dir = im.load_dir(txn, new_parent);
  if (!dir.is_ok()) return dir.status();
  DirIndex& index = im.dir_index(new_parent, *dir);
  if (index.find(new_name)) return Status(Code::AlreadyExists, std::string(new_name));
  Inode d = *dir;
  auto slot = dir_take_slot(pool_, txn, blocks_, index, d);
  if (!slot.is_ok()) return slot.status();
  const int64_t now = now_ns();
  dir_write_slot(pool_, txn, d, *slot, make_dirent(ino, mode_to_dtype(inode->mode), new_name));
  d.mtime_ns = d.ctime_ns = now;
  im.store(txn, new_parent, d);
  Inode changed = *inode;
  ++changed.nlink;
  changed.ctime_ns = now;
  im.store(txn, ino, changed);
  guard.dismiss();
  HAPM_TRY(im.commit(txn));
  index.slots.emplace(std::string(new_name), *slot);
  im.fill_attr(ino, changed, out);
  im.add_lookup(ino);
  return Status::ok();
}

Status Filesystem::Impl::remove_entry(uint64_t parent, std::string_view name, bool want_dir) {
  if (read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  if (name == ".") return Status(Code::InvalidArgument, "cannot remove '.'");
  if (name == "..") return Status(Code::NotEmpty, "cannot remove '..'");
  PoolMemory& pool = fs.pool_;
  Transaction txn(pool);
  auto dir = load_dir(txn, parent);
  if (!dir.is_ok()) return dir.status();
  DirIndex& index = dir_index(parent, *dir);
  auto slot = index.find(name);
  if (!slot) return Status(Code::NotFound, std::string(name));
  const Dirent entry = dir_read_slot(pool, txn, *dir, *slot);
  auto inode = load(txn, entry.ino);
  if (!inode.is_ok()) return inode.status();
  Inode victim = *inode;
  Inode d = *dir;
  const int64_t now = now_ns();
  if (want_dir) {
    if (!S_ISDIR(victim.mode)) return Status(Code::NotADirectory, std::string(name));
    DirIndex& sub = dir_index(entry.ino, victim);
    if (!sub.empty()) return Status(Code::NotEmpty, std::string(name));
    victim.nlink = 0;
    --d.nlink;
  } else {
    if (S_ISDIR(victim.mode)) return Status(Code::IsADirectory, std::string(name));
    --victim.nlink;
  }
  victim.ctime_ns = now;
  dir_write_slot(pool, txn, d, *slot, Dirent{});
  d.mtime_ns = d.ctime_ns = now;
  store(txn, parent, d);
  store(txn, entry.ino, victim);
  HAPM_TRY(commit(txn));
  index.slots.erase(std::string(name));
  index.free_slots.push_back(*slot);
  if (victim.nlink == 0 && !referenced(entry.ino)) return reclaim(entry.ino);
  return Status::ok();
}

Status Filesystem::unlink(uint64_t parent, std::string_view name) {
  std::unique_lock lock(lock_);
  return impl_->remove_entry(parent, name, false);
}

Status Filesystem::rmdir(uint64_t parent, std::string_view name) {
  std::unique_lock lock(lock_);
  return impl_->remove_entry(parent, name, true);
}

}  // namespace hapm
