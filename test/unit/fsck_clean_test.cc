// fsck on healthy pools, on pools it must refuse, and its report formats.
#include "test/unit/fsck_fixture.h"

#include "fs/pool_header.h"

namespace hapm::test {

TEST_CASE("a fresh pool is clean", "[fsck]") {
  FsckPool p;
  FsckReport r = p.fsck();
  HAPM_SHOW(r);
  CHECK(r.exit_code == kFsckClean);
  CHECK(r.problems.empty());
  CHECK(r.inodes_used == 1);
  CHECK(r.directories == 1);
  CHECK(r.blocks_used == 0);
  CHECK(r.blocks_total == p.h.block_count - p.h.data_block);
}

TEST_CASE("a populated pool is clean, with or without repair", "[fsck]") {
  FsckPool p;
  p.populate();
  FsckReport r = p.fsck();
  HAPM_SHOW(r);
  CHECK(r.exit_code == kFsckClean);
  CHECK(r.problems.empty());
  CHECK(r.directories == 4);  // /, docs, sub, many
  CHECK(r.files == 22);       // a.txt, b.bin, many/f0..f19
  CHECK(r.symlinks == 1);
  CHECK(r.inodes_used == 28);  // + the fifo
  CHECK(r.blocks_used > 0);
  const uint64_t seq = r.journal_seq;
  CHECK(seq > 0);

  FsckReport again = p.fsck(true);
  HAPM_SHOW(again);
  CHECK(again.exit_code == kFsckClean);
  CHECK(again.journal_seq == seq);  // a clean repair run writes nothing
  p.require_data_intact();
}

TEST_CASE("the progress callback reaches 100 percent", "[fsck]") {
  FsckPool p;
  p.populate();
  std::vector<double> seen;
  FsckOptions options;
  options.progress = [&](double f) { seen.push_back(f); };
  FsckReport r = run_fsck(p.pool(), options);
  REQUIRE(!seen.empty());
  CHECK(seen.back() == Approx(1.0));
  CHECK(std::is_sorted(seen.begin(), seen.end()));
}

TEST_CASE("a pool from another architecture is refused with exit 8", "[fsck]") {
  FsckPool p;
  for (uint64_t block : {format::kHeaderBlock, format::kBackupHeaderBlock}) {
    auto h = p.peek<format::PoolHeader>(block * kBlockSize);
    h.arch.word_size = 4;
    h.crc = header_crc(h);
    p.poke(block * kBlockSize, h);
  }
  FsckReport r = p.fsck(true);
  CHECK(r.exit_code == kFsckOperationalError);
  CHECK(r.error.find("different architecture") != std::string::npos);
  CHECK(r.to_text().find("different architecture") != std::string::npos);
  CHECK(r.to_json()["verdict"] == "error");
}

TEST_CASE("a pool of a newer layout is refused with exit 8", "[fsck]") {
  FsckPool p;
  auto h = p.peek<format::PoolHeader>(0);
  h.arch.layout_version = format::kLayoutVersion + 1;
  h.crc = header_crc(h);
  p.poke(0, h);
  FsckReport r = p.fsck(true);
  CHECK(r.exit_code == kFsckOperationalError);
  CHECK(r.error.find("layout version") != std::string::npos);
}

TEST_CASE("a file that is not a pool is refused with exit 8", "[fsck]") {
  RamPool ram(8 << 20);
  std::memset(ram.bytes().data(), 0x5a, 1 << 16);
  FsckReport r = run_fsck(ram.memory(), FsckOptions{});
  CHECK(r.exit_code == kFsckOperationalError);
  CHECK(r.error.find("not a hapm pool") != std::string::npos);
}

TEST_CASE("the JSON report carries the same content as the text", "[fsck]") {
  FsckPool p;
  p.populate();
  Inode in = p.inode(p.a_txt);
  in.nlink = 7;
  p.put_inode(p.a_txt, in);
  FsckReport r = p.fsck();
  HAPM_SHOW(r);
  const nlohmann::json j = r.to_json();
  CHECK(j["exit_code"] == kFsckUncorrected);
  CHECK(j["verdict"] == "uncorrected");
  REQUIRE(j["problems"].size() == r.problems.size());
  CHECK(j["problems"][0]["kind"] == "bad-link-count");
  CHECK(j["problems"][0]["inode"] == p.a_txt);
  // A file with two names is shown under the first one found (root first).
  CHECK(j["problems"][0]["path"] == "/hard");
  CHECK(j["summary"]["files"] == r.files);
  CHECK(j["recovery"]["journal_replayed"] == false);
  const std::string text = r.to_text();
  CHECK(text.find("bad-link-count: inode " + std::to_string(p.a_txt) + " (/hard)") !=
        std::string::npos);
  CHECK(text.find("problems left uncorrected — run hapm fsck --repair") != std::string::npos);
}

}  // namespace hapm::test
