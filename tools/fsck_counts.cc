// Pass 4: per-inode totals against what passes 1-3 counted: link counts
// (files: entries naming them; directories: 2 + subdirectories), the parent
// field of directories, and `blocks`.
#include <sys/stat.h>

#include "fs/inode_util.h"
#include "tools/fsck_checker.h"

namespace hapm::fsck {

using format::Inode;

void Checker::pass_counts() {
  for (uint64_t ino = 1; ino < inodes_.size(); ++ino) {
    const InodeState& st = inodes_[ino];
    if (!st.trusted()) continue;
    const bool fix = repairing();
    auto who = [ino] { return "inode " + std::to_string(ino); };
    Inode inode =
        repairer_ ? repairer_->get<Inode>(inode_offset(ino)) : pool_.load<Inode>(inode_offset(ino));
    bool dirty = false;
    if ((st.flags & kReachable) && !(st.flags & kUnlinkable)) {
      const uint64_t expect = st.is_dir() ? 2 + uint64_t{st.subdirs} : st.entries;
      if (inode.nlink != expect) {
        const std::string why =
            st.is_dir() ? "it has " + std::to_string(st.subdirs) + " subdirectories (expected " +
                              std::to_string(expect) + ")"
                        : std::to_string(st.entries) + " directory entries name it";
        problem("bad-link-count",
                who() + " has link count " + std::to_string(inode.nlink) + ", but " + why +
                    (fix ? "; set to " + std::to_string(expect) : ""),
                ino, fix);
        inode.nlink = static_cast<uint32_t>(expect);
        dirty = true;
      }
    }
    if (st.is_dir() && st.parent != 0 && inode.parent != st.parent) {
      problem("bad-parent",
              "directory " + who() + " records inode " + std::to_string(inode.parent) +
                  " as its parent, but its entry is in inode " + std::to_string(st.parent) +
                  (fix ? "; corrected" : ""),
              ino, fix);
      inode.parent = st.parent;
      dirty = true;
    }
    if (!(st.flags & kUncounted) && inode.blocks != st.blocks) {
      // After pass 1 cut blocks out of the map the count is simply updated:
      // that change was already reported.
      if (!(st.flags & kTouched))
        problem("bad-block-count",
                who() + " says it owns " + std::to_string(inode.blocks) +
                    " blocks, but its map and xattr block hold " + std::to_string(st.blocks) +
                    (fix ? "; corrected" : ""),
                ino, fix);
      inode.blocks = st.blocks;
      dirty = true;
    }
    if (fix && dirty) {
      seal_inode(inode);
      repairer_->put(inode_offset(ino), inode);
    }
  }
  if (repairer_) (void)repairer_->commit();
}

}  // namespace hapm::fsck
