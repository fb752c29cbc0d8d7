// The redo journal on its own: a raw pool with only a journal in it, so every
// byte the journal writes (or must not write) can be checked.
#include "fs/journal.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "fs/pool_format.h"
#include "fs/ram_pool.h"
#include "fs/transaction.h"
#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using format::JournalHeader;
using format::JournalRecord;
using format::kBlockSize;

constexpr uint64_t kPoolSize = 1ull << 20;
constexpr uint64_t kAreaBlocks = format::kJournalBlocksMin;
constexpr uint64_t kHeaderOff = format::kJournalBlock * kBlockSize;
constexpr uint64_t kPayloadOff = kHeaderOff + kBlockSize;
constexpr uint64_t kAreaEnd = kHeaderOff + kAreaBlocks * kBlockSize;
// First byte past the journal: "metadata" home locations for the tests.
constexpr uint64_t kHome = kAreaEnd;

using test::FenceDomain;

struct JournalPool {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kPoolSize, 0);
  FenceDomain domain;
  PoolMemory memory{bytes.data(), bytes.size(), domain};
  JournalPool() { Journal::format(memory, kAreaBlocks); }
};

uint64_t load_u64(const std::vector<uint8_t>& image, uint64_t offset) {
  uint64_t v;
  std::memcpy(&v, image.data() + offset, sizeof v);
  return v;
}

uint64_t padded(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}

// Writes a committed-looking journal by hand, exactly as fs/pool_format.h
// describes it, without touching the home locations.
struct HandRecord {
  uint64_t offset;
  std::vector<uint8_t> bytes;
};
void write_journal_by_hand(std::vector<uint8_t>& image, uint64_t seq, uint64_t applied_seq,
                           const std::vector<HandRecord>& records) {
  std::vector<uint8_t> payload;
  for (const HandRecord& r : records) {
    JournalRecord rec{r.offset, static_cast<uint32_t>(r.bytes.size()), 0};
    const auto* p = reinterpret_cast<const uint8_t*>(&rec);
    payload.insert(payload.end(), p, p + sizeof rec);
    payload.insert(payload.end(), r.bytes.begin(), r.bytes.end());
    payload.resize(payload.size() + padded(r.bytes.size()) - r.bytes.size(), 0);
  }
  JournalHeader h{};
  h.magic = format::kJournalMagic;
  h.seq = seq;
  h.record_count = static_cast<uint32_t>(records.size());
  h.payload_bytes = payload.size();
  h.area_blocks = kAreaBlocks;
  h.payload_crc = crc32c(payload.data(), payload.size());
  h.header_crc = crc32c(&h, offsetof(JournalHeader, header_crc));
  h.applied_seq = applied_seq;
  std::memcpy(image.data() + kPayloadOff, payload.data(), payload.size());
  std::memcpy(image.data() + kHeaderOff, &h, sizeof h);
}

std::vector<uint8_t> filled(size_t n, uint8_t byte) {
  return std::vector<uint8_t>(n, byte);
}

TEST_CASE("a freshly formatted journal has nothing to replay", "[journal]") {
  JournalPool p;
  auto inspected = Journal::inspect(p.memory);
  REQUIRE(inspected.is_ok());
  CHECK_FALSE(inspected->replayed);
  CHECK(inspected->seq == 0);
  const std::vector<uint8_t> before = p.bytes;
  auto replayed = Journal::replay(p.memory);
  REQUIRE(replayed.is_ok());
  CHECK_FALSE(replayed->replayed);
  CHECK(p.bytes == before);
}

TEST_CASE("a committed transaction's bytes are at their home offsets", "[journal]") {
  JournalPool p;
  Journal journal(p.memory, 0);
  Transaction txn(p.memory);
  const uint64_t a = 0x1122334455667788ull;
  txn.put(kHome, a);
  txn.put(kHome + 8, uint64_t{42});  // adjacent: merged into one record
  std::vector<uint8_t> blob = filled(300, 0xC3);
  txn.put(kHome + 8192, blob.data(), static_cast<uint32_t>(blob.size()));
  CHECK(txn.merged_records().size() == 2);

  REQUIRE(journal.commit(txn).is_ok());
  CHECK(load_u64(p.bytes, kHome) == a);
  CHECK(load_u64(p.bytes, kHome + 8) == 42);
  CHECK(std::equal(blob.begin(), blob.end(), p.bytes.begin() + kHome + 8192));
  CHECK(p.bytes[kHome + 8192 + 300] == 0);
  CHECK(journal.last_seq() == 1);
  CHECK(journal.commits() == 1);

  // The journal is marked applied: nothing left for recovery.
  auto inspected = Journal::inspect(p.memory);
  REQUIRE(inspected.is_ok());
  CHECK_FALSE(inspected->replayed);
  CHECK(inspected->seq == 1);
}

TEST_CASE("a transaction sees its own pending writes before commit", "[journal]") {
  JournalPool p;
  Transaction txn(p.memory);
  CHECK(txn.get<uint64_t>(kHome) == 0);
  txn.put(kHome, uint64_t{7});
  CHECK(txn.get<uint64_t>(kHome) == 7);
  txn.put(kHome, uint64_t{9});  // replaces the earlier put
  CHECK(txn.get<uint64_t>(kHome) == 9);
  CHECK(load_u64(p.bytes, kHome) == 0);  // nothing on the pool yet
  CHECK(txn.merged_records().size() == 1);
  CHECK(txn.payload_bytes() == sizeof(JournalRecord) + 8);
}

TEST_CASE("sequence numbers grow by one per commit and empty transactions write nothing",
          "[journal]") {
  JournalPool p;
  Journal journal(p.memory, 0);
  for (uint64_t i = 1; i <= 5; ++i) {
    Transaction txn(p.memory);
    txn.put(kHome, i);
    REQUIRE(journal.commit(txn).is_ok());
    CHECK(journal.last_seq() == i);
    CHECK(load_u64(p.bytes, kHome) == i);
  }
  const std::vector<uint8_t> before = p.bytes;
  Transaction empty(p.memory);
  REQUIRE(journal.commit(empty).is_ok());
  CHECK(journal.last_seq() == 5);
  CHECK(p.bytes == before);
}

TEST_CASE("a transaction larger than the journal fails with NoSpace and writes nothing",
          "[journal]") {
  JournalPool p;
  Journal journal(p.memory, 0);
  const uint64_t capacity = journal.capacity_bytes();
  CHECK(capacity == (kAreaBlocks - 1) * kBlockSize);
  Transaction txn(p.memory);
  std::vector<uint8_t> big = filled(capacity, 0xEE);  // + record header > capacity
  REQUIRE(kHome + big.size() <= kPoolSize);
  txn.put(kHome, big.data(), static_cast<uint32_t>(big.size()));
  const std::vector<uint8_t> before = p.bytes;
  Status s = journal.commit(txn);
  CHECK(s.code() == Code::NoSpace);
  CHECK(p.bytes == before);
  CHECK(journal.last_seq() == 0);

  // A transaction that fits exactly still commits.
  Transaction fits(p.memory);
  std::vector<uint8_t> exact = filled(capacity - sizeof(JournalRecord), 0xEF);
  fits.put(kHome, exact.data(), static_cast<uint32_t>(exact.size()));
  REQUIRE(journal.commit(fits).is_ok());
  CHECK(p.bytes[kHome] == 0xEF);
  CHECK(p.bytes[kHome + exact.size() - 1] == 0xEF);
}

TEST_CASE("a committed but unapplied transaction is applied by replay", "[journal]") {
  // Crash images at every fence of one commit.
  JournalPool p;
  Journal journal(p.memory, 0);
  std::vector<std::vector<uint8_t>> images;
  p.domain.on_drain = [&] { images.push_back(p.bytes); };
  Transaction txn(p.memory);
  txn.put(kHome, uint64_t{0xAAAA});
  txn.put(kHome + 4096, uint64_t{0xBBBB});
  REQUIRE(journal.commit(txn).is_ok());
  p.domain.on_drain = nullptr;
  REQUIRE(images.size() >= 3);

  bool saw_committed_unapplied = false;
  for (size_t i = 0; i < images.size(); ++i) {
    INFO("image at fence " << i);
    RamPool crashed(images[i]);
    auto inspected = Journal::inspect(crashed.memory());
    REQUIRE(inspected.is_ok());
    const bool home_old = load_u64(images[i], kHome) == 0 && load_u64(images[i], kHome + 4096) == 0;
    if (inspected->replayed && home_old) saw_committed_unapplied = true;

    auto replayed = Journal::replay(crashed.memory());
    REQUIRE(replayed.is_ok());
    const uint64_t x = load_u64(crashed.bytes(), kHome);
    const uint64_t y = load_u64(crashed.bytes(), kHome + 4096);
    // All or nothing, never a mix.
    const bool all_new = x == 0xAAAA && y == 0xBBBB;
    const bool all_old = x == 0 && y == 0;
    CHECK((all_new || all_old));
    if (inspected->replayed) {
      CHECK(replayed->replayed);
      CHECK(replayed->seq == 1);
      CHECK(replayed->records == 2);
      CHECK(all_new);
    }
    // Replay marked the journal applied.
    auto after = Journal::inspect(crashed.memory());
    REQUIRE(after.is_ok());
    CHECK_FALSE(after->replayed);
  }
  CHECK(saw_committed_unapplied);
}

TEST_CASE("a hand-written committed journal is replayed onto the home offsets", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 7, 6, {{kHome, filled(5, 0x11)}, {kHome + 100, filled(13, 0x22)}});
  auto replayed = Journal::replay(p.memory);
  REQUIRE(replayed.is_ok());
  CHECK(replayed->replayed);
  CHECK(replayed->seq == 7);
  CHECK(replayed->records == 2);
  CHECK(p.bytes[kHome] == 0x11);
  CHECK(p.bytes[kHome + 4] == 0x11);
  CHECK(p.bytes[kHome + 5] == 0);  // padding is not written
  CHECK(p.bytes[kHome + 100] == 0x22);
  CHECK(p.bytes[kHome + 112] == 0x22);
  CHECK(p.bytes[kHome + 113] == 0);
  CHECK(load_u64(p.bytes, kHeaderOff + offsetof(JournalHeader, applied_seq)) == 7);

  // The next commit continues after the replayed sequence number.
  Journal journal(p.memory, replayed->seq);
  Transaction txn(p.memory);
  txn.put(kHome + 200, uint64_t{1});
  REQUIRE(journal.commit(txn).is_ok());
  CHECK(journal.last_seq() == 8);
}

TEST_CASE("replay is idempotent", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 3, 2, {{kHome, filled(64, 0x5A)}});
  REQUIRE(Journal::replay(p.memory).is_ok());
  const std::vector<uint8_t> once = p.bytes;
  auto again = Journal::replay(p.memory);
  REQUIRE(again.is_ok());
  CHECK_FALSE(again->replayed);
  CHECK(again->seq == 3);
  CHECK(p.bytes == once);

  // A crash after the home writes but before applied_seq: replaying the same
  // records a second time gives the same bytes.
  write_journal_by_hand(p.bytes, 3, 2, {{kHome, filled(64, 0x5A)}});
  REQUIRE(Journal::replay(p.memory).is_ok());
  CHECK(p.bytes == once);
}

TEST_CASE("an already applied transaction is not replayed again", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 4, 4, {{kHome, filled(8, 0x77)}});
  const std::vector<uint8_t> before = p.bytes;
  auto replayed = Journal::replay(p.memory);
  REQUIRE(replayed.is_ok());
  CHECK_FALSE(replayed->replayed);
  CHECK(replayed->seq == 4);
  CHECK(p.bytes == before);
}

TEST_CASE("a torn commit header is ignored and nothing is written", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 2, 1, {{kHome, filled(16, 0x99)}});
  p.bytes[kHeaderOff + offsetof(JournalHeader, header_crc)] ^= 0x01;
  const std::vector<uint8_t> before = p.bytes;
  auto inspected = Journal::inspect(p.memory);
  REQUIRE(inspected.is_ok());
  CHECK_FALSE(inspected->replayed);
  auto replayed = Journal::replay(p.memory);
  REQUIRE(replayed.is_ok());
  CHECK_FALSE(replayed->replayed);
  CHECK(p.bytes == before);
}

TEST_CASE("a torn payload is ignored and nothing is written", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 2, 1, {{kHome, filled(16, 0x99)}});
  p.bytes[kPayloadOff + sizeof(JournalRecord) + 3] ^= 0x40;
  const std::vector<uint8_t> before = p.bytes;
  auto replayed = Journal::replay(p.memory);
  REQUIRE(replayed.is_ok());
  CHECK_FALSE(replayed->replayed);
  CHECK(p.bytes == before);
}

TEST_CASE("a record pointing outside the pool is refused as corruption", "[journal]") {
  JournalPool p;
  // A good first record, then a bad one: the good one must not be applied either.
  write_journal_by_hand(p.bytes, 2, 1,
                        {{kHome, filled(8, 0x31)}, {kPoolSize - 4, filled(8, 0x32)}});
  const std::vector<uint8_t> before = p.bytes;
  auto replayed = Journal::replay(p.memory);
  REQUIRE_FALSE(replayed.is_ok());
  CHECK(replayed.status().code() == Code::Corruption);
  CHECK(p.bytes == before);
}

TEST_CASE("a record whose offset wraps around 64 bits is refused as corruption", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 2, 1, {{~0ull - 3, filled(8, 0x32)}});
  const std::vector<uint8_t> before = p.bytes;
  auto replayed = Journal::replay(p.memory);
  REQUIRE_FALSE(replayed.is_ok());
  CHECK(replayed.status().code() == Code::Corruption);
  CHECK(p.bytes == before);
}

TEST_CASE("a record pointing into the journal itself is refused as corruption", "[journal]") {
  for (uint64_t target : {kHeaderOff, kHeaderOff + 64, kPayloadOff + 4096, kAreaEnd - 4}) {
    INFO("record offset " << target);
    JournalPool p;
    write_journal_by_hand(p.bytes, 2, 1, {{kHome, filled(8, 0x41)}, {target, filled(8, 0x42)}});
    const std::vector<uint8_t> before = p.bytes;
    auto replayed = Journal::replay(p.memory);
    REQUIRE_FALSE(replayed.is_ok());
    CHECK(replayed.status().code() == Code::Corruption);
    CHECK(p.bytes == before);
  }
}

TEST_CASE("a record right after the journal area is accepted", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 2, 1, {{kAreaEnd, filled(8, 0x43)}});
  auto replayed = Journal::replay(p.memory);
  REQUIRE(replayed.is_ok());
  CHECK(replayed->replayed);
  CHECK(p.bytes[kAreaEnd] == 0x43);
}

TEST_CASE("a record count larger than the payload is refused as corruption", "[journal]") {
  JournalPool p;
  write_journal_by_hand(p.bytes, 2, 1, {{kHome, filled(8, 0x51)}});
  JournalHeader h;
  std::memcpy(&h, p.bytes.data() + kHeaderOff, sizeof h);
  h.record_count = 1000;
  h.header_crc = crc32c(&h, offsetof(JournalHeader, header_crc));
  std::memcpy(p.bytes.data() + kHeaderOff, &h, sizeof h);
  const std::vector<uint8_t> before = p.bytes;
  auto replayed = Journal::replay(p.memory);
  REQUIRE_FALSE(replayed.is_ok());
  CHECK(replayed.status().code() == Code::Corruption);
  CHECK(p.bytes == before);
}

TEST_CASE("a journal with a bad magic number is reported as corruption", "[journal]") {
  JournalPool p;
  p.bytes[kHeaderOff] ^= 0xFF;
  const std::vector<uint8_t> before = p.bytes;
  CHECK(Journal::inspect(p.memory).status().code() == Code::Corruption);
  CHECK(Journal::replay(p.memory).status().code() == Code::Corruption);
  CHECK(p.bytes == before);
}

}  // namespace
}  // namespace hapm
