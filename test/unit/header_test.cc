// Header checks (R15): a pool from elsewhere, from the future, damaged or
// truncated is refused with a message that says what it is.
#include "fs/pool_header.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "fs/filesystem.h"
#include "fs/mkfs.h"
#include "fs/ram_pool.h"

namespace hapm {
namespace {

using format::kBlockSize;
using format::PoolHeader;

constexpr uint64_t kPoolSize = 16ull << 20;

struct HeaderPool {
  RamPool ram{kPoolSize};
  PoolHeader made{};
  HeaderPool() {
    Status s = make_filesystem(ram.memory(), MkfsOptions{}, &made);
    INFO(s.to_string());
    REQUIRE(s.is_ok());
  }
  PoolHeader load(uint64_t block) {
    PoolHeader h;
    std::memcpy(&h, ram.bytes().data() + block * kBlockSize, sizeof h);
    return h;
  }
  void store(uint64_t block, const PoolHeader& h) {
    std::memcpy(ram.bytes().data() + block * kBlockSize, &h, sizeof h);
  }
  // Changes both copies and reseals them, as a pool written elsewhere would be.
  template <class F>
  void rewrite_both(F change) {
    for (uint64_t block : {format::kHeaderBlock, format::kBackupHeaderBlock}) {
      PoolHeader h = load(block);
      change(h);
      h.crc = header_crc(h);
      store(block, h);
    }
  }
};

bool mentions(const std::string& text, const std::string& word) {
  return text.find(word) != std::string::npos;
}

Status refused(HeaderPool& p) {
  HeaderCheck check;
  auto r = read_header(p.ram.memory(), &check);
  REQUIRE_FALSE(r.is_ok());
  INFO(r.status().to_string());
  CHECK_FALSE(r.status().message().empty());
  // Mount refuses too, with the same code.
  RecoveryReport report;
  auto mounted = Filesystem::mount(p.ram.memory(), MountOptions{}, &report);
  CHECK_FALSE(mounted.is_ok());
  CHECK(mounted.status().code() == r.status().code());
  return r.status();
}

TEST_CASE("this machine's signature describes itself", "[header]") {
  format::ArchSignature a = local_arch();
  CHECK(a.endian_marker == format::kEndianMarker);
  CHECK(a.word_size == sizeof(void*));
  CHECK(a.page_size == static_cast<uint32_t>(sysconf(_SC_PAGESIZE)));
  CHECK(a.layout_version == format::kLayoutVersion);
  const std::string d = describe_arch(a);
  CHECK(mentions(d, "little-endian"));
  CHECK(mentions(d, "64-bit"));
  CHECK(mentions(d, std::to_string(a.page_size)));
}

TEST_CASE("a freshly made pool has a good header in both copies", "[header]") {
  HeaderPool p;
  HeaderCheck check;
  auto r = read_header(p.ram.memory(), &check);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  CHECK(check.primary_ok);
  CHECK(check.backup_ok);
  CHECK(check.primary_problem.empty());
  CHECK(check.backup_problem.empty());
  const PoolHeader& h = r.value();
  CHECK(h.magic == format::kPoolMagic);
  CHECK(h.pool_size == kPoolSize);
  CHECK(h.block_count == kPoolSize / kBlockSize);
  CHECK(std::memcmp(h.uuid, p.made.uuid, 16) == 0);
  CHECK(std::memcmp(&h.arch, &p.made.arch, sizeof h.arch) == 0);
  CHECK(h.crc == header_crc(h));
  CHECK(h.journal_block == format::kJournalBlock);
  CHECK(h.inode_table_block >= h.journal_block + h.journal_blocks);
  CHECK(h.bitmap_block >= h.inode_table_block);
  CHECK(h.data_block > h.bitmap_block);
  CHECK(h.data_block < h.block_count);
  Code code = Code::Ok;
  CHECK(header_problem(h, kPoolSize, &code).empty());
  CHECK(uuid_string(h.uuid).size() == 36);
}

TEST_CASE("mkfs refuses a pool below the minimum size or not a block multiple", "[header]") {
  RamPool tiny(kPoolSizeMin - kBlockSize);
  CHECK_FALSE(make_filesystem(tiny.memory(), MkfsOptions{}).is_ok());
  RamPool odd(kPoolSizeMin + 100);
  CHECK_FALSE(make_filesystem(odd.memory(), MkfsOptions{}).is_ok());
  RamPool smallest(kPoolSizeMin);
  CHECK(make_filesystem(smallest.memory(), MkfsOptions{}).is_ok());
}

TEST_CASE("two pools get different uuids", "[header]") {
  HeaderPool a, b;
  CHECK(std::memcmp(a.made.uuid, b.made.uuid, 16) != 0);
}

TEST_CASE("a pool of zeros is not a pool", "[header]") {
  RamPool zeros(kPoolSize);
  auto r = read_header(zeros.memory());
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::Corruption);
}

TEST_CASE("a bad magic number in both copies is refused as corruption", "[header]") {
  HeaderPool p;
  p.rewrite_both([](PoolHeader& h) { h.magic = 0x0123456789abcdefull; });
  Status s = refused(p);
  CHECK(s.code() == Code::Corruption);
  CHECK(mentions(s.message(), "magic"));
}

TEST_CASE("a byte-swapped magic is refused as a big-endian pool", "[header]") {
  HeaderPool p;
  p.rewrite_both([](PoolHeader& h) {
    h.magic = format::kPoolMagicSwapped;
    h.arch.endian_marker = __builtin_bswap32(format::kEndianMarker);
  });
  Status s = refused(p);
  CHECK(s.code() == Code::NotSupported);
  CHECK(mentions(s.message(), "big-endian"));
}

TEST_CASE("a pool of a newer layout version is refused as not supported", "[header]") {
  HeaderPool p;
  p.rewrite_both([](PoolHeader& h) { h.arch.layout_version = format::kLayoutVersion + 1; });
  Status s = refused(p);
  CHECK(s.code() == Code::NotSupported);
  CHECK(mentions(s.message(), std::to_string(format::kLayoutVersion + 1)));
}

TEST_CASE("a pool made with another word size is refused as not supported", "[header]") {
  HeaderPool p;
  p.rewrite_both([](PoolHeader& h) { h.arch.word_size = 4; });
  Status s = refused(p);
  CHECK(s.code() == Code::NotSupported);
  CHECK(mentions(s.message(), "32-bit"));
}

TEST_CASE("a pool made with another page size is refused as not supported", "[header]") {
  HeaderPool p;
  p.rewrite_both([](PoolHeader& h) { h.arch.page_size = 65536; });
  Status s = refused(p);
  CHECK(s.code() == Code::NotSupported);
  CHECK(mentions(s.message(), "65536"));
}

TEST_CASE("a truncated pool file is refused because its size does not match", "[header]") {
  HeaderPool p;
  std::vector<uint8_t> image(p.ram.bytes().begin(), p.ram.bytes().begin() + kPoolSize / 2);
  RamPool truncated(image);
  auto r = read_header(truncated.memory());
  REQUIRE_FALSE(r.is_ok());
  INFO(r.status().to_string());
  CHECK(r.status().code() == Code::Corruption);
  CHECK((mentions(r.status().message(), "size") || mentions(r.status().message(), "truncated")));
  RecoveryReport report;
  CHECK_FALSE(Filesystem::mount(truncated.memory(), MountOptions{}, &report).is_ok());
}

TEST_CASE("a pool file longer than its header says is refused", "[header]") {
  HeaderPool p;
  std::vector<uint8_t> image = p.ram.bytes();
  image.resize(image.size() + 4 * kBlockSize, 0);
  RamPool longer(image);
  auto r = read_header(longer.memory());
  CHECK_FALSE(r.is_ok());
}

TEST_CASE("a header with inconsistent geometry is refused", "[header]") {
  HeaderPool p;
  p.rewrite_both([](PoolHeader& h) { h.data_block = h.block_count + 10; });
  Status s = refused(p);
  CHECK(s.code() == Code::Corruption);
}

TEST_CASE("a damaged primary header falls back to a good backup", "[header]") {
  HeaderPool p;
  p.ram.bytes()[format::kHeaderBlock * kBlockSize + 30] ^= 0x20;  // inside the uuid
  HeaderCheck check;
  auto r = read_header(p.ram.memory(), &check);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  CHECK_FALSE(check.primary_ok);
  CHECK(check.backup_ok);
  CHECK_FALSE(check.primary_problem.empty());
  CHECK(std::memcmp(r->uuid, p.made.uuid, 16) == 0);

  RecoveryReport report;
  auto fs = Filesystem::mount(p.ram.memory(), MountOptions{}, &report);
  REQUIRE(fs.is_ok());
  CHECK(report.header_from_backup);
  REQUIRE(fs.value()->unmount().is_ok());
}

TEST_CASE("a damaged backup header alone does not stop the pool", "[header]") {
  HeaderPool p;
  p.ram.bytes()[format::kBackupHeaderBlock * kBlockSize + 50] ^= 0x01;
  HeaderCheck check;
  auto r = read_header(p.ram.memory(), &check);
  REQUIRE(r.is_ok());
  CHECK(check.primary_ok);
  CHECK_FALSE(check.backup_ok);
  CHECK_FALSE(check.backup_problem.empty());
}

TEST_CASE("both header copies damaged is corruption", "[header]") {
  HeaderPool p;
  p.ram.bytes()[format::kHeaderBlock * kBlockSize + 30] ^= 0x20;
  p.ram.bytes()[format::kBackupHeaderBlock * kBlockSize + 30] ^= 0x20;
  HeaderCheck check;
  auto r = read_header(p.ram.memory(), &check);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::Corruption);
  CHECK_FALSE(check.primary_ok);
  CHECK_FALSE(check.backup_ok);
}

TEST_CASE("header_problem names the field that is wrong", "[header]") {
  HeaderPool p;
  PoolHeader h = p.load(format::kHeaderBlock);
  Code code = Code::Ok;
  h.crc ^= 1;
  CHECK_FALSE(header_problem(h, kPoolSize, &code).empty());
  CHECK(code == Code::Corruption);
  h.crc ^= 1;
  code = Code::Ok;
  CHECK(header_problem(h, kPoolSize, &code).empty());
  CHECK_FALSE(header_problem(h, kPoolSize - kBlockSize, &code).empty());
}

}  // namespace
}  // namespace hapm
