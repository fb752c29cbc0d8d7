// The block and inode allocators on a freshly made filesystem, driven with
// transactions and the journal directly.
#include "fs/allocator.h"

#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "fs/journal.h"
#include "fs/mkfs.h"
#include "fs/ram_pool.h"
#include "fs/transaction.h"

namespace hapm {
namespace {

struct AllocPool {
  RamPool ram;
  format::PoolHeader header{};
  explicit AllocPool(uint64_t size = 8ull << 20) : ram(size) {
    Status s = make_filesystem(ram.memory(), MkfsOptions{}, &header);
    INFO(s.to_string());
    REQUIRE(s.is_ok());
  }
  PoolMemory& memory() { return ram.memory(); }
  Journal journal() {
    auto inspected = Journal::inspect(ram.memory());
    REQUIRE(inspected.is_ok());
    return Journal(ram.memory(), inspected->seq);
  }
};

// prepare + commit + finish, as the filesystem does.
void commit(BlockAllocator& alloc, Journal& journal, Transaction& txn) {
  alloc.prepare(txn);
  Status s = journal.commit(txn);
  INFO(s.to_string());
  REQUIRE(s.is_ok());
  alloc.finish(txn, true);
}

TEST_CASE("mkfs leaves the metadata areas allocated and the data area free", "[allocator]") {
  AllocPool p;
  BlockAllocator alloc(p.memory(), p.header);
  CHECK(alloc.total_blocks() == p.header.block_count);
  CHECK(alloc.first_data_block() == p.header.data_block);
  for (uint64_t b = 0; b < p.header.data_block; ++b) {
    INFO("block " << b);
    REQUIRE(alloc.is_allocated(b));
  }
  CHECK(alloc.is_allocated(p.header.block_count));  // past the end
  CHECK(alloc.free_blocks() <= alloc.data_blocks());
  CHECK(alloc.free_blocks() + 8 > alloc.data_blocks());
}

TEST_CASE("allocating until NoSpace hands out distinct data blocks and keeps the reserve",
          "[allocator]") {
  AllocPool p;
  BlockAllocator alloc(p.memory(), p.header);
  const uint64_t free_at_start = alloc.free_blocks();
  Transaction txn(p.memory());
  std::set<uint64_t> seen;
  Status last;
  for (uint64_t i = 0; i <= p.header.block_count; ++i) {
    auto r = alloc.allocate(txn, i % 3 == 0 ? 0 : p.header.data_block + i * 7);
    if (!r.is_ok()) {
      last = r.status();
      break;
    }
    CHECK(r.value() >= p.header.data_block);
    CHECK(r.value() < p.header.block_count);
    CHECK(seen.insert(r.value()).second);
    CHECK(txn.is_fresh(r.value()));
  }
  CHECK(last.code() == Code::NoSpace);
  CHECK(alloc.free_blocks() == BlockAllocator::kReserveBlocks);
  CHECK(seen.size() == free_at_start - BlockAllocator::kReserveBlocks);
  // Still full on a second try.
  CHECK(alloc.allocate(txn, 0).status().code() == Code::NoSpace);
  alloc.finish(txn, false);
  CHECK(alloc.free_blocks() == free_at_start);
}

TEST_CASE("an aborted transaction returns its allocations", "[allocator]") {
  AllocPool p;
  BlockAllocator alloc(p.memory(), p.header);
  const uint64_t free_at_start = alloc.free_blocks();
  Transaction txn(p.memory());
  std::vector<uint64_t> got;
  for (int i = 0; i < 50; ++i) {
    auto r = alloc.allocate(txn, 0);
    REQUIRE(r.is_ok());
    got.push_back(r.value());
  }
  CHECK(alloc.free_blocks() == free_at_start - 50);
  alloc.finish(txn, false);
  CHECK(alloc.free_blocks() == free_at_start);
  for (uint64_t b : got) CHECK_FALSE(alloc.is_allocated(b));
  // Nothing reached the pool's bitmap.
  BlockAllocator reread(p.memory(), p.header);
  CHECK(reread.free_blocks() == free_at_start);
}

TEST_CASE("committed allocations are in the pool's bitmap", "[allocator]") {
  AllocPool p;
  Journal journal = p.journal();
  BlockAllocator alloc(p.memory(), p.header);
  const uint64_t free_at_start = alloc.free_blocks();
  Transaction txn(p.memory());
  std::vector<uint64_t> got;
  for (int i = 0; i < 100; ++i) {
    auto r = alloc.allocate(txn, got.empty() ? 0 : got.back());
    REQUIRE(r.is_ok());
    got.push_back(r.value());
  }
  commit(alloc, journal, txn);
  CHECK(alloc.free_blocks() == free_at_start - 100);

  BlockAllocator reread(p.memory(), p.header);
  CHECK(reread.free_blocks() == free_at_start - 100);
  for (uint64_t b : got) CHECK(reread.is_allocated(b));
}

TEST_CASE("a block freed in a transaction is not reused before that transaction commits",
          "[allocator]") {
  AllocPool p;
  Journal journal = p.journal();
  BlockAllocator alloc(p.memory(), p.header);

  // Three neighbours; b is the middle one, so "right after b - 1" is b.
  Transaction first(p.memory());
  std::vector<uint64_t> got;
  for (int i = 0; i < 3; ++i) {
    auto r = alloc.allocate(first, got.empty() ? 0 : got.back());
    REQUIRE(r.is_ok());
    got.push_back(r.value());
  }
  const uint64_t b = got[1];
  REQUIRE(got[0] == b - 1);
  REQUIRE(b - 1 >= p.header.data_block);
  commit(alloc, journal, first);
  const uint64_t free_after_alloc = alloc.free_blocks();

  Transaction freeing(p.memory());
  alloc.release(freeing, b);
  CHECK(alloc.is_allocated(b));
  CHECK(alloc.free_blocks() == free_after_alloc);

  // Another operation asks for a block right where b is.
  Transaction other(p.memory());
  auto r = alloc.allocate(other, b - 1);
  REQUIRE(r.is_ok());
  CHECK(r.value() != b);
  alloc.finish(other, false);

  commit(alloc, journal, freeing);
  CHECK_FALSE(alloc.is_allocated(b));
  CHECK(alloc.free_blocks() == free_after_alloc + 1);
  BlockAllocator reread(p.memory(), p.header);
  CHECK_FALSE(reread.is_allocated(b));

  // Now b may be handed out again.
  Transaction later(p.memory());
  auto again = alloc.allocate(later, b - 1);
  REQUIRE(again.is_ok());
  CHECK(again.value() == b);
  alloc.finish(later, false);
}

TEST_CASE("a freed block stays allocated when the freeing transaction aborts", "[allocator]") {
  AllocPool p;
  Journal journal = p.journal();
  BlockAllocator alloc(p.memory(), p.header);
  Transaction first(p.memory());
  auto got = alloc.allocate(first, 0);
  REQUIRE(got.is_ok());
  commit(alloc, journal, first);
  const uint64_t free_before = alloc.free_blocks();

  Transaction freeing(p.memory());
  alloc.release(freeing, got.value());
  alloc.finish(freeing, false);
  CHECK(alloc.is_allocated(got.value()));
  CHECK(alloc.free_blocks() == free_before);
}

TEST_CASE("the free count follows allocations and frees across commits", "[allocator]") {
  AllocPool p;
  Journal journal = p.journal();
  BlockAllocator alloc(p.memory(), p.header);
  const uint64_t free_at_start = alloc.free_blocks();
  std::vector<uint64_t> owned;
  for (int round = 0; round < 10; ++round) {
    Transaction txn(p.memory());
    for (int i = 0; i < 30; ++i) {
      auto r = alloc.allocate(txn, 0);
      REQUIRE(r.is_ok());
      owned.push_back(r.value());
    }
    // Free every third block owned so far (older ones).
    std::vector<uint64_t> keep;
    for (size_t i = 0; i + 30 < owned.size(); ++i) {
      if (i % 3 == 0)
        alloc.release(txn, owned[i]);
      else
        keep.push_back(owned[i]);
    }
    keep.insert(keep.end(), owned.end() - 30, owned.end());
    commit(alloc, journal, txn);
    owned = keep;
    CHECK(alloc.free_blocks() == free_at_start - owned.size());
  }
  BlockAllocator reread(p.memory(), p.header);
  CHECK(reread.free_blocks() == free_at_start - owned.size());
  for (uint64_t b : owned) CHECK(reread.is_allocated(b));
}

TEST_CASE("inode allocation hands out distinct inodes and aborts return them", "[allocator]") {
  AllocPool p;
  InodeAllocator inodes(p.memory(), p.header);
  const uint64_t free_at_start = inodes.free_inodes();
  CHECK(inodes.total_inodes() == p.header.inode_count);
  CHECK(free_at_start == p.header.inode_count - 2);  // inode 0 unused, 1 is the root
  Transaction txn(p.memory());
  std::set<uint64_t> seen;
  for (int i = 0; i < 20; ++i) {
    auto r = inodes.allocate(txn);
    REQUIRE(r.is_ok());
    CHECK(r.value() > format::kRootIno);
    CHECK(r.value() < p.header.inode_count);
    CHECK(seen.insert(r.value()).second);
  }
  CHECK(inodes.free_inodes() == free_at_start - 20);
  inodes.finish(txn, false);
  CHECK(inodes.free_inodes() == free_at_start);
}

TEST_CASE("inodes run out with NoSpace", "[allocator]") {
  AllocPool p;
  InodeAllocator inodes(p.memory(), p.header);
  Transaction txn(p.memory());
  uint64_t handed = 0;
  Status last;
  for (uint64_t i = 0; i <= p.header.inode_count; ++i) {
    auto r = inodes.allocate(txn);
    if (!r.is_ok()) {
      last = r.status();
      break;
    }
    ++handed;
  }
  CHECK(last.code() == Code::NoSpace);
  CHECK(handed == p.header.inode_count - 2);
  inodes.finish(txn, false);
}

}  // namespace
}  // namespace hapm
