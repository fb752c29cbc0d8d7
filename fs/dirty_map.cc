#include "fs/dirty_map.h"

#include <algorithm>
#include <cstring>

#include "common/crc32c.h"

namespace hapm {

using format::kBlockSize;

namespace {

uint32_t map_header_crc(const format::DirtyMapHeader& h) {
  return crc32c(&h, offsetof(format::DirtyMapHeader, crc));
}

bool is_zero(const ReplicaId& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

DirtyMap::DirtyMap(PoolMemory& pool, const format::PoolHeader& h)
    : pool_(pool),
      shift_(h.dirty_chunk_shift),
      chunk_count_(((h.pool_size - 1) >> h.dirty_chunk_shift) + 1),
      map_{h.dirty_map_block * kBlockSize, h.data_block * kBlockSize},
      header_offset_(h.dirty_map_block * kBlockSize),
      bits_offset_((h.dirty_map_block + 1) * kBlockSize) {
  bits_.assign((chunk_count_ + 63) / 64, 0);
  last_cp_.assign(chunk_count_, 0);
  touched_.assign(bits_.size(), 0);
}

Result<std::unique_ptr<DirtyMap>> DirtyMap::attach(PoolMemory& pool, const format::PoolHeader& h) {
  if (h.dirty_map_blocks == 0)
    return Status(Code::NotSupported, "pool has no replication dirty map (made by an older hapm)");
  const uint64_t chunks = ((h.pool_size - 1) >> h.dirty_chunk_shift) + 1;
  if (!pool.contains(h.dirty_map_block * kBlockSize, h.dirty_map_blocks * kBlockSize) ||
      (h.dirty_map_blocks - 1) * kBlockSize * 8 < chunks)
    return Status(Code::Corruption, "dirty map geometry does not fit the pool");
  std::unique_ptr<DirtyMap> map(new DirtyMap(pool, h));

  // The header names the replica the bits are relative to; a damaged header
  // (or one from another geometry) means "no replica": start over, all dirty.
  auto header = pool.load<format::DirtyMapHeader>(map->header_offset_);
  bool header_ok = header.magic == format::kDirtyMapMagic && header.crc == map_header_crc(header) &&
                   header.chunk_count == chunks;
  for (uint64_t w = 0; w < map->bits_.size(); ++w) {
    uint64_t word = pool.load<uint64_t>(map->bits_offset_ + w * 8);
    if (w == map->bits_.size() - 1 && chunks % 64) word &= ~(~uint64_t{0} << (chunks % 64));
    map->bits_[w] = word;
    map->dirty_count_ += static_cast<uint64_t>(__builtin_popcountll(word));
  }
  if (header_ok) {
    ReplicaId id;
    std::memcpy(id.data(), header.replica_id, id.size());
    if (!is_zero(id)) map->replica_id_ = id;
  } else {
    map->forget_replica();
  }
  DirtyMap* raw = map.get();
  pool.set_write_intent([raw](uint64_t begin, uint64_t end) { raw->on_write(begin, end); });
  return map;
}

DirtyMap::~DirtyMap() {
  pool_.set_write_intent(nullptr);
}

Range DirtyMap::chunk_range(uint64_t c) const {
  const uint64_t begin = c << shift_;
  return Range{begin, std::min(pool_.size(), begin + chunk_bytes())};
}

std::optional<ReplicaId> DirtyMap::replica_id() const {
  return replica_id_;
}

void DirtyMap::write_header(const ReplicaId& id) {
  format::DirtyMapHeader h{};
  h.magic = format::kDirtyMapMagic;
  std::memcpy(h.replica_id, id.data(), id.size());
  h.chunk_count = chunk_count_;
  h.crc = map_header_crc(h);
  pool_.write_untracked_persist(header_offset_, &h, sizeof h);
  if (is_zero(id))
    replica_id_.reset();
  else
    replica_id_ = id;
}

void DirtyMap::reset_for_replica(const ReplicaId& id) {
  // Bits first, id second: a crash in between leaves everything dirty
  // relative to the old id, which resyncs everything anyway.
  for (uint64_t w = 0; w < bits_.size(); ++w) {
    uint64_t all = ~uint64_t{0};
    if (w == bits_.size() - 1 && chunk_count_ % 64) all = ~(~uint64_t{0} << (chunk_count_ % 64));
    if (bits_[w] == all) continue;
    bits_[w] = all;
    pool_.write_untracked(bits_offset_ + w * 8, &all, 8);
    pool_.flush(bits_offset_ + w * 8, 8);
  }
  pool_.drain();
  dirty_count_ = chunk_count_;
  write_header(id);
}

void DirtyMap::forget_replica() {
  write_header(ReplicaId{});
}

std::vector<uint64_t> DirtyMap::dirty_chunks() const {
  std::vector<uint64_t> out;
  out.reserve(dirty_count_);
  for (uint64_t w = 0; w < bits_.size(); ++w) {
    uint64_t word = bits_[w];
    while (word) {
      const int b = __builtin_ctzll(word);
      out.push_back(w * 64 + static_cast<uint64_t>(b));
      word &= word - 1;
    }
  }
  return out;
}

void DirtyMap::store_word(uint64_t w) {
  pool_.write_untracked_persist(bits_offset_ + w * 8, &bits_[w], 8);
}

void DirtyMap::set_bit_durably(uint64_t c) {
  bits_[c / 64] |= uint64_t{1} << (c % 64);
  ++dirty_count_;
  store_word(c / 64);
}

void DirtyMap::on_write(uint64_t begin, uint64_t end) {
  if (end <= begin) return;
  // The map's own bytes are written only through write_untracked_persist;
  // anything else inside it (mkfs zeroing the area) needs no tracking.
  if (begin >= map_.begin && end <= map_.end) return;
  const uint64_t first = begin >> shift_;
  const uint64_t last = std::min(chunk_count_ - 1, (end - 1) >> shift_);
  for (uint64_t c = first; c <= last; ++c) {
    last_cp_[c] = open_cp_;
    if (watching_) touched_[c / 64] |= uint64_t{1} << (c % 64);
    if (!is_dirty(c)) set_bit_durably(c);
  }
}

uint64_t DirtyMap::clear_synced(uint64_t acked_cp) {
  uint64_t cleared = 0;
  for (uint64_t w = 0; w < bits_.size(); ++w) {
    uint64_t word = bits_[w];
    if (word == 0) continue;
    uint64_t keep = word;
    while (word) {
      const int b = __builtin_ctzll(word);
      const uint64_t c = w * 64 + static_cast<uint64_t>(b);
      if (last_cp_[c] <= acked_cp) keep &= ~(uint64_t{1} << b);
      word &= word - 1;
    }
    if (keep == bits_[w]) continue;
    cleared += static_cast<uint64_t>(__builtin_popcountll(bits_[w] & ~keep));
    bits_[w] = keep;
    pool_.write_untracked(bits_offset_ + w * 8, &keep, 8);
    pool_.flush(bits_offset_ + w * 8, 8);
  }
  if (cleared) pool_.drain();
  dirty_count_ -= cleared;
  return cleared;
}

void DirtyMap::set_watch(bool on) {
  watching_ = on;
  std::fill(touched_.begin(), touched_.end(), 0);
}

std::vector<uint64_t> DirtyMap::take_touched() {
  std::vector<uint64_t> out;
  for (uint64_t w = 0; w < touched_.size(); ++w) {
    uint64_t word = std::exchange(touched_[w], 0);
    while (word) {
      const int b = __builtin_ctzll(word);
      out.push_back(w * 64 + static_cast<uint64_t>(b));
      word &= word - 1;
    }
  }
  return out;
}

}  // namespace hapm
