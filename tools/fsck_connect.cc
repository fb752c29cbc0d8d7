// Pass 3: the directory tree. Each directory gets one canonical entry (its
// name in its parent); extra entries naming a directory are removed. Then
// everything reachable from the root is marked, and what is not gets linked
// into /lost+found (created when missing) as "#<inode>".
#include <sys/stat.h>

#include <optional>

#include "fs/inode_util.h"
#include "tools/fsck_checker.h"

namespace hapm::fsck {

using format::Inode;
using format::kRootIno;

void Checker::assign_parents() {
  // Prefer the entry in the directory that the child's own parent field
  // names; otherwise the first entry found.
  for (int round = 0; round < 2; ++round) {
    for (uint32_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      InodeState& t = inodes_[e.ino];
      if (e.removed || !t.is_dir() || t.canon != kNoEntry || e.dir == e.ino) continue;
      if (round == 0 &&
          pool_.load<uint64_t>(inode_offset(e.ino) + offsetof(Inode, parent)) != e.dir)
        continue;
      t.canon = i;
      t.parent = e.dir;
      ++inodes_[e.dir].subdirs;
    }
  }
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    InodeState& t = inodes_[e.ino];
    if (e.removed || !t.is_dir() || t.canon == i) continue;
    const bool fix = repairing() && inodes_[e.dir].trusted();
    problem("directory-hard-link",
            "directory inode " + std::to_string(e.dir) + ": entry '" + printable(e.name) +
                "' is an extra link to directory inode " + std::to_string(e.ino) +
                (e.dir == e.ino ? " (itself)" : "") + (fix ? "; entry removed" : ""),
            e.dir, fix);
    if (!fix) continue;
    repairer_->put(e.offset, format::Dirent{});
    e.removed = true;
    --t.entries;
  }
}

void Checker::reach_from(uint64_t dir) {
  std::vector<uint64_t> stack{dir};
  // Each directory is pushed once (marked before the push): bounded.
  while (!stack.empty()) {
    const uint64_t d = stack.back();
    stack.pop_back();
    const InodeState& ds = inodes_[d];
    for (uint32_t i = ds.child_begin; i < ds.child_begin + ds.child_count; ++i) {
      const Entry& e = entries_[i];
      if (e.removed) continue;
      InodeState& t = inodes_[e.ino];
      if (t.flags & kReachable) continue;
      if (t.is_dir()) {
        if (t.canon != i) continue;
        t.flags |= kReachable;
        stack.push_back(e.ino);
      } else {
        t.flags |= kReachable;
      }
    }
  }
}

void Checker::pass_connectivity() {
  InodeState& root = inodes_[kRootIno];
  if (!root.trusted() || !root.is_dir()) {
    // Already reported (bad-root); without a root nothing is reachable, and
    // reporting every inode again would bury that one problem.
    for (InodeState& st : inodes_)
      if (st.in_use()) st.flags |= kReachable | kUnlinkable;
    return;
  }
  assign_parents();
  root.flags |= kReachable;
  root.parent = kRootIno;
  reach_from(kRootIno);

  std::vector<uint64_t> lost;
  for (uint64_t ino = 2; ino < inodes_.size(); ++ino)
    if (inodes_[ino].in_use() && !(inodes_[ino].flags & kReachable)) lost.push_back(ino);
  if (lost.empty()) return;

  std::optional<DirAppender> lf;
  std::string lf_why;
  if (repairing()) {
    auto made = make_lost_found();
    if (made.is_ok())
      lf = std::move(made.value());
    else
      lf_why = made.status().message();
  }
  // Round 0: tops of detached trees (no entry names them). Round 1:
  // directories in detached loops. Round 2: everything else still detached.
  for (int round = 0; round < 3; ++round) {
    for (uint64_t ino : lost) {
      InodeState& st = inodes_[ino];
      if (st.flags & kReachable) continue;
      if ((round < 2) != st.is_dir()) continue;
      if (round == 0 && st.canon != kNoEntry) continue;
      if (round == 1 && st.canon != kNoEntry && lf && st.trusted()) {
        // Detach it from the loop before giving it its new name.
        Entry& e = entries_[st.canon];
        if (inodes_[e.dir].trusted()) {
          repairer_->put(e.offset, format::Dirent{});
          e.removed = true;
          --st.entries;
          --inodes_[e.dir].subdirs;
          st.canon = kNoEntry;
          st.parent = 0;
        }
      }
      link_unreachable(ino, lf ? &*lf : nullptr, lf_why);
    }
  }
  if (repairer_) (void)repairer_->commit();
}

void Checker::link_unreachable(uint64_t ino, DirAppender* lost_found, const std::string& lf_why) {
  InodeState& st = inodes_[ino];
  std::string what = "inode " + std::to_string(ino) + " (" + type_name(st.mode);
  if (st.is_dir()) what += ", " + std::to_string(st.child_count) + " entries";
  what += ") is not reachable from the root";
  std::string not_linked;
  if (!st.trusted())
    not_linked = "its inode is damaged, so it is not linked anywhere";
  else if (!repairing())
    not_linked = "";
  else if (!lost_found)
    not_linked = "cannot link it into /lost+found: " + lf_why;
  else if (st.is_dir() && st.canon != kNoEntry)
    not_linked = "it is named inside a directory that cannot be changed";
  if (!not_linked.empty() || !repairing()) {
    problem("unreachable-inode", what + (not_linked.empty() ? "" : "; " + not_linked), ino, false);
    // Its subtree comes along, so it is reported once; link counts of
    // what stays unreachable are not judged (fixing them to 0 would free it).
    st.flags |= kReachable | kUnlinkable;
    if (st.is_dir()) reach_from(ino);
    return;
  }
  std::string name = "#" + std::to_string(ino);
  for (int n = 1; n < 100 && lost_found->names.count(name); ++n)
    name = "#" + std::to_string(ino) + "." + std::to_string(n);
  Status s = link_into(*lost_found, name, ino);
  if (!s.is_ok()) {
    problem("unreachable-inode", what + "; cannot link it into /lost+found: " + s.message(), ino,
            false);
    st.flags |= kReachable | kUnlinkable;
    if (st.is_dir()) reach_from(ino);
    return;
  }
  problem("unreachable-inode", what + "; linked as /lost+found/" + name, ino, true);
  report_.problems.back().path = "/lost+found/" + name;
  if (st.is_dir()) reach_from(ino);
}

}  // namespace hapm::fsck
