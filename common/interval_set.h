// A set of byte ranges [begin, end) that merges overlapping and touching
// ranges as they are added. Used for the pool's dirty ranges: what must be
// flushed at the next fsync, and later what a consistency point ships.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace hapm {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;  // exclusive
  uint64_t length() const { return end - begin; }
  bool operator==(const Range&) const = default;
};

class IntervalSet {
 public:
  void add(uint64_t begin, uint64_t end);
  bool empty() const { return ranges_.empty(); }
  size_t range_count() const { return ranges_.size(); }
  uint64_t total_bytes() const { return bytes_; }
  bool contains(uint64_t offset) const;
  std::vector<Range> ranges() const;
  // Moves every range out, leaving the set empty.
  std::vector<Range> take();
  void clear() {
    ranges_.clear();
    bytes_ = 0;
  }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end, disjoint, not touching
  uint64_t bytes_ = 0;
};

}  // namespace hapm
