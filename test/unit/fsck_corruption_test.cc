// fsck against one damaged structure at a time: it must detect each (the
// right kind, exit 4 without repair), and where it repairs, a second fsck is
// clean and the data of the files not involved is intact.
#include "test/unit/fsck_fixture.h"

#include "common/crc32c.h"
#include "fs/pool_header.h"

namespace hapm::test {

namespace {

// Checks, repairs, checks again: the common shape of a repairable damage.
void require_detected_and_repaired(FsckPool& p, const std::string& kind) {
  FsckReport check = p.fsck();
  {
    HAPM_SHOW(check);
    CHECK(has_kind(check, kind));
    CHECK(check.exit_code == kFsckUncorrected);
  }
  FsckReport repair = p.fsck(true);
  {
    HAPM_SHOW(repair);
    REQUIRE(has_kind(repair, kind));
    CHECK(find_kind(repair, kind)->repaired);
    CHECK(repair.exit_code == kFsckCorrected);
  }
  FsckReport after = p.fsck();
  HAPM_SHOW(after);
  CHECK(after.exit_code == kFsckClean);
  CHECK(after.problems.empty());
}

}  // namespace

TEST_CASE("a leaked block is found and freed", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t b = p.free_block();
  p.set_bitmap_bit(b, true);
  require_detected_and_repaired(p, "leaked-block");
  CHECK(!p.bitmap_bit(b));
  p.require_data_intact();
}

TEST_CASE("a block in use but marked free is marked in use again", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t b = p.data_block(p.a_txt, 1);
  p.set_bitmap_bit(b, false);
  require_detected_and_repaired(p, "referenced-block-free");
  CHECK(p.bitmap_bit(b));
  p.require_data_intact();
}

TEST_CASE("a block referenced by two files is reported and left alone", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t shared = p.data_block(p.a_txt, 0);
  p.poke(p.map_slot(p.b_bin, 0), shared);  // b.bin's first block now aliases a.txt's
  FsckReport r = p.fsck(true);
  HAPM_SHOW(r);
  const FsckProblem* dup = find_kind(r, "shared-block");
  REQUIRE(dup);
  CHECK(!dup->repaired);
  CHECK(dup->detail.find("inode " + std::to_string(p.a_txt)) != std::string::npos);
  CHECK(dup->detail.find("inode " + std::to_string(p.b_bin)) != std::string::npos);
  CHECK(r.exit_code == kFsckUncorrected);
  CHECK(p.bitmap_bit(shared));  // never freed while anyone uses it
  p.require_data_intact(false);
}

TEST_CASE("a block pointer outside the pool is cleared to a hole", "[fsck]") {
  FsckPool p;
  p.populate();
  p.poke(p.map_slot(p.b_bin, 0), p.h.block_count + 5);
  require_detected_and_repaired(p, "block-out-of-bounds");
  CHECK(p.read(p.b_bin, 0, 4096) == std::string(4096, '\0'));  // the lost block reads as a hole
  CHECK(p.read(p.b_bin, FsckPool::kTailOffset, p.b_tail.size()) == p.b_tail);
  p.require_data_intact(false);
}

TEST_CASE("a garbage map node pointer past the end of a file is never followed", "[fsck]") {
  FsckPool p;
  p.populate();
  const Inode in = p.inode(p.b_bin);
  REQUIRE(in.map_height == 2);
  // Slot 3 of the root maps file blocks past EOF, where recovery looks for
  // blocks to trim: following it would read outside the pool.
  p.poke(map_slot_offset(in.map_root, 3), uint64_t{0xdeadbeefdeadbeefull});
  FsckReport check = p.fsck();
  {
    HAPM_SHOW(check);
    CHECK(has_kind(check, "block-out-of-bounds"));
    CHECK(has_kind(check, "recovery-skipped"));
    CHECK(check.exit_code == kFsckUncorrected);
  }
  FsckReport repair = p.fsck(true);
  {
    HAPM_SHOW(repair);
    CHECK(has_kind(repair, "block-out-of-bounds"));
    CHECK(!has_kind(repair, "recovery-skipped"));
    CHECK(repair.exit_code == kFsckCorrected);
  }
  FsckReport after = p.fsck();
  HAPM_SHOW(after);
  CHECK(after.exit_code == kFsckClean);
  p.require_data_intact();
}

TEST_CASE("a wrong link count is corrected", "[fsck]") {
  FsckPool p;
  p.populate();
  Inode in = p.inode(p.a_txt);
  REQUIRE(in.nlink == 2);
  in.nlink = 5;
  p.put_inode(p.a_txt, in);
  Inode dir = p.inode(p.many);
  dir.nlink = 9;
  p.put_inode(p.many, dir);
  require_detected_and_repaired(p, "bad-link-count");
  CHECK(p.inode(p.a_txt).nlink == 2);
  CHECK(p.inode(p.many).nlink == 2);
  p.require_data_intact();
}

TEST_CASE("a named file with link count 0 is not freed as an orphan", "[fsck]") {
  FsckPool p;
  p.populate();
  Inode in = p.inode(p.b_bin);
  in.nlink = 0;
  p.put_inode(p.b_bin, in);
  FsckReport check = p.fsck();
  {
    HAPM_SHOW(check);
    CHECK(has_kind(check, "recovery-skipped"));
    CHECK(check.recovery.orphans_reclaimed == 0);
    CHECK(check.exit_code == kFsckUncorrected);
  }
  require_detected_and_repaired(p, "bad-link-count");
  CHECK(p.inode(p.b_bin).nlink == 1);
  p.require_data_intact();
}

TEST_CASE("a wrong blocks count is corrected", "[fsck]") {
  FsckPool p;
  p.populate();
  Inode in = p.inode(p.b_bin);
  const uint64_t right = in.blocks;
  in.blocks += 3;
  p.put_inode(p.b_bin, in);
  require_detected_and_repaired(p, "bad-block-count");
  CHECK(p.inode(p.b_bin).blocks == right);
}

TEST_CASE("an entry naming a free inode is removed", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t slot = p.dirent(format::kRootIno, "");
  REQUIRE(slot != 0);
  p.poke(slot, make_dirent(p.free_inode(), DT_REG, "ghost"));
  require_detected_and_repaired(p, "dirent-to-free-inode");
  CHECK(p.dirent(format::kRootIno, "ghost") == 0);
  p.require_data_intact();
}

TEST_CASE("an entry with a bad checksum is removed and its file goes to lost+found", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t slot = p.dirent(p.sub, "b.bin");
  REQUIRE(slot != 0);
  auto d = p.peek<Dirent>(slot);
  d.name[0] = 'X';  // damage without a new checksum
  p.poke(slot, d);
  FsckReport repair = p.fsck(true);
  HAPM_SHOW(repair);
  CHECK(has_kind(repair, "dirent-bad-checksum"));
  const FsckProblem* lost = find_kind(repair, "unreachable-inode");
  REQUIRE(lost);
  CHECK(lost->repaired);
  CHECK(lost->path == "/lost+found/#" + std::to_string(p.b_bin));
  CHECK(repair.exit_code == kFsckCorrected);
  FsckReport after = p.fsck();
  HAPM_SHOW(after);
  CHECK(after.exit_code == kFsckClean);
  const uint64_t lf_slot = p.dirent(format::kRootIno, "lost+found");
  REQUIRE(lf_slot != 0);
  const uint64_t lf = p.peek<Dirent>(lf_slot).ino;
  CHECK(p.dirent(lf, "#" + std::to_string(p.b_bin)) != 0);
  CHECK(p.inode(lf).parent == format::kRootIno);
  p.require_data_intact();  // b.bin's bytes are all there, under its new name
}

TEST_CASE("a duplicate name in a directory is removed", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t slot = p.dirent(p.docs, "");
  REQUIRE(slot > p.dirent(p.docs, "a.txt"));
  p.poke(slot, make_dirent(p.b_bin, DT_REG, "a.txt"));
  require_detected_and_repaired(p, "duplicate-name");
  CHECK(p.peek<Dirent>(p.dirent(p.docs, "a.txt")).ino == p.a_txt);
  p.require_data_intact();
}

TEST_CASE("an entry with the wrong type is corrected", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t slot = p.dirent(format::kRootIno, "sym");
  p.poke(slot, make_dirent(p.sym, DT_REG, "sym"));
  require_detected_and_repaired(p, "dirent-wrong-type");
  CHECK(p.peek<Dirent>(slot).type == DT_LNK);
}

TEST_CASE("an unreachable directory is linked into lost+found with its contents", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t slot = p.dirent(p.docs, "sub");
  p.poke(slot, Dirent{});  // sub (and b.bin below it) fall off the tree
  FsckReport check = p.fsck();
  {
    HAPM_SHOW(check);
    CHECK(has_kind(check, "unreachable-inode"));
    CHECK(has_kind(check, "bad-link-count"));  // docs still counts sub
    CHECK(check.exit_code == kFsckUncorrected);
  }
  FsckReport repair = p.fsck(true);
  HAPM_SHOW(repair);
  CHECK(repair.exit_code == kFsckCorrected);
  size_t unreachable = 0;
  for (const FsckProblem& q : repair.problems) unreachable += q.kind == "unreachable-inode";
  CHECK(unreachable == 1);  // reported once, for the top of the detached tree
  FsckReport after = p.fsck();
  HAPM_SHOW(after);
  CHECK(after.exit_code == kFsckClean);
  const uint64_t lf = p.peek<Dirent>(p.dirent(format::kRootIno, "lost+found")).ino;
  CHECK(p.inode(p.sub).parent == lf);
  CHECK(p.inode(lf).nlink == 3);
  CHECK(p.inode(p.docs).nlink == 2);
  p.require_data_intact();
}

TEST_CASE("an inode with a bad checksum is reported and its blocks are kept", "[fsck]") {
  FsckPool p;
  p.populate();
  Inode in = p.inode(p.a_txt);
  in.mtime_ns ^= 1;
  p.put_inode(p.a_txt, in, /*seal=*/false);
  FsckReport r = p.fsck(true);
  HAPM_SHOW(r);
  const FsckProblem* bad = find_kind(r, "inode-bad-checksum");
  REQUIRE(bad);
  CHECK(!bad->repaired);
  CHECK(r.exit_code == kFsckUncorrected);
  CHECK(!has_kind(r, "leaked-block"));
  CHECK(!has_kind(r, "unreachable-inode"));
  for (uint64_t fb = 0; fb < 3; ++fb) CHECK(p.bitmap_bit(p.data_block(p.a_txt, fb)));
  CHECK(p.bitmap_bit(in.xattr_block));
}

TEST_CASE("a damaged xattr block is detached", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t xb = p.inode(p.a_txt).xattr_block;
  REQUIRE(xb != 0);
  p.poke(xb * kBlockSize + 20, uint8_t{0xee});
  require_detected_and_repaired(p, "bad-xattr-block");
  CHECK(p.inode(p.a_txt).xattr_block == 0);
  CHECK(!p.bitmap_bit(xb));
  p.require_data_intact();
}

TEST_CASE("a damaged primary header is restored from the backup", "[fsck]") {
  FsckPool p;
  p.populate();
  p.poke(uint64_t{48}, uint64_t{12345});  // block_count, checksum now wrong
  FsckReport check = p.fsck();
  {
    HAPM_SHOW(check);
    CHECK(check.recovery.header_from_backup);
    CHECK(has_kind(check, "bad-primary-header"));
    CHECK(check.exit_code == kFsckUncorrected);
  }
  require_detected_and_repaired(p, "bad-primary-header");
  CHECK(std::memcmp(p.pool().at(0), p.pool().at(kBlockSize), sizeof(format::PoolHeader)) == 0);
  p.require_data_intact();
}

TEST_CASE("a damaged backup header is rewritten from the primary", "[fsck]") {
  FsckPool p;
  p.populate();
  p.poke(kBlockSize + 8, uint32_t{0});  // endian marker of the backup
  require_detected_and_repaired(p, "bad-backup-header");
}

TEST_CASE("a damaged journal header is reset", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t jh = format::kJournalBlock * kBlockSize;
  p.poke(jh, uint64_t{0xdeadbeef});  // magic
  FsckReport check = p.fsck();
  {
    HAPM_SHOW(check);
    CHECK(has_kind(check, "bad-journal"));
    CHECK(check.exit_code == kFsckUncorrected);
  }
  require_detected_and_repaired(p, "bad-journal");
  CHECK(p.peek<uint64_t>(jh) == format::kJournalMagic);
  p.require_data_intact();
}

TEST_CASE("a committed but unapplied journal transaction is replayed", "[fsck]") {
  FsckPool p;
  p.populate();
  // The transaction: chmod a.txt to 0600, committed in the journal only.
  Inode in = p.inode(p.a_txt);
  in.mode = S_IFREG | 0600;
  seal_inode(in);
  std::vector<uint8_t> payload(sizeof(format::JournalRecord) + sizeof in);
  const format::JournalRecord rec{p.ino_off(p.a_txt), sizeof in, 0};
  std::memcpy(payload.data(), &rec, sizeof rec);
  std::memcpy(payload.data() + sizeof rec, &in, sizeof in);
  const uint64_t jh = format::kJournalBlock * kBlockSize;
  auto j = p.peek<format::JournalHeader>(jh);
  REQUIRE(j.applied_seq > 0);
  j.seq = j.applied_seq + 1;
  j.record_count = 1;
  j.payload_bytes = payload.size();
  j.payload_crc = crc32c(payload.data(), payload.size());
  j.header_crc = crc32c(&j, offsetof(format::JournalHeader, header_crc));
  p.pool().write(jh + kBlockSize, payload.data(), payload.size());
  p.poke(jh, j);

  FsckReport r = p.fsck();
  HAPM_SHOW(r);
  CHECK(r.recovery.journal_replayed);
  CHECK(r.recovery.journal_seq == j.seq);
  CHECK(r.exit_code == kFsckClean);
  CHECK(r.journal_seq == j.seq);
  CHECK(r.to_text().find("replayed journal transaction " + std::to_string(j.seq)) !=
        std::string::npos);
  CHECK(p.inode(p.a_txt).mode == (S_IFREG | 0600));
  p.require_data_intact();
}

TEST_CASE("data mapped past the end of a file is freed", "[fsck]") {
  FsckPool p;
  p.populate();
  const uint64_t b = p.free_block();
  p.set_bitmap_bit(b, true);
  p.poke(p.map_slot(p.a_txt, 0) + 100 * 8, b);  // file block 100 of a 3-block file
  Inode in = p.inode(p.a_txt);
  ++in.blocks;
  p.put_inode(p.a_txt, in);
  // Recovery trims it (an interrupted truncate looks the same); on a pool
  // that was unmounted cleanly fsck reports it as damage.
  FsckReport r = p.fsck();
  HAPM_SHOW(r);
  CHECK(r.recovery.blocks_trimmed == 1);
  const FsckProblem* past = find_kind(r, "data-past-eof");
  REQUIRE(past);
  CHECK(past->repaired);
  CHECK(r.exit_code == kFsckCorrected);
  CHECK(!p.bitmap_bit(b));
  FsckReport after = p.fsck();
  HAPM_SHOW(after);
  CHECK(after.exit_code == kFsckClean);
  p.require_data_intact();
}

}  // namespace hapm::test

namespace hapm::test {

TEST_CASE("a second entry naming a directory is removed", "[fsck]") {
  FsckPool p;
  p.populate();
  p.poke(p.dirent(format::kRootIno, ""), make_dirent(p.sub, DT_DIR, "sub-again"));
  require_detected_and_repaired(p, "directory-hard-link");
  CHECK(p.dirent(format::kRootIno, "sub-again") == 0);
  CHECK(p.dirent(p.docs, "sub") != 0);
  p.require_data_intact();
}

TEST_CASE("a directory's wrong parent field is corrected", "[fsck]") {
  FsckPool p;
  p.populate();
  Inode in = p.inode(p.sub);
  in.parent = p.many;
  p.put_inode(p.sub, in);
  require_detected_and_repaired(p, "bad-parent");
  CHECK(p.inode(p.sub).parent == p.docs);
}

TEST_CASE("a hole in a directory is filled and its files go to lost+found", "[fsck]") {
  FsckPool p;
  p.populate();
  REQUIRE(p.inode(p.many).size == 2 * kBlockSize);
  const uint64_t lost_block = p.data_block(p.many, 0);  // holds f0..f14
  p.poke(p.map_slot(p.many, 0), uint64_t{0});
  FsckReport repair = p.fsck(true);
  HAPM_SHOW(repair);
  CHECK(has_kind(repair, "directory-hole"));
  CHECK(has_kind(repair, "leaked-block"));
  size_t linked = 0;
  for (const FsckProblem& q : repair.problems)
    linked += q.kind == "unreachable-inode" && q.repaired;
  CHECK(linked == format::kDirentsPerBlock);
  CHECK(repair.exit_code == kFsckCorrected);
  FsckReport after = p.fsck();
  HAPM_SHOW(after);
  CHECK(after.exit_code == kFsckClean);
  CHECK(p.data_block(p.many, 0) != 0);
  // The hole got a fresh block; the old one, still marked in use while the
  // repair ran, was freed as leaked at the end.
  CHECK(p.data_block(p.many, 0) != lost_block);
  CHECK(!p.bitmap_bit(lost_block));
  p.require_data_intact();
}

}  // namespace hapm::test
