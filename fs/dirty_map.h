// The replication dirty map of a pool (layout in fs/pool_format.h): which
// chunks may differ from the replica, kept durably in the pool itself so it
// survives a crash or restart of the primary (R14).
//
// Write-ahead intent: attach() installs PoolMemory's write-intent hook, which
// durably sets a chunk's bit before the first store into that chunk. Every
// process that writes a pool (mount, fsck --repair) attaches, so no change can
// escape the map; a bit is cleared only after the replica acknowledged a
// consistency point that holds the chunk's last change (clear_synced).
//
// Threading: the hook runs under the filesystem lock held exclusively (or in a
// single-threaded tool). Every other call that reads or changes bits must
// exclude writers too: call it inside Filesystem::with_pool_stable() or
// with_pool_exclusive().
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/interval_set.h"
#include "common/status.h"
#include "fs/pool_format.h"
#include "fs/pool_memory.h"

namespace hapm {

using ReplicaId = std::array<uint8_t, 16>;

class DirtyMap {
 public:
  // Reads the map of a pool whose header `h` was validated and installs the
  // write-intent hook. A damaged map header reads as "no replica recorded"
  // (the next connection does a full sync) and is rewritten.
  static Result<std::unique_ptr<DirtyMap>> attach(PoolMemory& pool, const format::PoolHeader& h);
  ~DirtyMap();  // removes the hook
  DirtyMap(const DirtyMap&) = delete;
  DirtyMap& operator=(const DirtyMap&) = delete;

  uint64_t chunk_bytes() const { return uint64_t{1} << shift_; }
  uint64_t chunk_count() const { return chunk_count_; }
  // Pool bytes of chunk `c`, clipped to the pool size.
  Range chunk_range(uint64_t c) const;
  // Pool bytes of the map itself: never shipped to a replica.
  Range map_range() const { return map_; }

  // The replica the bits are relative to; nullopt when none is recorded.
  std::optional<ReplicaId> replica_id() const;
  // Starts over relative to replica `id`: every chunk is marked dirty
  // (durably) before the id is recorded, so a crash between the two steps
  // still resyncs everything.
  void reset_for_replica(const ReplicaId& id);
  // Records "no replica": the next replicated mount does a full sync.
  void forget_replica();

  bool is_dirty(uint64_t c) const { return (bits_[c / 64] >> (c % 64)) & 1; }
  uint64_t dirty_count() const { return dirty_count_; }
  std::vector<uint64_t> dirty_chunks() const;

  // The consistency point that writes from now on belong to (the replicator
  // advances it when it closes a consistency point).
  void set_open_cp(uint64_t cp) { open_cp_ = cp; }
  uint64_t open_cp() const { return open_cp_; }
  // Durably clears every dirty chunk whose last write belongs to a
  // consistency point <= acked_cp; returns how many were cleared.
  uint64_t clear_synced(uint64_t acked_cp);

  // Resync support: while watching, every written chunk is also remembered
  // in a volatile set that take_touched() hands out and empties.
  void set_watch(bool on);
  std::vector<uint64_t> take_touched();

 private:
  DirtyMap(PoolMemory& pool, const format::PoolHeader& h);
  void on_write(uint64_t begin, uint64_t end);
  void set_bit_durably(uint64_t c);
  void store_word(uint64_t w);
  void write_header(const ReplicaId& id);

  PoolMemory& pool_;
  uint64_t shift_;
  uint64_t chunk_count_;
  Range map_;
  uint64_t header_offset_;
  uint64_t bits_offset_;
  std::vector<uint64_t> bits_;     // mirror of the on-pool bits
  std::vector<uint64_t> last_cp_;  // per chunk: the consistency point of its last write
  std::vector<uint64_t> touched_;  // resync watch set (bits)
  bool watching_ = false;
  uint64_t dirty_count_ = 0;
  uint64_t open_cp_ = 1;
  std::optional<ReplicaId> replica_id_;
};

}  // namespace hapm
