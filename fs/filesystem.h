// The hapm filesystem core: POSIX semantics on a PoolMemory, with no FUSE
// inside, so tests and tools drive it in-process.
//
// Thread-safe: operations that change the pool take the filesystem lock
// exclusively, lookups and reads share it. Each changing operation is one
// journal transaction (large truncates and reclaims: a series of them, each
// leaving a consistent filesystem).
//
// Inode references: every call that returns an entry (lookup, create, mknod,
// mkdir, symlink, link) takes one kernel reference on the inode, dropped by
// forget(). An unlinked inode's space is reclaimed once it has no links, no
// references and no open handles (or at the next mount, after a crash).
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "fs/allocator.h"
#include "fs/journal.h"
#include "fs/pool_format.h"
#include "fs/pool_memory.h"

namespace hapm {

struct Attr {
  uint64_t ino = 0;
  uint64_t generation = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t blocks_512 = 0;  // st_blocks (512-byte units)
  uint64_t rdev = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  void to_stat(struct stat* st) const;
};

struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct SetAttrRequest {
  bool set_mode = false, set_uid = false, set_gid = false, set_size = false;
  bool set_atime = false, set_mtime = false, set_ctime = false;
  bool atime_now = false, mtime_now = false;
  uint32_t mode = 0, uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
};

struct DirEntryView {
  std::string_view name;
  uint64_t ino;
  uint32_t type;         // DT_* value
  uint64_t next_offset;  // the readdir cookie that resumes after this entry
};

struct FsStats {
  uint64_t block_size = format::kBlockSize;
  uint64_t total_blocks = 0;  // blocks available for data (excludes metadata areas)
  uint64_t free_blocks = 0;
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  uint64_t name_max = format::kNameMax;
};

struct RecoveryReport {
  bool was_clean = true;            // the last mount ended with a clean unmount
  bool header_from_backup = false;  // the primary header was damaged
  bool journal_replayed = false;
  uint64_t journal_seq = 0;
  uint32_t journal_records = 0;
  uint64_t orphans_reclaimed = 0;  // unlinked-but-open inodes freed after a crash
  uint64_t blocks_trimmed = 0;     // blocks past end-of-file freed (interrupted truncate)
  std::string unsafe_shutdowns;    // "unknown", or "N (unchanged)" / "N (changed: was M)"
  std::string summary() const;
};

// Where consistency points go (the replicator implements it). Filesystem::
// fsync calls close_cp() with the filesystem lock held exclusively, after
// the local flush: no operation is half done and the pool bytes are exactly
// this consistency point's, so the sink may read (and send) them in place.
// wait_cp() is called after the lock is released, with close_cp()'s ticket.
class ConsistencyPointSink {
 public:
  virtual ~ConsistencyPointSink() = default;
  virtual Result<uint64_t> close_cp() = 0;
  virtual Status wait_cp(uint64_t ticket) = 0;
};

struct MountOptions {
  // Device unsafe-shutdown count, when the platform reports one (R21).
  std::optional<uint64_t> unsafe_shutdown_count;
  bool read_only = false;
};

class Filesystem {
 public:
  // Validates the header, runs recovery, marks the pool as in use (not clean).
  static Result<std::unique_ptr<Filesystem>> mount(PoolMemory& pool, const MountOptions& options,
                                                   RecoveryReport* report);
  // Recovery alone (see fs/recovery.h): used by mount and by fsck.
  static Result<format::PoolHeader> recover(PoolMemory& pool, RecoveryReport* report);
  ~Filesystem();
  // Reclaims what can be reclaimed, flushes and marks the pool clean.
  Status unmount();

  Status lookup(uint64_t parent, std::string_view name, Attr* out);
  void forget(uint64_t ino, uint64_t count);
  Status getattr(uint64_t ino, Attr* out);
  Status setattr(uint64_t ino, const SetAttrRequest& req, Attr* out);
  Status readlink(uint64_t ino, std::string* target);

  Status mknod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev,
               const Caller& caller, Attr* out);
  Status mkdir(uint64_t parent, std::string_view name, uint32_t mode, const Caller& caller,
               Attr* out);
  Status symlink(uint64_t parent, std::string_view name, std::string_view target,
                 const Caller& caller, Attr* out);
  Status link(uint64_t ino, uint64_t new_parent, std::string_view new_name, Attr* out);
  Status unlink(uint64_t parent, std::string_view name);
  Status rmdir(uint64_t parent, std::string_view name);
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
  Status rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                std::string_view new_name, unsigned flags);

  // Readdir from cookie `offset` (0 = start; "." and ".." included). `emit`
  // returns false when the caller's buffer is full.
  Status readdir(uint64_t ino, uint64_t offset,
                 const std::function<bool(const DirEntryView&)>& emit);

  Status open(uint64_t ino, int flags);
  void release(uint64_t ino);
  // Calls `consume` with iovecs pointing into the pool (holes read from a
  // zero page); valid only during the call.
  Status read(uint64_t ino, uint64_t offset, size_t size,
              const std::function<void(const struct iovec*, int)>& consume);
  // All or nothing for space: NoSpace leaves size and allocation unchanged
  // (bytes over existing blocks may already be overwritten, as with any
  // failed write). *allocated says the file's block count changed.
  Result<size_t> write(uint64_t ino, uint64_t offset, const void* data, size_t size,
                       bool* allocated = nullptr);
  // mode: 0 (allocate, extend size), FALLOC_FL_KEEP_SIZE (within EOF),
  // FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE.
  Status fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length);
  // SEEK_DATA / SEEK_HOLE.
  Result<uint64_t> seek_data_hole(uint64_t ino, uint64_t offset, int whence);
  // The FSYNC hook: every fsync/fdatasync/msync lands here and makes all
  // pool stores so far durable. It is where a consistency point closes.
  Status fsync(uint64_t ino, bool datasync);

  Status setxattr(uint64_t ino, std::string_view name, std::string_view value, int flags);
  Status getxattr(uint64_t ino, std::string_view name, std::string* value);
  Status listxattr(uint64_t ino, std::string* names);  // NUL-separated
  Status removexattr(uint64_t ino, std::string_view name);

  FsStats statfs();
  const format::PoolHeader& header() const { return header_; }
  PoolMemory& pool() { return pool_; }
  uint64_t journal_commits() const { return journal_.commits(); }
  uint64_t journal_seq() const { return journal_.last_seq(); }
  uint64_t fsync_count() const;
  // Receiver of consistency points (nullptr: none). Set before serving.
  void set_cp_sink(ConsistencyPointSink* sink) { cp_sink_ = sink; }
  // Runs `fn` while no operation can change the pool (readers may go on):
  // a consistent, stable view of every pool byte.
  void with_pool_stable(const std::function<void()>& fn);
  // Runs `fn` while no other operation runs at all.
  void with_pool_exclusive(const std::function<void()>& fn);

  struct Impl;

 private:
  Filesystem(PoolMemory& pool, const format::PoolHeader& header, uint64_t journal_seq);
  PoolMemory& pool_;
  format::PoolHeader header_;
  Journal journal_;
  BlockAllocator blocks_;
  InodeAllocator inodes_;
  std::shared_mutex lock_;
  ConsistencyPointSink* cp_sink_ = nullptr;
  std::unique_ptr<Impl> impl_;
  friend struct FsOps;
};

}  // namespace hapm
