// A mapped pool: its bytes, its persistence domain, and the dirty ranges that
// the next fsync must flush. Everything above the pool (journal, allocator,
// filesystem) works on a PoolMemory, so tests can run the filesystem on an
// in-memory pool with a recording domain.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>

#include "common/interval_set.h"
#include "fs/persist.h"

namespace hapm {

class PoolMemory {
 public:
  PoolMemory(uint8_t* base, uint64_t size, PersistDomain& domain)
      : base_(base), size_(size), domain_(domain) {}
  PoolMemory(const PoolMemory&) = delete;
  PoolMemory& operator=(const PoolMemory&) = delete;

  uint64_t size() const { return size_; }
  const uint8_t* data() const { return base_; }
  const uint8_t* at(uint64_t offset) const {
    assert(offset <= size_);
    return base_ + offset;
  }
  template <class T>
  T load(uint64_t offset) const {
    assert(offset + sizeof(T) <= size_);
    T value;
    std::memcpy(&value, base_ + offset, sizeof(T));
    return value;
  }
  bool contains(uint64_t offset, uint64_t len) const {
    return offset <= size_ && len <= size_ - offset;
  }

  // Stores bytes; they become durable at the next flush_dirty() or persist().
  void write(uint64_t offset, const void* src, size_t len, StoreKind kind = StoreKind::Metadata) {
    assert(contains(offset, len));
    if (intent_) intent_(offset, offset + len);
    domain_.store(base_ + offset, src, len, kind);
    note_written(offset, len);
  }
  void zero(uint64_t offset, size_t len) {
    assert(contains(offset, len));
    if (intent_) intent_(offset, offset + len);
    domain_.fill(base_ + offset, 0, len);
    note_written(offset, len);
  }
  // Stores bytes that no hook sees and that flush_dirty() does not cover:
  // for the replication dirty map, which records the other writes, persists
  // itself, and is never replicated.
  void write_untracked(uint64_t offset, const void* src, size_t len) {
    assert(contains(offset, len));
    domain_.store(base_ + offset, src, len, StoreKind::Metadata);
  }
  void write_untracked_persist(uint64_t offset, const void* src, size_t len) {
    write_untracked(offset, src, len);
    domain_.persist(base_ + offset, len);
  }
  // Makes one range durable now (flush + drain).
  void persist(uint64_t offset, size_t len) { domain_.persist(base_ + offset, len); }
  void flush(uint64_t offset, size_t len) { domain_.flush(base_ + offset, len); }
  void drain() { domain_.drain(); }

  // Flushes every range written since the last call, then drains: after it
  // returns, every store made before it is durable. The fsync path.
  void flush_dirty() {
    for (const Range& r : unflushed_.take()) domain_.flush(base_ + r.begin, r.length());
    domain_.drain();
  }
  bool has_unflushed() const { return !unflushed_.empty(); }

  // Called with every range [begin, end) *before* it is stored: the dirty
  // map's write-ahead intent (fs/dirty_map.h). One hook.
  void set_write_intent(std::function<void(uint64_t, uint64_t)> intent) {
    intent_ = std::move(intent);
  }
  // Called with every range [begin, end) after it is stored: the
  // replicator's consistency-point tracking. One observer.
  void set_write_observer(std::function<void(uint64_t, uint64_t)> observer) {
    observer_ = std::move(observer);
  }
  PersistDomain& domain() { return domain_; }

 private:
  void note_written(uint64_t offset, size_t len) {
    unflushed_.add(offset, offset + len);
    if (observer_) observer_(offset, offset + len);
  }

  uint8_t* base_;
  uint64_t size_;
  PersistDomain& domain_;
  IntervalSet unflushed_;
  std::function<void(uint64_t, uint64_t)> intent_;
  std::function<void(uint64_t, uint64_t)> observer_;
};

}  // namespace hapm
