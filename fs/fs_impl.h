// Internal state and helpers of the filesystem core, shared by fs/ops_*.cc.
// Not part of the API: include fs/filesystem.h instead.
//
// Lock order: Filesystem::lock_ (shared for reads, exclusive for changes)
// before Impl::cache_mutex (the DRAM caches: directory indexes, references).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/block_map.h"
#include "fs/directory.h"
#include "fs/filesystem.h"
#include "fs/inode_util.h"

namespace hapm {

struct InodeRefs {
  uint64_t lookups = 0;  // kernel references (dropped by forget)
  uint64_t opens = 0;    // open file handles
};

struct Filesystem::Impl {
  explicit Impl(Filesystem& owner) : fs(owner) {}
  Filesystem& fs;

  std::mutex cache_mutex;  // guards dirs and refs
  std::unordered_map<uint64_t, std::unique_ptr<DirIndex>> dirs;
  std::unordered_map<uint64_t, InodeRefs> refs;
  // Times of writes not yet committed (written at the next transaction that
  // touches the inode, or at fsync): avoids a journal commit per write().
  std::unordered_map<uint64_t, int64_t> pending_mtime;
  uint64_t fsyncs = 0;
  bool read_only = false;

  PoolMemory& pool() { return fs.pool_; }
  const format::PoolHeader& header() const { return fs.header_; }

  bool ino_in_range(uint64_t ino) const { return ino >= 1 && ino < fs.header_.inode_count; }
  uint64_t ino_offset(uint64_t ino) const { return inode_offset(fs.header_, ino); }
  // The inode as the pool holds it; NotFound for a free or out-of-range slot.
  Result<format::Inode> load(uint64_t ino) const;
  Result<format::Inode> load(const Transaction& txn, uint64_t ino) const;
  Result<format::Inode> load_dir(const Transaction& txn, uint64_t ino) const;
  // Journals the inode (folding in a pending mtime) with a fresh checksum.
  void store(Transaction& txn, uint64_t ino, format::Inode inode);
  // Allocator bookkeeping + journal commit + allocator verdict.
  Status commit(Transaction& txn);
  void fill_attr(uint64_t ino, const format::Inode& inode, Attr* out) const;

  // Directory index of `dir` (built on first use). Caller holds fs.lock_.
  DirIndex& dir_index(uint64_t dir, const format::Inode& inode);
  void drop_dir_index(uint64_t dir);

  void add_lookup(uint64_t ino);
  bool referenced(uint64_t ino);
  // Frees an inode with no links and no references: its blocks (in bounded
  // transactions), its xattr block and its slot. Caller holds lock_ exclusively.
  Status reclaim(uint64_t ino);
  // Frees blocks of `ino` for file blocks [first, end) in bounded
  // transactions; the inode's other fields are taken as they are on the pool.
  Status punch_blocks(uint64_t ino, uint64_t first, uint64_t end);
  // Creates an inode and its directory entry in one transaction.
  Status create_node(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev,
                     const Caller& caller, std::string_view symlink_target, Attr* out);
  Status remove_entry(uint64_t parent, std::string_view name, bool want_dir);
  Status commit_pending_times(uint64_t ino);
  // Undoes the DRAM side of a transaction that will not be committed.
  void abort(const Transaction& txn);
};

// Aborts a transaction on every path that leaves without committing it.
class AbortGuard {
 public:
  AbortGuard(Filesystem::Impl& im, const Transaction& txn) : im_(im), txn_(txn) {}
  ~AbortGuard() {
    if (armed_) im_.abort(txn_);
  }
  void dismiss() { armed_ = false; }
  AbortGuard(const AbortGuard&) = delete;
  AbortGuard& operator=(const AbortGuard&) = delete;

 private:
  Filesystem::Impl& im_;
  const Transaction& txn_;
  bool armed_ = true;
};

// Zeroes the tail of the last block past EOF before a file grows (fs/attr.cc).
void zero_tail_for_extend(PoolMemory& pool, const BlockMap& map, const format::Inode& inode,
                          uint64_t new_size);

}  // namespace hapm
