// run_fsck: header, journal and recovery first (what mount would do, made
// safe: tools/fsck_recover.h), then the five passes (tools/fsck_checker.h), then, when anything was
// repaired, a second read-only run of the passes to confirm the result.
#include "tools/fsck.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "fs/journal.h"
#include "fs/pool_header.h"
#include "tools/fsck_checker.h"
#include "tools/fsck_recover.h"

namespace hapm {

namespace {

using format::kBlockSize;

void run_passes(PoolMemory& pool, const format::PoolHeader& h, fsck::Repairer* repairer,
                FsckReport& report, const std::function<void(double)>& progress) {
  fsck::Checker checker(pool, h, repairer, report, progress);
  checker.pass_inodes();
  checker.pass_dirents();
  checker.pass_connectivity();
  checker.pass_counts();
  checker.pass_bitmap();
  checker.pass_duplicates();
  checker.resolve_paths();
}

}  // namespace

FsckReport run_fsck(PoolMemory& pool, const FsckOptions& options) {
  FsckReport r;
  r.repair_mode = options.repair;
  HeaderCheck check;
  auto header = read_header(pool, &check);
  ReplayReport early_replay;
  if (!header.is_ok() && header.status().code() == Code::Corruption) {
    // Both header copies are written by one transaction: a crash can leave
    // both torn until the journal replays it (as mount does, fs/filesystem.cc).
    auto replayed = Journal::replay(pool);
    if (replayed.is_ok() && replayed->replayed) {
      early_replay = *replayed;
      header = read_header(pool, &check);
    }
  }
  if (!header.is_ok()) {
    r.exit_code = kFsckOperationalError;
    r.error = header.status().message();
    return r;
  }
  format::PoolHeader h = *header;
  r.pool_uuid = uuid_string(h.uuid);

  // Progress: the pre-recovery scan is the first 40%, the passes the rest.
  std::function<void(double)> first, second;
  if (options.progress) {
    first = [&](double f) { options.progress(0.4 * f); };
    second = [&](double f) { options.progress(0.4 + 0.6 * f); };
  }
  if (!fsck::recover_for_fsck(pool, options.repair, r, h, first)) {
    r.exit_code = kFsckOperationalError;
    return r;
  }
  if (early_replay.replayed) {
    r.recovery.journal_replayed = true;
    r.recovery.journal_records = early_replay.records;
    r.recovery.journal_seq = std::max(r.recovery.journal_seq, early_replay.seq);
  }

  // Both header copies, as recovery left them.
  header = read_header(pool, &check);
  if (!header.is_ok()) {
    r.exit_code = kFsckOperationalError;
    r.error = header.status().message();
    return r;
  }
  h = *header;
  auto journal = Journal::inspect(pool);
  r.journal_seq = journal.is_ok() ? journal->seq : 0;
  std::unique_ptr<fsck::Repairer> repairer;
  if (options.repair && journal.is_ok())
    repairer = std::make_unique<fsck::Repairer>(pool, r.journal_seq);

  const uint64_t primary = format::kHeaderBlock * kBlockSize;
  const uint64_t backup = format::kBackupHeaderBlock * kBlockSize;
  if (!check.primary_ok) {
    r.add_problem("bad-primary-header",
                  "primary pool header: " + check.primary_problem +
                      (repairer ? "; restored from the backup" : ""),
                  repairer != nullptr);
    if (repairer) repairer->put(primary, h);
  } else if (!check.backup_ok) {
    r.add_problem("bad-backup-header",
                  "backup pool header: " + check.backup_problem +
                      (repairer ? "; rewritten from the primary" : ""),
                  repairer != nullptr);
    if (repairer) repairer->put(backup, h);
  } else if (std::memcmp(pool.at(primary), pool.at(backup), sizeof h) != 0) {
    r.add_problem("header-copies-differ",
                  std::string("the two pool header copies differ") +
                      (repairer ? "; backup rewritten from the primary" : ""),
                  repairer != nullptr);
    if (repairer) repairer->put(backup, h);
  }

  run_passes(pool, h, repairer.get(), r, second);

  if (repairer) {
    (void)repairer->commit();
    if (!repairer->ok()) r.add_problem("repair-failed", repairer->status().message(), false);
    r.journal_seq = repairer->last_seq();
  }
  bool any_repaired = false;
  for (const FsckProblem& p : r.problems) any_repaired |= p.repaired;
  if (any_repaired) {
    // Confirm: a read-only run over the repaired pool. What it still finds
    // is reported as left uncorrected; its totals describe the pool now.
    FsckReport after;
    run_passes(pool, h, nullptr, after, {});
    for (FsckProblem& p : after.problems) {
      // Already reported as left alone: once is enough.
      const bool known = std::any_of(
          r.problems.begin(), r.problems.end(),
          [&](const FsckProblem& q) { return !q.repaired && q.kind == p.kind && q.ino == p.ino; });
      if (known) continue;
      p.detail = "still present after repair: " + p.detail;
      r.problems.push_back(std::move(p));
    }
    r.inodes_used = after.inodes_used;
    r.directories = after.directories;
    r.files = after.files;
    r.symlinks = after.symlinks;
    r.blocks_used = after.blocks_used;
  }

  r.exit_code = kFsckClean;
  for (const FsckProblem& p : r.problems) {
    if (!p.repaired) {
      r.exit_code = kFsckUncorrected;
      break;
    }
    r.exit_code = kFsckCorrected;
  }
  if (options.progress) options.progress(1.0);
  return r;
}

}  // namespace hapm
