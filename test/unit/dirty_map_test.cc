// The replication dirty map: write-ahead intent bits in the pool.
#include "fs/dirty_map.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "fs/pool_header.h"
#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::TestFs;

std::unique_ptr<DirtyMap> attach(TestFs& t) {
  auto h = read_header(t.pool().memory());
  REQUIRE(h.is_ok());
  auto map = DirtyMap::attach(t.pool().memory(), *h);
  INFO(map.status().to_string());
  REQUIRE(map.is_ok());
  return std::move(map.value());
}

ReplicaId some_id(uint8_t seed) {
  ReplicaId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(seed + i);
  return id;
}

// A domain that logs every store and fence, to check ordering.
class OrderDomain final : public PersistDomain {
 public:
  struct Event {
    enum Kind { Store, Drain } kind;
    const uint8_t* addr;
    size_t len;
  };
  std::vector<Event> events;
  void store(void* dst, const void* src, size_t len, StoreKind) override {
    std::memmove(dst, src, len);
    events.push_back({Event::Store, static_cast<uint8_t*>(dst), len});
  }
  void fill(void* dst, int byte, size_t len) override {
    std::memset(dst, byte, len);
    events.push_back({Event::Store, static_cast<uint8_t*>(dst), len});
  }
  void flush(const void*, size_t) override {}
  void drain() override { events.push_back({Event::Drain, nullptr, 0}); }
  std::string describe() const override { return "order-recording (tests)"; }
};

TEST_CASE("a fresh pool records no replica and no dirty chunk", "[dirty_map]") {
  TestFs t(64ull << 20);
  t.drop();
  auto map = attach(t);
  CHECK_FALSE(map->replica_id().has_value());
  CHECK(map->chunk_bytes() == 64 * 1024);
  CHECK(map->chunk_count() == 1024);
  auto h = read_header(t.pool().memory());
  REQUIRE(h.is_ok());
  CHECK(map->map_range().begin == h->dirty_map_block * format::kBlockSize);
  CHECK(map->map_range().end == h->data_block * format::kBlockSize);
}

TEST_CASE("every pool write marks its chunks dirty, and the bits survive a reattach",
          "[dirty_map]") {
  TestFs t(64ull << 20);
  t.drop();
  {
    auto map = attach(t);
    map->reset_for_replica(some_id(1));
    map->set_open_cp(5);
    CHECK(map->clear_synced(5) == map->chunk_count());  // nothing written after reset
    CHECK(map->dirty_count() == 0);
    t.mount();  // recovery + mount-count header update write through the hook
    const uint64_t f = t.make_file(format::kRootIno, "f");
    t.write(f, 0, test::pattern(300000, 3));
    CHECK(map->dirty_count() > 0);
    // The header block (mount count) and the file's data are marked.
    CHECK(map->is_dirty(0));
    const auto dirty = map->dirty_chunks();
    CHECK(dirty.size() == map->dirty_count());
    t.drop();  // crash: no unmount
  }
  auto again = attach(t);
  CHECK(again->replica_id() == some_id(1));
  CHECK(again->is_dirty(0));
  CHECK(again->dirty_count() > 0);
}

TEST_CASE("a chunk's bit is durable before the first store into the chunk", "[dirty_map]") {
  TestFs t(64ull << 20);
  const uint64_t f = t.make_file(format::kRootIno, "f");
  t.drop();
  // Rebuild the pool on an order-recording domain.
  std::vector<uint8_t> image = t.pool().bytes();
  OrderDomain domain;
  PoolMemory pool(image.data(), image.size(), domain);
  auto h = read_header(pool);
  REQUIRE(h.is_ok());
  auto map_r = DirtyMap::attach(pool, *h);
  REQUIRE(map_r.is_ok());
  auto& map = *map_r.value();
  map.reset_for_replica(some_id(2));
  map.clear_synced(map.open_cp());
  REQUIRE(map.dirty_count() == 0);
  RecoveryReport report;
  auto fs = Filesystem::mount(pool, MountOptions{}, &report);
  REQUIRE(fs.is_ok());
  domain.events.clear();
  auto w = (*fs)->write(f, 0, test::pattern(8192, 9).data(), 8192);
  REQUIRE(w.is_ok());
  // For every store outside the map: its chunk's bit word was stored and a
  // drain happened before it.
  const uint8_t* base = pool.data();
  const Range mr = map.map_range();
  const uint64_t bits_offset = mr.begin + format::kBlockSize;
  size_t checked = 0;
  for (size_t i = 0; i < domain.events.size(); ++i) {
    const auto& e = domain.events[i];
    if (e.kind != OrderDomain::Event::Store) continue;
    const uint64_t off = static_cast<uint64_t>(e.addr - base);
    if (off >= mr.begin && off < mr.end) continue;
    const uint64_t word_offset = bits_offset + ((off >> h->dirty_chunk_shift) / 64) * 8;
    bool word_stored = false, drained_after = false;
    for (size_t j = 0; j < i; ++j) {
      const auto& p = domain.events[j];
      if (p.kind == OrderDomain::Event::Store &&
          static_cast<uint64_t>(p.addr - base) == word_offset) {
        word_stored = true;
        drained_after = false;
      } else if (p.kind == OrderDomain::Event::Drain && word_stored) {
        drained_after = true;
      }
    }
    INFO("store at pool offset " << off);
    CHECK(word_stored);
    CHECK(drained_after);
    ++checked;
  }
  CHECK(checked > 0);
  REQUIRE((*fs)->unmount().is_ok());
}

TEST_CASE("clear_synced keeps chunks written after the acknowledged point", "[dirty_map]") {
  TestFs t(64ull << 20);
  const uint64_t a = t.make_file(format::kRootIno, "a");
  const uint64_t b = t.make_file(format::kRootIno, "b");
  // Each file gets data in its own region of the pool.
  t.write(a, 0, test::pattern(4096, 1));
  t.write(b, 0, test::pattern(4096, 2));
  t.write(b, 0, test::zeros(6u << 20));  // b spreads over many chunks
  t.drop();
  auto map = attach(t);
  map->reset_for_replica(some_id(3));
  map->set_open_cp(10);
  map->clear_synced(10);
  REQUIRE(map->dirty_count() == 0);
  t.mount();
  map->set_open_cp(11);
  t.write(a, 0, test::pattern(4096, 4));  // CP 11
  const uint64_t dirty_after_11 = map->dirty_count();
  map->set_open_cp(12);
  map->set_watch(true);
  t.write(b, 5u << 20, test::pattern(4096, 5));  // CP 12: a chunk far from a's
  const auto touched_12 = map->take_touched();
  map->set_watch(false);
  REQUIRE(map->dirty_count() > dirty_after_11);
  map->clear_synced(11);
  // Exactly what CP 12 touched stays dirty (chunks both points touched, like
  // the journal's, carry CP 12).
  CHECK(map->dirty_chunks() == touched_12);
  map->clear_synced(12);
  CHECK(map->dirty_count() == 0);
}

TEST_CASE("reset_for_replica marks everything dirty and records the id durably", "[dirty_map]") {
  TestFs t(64ull << 20);
  t.drop();
  {
    auto map = attach(t);
    map->reset_for_replica(some_id(7));
    CHECK(map->dirty_count() == map->chunk_count());
  }
  {
    auto map = attach(t);
    CHECK(map->replica_id() == some_id(7));
    CHECK(map->dirty_count() == map->chunk_count());
    map->forget_replica();
  }
  auto map = attach(t);
  CHECK_FALSE(map->replica_id().has_value());
}

TEST_CASE("a damaged map header reads as no replica recorded", "[dirty_map]") {
  TestFs t(64ull << 20);
  t.drop();
  Range mr;
  {
    auto map = attach(t);
    map->reset_for_replica(some_id(9));
    mr = map->map_range();
  }
  t.pool().bytes()[mr.begin + 12] ^= 0x40;  // inside replica_id
  auto map = attach(t);
  CHECK_FALSE(map->replica_id().has_value());
  CHECK(map->dirty_count() == map->chunk_count());  // the bits were kept
}

TEST_CASE("the resync watch hands out chunks written while watching, once", "[dirty_map]") {
  TestFs t(64ull << 20);
  const uint64_t f = t.make_file(format::kRootIno, "f");
  t.drop();
  auto map = attach(t);
  t.mount();
  t.write(f, 0, test::pattern(4096, 1));
  map->set_watch(true);
  CHECK(map->take_touched().empty());
  t.write(f, 0, test::pattern(4096, 2));
  const auto touched = map->take_touched();
  CHECK_FALSE(touched.empty());
  for (uint64_t c : touched) CHECK(map->is_dirty(c));
  CHECK(map->take_touched().empty());
  map->set_watch(false);
  t.write(f, 0, test::pattern(4096, 3));
  CHECK(map->take_touched().empty());
}

TEST_CASE("a pool without a dirty map is refused with NotSupported", "[dirty_map]") {
  TestFs t(64ull << 20);
  t.drop();
  auto h = read_header(t.pool().memory());
  REQUIRE(h.is_ok());
  format::PoolHeader old = *h;
  old.dirty_map_blocks = 0;
  auto map = DirtyMap::attach(t.pool().memory(), old);
  CHECK(map.status().code() == Code::NotSupported);
}

}  // namespace
}  // namespace hapm
