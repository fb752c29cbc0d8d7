#include "tools/fsck_repair.h"

namespace hapm::fsck {

Repairer::Repairer(PoolMemory& pool, uint64_t last_seq)
    : pool_(pool), journal_(pool, last_seq), txn_(std::make_unique<Transaction>(pool)) {}

void Repairer::put_bytes(uint64_t offset, const void* src, uint32_t len) {
  if (!ok()) return;
  // Keep each transaction well inside the journal; a record costs its header
  // plus the bytes padded to 8.
  const uint64_t cost = sizeof(format::JournalRecord) + ((len + 7) & ~uint64_t{7});
  if (pending_bytes_ + cost > journal_.capacity_bytes() / 2 && !txn_->empty()) {
    if (!commit().is_ok()) return;
  }
  if (overlaps_differently(offset, len) && !commit().is_ok()) return;
  txn_->put(offset, src, len);
  if (pending_.emplace(offset, len).second) pending_bytes_ += cost;
}

bool Repairer::overlaps_differently(uint64_t offset, uint32_t len) const {
  auto next = pending_.lower_bound(offset);
  if (next != pending_.end()) {
    if (next->first == offset) return next->second != len;
    if (next->first < offset + len) return true;
  }
  if (next != pending_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second > offset) return true;
  }
  return false;
}

void Repairer::write_fresh(uint64_t offset, const void* src, size_t len) {
  if (!ok()) return;
  pool_.write(offset, src, len);
}

Status Repairer::commit() {
  if (!ok()) return status_;
  if (txn_->empty()) {
    if (pool_.has_unflushed()) pool_.flush_dirty();
    return Status::ok();
  }
  Status s = journal_.commit(*txn_);
  if (!s.is_ok()) {
    status_ = Status(s.code(), "repair transaction failed: " + s.message());
    return status_;
  }
  txn_ = std::make_unique<Transaction>(pool_);
  pending_bytes_ = 0;
  pending_.clear();
  return Status::ok();
}

}  // namespace hapm::fsck
