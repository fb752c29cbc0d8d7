// Pass 1: one sweep over the inode table. Checks each inode and walks its
// block map and xattr block, building the set of referenced blocks (a bitmap)
// and the list of directory blocks for pass 2.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "common/crc32c.h"
#include "fs/inode_util.h"
#include "tools/fsck_checker.h"

namespace hapm::fsck {

using format::Inode;
using format::kBlockSize;

namespace {

bool mode_ok(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
      return (mode & ~static_cast<uint32_t>(S_IFMT | 07777)) == 0;
    default:
      return false;
  }
}

std::string ino_s(uint64_t ino) {
  return "inode " + std::to_string(ino);
}

// File blocks the inode may map: [0, eof).
uint64_t eof_blocks(const Inode& inode) {
  switch (inode.mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
      return (inode.size + kBlockSize - 1) / kBlockSize;
    default:
      return 0;  // devices, fifos, sockets own no data
  }
}

}  // namespace

void Checker::pass_inodes() {
  const uint64_t n = h_.inode_count;
  inodes_.assign(n, InodeState{});
  refs_.assign((h_.block_count + 63) / 64, 0);
  const uint64_t every = std::max<uint64_t>(1, n / 64);
  for (uint64_t ino = 1; ino < n; ++ino) {
    if (ino % every == 0) step(0.75 * static_cast<double>(ino) / static_cast<double>(n));
    const uint64_t off = inode_offset(ino);
    if (pool_.load<uint32_t>(off) == 0) continue;  // free slot (mode 0)
    check_inode(ino, pool_.load<Inode>(off));
  }
  const InodeState& root = inodes_[format::kRootIno];
  if (!root.trusted() || !root.is_dir())
    problem("bad-root",
            "the root directory (inode 1) is " + std::string(!root.in_use() ? "missing (free slot)"
                                                             : (root.flags & kBadCrc)
                                                                 ? "damaged (bad checksum)"
                                                                 : "not a directory"),
            format::kRootIno, false);
  fill_dir_holes();
  if (repairer_) (void)repairer_->commit();
}

void Checker::check_inode(uint64_t ino, const Inode& inode) {
  InodeState& st = inodes_[ino];
  st.flags = kInUse;
  st.mode = inode.mode;
  st.nlink = inode.nlink;
  ++report_.inodes_used;
  if (!inode_crc_ok(inode)) {
    st.flags |= kBadCrc;
    problem(
        "inode-bad-checksum",
        ino_s(ino) + " fails its checksum: its fields cannot be trusted, so it is left as it is",
        ino, false);
  }
  if (!mode_ok(inode.mode)) {
    st.flags |= kBadMode;
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", inode.mode);
    problem("bad-inode-mode", ino_s(ino) + " has mode " + buf + ", which is no known file type",
            ino, false);
  } else if (S_ISDIR(inode.mode)) {
    ++report_.directories;
  } else if (S_ISREG(inode.mode)) {
    ++report_.files;
  } else if (S_ISLNK(inode.mode)) {
    ++report_.symlinks;
  }

  const bool trusted = st.trusted();
  const bool fix = repairing() && trusted;
  const uint64_t eof = trusted ? eof_blocks(inode) : ~uint64_t{0};
  if (trusted && S_ISDIR(inode.mode) && inode.size % kBlockSize != 0)
    problem("bad-directory-size",
            ino_s(ino) + " is a directory of " + std::to_string(inode.size) +
                " bytes, not a whole number of blocks",
            ino, false);
  if (trusted && S_ISLNK(inode.mode) && (inode.size == 0 || inode.size >= kBlockSize))
    problem("bad-symlink",
            ino_s(ino) + " is a symbolic link with a target of " + std::to_string(inode.size) +
                " bytes (must be 1..4095)",
            ino, false);

  Inode fixed = inode;
  bool dirty = false;
  const size_t dir_first = dir_blocks_.size();
  if (inode.map_root == 0) {
    if (inode.map_height != 0) {
      problem("bad-block-map",
              ino_s(ino) + " has map height " + std::to_string(inode.map_height) + " but no map" +
                  (fix ? "; height reset to 0" : ""),
              ino, fix);
      fixed.map_height = 0;
      dirty = true;
    }
  } else if (inode.map_height == 0 || inode.map_height > format::kMapHeightMax) {
    problem("bad-block-map",
            ino_s(ino) + " has map height " + std::to_string(inode.map_height) + " (must be 1.." +
                std::to_string(format::kMapHeightMax) + "): its blocks cannot be enumerated",
            ino, false);
    if (block_in_bounds(inode.map_root)) mark(inode.map_root);
    st.flags |= kUncounted;
    uncertain_refs_ = true;
  } else if (!block_in_bounds(inode.map_root)) {
    problem("block-out-of-bounds",
            ino_s(ino) + ": its block map root " + std::to_string(inode.map_root) +
                " lies outside the data area [" + std::to_string(h_.data_block) + ", " +
                std::to_string(h_.block_count) + ")" + (fix ? "; map cleared" : ""),
            ino, fix);
    fixed.map_root = 0;
    fixed.map_height = 0;
    dirty = true;
  } else {
    WalkTally tally;
    walk_map(ino, inode.map_root, inode.map_height, 0, eof, fix, tally);
    if (tally.out_of_bounds)
      problem("block-out-of-bounds",
              ino_s(ino) + ": " + std::to_string(tally.out_of_bounds) +
                  " block pointer(s) outside the data area [" + std::to_string(h_.data_block) +
                  ", " + std::to_string(h_.block_count) + "), first " + tally.first_out_of_bounds +
                  (fix ? "; cleared (now holes)" : ""),
              ino, fix);
    if (tally.past_eof)
      problem("data-past-eof",
              ino_s(ino) + ": " + std::to_string(tally.past_eof) +
                  " block(s) mapped past the end of the " + type_name(inode.mode) + " (size " +
                  std::to_string(inode.size) + "), first " + tally.first_past_eof +
                  (fix ? "; freed" : ""),
              ino, fix);
    // The repair of these also sets `blocks`: no second report for it.
    if (tally.out_of_bounds || tally.past_eof) st.flags |= kTouched;
  }
  if (S_ISDIR(inode.mode) && trusted) check_dir_layout(ino, dir_first, eof, fix);

  if (inode.xattr_block != 0) {
    const uint64_t xb = inode.xattr_block;
    std::string why;
    if (!block_in_bounds(xb)) {
      problem("block-out-of-bounds",
              ino_s(ino) + ": its xattr block " + std::to_string(xb) +
                  " lies outside the data area" + (fix ? "; detached" : ""),
              ino, fix);
      fixed.xattr_block = 0;
      dirty = true;
    } else if (!(why = xattr_block_problem(xb)).empty()) {
      problem("bad-xattr-block",
              ino_s(ino) + ": its extended attribute block " + std::to_string(xb) + " " + why +
                  (fix ? "; detached and freed (its attributes are lost)" : ""),
              ino, fix);
      st.flags |= kTouched;
      if (fix) {
        fixed.xattr_block = 0;
        dirty = true;
      } else {
        mark(xb);
        ++st.blocks;
      }
    } else {
      mark(xb);
      ++st.blocks;
    }
  }
  if (dirty) st.flags |= kTouched;
  if (fix && dirty) {
    seal_inode(fixed);
    repairer_->put(inode_offset(ino), fixed);
  }
}

void Checker::walk_map(uint64_t ino, uint64_t node, uint32_t level, uint64_t first_index,
                       uint64_t eof, bool fix, WalkTally& tally) {
  InodeState& st = inodes_[ino];
  // A node seen before (shared with another map, or a loop) is not walked
  // again: pass 1B reports it, and walking it twice could be exponential.
  if (!mark(node)) {
    st.flags |= kUncounted;
    return;
  }
  ++st.blocks;
  uint64_t slots[format::kMapFanout];
  std::memcpy(slots, pool_.at(node * kBlockSize), kBlockSize);
  const uint64_t span = map_span(level - 1);
  for (uint64_t i = 0; i < format::kMapFanout; ++i) {
    const uint64_t b = slots[i];
    if (b == 0) continue;
    const uint64_t index = first_index + i * span;
    if (!block_in_bounds(b)) {
      if (tally.out_of_bounds++ == 0)
        tally.first_out_of_bounds = "node " + std::to_string(node) + " slot " + std::to_string(i) +
                                    " -> block " + std::to_string(b);
      if (fix) repairer_->put<uint64_t>(map_slot_offset(node, i), 0);
      continue;
    }
    if (level > 1) {
      walk_map(ino, b, level - 1, index, eof, fix, tally);
      continue;
    }
    if (index >= eof) {
      if (tally.past_eof++ == 0)
        tally.first_past_eof =
            "file block " + std::to_string(index) + " (pool block " + std::to_string(b) + ")";
      if (fix) {
        // Not marked: pass 5 frees it (unless another owner references it).
        repairer_->put<uint64_t>(map_slot_offset(node, i), 0);
        continue;
      }
    }
    mark(b);
    ++st.blocks;
    if (st.is_dir()) dir_blocks_.push_back({ino, b, index});
  }
}

// A directory maps exactly the blocks [0, size / 4096): the core skips the
// slots of a missing block, so entries there would be lost.
void Checker::check_dir_layout(uint64_t ino, size_t first_block, uint64_t eof, bool fix) {
  uint64_t expect = 0;
  uint64_t holes = 0;
  for (size_t i = first_block; i <= dir_blocks_.size(); ++i) {
    const uint64_t next = i < dir_blocks_.size() ? std::min(dir_blocks_[i].index, eof) : eof;
    for (; expect < next; ++expect) {
      if (fix) dir_holes_.emplace_back(ino, expect);
      ++holes;
    }
    expect = next + 1;
  }
  if (holes)
    problem("directory-hole",
            ino_s(ino) + " is missing " + std::to_string(holes) + " of its " + std::to_string(eof) +
                " blocks" + (fix ? "; replaced by empty blocks" : ""),
            ino, fix);
}

std::string Checker::xattr_block_problem(uint64_t block) const {
  const uint64_t off = block * kBlockSize;
  const auto hdr = pool_.load<format::XattrBlockHeader>(off);
  if (hdr.magic != format::kXattrMagic) return "has a bad magic number";
  if (hdr.used_bytes > format::kXattrSpace)
    return "claims " + std::to_string(hdr.used_bytes) + " bytes of entries (room for " +
           std::to_string(format::kXattrSpace) + ")";
  const uint8_t* entries = pool_.at(off + sizeof hdr);
  if (crc32c(entries, hdr.used_bytes) != hdr.crc) return "fails its checksum";
  uint64_t pos = 0;
  for (uint32_t i = 0; i < hdr.count; ++i) {
    format::XattrEntry e;
    if (hdr.used_bytes - pos < sizeof e)
      return "has entry " + std::to_string(i) + " past the used bytes";
    std::memcpy(&e, entries + pos, sizeof e);
    pos += sizeof e;
    if (e.name_len == 0) return "has entry " + std::to_string(i) + " with an empty name";
    if (hdr.used_bytes - pos < uint64_t{e.name_len} + e.value_len)
      return "has entry " + std::to_string(i) + " running past the used bytes";
    pos += uint64_t{e.name_len} + e.value_len;
  }
  if (pos != hdr.used_bytes)
    return "has " + std::to_string(hdr.used_bytes - pos) + " bytes after its " +
           std::to_string(hdr.count) + " entries";
  return "";
}

// Pass 1B: who shares the blocks pass 1 saw twice. Runs only when there are
// such blocks; reports each shared block once, naming every owner.
void Checker::pass_duplicates() {
  if (shared_.empty()) return;
  std::sort(shared_.begin(), shared_.end());
  shared_.erase(std::unique(shared_.begin(), shared_.end()), shared_.end());
  std::unordered_map<uint64_t, std::vector<std::pair<uint64_t, const char*>>> owners;
  for (uint64_t b : shared_) owners[b];
  std::unordered_set<uint64_t> walked;  // map nodes already descended into
  auto note = [&](uint64_t b, uint64_t ino, const char* role) {
    auto it = owners.find(b);
    if (it != owners.end()) it->second.emplace_back(ino, role);
  };
  // Depth is bounded by the map height; each node is descended into once.
  auto walk = [&](auto& self, uint64_t ino, uint64_t node, uint32_t level) -> void {
    note(node, ino, "map node");
    if (!walked.insert(node).second) return;
    uint64_t slots[format::kMapFanout];
    std::memcpy(slots, pool_.at(node * kBlockSize), kBlockSize);
    for (uint64_t b : slots) {
      if (b == 0 || !block_in_bounds(b)) continue;
      if (level > 1)
        self(self, ino, b, level - 1);
      else
        note(b, ino, "data");
    }
  };
  for (uint64_t ino = 1; ino < inodes_.size(); ++ino) {
    if (!inodes_[ino].in_use()) continue;
    const Inode inode = pool_.load<Inode>(inode_offset(ino));
    if (inode.map_root && block_in_bounds(inode.map_root) && inode.map_height >= 1 &&
        inode.map_height <= format::kMapHeightMax)
      walk(walk, ino, inode.map_root, inode.map_height);
    if (inode.xattr_block) note(inode.xattr_block, ino, "xattr block");
  }
  constexpr size_t kReportMax = 100;
  for (size_t i = 0; i < shared_.size() && i < kReportMax; ++i) {
    const auto& who = owners[shared_[i]];
    std::string detail = "block " + std::to_string(shared_[i]) + " is used " +
                         std::to_string(who.size()) + " times:";
    for (size_t k = 0; k < who.size(); ++k) {
      const std::string path = path_of(who[k].first);
      detail += (k ? ", " : " ") + std::string(who[k].second) + " of inode " +
                std::to_string(who[k].first) + (path.empty() ? "" : " (" + path + ")");
    }
    problem("shared-block", detail + "; not repaired (copy the files elsewhere, then delete them)",
            who.empty() ? 0 : who[0].first, false);
    if (!who.empty()) report_.problems.back().path = path_of(who[0].first);
  }
  if (shared_.size() > kReportMax)
    problem("shared-block",
            std::to_string(shared_.size() - kReportMax) + " more blocks are used more than once", 0,
            false);
}

}  // namespace hapm::fsck
