#include "fs/journal.h"

#include <cstring>
#include <vector>

#include "common/crc32c.h"

namespace hapm {

using format::JournalHeader;
using format::JournalRecord;
using format::kBlockSize;

namespace {

uint64_t padded(uint64_t len) {
  return (len + 7) & ~uint64_t{7};
}

uint32_t header_crc(const JournalHeader& h) {
  return crc32c(&h, offsetof(JournalHeader, header_crc));
}

struct Decoded {
  JournalHeader header;
  bool committed = false;  // header and payload checksums are valid
};

// Validates the journal header; never reads outside the pool.
Result<Decoded> decode(const PoolMemory& pool) {
  const uint64_t hoff = format::kJournalBlock * kBlockSize;
  if (!pool.contains(hoff, kBlockSize))
    return Status(Code::Corruption, "pool too small for a journal");
  Decoded d;
  d.header = pool.load<JournalHeader>(hoff);
  const JournalHeader& h = d.header;
  if (h.magic != format::kJournalMagic)
    return Status(Code::Corruption, "journal header has a bad magic number");
  if (h.area_blocks < format::kJournalBlocksMin || h.area_blocks > format::kJournalBlocksMax ||
      !pool.contains(hoff, h.area_blocks * kBlockSize))
    return Status(Code::Corruption, "journal size field is out of range");
  if (header_crc(h) != h.header_crc) return d;  // torn or never-completed commit header
  const uint64_t capacity = (h.area_blocks - 1) * kBlockSize;
  if (h.payload_bytes > capacity) return d;
  if (crc32c(pool.at(hoff + kBlockSize), h.payload_bytes) != h.payload_crc) return d;
  d.committed = true;
  return d;
}

}  // namespace

void Journal::format(PoolMemory& pool, uint64_t area_blocks) {
  JournalHeader h{};
  h.magic = format::kJournalMagic;
  h.area_blocks = area_blocks;
  h.header_crc = header_crc(h);
  pool.write(header_offset(), &h, sizeof h);
  pool.persist(header_offset(), sizeof h);
}

Result<ReplayReport> Journal::inspect(const PoolMemory& pool) {
  auto decoded = decode(pool);
  if (!decoded.is_ok()) return decoded.status();
  ReplayReport report;
  const JournalHeader& h = decoded->header;
  report.seq = h.applied_seq;
  if (decoded->committed && h.seq > h.applied_seq) {
    report.replayed = true;  // "would replay"
    report.seq = h.seq;
    report.records = h.record_count;
  }
  return report;
}

Result<ReplayReport> Journal::replay(PoolMemory& pool) {
  auto decoded = decode(pool);
  if (!decoded.is_ok()) return decoded.status();
  const JournalHeader& h = decoded->header;
  ReplayReport report;
  report.seq = std::max(h.applied_seq, decoded->committed ? h.seq : 0);
  if (!decoded->committed || h.seq <= h.applied_seq) return report;

  // Validate every record before writing any.
  const uint64_t area_end = header_offset() + h.area_blocks * kBlockSize;
  struct Apply {
    uint64_t offset;
    uint64_t src;
    uint32_t len;
  };
  std::vector<Apply> applies;
  uint64_t pos = payload_offset();
  const uint64_t end = pos + h.payload_bytes;
  for (uint32_t i = 0; i < h.record_count; ++i) {
    if (end - pos < sizeof(JournalRecord))
      return Status(Code::Corruption, "journal record " + std::to_string(i) + " is truncated");
    JournalRecord r = pool.load<JournalRecord>(pos);
    pos += sizeof(JournalRecord);
    if (padded(r.length) > end - pos || !pool.contains(r.offset, r.length) ||
        (r.offset < area_end && r.offset + r.length > header_offset()))
      return Status(Code::Corruption, "journal record " + std::to_string(i) +
                                          " points outside the pool's metadata (offset " +
                                          std::to_string(r.offset) + ")");
    applies.push_back({r.offset, pos, r.length});
    pos += padded(r.length);
  }
  for (const Apply& a : applies) {
    pool.write(a.offset, pool.at(a.src), a.len);
    pool.flush(a.offset, a.len);
  }
  pool.drain();
  pool.write(header_offset() + offsetof(JournalHeader, applied_seq), &h.seq, sizeof h.seq);
  pool.persist(header_offset() + offsetof(JournalHeader, applied_seq), sizeof h.seq);
  report.replayed = true;
  report.seq = h.seq;
  report.records = h.record_count;
  return report;
}

Journal::Journal(PoolMemory& pool, uint64_t last_seq) : pool_(pool), seq_(last_seq) {
  auto h = pool.load<JournalHeader>(header_offset());
  area_blocks_ = h.area_blocks;
  capacity_ = (h.area_blocks - 1) * kBlockSize;
}

Status Journal::commit(const Transaction& txn) {
  if (txn.empty()) return Status::ok();
  std::vector<Transaction::Record> records = txn.merged_records();
  uint64_t payload = 0;
  for (const auto& r : records) payload += sizeof(JournalRecord) + padded(r.bytes.size());
  if (payload > capacity_)
    return Status(Code::NoSpace, "operation too large for the journal (" + std::to_string(payload) +
                                     " > " + std::to_string(capacity_) + " bytes)");

  // Fence 1: everything stored so far (file data, fresh blocks) is durable
  // before any metadata can point at it.
  if (pool_.has_unflushed()) pool_.flush_dirty();

  // Fences 2 and 3: records, then the commit header. A torn header fails
  // its checksum and reads as "not committed".
  std::vector<uint8_t> buf(payload, 0);
  uint64_t pos = 0;
  for (const auto& r : records) {
    JournalRecord rec{r.offset, static_cast<uint32_t>(r.bytes.size()), 0};
    std::memcpy(buf.data() + pos, &rec, sizeof rec);
    std::memcpy(buf.data() + pos + sizeof rec, r.bytes.data(), r.bytes.size());
    pos += sizeof rec + padded(r.bytes.size());
  }
  JournalHeader h = pool_.load<JournalHeader>(header_offset());
  h.magic = format::kJournalMagic;
  h.seq = seq_ + 1;
  h.record_count = static_cast<uint32_t>(records.size());
  h.payload_bytes = payload;
  h.area_blocks = area_blocks_;
  h.payload_crc = crc32c(buf.data(), buf.size());
  h.header_crc = header_crc(h);
  // The payload is durable before the header is written: a CRC cannot be
  // trusted to tell a new record from a stale one (a CRC over data that ends
  // in its own CRC is a constant, and inodes end in their CRC), so the header
  // alone is the commit mark and the payload checksum guards media damage.
  pool_.write(payload_offset(), buf.data(), buf.size());
  pool_.flush_dirty();
  pool_.write(header_offset(), &h, offsetof(JournalHeader, applied_seq));
  pool_.flush_dirty();

  // Fence 4: home locations.
  for (const auto& r : records) pool_.write(r.offset, r.bytes.data(), r.bytes.size());
  pool_.flush_dirty();

  // Fence 5: the journal is free again.
  seq_ = h.seq;
  pool_.write(header_offset() + offsetof(JournalHeader, applied_seq), &seq_, sizeof seq_);
  pool_.flush_dirty();
  ++commits_;
  return Status::ok();
}

}  // namespace hapm
