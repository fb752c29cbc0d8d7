// The fsck checker's shared state and its passes (internal to hapm_fsck).
//
// run_fsck (tools/fsck.cc) runs the passes in order; each pass reads the pool
// as the previous passes' repairs left it:
//   1 inodes     the inode table, block maps, xattr blocks; the reference set
//   2 dirents    every directory slot
//   3 connect    reachability from the root, /lost+found
//   4 counts     link counts, parent fields, `blocks`
//   5 bitmap     the allocation bitmap against the reference set
// Nothing here trusts the core's DRAM state: all of it comes from the pool.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fs/pool_format.h"
#include "tools/fsck.h"
#include "tools/fsck_repair.h"

namespace hapm::fsck {

enum InodeFlag : uint8_t {
  kInUse = 1,
  kBadCrc = 2,       // checksum mismatch: fields untrusted, never rewritten
  kBadMode = 4,      // unknown file type
  kReachable = 8,    // reachable from the root through surviving entries
  kUnlinkable = 16,  // unreachable and could not be linked into /lost+found
  kUncounted = 32,   // part of its map was not walked (shared node): `blocks` unknown
  kTouched = 64,     // pass 1 reported a map problem whose repair also sets `blocks`
};

constexpr uint32_t kNoEntry = ~uint32_t{0};

struct InodeState {
  uint32_t mode = 0;  // 0: free slot
  uint32_t nlink = 0;
  uint32_t entries = 0;       // surviving directory entries naming this inode
  uint32_t subdirs = 0;       // directories: surviving canonical subdirectory entries
  uint64_t parent = 0;        // directories: the directory holding the canonical entry
  uint32_t canon = kNoEntry;  // directories: index of that entry in Checker::entries
  uint64_t blocks = 0;        // blocks owned, as counted by the walk
  uint32_t child_begin = 0;   // directories: range of their entries in Checker::entries
  uint32_t child_count = 0;
  uint8_t flags = 0;

  bool in_use() const { return flags & kInUse; }
  bool trusted() const { return (flags & kInUse) && !(flags & (kBadCrc | kBadMode)); }
  bool is_dir() const { return (mode & 0170000) == 0040000; }
};

// One data block of a directory, found by pass 1.
struct DirBlock {
  uint64_t dir;
  uint64_t block;
  uint64_t index;  // file block number within the directory
};

// One in-use directory slot that survived pass 2's checks.
struct Entry {
  uint64_t dir;
  uint64_t offset;  // pool byte offset of the slot
  uint64_t ino;
  std::string_view name;  // points into the pool
  bool removed = false;
};

class Checker {
 public:
  // `repairer` is null when only checking.
  Checker(PoolMemory& pool, const format::PoolHeader& header, Repairer* repairer,
          FsckReport& report, const std::function<void(double)>& progress);

  void pass_inodes();        // fsck_inodes.cc
  void pass_duplicates();    // fsck_inodes.cc (only when pass 1 found shared blocks)
  void pass_dirents();       // fsck_dirents.cc
  void pass_connectivity();  // fsck_connect.cc
  void pass_counts();        // fsck_counts.cc
  void pass_bitmap();        // fsck_bitmap.cc
  // Fills in paths of the problems that name an inode (after pass 3).
  void resolve_paths();
  // After pass 2: inodes with link count 0 that directory entries still name
  // (recovery would free them as orphans), with the number of entries.
  std::vector<std::pair<uint64_t, uint32_t>> named_orphans() const;

  // Records a problem; `repaired` is what this run does about it.
  void problem(std::string kind, std::string detail, uint64_t ino, bool repaired);
  bool repairing() const { return repairer_ != nullptr && repairer_->ok(); }

  const format::PoolHeader& header() const { return h_; }
  uint64_t inode_offset(uint64_t ino) const {
    return h_.inode_table_block * format::kBlockSize + ino * sizeof(format::Inode);
  }
  bool block_in_bounds(uint64_t b) const { return b >= h_.data_block && b < h_.block_count; }
  std::string path_of(uint64_t ino) const;

 private:
  // Pass 1 helpers.
  void check_inode(uint64_t ino, const format::Inode& inode);
  // What one inode's map walk found wrong, reported once per inode and kind.
  struct WalkTally {
    uint64_t out_of_bounds = 0, past_eof = 0;
    std::string first_out_of_bounds, first_past_eof;
  };
  void walk_map(uint64_t ino, uint64_t node, uint32_t level, uint64_t first_index,
                uint64_t eof_blocks, bool fix, WalkTally& tally);
  void check_dir_layout(uint64_t ino, size_t first_block, uint64_t eof_blocks, bool fix);
  void fill_dir_holes();
  std::string xattr_block_problem(uint64_t block) const;
  // Marks a block referenced; false if it already was (a shared block).
  bool mark(uint64_t block);
  bool marked(uint64_t block) const { return (refs_[block >> 6] >> (block & 63)) & 1; }
  void unmark(uint64_t block) { refs_[block >> 6] &= ~(uint64_t{1} << (block & 63)); }

  // Pass 3 helpers (fsck_connect.cc).
  void assign_parents();
  void reach_from(uint64_t dir);
  struct DirAppender {
    uint64_t dir = 0;
    std::vector<uint64_t> blocks;  // data blocks in file order (0: hole)
    uint64_t cursor = 0;           // slots before it are known to be used
    std::unordered_set<std::string> names;
  };
  DirAppender appender_for(uint64_t dir) const;
  Result<DirAppender> make_lost_found();
  Status link_into(DirAppender& dir, std::string_view name, uint64_t ino);
  Result<uint64_t> allocate_block();
  Result<uint64_t> allocate_inode();
  Status map_block(format::Inode& inode, uint64_t ino, uint64_t fblock, uint64_t block);
  Result<uint64_t> new_node(format::Inode& inode, uint64_t ino);
  uint64_t lookup(const format::Inode& inode, uint64_t fblock) const;
  void link_unreachable(uint64_t ino, DirAppender* lost_found, const std::string& lf_why);
  void step(double fraction);

  PoolMemory& pool_;
  format::PoolHeader h_;
  Repairer* repairer_;
  FsckReport& report_;
  std::function<void(double)> progress_;
  double last_progress_ = -1;

  std::vector<InodeState> inodes_;
  std::vector<uint64_t> refs_;    // one bit per pool block: referenced by some inode
  std::vector<uint64_t> shared_;  // blocks found referenced a second time
  std::vector<DirBlock> dir_blocks_;
  std::vector<Entry> entries_;
  std::vector<std::pair<uint64_t, uint64_t>> dir_holes_;
  std::deque<std::string> added_names_;  // names of entries pass 3 adds (not on the pool yet)  //
                                         // (directory, file block) to fill
  // Set when some inode's blocks could not all be enumerated: "leaked"
  // blocks are then reported but never freed.
  bool uncertain_refs_ = false;
  uint64_t alloc_cursor_ = 0;
  uint64_t inode_cursor_ = 2;
  mutable std::unordered_map<uint64_t, uint32_t> path_index_;  // ino -> naming entry
};

const char* type_name(uint32_t mode);
// A name for messages: non-printable bytes escaped.
std::string printable(std::string_view name);

}  // namespace hapm::fsck
