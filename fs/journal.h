// The redo journal: makes one Transaction at a time atomic on the pool.
//
// Layout and commit protocol: fs/pool_format.h (JournalHeader) and
// docs/design.md. Five fences per transaction that carries data, four
// without: [data durable] -> [records durable] -> [commit header durable] ->
// [home locations durable] -> [applied_seq durable].
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "fs/pool_format.h"
#include "fs/transaction.h"

namespace hapm {

struct ReplayReport {
  bool replayed = false;  // a committed, unapplied transaction was found and applied
  uint64_t seq = 0;       // the last committed transaction number
  uint32_t records = 0;
};

class Journal {
 public:
  // Writes an empty journal (mkfs).
  static void format(PoolMemory& pool, uint64_t area_blocks);
  // Crash recovery: applies a committed but unapplied transaction, if any.
  // Every record is bounds-checked; a journal that points outside the pool
  // or into itself is reported as corruption and nothing is written.
  static Result<ReplayReport> replay(PoolMemory& pool);
  // Reads the journal state without changing anything (fsck's check).
  static Result<ReplayReport> inspect(const PoolMemory& pool);

  Journal(PoolMemory& pool, uint64_t last_seq);
  // Capacity of one transaction's payload.
  uint64_t capacity_bytes() const { return capacity_; }
  // Commits `txn` durably and applies it. Fails (with nothing written) only
  // when the transaction is larger than the journal.
  Status commit(const Transaction& txn);
  uint64_t last_seq() const { return seq_; }
  uint64_t commits() const { return commits_; }

 private:
  static uint64_t header_offset() { return format::kJournalBlock * format::kBlockSize; }
  static uint64_t payload_offset() { return header_offset() + format::kBlockSize; }

  PoolMemory& pool_;
  uint64_t capacity_;
  uint64_t area_blocks_;
  uint64_t seq_;
  uint64_t commits_ = 0;
};

}  // namespace hapm
