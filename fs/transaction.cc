#include "fs/transaction.h"

#include <cassert>

#include "fs/pool_format.h"

namespace hapm {

namespace {
uint64_t padded(uint64_t len) {
  return (len + 7) & ~uint64_t{7};
}
}  // namespace

void Transaction::put(uint64_t offset, const void* src, uint32_t len) {
  assert(pool_.contains(offset, len));
  auto it = records_.find(offset);
  if (it != records_.end()) {
    assert(it->second.size() == len && "objects in one txn must not partially overlap");
    std::memcpy(it->second.data(), src, len);
    return;
  }
#ifndef NDEBUG
  auto next = records_.lower_bound(offset);
  assert(next == records_.end() || next->first >= offset + len);
  if (next != records_.begin()) {
    auto prev = std::prev(next);
    assert(prev->first + prev->second.size() <= offset);
  }
#endif
  const auto* p = static_cast<const uint8_t*>(src);
  records_.emplace(offset, std::vector<uint8_t>(p, p + len));
}

bool Transaction::get_pending(uint64_t offset, void* dst, uint32_t len) const {
  auto it = records_.find(offset);
  if (it == records_.end()) return false;
  assert(it->second.size() == len);
  std::memcpy(dst, it->second.data(), len);
  return true;
}

std::vector<Transaction::Record> Transaction::merged_records() const {
  std::vector<Record> out;
  for (const auto& [offset, bytes] : records_) {
    if (!out.empty() && out.back().offset + out.back().bytes.size() == offset) {
      out.back().bytes.insert(out.back().bytes.end(), bytes.begin(), bytes.end());
    } else {
      out.push_back({offset, bytes});
    }
  }
  return out;
}

uint64_t Transaction::payload_bytes() const {
  uint64_t total = 0;
  for (const Record& r : merged_records())
    total += sizeof(format::JournalRecord) + padded(r.bytes.size());
  return total;
}

}  // namespace hapm
