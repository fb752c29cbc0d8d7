// Pass 2: every slot of every directory block found by pass 1. Entries that
// cannot be right are removed (their targets, if otherwise fine, become
// unreachable and pass 3 links them into /lost+found); the rest are kept in
// Checker::entries for the connectivity and link-count passes.
#include <cstring>
#include <unordered_set>

#include "fs/inode_util.h"
#include "tools/fsck_checker.h"

namespace hapm::fsck {

using format::Dirent;
using format::kBlockSize;

namespace {

std::string entry_s(uint64_t dir, std::string_view name) {
  return "directory inode " + std::to_string(dir) + ": entry '" + printable(name) + "'";
}

}  // namespace

void Checker::pass_dirents() {
  std::unordered_set<std::string_view> names;
  uint64_t current = 0;
  bool fix = false;
  auto close = [&] {
    if (current)
      inodes_[current].child_count =
          static_cast<uint32_t>(entries_.size() - inodes_[current].child_begin);
  };
  const size_t every = std::max<size_t>(1, dir_blocks_.size() / 16);
  for (size_t k = 0; k < dir_blocks_.size(); ++k) {
    if (k % every == 0)
      step(0.75 + 0.15 * static_cast<double>(k) / static_cast<double>(dir_blocks_.size()));
    const DirBlock& db = dir_blocks_[k];
    if (db.dir != current) {
      close();
      current = db.dir;
      names.clear();
      inodes_[current].child_begin = static_cast<uint32_t>(entries_.size());
      // Inside a directory whose inode is damaged nothing is rewritten:
      // valid entries are followed, invalid ones only reported.
      fix = repairing() && inodes_[current].trusted();
    }
    for (uint64_t slot = 0; slot < format::kDirentsPerBlock; ++slot) {
      const uint64_t off = db.block * kBlockSize + slot * sizeof(Dirent);
      if (pool_.load<uint64_t>(off) == 0) continue;  // free slot
      const Dirent d = pool_.load<Dirent>(off);
      const std::string_view name(
          reinterpret_cast<const char*>(pool_.at(off + offsetof(Dirent, name))), d.name_len);
      std::string kind, why;
      if (!dirent_crc_ok(d)) {
        kind = "dirent-bad-checksum";
        why = "fails its checksum";
      } else if (!valid_name(name)) {
        kind = "bad-dirent-name";
        why = "has an invalid name (empty, '.', '..', or containing '/' or NUL)";
      } else if (d.ino >= h_.inode_count) {
        kind = "dirent-bad-inode";
        why = "names inode " + std::to_string(d.ino) + ", beyond the inode table";
      } else if (d.ino == format::kRootIno) {
        kind = "dirent-bad-inode";
        why = "names the root directory";
      } else if (!inodes_[d.ino].in_use()) {
        kind = "dirent-to-free-inode";
        why = "names inode " + std::to_string(d.ino) + ", which is free";
      } else if (!names.insert(name).second) {
        kind = "duplicate-name";
        why = "appears twice (this copy names inode " + std::to_string(d.ino) + ")";
      }
      if (!kind.empty()) {
        problem(kind, entry_s(db.dir, name) + " " + why + (fix ? "; entry removed" : ""), db.dir,
                fix);
        if (fix) repairer_->put(off, Dirent{});
        continue;
      }
      InodeState& target = inodes_[d.ino];
      if (target.trusted() && d.type != mode_to_dtype(target.mode)) {
        problem("dirent-wrong-type",
                entry_s(db.dir, name) + " says type " + std::to_string(d.type) + " but inode " +
                    std::to_string(d.ino) + " is a " + type_name(target.mode) +
                    (fix ? "; type corrected" : ""),
                db.dir, fix);
        if (fix) repairer_->put(off, make_dirent(d.ino, mode_to_dtype(target.mode), name));
      }
      entries_.push_back(Entry{db.dir, off, d.ino, name, false});
      ++target.entries;
    }
  }
  close();
  if (repairer_) (void)repairer_->commit();
}

}  // namespace hapm::fsck
