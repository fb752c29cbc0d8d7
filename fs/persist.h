// The persistence seam: the only way bytes reach the pool.
//
// Chosen once when the pool is mapped. The real domain forwards to libpmem2's
// memcpy/memset/flush/drain functions for the mapping; tests substitute a
// recording domain that can rebuild what a power failure would have left
// (every store not yet flushed and drained may be lost).
#pragma once

#include <cstddef>
#include <string>

namespace hapm {

enum class StoreKind {
  Metadata,  // small, likely re-read soon: regular (temporal) stores
  Bulk,      // file data: non-temporal stores where the platform has them
};

class PersistDomain {
 public:
  virtual ~PersistDomain() = default;
  // Stores `len` bytes at `dst` (inside the pool). Not durable until the
  // range is flushed and a drain follows.
  virtual void store(void* dst, const void* src, size_t len, StoreKind kind) = 0;
  virtual void fill(void* dst, int byte, size_t len) = 0;
  // Starts write-back of the range; durability only after drain().
  virtual void flush(const void* addr, size_t len) = 0;
  // Waits until every flushed range is durable (the fence).
  virtual void drain() = 0;
  // What durability this domain gives, for logs and status.
  virtual std::string describe() const = 0;

  void persist(const void* addr, size_t len) {
    flush(addr, len);
    drain();
  }
};

}  // namespace hapm
