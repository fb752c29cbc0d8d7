#include "common/interval_set.h"

#include <algorithm>
#include <cassert>

namespace hapm {

void IntervalSet::add(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  // First range that could touch [begin, end): the one starting at or before begin.
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) it = prev;
  }
  while (it != ranges_.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    bytes_ -= it->second - it->first;
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
  bytes_ += end - begin;
}

bool IntervalSet::contains(uint64_t offset) const {
  auto it = ranges_.upper_bound(offset);
  if (it == ranges_.begin()) return false;
  --it;
  return offset < it->second;
}

std::vector<Range> IntervalSet::ranges() const {
  std::vector<Range> out;
  out.reserve(ranges_.size());
  for (const auto& [b, e] : ranges_) out.push_back({b, e});
  return out;
}

std::vector<Range> IntervalSet::take() {
  std::vector<Range> out = ranges();
  clear();
  return out;
}

}  // namespace hapm
