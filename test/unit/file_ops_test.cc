// File operations beyond plain read/write: fallocate, punch hole,
// SEEK_DATA/SEEK_HOLE, a full pool, setattr, fsync.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::pattern;
using test::TestFs;
constexpr uint64_t kRoot = format::kRootIno;
constexpr uint64_t kMiB = 1ull << 20;

bool all_zero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

uint64_t seek(TestFs& t, uint64_t ino, uint64_t offset, int whence) {
  auto r = t->seek_data_hole(ino, offset, whence);
  INFO((whence == SEEK_DATA ? "SEEK_DATA " : "SEEK_HOLE ")
       << offset << ": " << r.status().to_string());
  REQUIRE(r.is_ok());
  return r.value();
}

TEST_CASE("fallocate allocates zeroed blocks and extends the size", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const uint64_t free_before = t.free_blocks();
  HAPM_REQUIRE_OK(t->fallocate(f, 0, 0, kMiB));
  const Attr a = t.attr(f);
  CHECK(a.size == kMiB);
  CHECK(a.blocks_512 >= kMiB / 512);
  CHECK(t.free_blocks() + kMiB / format::kBlockSize <= free_before);
  CHECK(all_zero(t.read(f, 0, kMiB)));
  // Writing into allocated space needs no more blocks.
  const uint64_t free_after = t.free_blocks();
  t.write(f, 1000, pattern(200000, 1));
  CHECK(t.free_blocks() == free_after);
  CHECK(t.read(f, 1000, 200000) == pattern(200000, 1));
}

TEST_CASE("fallocate over existing data keeps the data", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(10000, 2));
  HAPM_REQUIRE_OK(t->fallocate(f, 0, 0, 3 * kMiB));
  CHECK(t.attr(f).size == 3 * kMiB);
  CHECK(t.read(f, 0, 10000) == pattern(10000, 2));
  CHECK(all_zero(t.read(f, 10000, kMiB)));
}

TEST_CASE("fallocate with KEEP_SIZE allocates without changing the size", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, kMiB, pattern(10, 3));  // sparse below 1 MiB
  const Attr before = t.attr(f);
  HAPM_REQUIRE_OK(t->fallocate(f, FALLOC_FL_KEEP_SIZE, 0, kMiB));
  const Attr after = t.attr(f);
  CHECK(after.size == before.size);
  CHECK(after.blocks_512 >= before.blocks_512 + kMiB / 512);
  CHECK(all_zero(t.read(f, 0, kMiB)));
  CHECK(t.read(f, kMiB, 10) == pattern(10, 3));
}

TEST_CASE(
    "fallocate larger than the free space fails with NoSpace and leaves a consistent "
    "file",
    "[file_ops]") {
  TestFs t(16ull << 20);
  const uint64_t free_before = t.free_blocks();
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_CODE(t->fallocate(f, 0, 0, 64 * kMiB), Code::NoSpace);
  // Like ext4, a partial allocation may stay; what is there reads as zeros.
  const Attr a = t.attr(f);
  CHECK(a.size < 64 * kMiB);
  CHECK(a.blocks_512 * 512 >= a.size);
  CHECK(all_zero(t.read(f, 0, a.size)));
  HAPM_REQUIRE_OK(t->unlink(kRoot, "f"));
  CHECK(t.free_blocks() == free_before);
}

TEST_CASE("punching a hole zeroes the range and frees whole blocks", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const std::vector<uint8_t> data = pattern(64 << 10, 4);
  t.write(f, 0, data);
  const Attr before = t.attr(f);
  const uint64_t free_before = t.free_blocks();
  HAPM_REQUIRE_OK(t->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 8192));
  const Attr after = t.attr(f);
  CHECK(after.size == before.size);
  CHECK(after.blocks_512 == before.blocks_512 - 16);
  CHECK(t.free_blocks() == free_before + 2);
  std::vector<uint8_t> got = t.read(f, 0, 64 << 10);
  REQUIRE(got.size() == data.size());
  CHECK(std::equal(got.begin(), got.begin() + 8192, data.begin()));
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 8192, got.begin() + 16384)));
  CHECK(std::equal(got.begin() + 16384, got.end(), data.begin() + 16384));
}

TEST_CASE("punching an unaligned hole zeroes exactly the range", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const std::vector<uint8_t> data = pattern(20000, 5);
  t.write(f, 0, data);
  HAPM_REQUIRE_OK(t->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 9000));
  std::vector<uint8_t> got = t.read(f, 0, 20000);
  REQUIRE(got.size() == 20000);
  CHECK(std::equal(got.begin(), got.begin() + 100, data.begin()));
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 100, got.begin() + 9100)));
  CHECK(std::equal(got.begin() + 9100, got.end(), data.begin() + 9100));
  CHECK(t.attr(f).size == 20000);
}

TEST_CASE("punching past the end of file keeps the size", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(5000, 6));
  HAPM_REQUIRE_OK(t->fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, kMiB));
  CHECK(t.attr(f).size == 5000);
  std::vector<uint8_t> got = t.read(f, 0, 5000);
  CHECK(std::equal(got.begin(), got.begin() + 4096, pattern(5000, 6).begin()));
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 4096, got.end())));
}

TEST_CASE("unsupported fallocate modes are refused and change nothing", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(16384, 7));
  CHECK_FALSE(t->fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 4096).is_ok());
  HAPM_REQUIRE_CODE(t->fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), Code::NotSupported);
  CHECK(t.read(f, 0, 16384) == pattern(16384, 7));
}

TEST_CASE("SEEK_DATA and SEEK_HOLE find the data and the holes", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(4096, 8));
  t.write(f, kMiB, pattern(8192, 9));
  SetAttrRequest req;
  req.set_size = true;
  req.size = 4 * kMiB;
  Attr out;
  HAPM_REQUIRE_OK(t->setattr(f, req, &out));

  CHECK(seek(t, f, 0, SEEK_DATA) == 0);
  CHECK(seek(t, f, 100, SEEK_DATA) == 100);
  CHECK(seek(t, f, 0, SEEK_HOLE) == 4096);
  CHECK(seek(t, f, 4096, SEEK_HOLE) == 4096);
  CHECK(seek(t, f, 4096, SEEK_DATA) == kMiB);
  CHECK(seek(t, f, kMiB + 5, SEEK_DATA) == kMiB + 5);
  CHECK(seek(t, f, kMiB, SEEK_HOLE) == kMiB + 8192);
  CHECK(seek(t, f, kMiB + 8192, SEEK_HOLE) == kMiB + 8192);
  // No data after the last extent, and nothing at or past the end.
  CHECK_FALSE(t->seek_data_hole(f, kMiB + 8192, SEEK_DATA).is_ok());
  CHECK_FALSE(t->seek_data_hole(f, 4 * kMiB, SEEK_DATA).is_ok());
  CHECK_FALSE(t->seek_data_hole(f, 4 * kMiB, SEEK_HOLE).is_ok());
}

TEST_CASE("SEEK_HOLE in a file without holes finds the end of file", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(10000, 10));
  CHECK(seek(t, f, 0, SEEK_HOLE) == 10000);
  CHECK(seek(t, f, 9999, SEEK_DATA) == 9999);
}

TEST_CASE("SEEK_DATA in a fully sparse file finds nothing", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  SetAttrRequest req;
  req.set_size = true;
  req.size = 10 * kMiB;
  Attr out;
  HAPM_REQUIRE_OK(t->setattr(f, req, &out));
  CHECK(seek(t, f, 0, SEEK_HOLE) == 0);
  CHECK_FALSE(t->seek_data_hole(f, 0, SEEK_DATA).is_ok());
}

TEST_CASE(
    "a full pool fails writes with NoSpace, keeps the file consistent, and space "
    "returns after unlink",
    "[file_ops]") {
  TestFs t(16ull << 20);
  const uint64_t free_empty = t.free_blocks();
  const uint64_t f = t.make_file(kRoot, "filler");
  constexpr size_t kChunk = 256 << 10;
  std::vector<uint8_t> oracle;
  bool hit_no_space = false;
  for (int i = 0; i < 200 && !hit_no_space; ++i) {
    const std::vector<uint8_t> chunk = pattern(kChunk, static_cast<uint64_t>(i) + 100);
    auto r = t->write(f, oracle.size(), chunk.data(), chunk.size());
    if (!r.is_ok()) {
      INFO(r.status().to_string());
      CHECK(r.status().code() == Code::NoSpace);
      hit_no_space = true;
      break;
    }
    REQUIRE(r.value() <= kChunk);
    oracle.insert(oracle.end(), chunk.begin(), chunk.begin() + static_cast<long>(r.value()));
  }
  REQUIRE(hit_no_space);
  CHECK(oracle.size() > 8 * kMiB);
  CHECK(t.attr(f).size == oracle.size());
  CHECK(t.read(f, 0, oracle.size() + kChunk) == oracle);
  // Full: at most what one more chunk (plus its map nodes) would have needed.
  CHECK(t.free_blocks() < BlockAllocator::kReserveBlocks + kChunk / format::kBlockSize + 4);

  // The same after a crash and recovery.
  t.crash_and_remount();
  CHECK(t.attr(f).size == oracle.size());
  CHECK(t.read(f, 0, oracle.size() + kChunk) == oracle);

  // Removing still works on a full pool, and gives everything back.
  HAPM_REQUIRE_OK(t->unlink(kRoot, "filler"));
  CHECK(t.free_blocks() == free_empty);
  const uint64_t g = t.make_file(kRoot, "again");
  t.write(g, 0, pattern(oracle.size(), 1));
  CHECK(t.read(g, 0, oracle.size()) == pattern(oracle.size(), 1));
}

TEST_CASE("setattr changes mode, owner and times and keeps them across mount", "[file_ops]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  SetAttrRequest req;
  req.set_mode = true;
  req.mode = 04710;
  req.set_uid = true;
  req.uid = 1234;
  req.set_gid = true;
  req.gid = 5678;
  req.set_atime = true;
  req.atime_ns = 1'000'000'000'123;
  req.set_mtime = true;
  req.mtime_ns = 2'000'000'000'456;
  Attr out;
  HAPM_REQUIRE_OK(t->setattr(f, req, &out));
  CHECK(S_ISREG(out.mode));
  CHECK((out.mode & 07777) == 04710);
  CHECK(out.uid == 1234);
  CHECK(out.gid == 5678);
  CHECK(out.atime_ns == 1'000'000'000'123);
  CHECK(out.mtime_ns == 2'000'000'000'456);
  t.remount();
  const Attr a = t.attr(f);
  CHECK((a.mode & 07777) == 04710);
  CHECK(S_ISREG(a.mode));
  CHECK(a.uid == 1234);
  CHECK(a.gid == 5678);
  CHECK(a.atime_ns == 1'000'000'000'123);
  CHECK(a.mtime_ns == 2'000'000'000'456);

  SetAttrRequest now;
  now.set_mtime = true;
  now.mtime_now = true;
  HAPM_REQUIRE_OK(t->setattr(f, now, &out));
  CHECK(out.mtime_ns > 2'000'000'000'456);
}

TEST_CASE("a directory cannot be truncated", "[file_ops]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  SetAttrRequest req;
  req.set_size = true;
  req.size = 0;
  Attr out;
  HAPM_REQUIRE_CODE(t->setattr(d, req, &out), Code::IsADirectory);
  auto w = t->write(d, 0, "x", 1);
  CHECK(w.status().code() == Code::IsADirectory);
}

TEST_CASE("getattr of an inode that does not exist is NotFound", "[file_ops]") {
  TestFs t;
  Attr a;
  HAPM_REQUIRE_CODE(t->getattr(1000, &a), Code::NotFound);        // a free slot
  HAPM_REQUIRE_CODE(t->getattr(1ull << 40, &a), Code::NotFound);  // past the table
}

TEST_CASE("fsync makes everything durable and closes a consistency point", "[file_ops]") {
  struct CountingSink : ConsistencyPointSink {
    int closes = 0, waits = 0;
    uint64_t last_ticket = 0;
    bool pool_clean_at_close = false;
    PoolMemory* pool = nullptr;
    Result<uint64_t> close_cp() override {
      pool_clean_at_close = !pool->has_unflushed();
      return static_cast<uint64_t>(++closes);
    }
    Status wait_cp(uint64_t ticket) override {
      ++waits;
      last_ticket = ticket;
      return Status::ok();
    }
  };
  TestFs t;
  CountingSink sink;
  sink.pool = &t->pool();
  t->set_cp_sink(&sink);
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(10000, 11));
  HAPM_REQUIRE_OK(t->fsync(f, false));
  CHECK(sink.closes == 1);
  CHECK(sink.waits == 1);
  CHECK(sink.last_ticket == 1);
  CHECK(sink.pool_clean_at_close);  // the local flush comes first
  HAPM_REQUIRE_OK(t->fsync(f, true));
  CHECK(sink.closes == 2);
  CHECK(sink.last_ticket == 2);
  t->set_cp_sink(nullptr);
}

}  // namespace
}  // namespace hapm
