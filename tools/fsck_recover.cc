// fsck's recovery step: what mount would do (journal replay, orphans, trims),
// made safe on a damaged pool. The journal is checked and replayed first
// (replay bounds-checks every record); then block maps are scanned before
// the core's recovery walks them, since a pointer outside the pool must not
// be followed: with repair it is cleared first, without, the rest of
// recovery is skipped and the problem reported.
#include "tools/fsck_recover.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/crc32c.h"
#include "fs/inode_util.h"
#include "fs/journal.h"
#include "fs/pool_header.h"
#include "fs/recovery.h"
#include "tools/fsck_checker.h"

namespace hapm::fsck {

namespace {

using format::kBlockSize;

// An empty journal of the size the pool header says, keeping the transaction
// number where it was (so it still only grows) when that can be read.
void reset_journal(PoolMemory& pool, const format::PoolHeader& h) {
  const uint64_t off = format::kJournalBlock * kBlockSize;
  const auto old = pool.load<format::JournalHeader>(off);
  format::JournalHeader j{};
  j.magic = format::kJournalMagic;
  j.area_blocks = h.journal_blocks;
  const uint64_t last = std::max(old.seq, old.applied_seq);
  j.seq = j.applied_seq = last < (uint64_t{1} << 48) ? last : 0;
  j.header_crc = crc32c(&j, offsetof(format::JournalHeader, header_crc));
  pool.write(off, &j, sizeof j);
  pool.persist(off, sizeof j);
}

std::string journal_problem(const PoolMemory& pool, const format::PoolHeader& h) {
  auto state = Journal::inspect(pool);
  if (!state.is_ok()) return state.status().message();
  const auto j = pool.load<format::JournalHeader>(format::kJournalBlock * kBlockSize);
  if (j.area_blocks != h.journal_blocks)
    return "journal header says " + std::to_string(j.area_blocks) + " blocks, the pool header " +
           std::to_string(h.journal_blocks);
  return "";
}

// Problems that make following an inode's block map unsafe.
bool unsafe_map(const PoolMemory& pool, const format::PoolHeader& h, const FsckProblem& p) {
  if (p.repaired || (p.kind != "block-out-of-bounds" && p.kind != "bad-block-map")) return false;
  // The core's recovery skips inodes that fail their checksum.
  return p.ino != 0 && inode_crc_ok(pool.load<format::Inode>(inode_offset(h, p.ino)));
}

bool maps_unsafe(const PoolMemory& pool, const format::PoolHeader& h, const FsckReport& scan) {
  return std::any_of(scan.problems.begin(), scan.problems.end(),
                     [&](const FsckProblem& p) { return unsafe_map(pool, h, p); });
}

}  // namespace

bool recover_for_fsck(PoolMemory& pool, bool repair, FsckReport& r, format::PoolHeader& h,
                      const std::function<void(double)>& progress) {
  // 1. The journal.
  bool journal_ok = true;
  ReplayReport replayed;
  std::string why = journal_problem(pool, h);
  if (why.empty()) {
    auto replay = Journal::replay(pool);
    if (replay.is_ok())
      replayed = *replay;
    else
      why = replay.status().message();
  }
  if (!why.empty()) {
    if (repair) {
      reset_journal(pool, h);
      r.add_problem("bad-journal", why + "; journal emptied (a transaction in it, if any, is lost)",
                    true);
    } else {
      r.add_problem("bad-journal", why + "; recovery cannot run until it is repaired", false);
      journal_ok = false;
    }
  }
  auto header = read_header(pool);  // a replayed transaction may change it
  if (!header.is_ok()) {
    r.error = header.status().message();
    return false;
  }
  h = *header;
  r.recovery.was_clean = h.clean == 1;
  if (!journal_ok) return true;

  // 2. Block maps safe to follow?
  FsckReport scan;
  std::vector<std::pair<uint64_t, uint32_t>> named;
  {
    // Passes 1-2 are 90% of a checker's progress scale.
    std::function<void(double)> scaled;
    if (progress) scaled = [&progress](double f) { progress(std::min(1.0, f / 0.9)); };
    Checker checker(pool, h, nullptr, scan, scaled);
    checker.pass_inodes();
    checker.pass_dirents();
    named = checker.named_orphans();
  }
  // 3. Inodes that recovery would free as orphans although entries name them.
  if (!named.empty()) {
    if (!repair) {
      r.add_problem(
          "recovery-skipped",
          std::to_string(named.size()) +
              " inode(s) have link count 0 but are named by directory entries (first: inode " +
              std::to_string(named[0].first) +
              "); recovery would free them, so it did not run; run hapm fsck --repair",
          false);
      return true;
    }
    auto seq = Journal::inspect(pool);
    Repairer repairer(pool, seq.is_ok() ? seq->seq : 0);
    for (const auto& [ino, entries] : named) {
      auto inode = pool.load<format::Inode>(inode_offset(h, ino));
      inode.nlink = S_ISDIR(inode.mode) ? 2 : entries;
      seal_inode(inode);
      repairer.put(inode_offset(h, ino), inode);
      r.add_problem("bad-link-count",
                    "inode " + std::to_string(ino) + " has link count 0 but " +
                        std::to_string(entries) + " directory entries name it; set to " +
                        std::to_string(inode.nlink) + " before recovery could free it",
                    true);
      r.problems.back().ino = ino;
    }
    (void)repairer.commit();
    if (!repairer.ok()) {
      r.add_problem("repair-failed", repairer.status().message(), false);
      return true;
    }
  }
  if (maps_unsafe(pool, h, scan)) {
    if (repair) {
      auto seq = Journal::inspect(pool);
      Repairer repairer(pool, seq.is_ok() ? seq->seq : 0);
      FsckReport fixes;
      Checker checker(pool, h, &repairer, fixes, {});
      checker.pass_inodes();
      (void)repairer.commit();
      // What pass 1 repaired now will not be seen again; the rest will.
      for (FsckProblem& p : fixes.problems)
        if (p.repaired && repairer.ok()) r.problems.push_back(std::move(p));
      scan = FsckReport{};
      Checker again(pool, h, nullptr, scan, {});
      again.pass_inodes();
    }
    if (maps_unsafe(pool, h, scan)) {
      r.add_problem(
          "recovery-skipped",
          "block maps point outside the pool, so recovery did not reclaim orphans or trim files" +
              std::string(repair ? "" : "; run hapm fsck --repair"),
          false);
      r.recovery.journal_replayed = replayed.replayed;
      r.recovery.journal_seq = replayed.seq;
      r.recovery.journal_records = replayed.records;
      return true;
    }
  }

  // 4. The core's recovery (its journal replay finds nothing left to do).
  auto recovered = recover_pool(pool, &r.recovery);
  if (!recovered.is_ok()) {
    r.add_problem("recovery-failed", "recovery stopped: " + recovered.status().message(), false);
  } else {
    h = *recovered;
  }
  if (replayed.replayed) {
    r.recovery.journal_replayed = true;
    r.recovery.journal_records = replayed.records;
    r.recovery.journal_seq = std::max(r.recovery.journal_seq, replayed.seq);
  }
  // After a crash these are routine; after a clean unmount they mean the
  // pool was damaged (recovery has already fixed them).
  const RecoveryReport& rec = r.recovery;
  if (rec.was_clean && rec.blocks_trimmed)
    r.add_problem(
        "data-past-eof",
        std::to_string(rec.blocks_trimmed) +
            " block(s) mapped past the end of files, on a pool unmounted cleanly; freed by "
            "recovery",
        true);
  if (rec.was_clean && rec.orphans_reclaimed)
    r.add_problem("orphan-inode",
                  std::to_string(rec.orphans_reclaimed) +
                      " inode(s) with no links, on a pool unmounted cleanly; freed by recovery",
                  true);
  return true;
}

}  // namespace hapm::fsck
