// fsck's write path: every repair goes through journal transactions, so a
// crash in the middle of a repair leaves a pool that recovery (and another
// fsck) can handle. Large repairs are split over several transactions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "common/status.h"
#include "fs/journal.h"
#include "fs/transaction.h"

namespace hapm::fsck {

class Repairer {
 public:
  // `last_seq`: the journal's last committed transaction.
  Repairer(PoolMemory& pool, uint64_t last_seq);

  // False once a commit failed; later writes are dropped (sticky).
  bool ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }

  // The value at `offset` as the pending repairs leave it. Objects are read
  // and written whole (an Inode, a Dirent, one 8-byte word), always with the
  // same size at a given offset.
  template <class T>
  T get(uint64_t offset) {
    // A pending object of another shape there: commit it, then read.
    if (overlaps_differently(offset, sizeof(T))) (void)commit();
    return txn_->get<T>(offset);
  }
  template <class T>
  void put(uint64_t offset, const T& value) {
    put_bytes(offset, &value, sizeof(T));
  }
  void put_bytes(uint64_t offset, const void* src, uint32_t len);
  // Writes a block nothing references yet (fresh): stored directly, made
  // durable by the next commit's first fence before anything points at it.
  void write_fresh(uint64_t offset, const void* src, size_t len);

  // Commits what is pending (nothing if nothing is).
  Status commit();
  uint64_t last_seq() const { return journal_.last_seq(); }
  uint64_t commits() const { return journal_.commits(); }

 private:
  bool overlaps_differently(uint64_t offset, uint32_t len) const;

  PoolMemory& pool_;
  Journal journal_;
  std::unique_ptr<Transaction> txn_;
  uint64_t pending_bytes_ = 0;  // upper bound of the journal payload of txn_
  // offset -> length of the objects in txn_: on a damaged pool one block can
  // be seen as two kinds of object (say a directory block that is also a map
  // node); a write partially overlapping a pending one starts a new txn.
  std::map<uint64_t, uint32_t> pending_;
  Status status_;
};

}  // namespace hapm::fsck
