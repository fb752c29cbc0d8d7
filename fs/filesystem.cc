// Mount, unmount, recovery and the shared helpers of the filesystem core.
#include "fs/filesystem.h"

#include <spdlog/spdlog.h>

#include "fs/fs_impl.h"
#include "fs/pool_header.h"
#include "fs/recovery.h"

namespace hapm {

using format::Inode;
using format::kBlockSize;

namespace {
// Data blocks freed per transaction when truncating or reclaiming: bounds the
// journal payload (pointer clears + bitmap words) well below its capacity.
constexpr uint64_t kPunchBudgetBlocks = 4096;
}  // namespace

std::string RecoveryReport::summary() const {
  std::string s =
      was_clean ? "last unmount was clean" : "last mount did not end cleanly (crash or kill)";
  if (header_from_backup) s += "; primary header damaged, backup used";
  if (journal_replayed)
    s += "; replayed journal transaction " + std::to_string(journal_seq) + " (" +
         std::to_string(journal_records) + " records)";
  if (orphans_reclaimed)
    s += "; reclaimed " + std::to_string(orphans_reclaimed) + " orphan inode(s)";
  if (blocks_trimmed)
    s += "; freed " + std::to_string(blocks_trimmed) + " block(s) past end of file";
  if (!unsafe_shutdowns.empty()) s += "; unsafe shutdown count: " + unsafe_shutdowns;
  return s;
}

Filesystem::Filesystem(PoolMemory& pool, const format::PoolHeader& header, uint64_t journal_seq)
    : pool_(pool),
      header_(header),
      journal_(pool, journal_seq),
      blocks_(pool, header),
      inodes_(pool, header),
      impl_(std::make_unique<Impl>(*this)) {}

Filesystem::~Filesystem() = default;

uint64_t Filesystem::fsync_count() const {
  return impl_->fsyncs;
}

Result<format::PoolHeader> Filesystem::recover(PoolMemory& pool, RecoveryReport* report) {
  // A foreign or newer pool is refused before anything is written. A header
  // that is merely damaged may be the torn home of a committed transaction
  // (both copies are written in one): replay first, then judge the header.
  HeaderCheck check;
  auto header = read_header(pool, &check);
  if (!header.is_ok() && header.status().code() != Code::Corruption) return header.status();
  auto replay = Journal::replay(pool);
  if (!replay.is_ok()) return header.is_ok() ? replay.status() : header.status();
  report->journal_replayed = replay->replayed;
  report->journal_seq = replay->seq;
  report->journal_records = replay->records;
  if (replay->replayed || !header.is_ok()) {
    header = read_header(pool, &check);
    if (!header.is_ok()) return header.status();
  }
  report->header_from_backup = !check.primary_ok;
  report->was_clean = header->clean == 1;

  // Orphans and interrupted truncates: found by one pass over the inodes.
  Filesystem fs(pool, *header, replay->seq);
  Impl& im = *fs.impl_;
  BlockMap map(pool, nullptr);
  for (uint64_t ino = 1; ino < header->inode_count; ++ino) {
    const Inode inode = pool.load<Inode>(inode_offset(*header, ino));
    if (inode.mode == 0 || !inode_crc_ok(inode)) continue;  // free, or for fsck to judge
    if (inode.nlink == 0) {
      HAPM_TRY(im.reclaim(ino));
      ++report->orphans_reclaimed;
      continue;
    }
    const uint64_t end_block = (inode.size + kBlockSize - 1) / kBlockSize;
    if (map.next_mapped(inode, end_block) != kNoBlock) {
      const uint64_t before = inode.blocks;
      HAPM_TRY(im.punch_blocks(ino, end_block, kNoBlock));
      report->blocks_trimmed += before - pool.load<Inode>(inode_offset(*header, ino)).blocks;
    }
  }
  report->journal_seq = fs.journal_.last_seq();
  return fs.header_;
}

Result<format::PoolHeader> recover_pool(PoolMemory& pool, RecoveryReport* report) {
  return Filesystem::recover(pool, report);
}

Result<std::unique_ptr<Filesystem>> Filesystem::mount(PoolMemory& pool, const MountOptions& options,
                                                      RecoveryReport* report) {
  RecoveryReport local;
  RecoveryReport& r = report ? *report : local;
  auto header = recover(pool, &r);
  if (!header.is_ok()) return header.status();
  format::PoolHeader h = *header;

  // R21: compare the device's unsafe shutdown count with the one recorded.
  const bool known_before = h.unsafe_shutdown_count != format::kUnknownShutdownCount;
  if (!options.unsafe_shutdown_count) {
    r.unsafe_shutdowns = "unknown (not reported for this pool's device)";
  } else if (!known_before || *options.unsafe_shutdown_count == h.unsafe_shutdown_count) {
    r.unsafe_shutdowns = std::to_string(*options.unsafe_shutdown_count) + " (unchanged)";
  } else {
    r.unsafe_shutdowns = std::to_string(*options.unsafe_shutdown_count) + " (changed: was " +
                         std::to_string(h.unsafe_shutdown_count) + ")";
    if (h.clean == 1) r.was_clean = false;  // a dirty shutdown of the device itself
  }

  std::unique_ptr<Filesystem> fs(new Filesystem(pool, h, r.journal_seq));
  fs->impl_->read_only = options.read_only;
  if (!options.read_only) {
    // In use from now on: clean = 0 until unmount() (both header copies).
    h.clean = 0;
    ++h.mount_count;
    h.unsafe_shutdown_count = options.unsafe_shutdown_count.value_or(format::kUnknownShutdownCount);
    h.crc = header_crc(h);
    Transaction txn(pool);
    txn.put(format::kHeaderBlock * kBlockSize, h);
    txn.put(format::kBackupHeaderBlock * kBlockSize, h);
    HAPM_TRY(fs->impl_->commit(txn));
    fs->header_ = h;
  }
  return fs;
}

Status Filesystem::unmount() {
  std::unique_lock lock(lock_);
  if (impl_->read_only) return Status::ok();
  Impl& im = *impl_;
  // Unlinked inodes still referenced by the kernel are freed now.
  std::vector<uint64_t> orphans;
  for (const auto& [ino, refs] : im.refs) orphans.push_back(ino);
  im.refs.clear();
  for (uint64_t ino : orphans) {
    auto inode = im.load(ino);
    if (inode.is_ok() && inode->nlink == 0) HAPM_TRY(im.reclaim(ino));
  }
  std::vector<uint64_t> pending;
  for (const auto& [ino, t] : im.pending_mtime) pending.push_back(ino);
  for (uint64_t ino : pending) HAPM_TRY(im.commit_pending_times(ino));
  pool_.flush_dirty();
  format::PoolHeader h = header_;
  h.clean = 1;
  h.crc = header_crc(h);
  Transaction txn(pool_);
  txn.put(format::kHeaderBlock * kBlockSize, h);
  txn.put(format::kBackupHeaderBlock * kBlockSize, h);
  HAPM_TRY(im.commit(txn));
  header_ = h;
  im.read_only = true;  // nothing may change after a clean unmount
  return Status::ok();
}

// ---- Impl helpers -----------------------------------------------------------

namespace {
// The checks every inode read from the pool passes before use.
Result<Inode> checked(uint64_t ino, const Inode& inode) {
  if (inode.mode == 0) return Status(Code::NotFound, "inode " + std::to_string(ino) + " is free");
  if (!inode_crc_ok(inode))
    return Status(Code::Corruption,
                  "inode " + std::to_string(ino) + " fails its checksum (run hapm fsck)");
  return inode;
}
}  // namespace

Result<Inode> Filesystem::Impl::load(uint64_t ino) const {
  if (!ino_in_range(ino))
    return Status(Code::NotFound, "inode " + std::to_string(ino) + " does not exist");
  return checked(ino, fs.pool_.load<Inode>(ino_offset(ino)));
}

Result<Inode> Filesystem::Impl::load(const Transaction& txn, uint64_t ino) const {
  if (!ino_in_range(ino))
    return Status(Code::NotFound, "inode " + std::to_string(ino) + " does not exist");
  return checked(ino, txn.get<Inode>(ino_offset(ino)));
}

Result<Inode> Filesystem::Impl::load_dir(const Transaction& txn, uint64_t ino) const {
  auto inode = load(txn, ino);
  if (inode.is_ok() && !S_ISDIR(inode->mode))
    return Status(Code::NotADirectory, "inode " + std::to_string(ino) + " is not a directory");
  if (inode.is_ok() && inode->nlink == 0)  // removed, still referenced: nothing may enter
    return Status(Code::NotFound, "directory " + std::to_string(ino) + " was removed");
  return inode;
}

void Filesystem::Impl::store(Transaction& txn, uint64_t ino, Inode inode) {
  auto it = pending_mtime.find(ino);
  if (it != pending_mtime.end()) {
    inode.mtime_ns = std::max(inode.mtime_ns, it->second);
    inode.ctime_ns = std::max(inode.ctime_ns, it->second);
    pending_mtime.erase(it);
  }
  seal_inode(inode);
  txn.put(ino_offset(ino), inode);
}

Status Filesystem::Impl::commit(Transaction& txn) {
  fs.blocks_.prepare(txn);
  Status s = fs.journal_.commit(txn);
  fs.blocks_.finish(txn, s.is_ok());
  fs.inodes_.finish(txn, s.is_ok());
  if (!s.is_ok()) {
    spdlog::warn("transaction not committed: {}", s.to_string());
    std::lock_guard guard(cache_mutex);
    dirs.clear();  // the DRAM indexes may hold this operation's changes
  }
  return s;
}

void Filesystem::Impl::abort(const Transaction& txn) {
  fs.blocks_.finish(txn, false);
  fs.inodes_.finish(txn, false);
  std::lock_guard guard(cache_mutex);
  dirs.clear();  // an index may hold slots this operation took
}

void Filesystem::Impl::fill_attr(uint64_t ino, const Inode& inode, Attr* out) const {
  out->ino = ino;
  out->generation = inode.generation;
  out->mode = inode.mode;
  out->nlink = inode.nlink;
  out->uid = inode.uid;
  out->gid = inode.gid;
  out->size = inode.size;
  out->blocks_512 = inode.blocks * (kBlockSize / 512);
  out->rdev = inode.rdev;
  out->atime_ns = inode.atime_ns;
  out->mtime_ns = inode.mtime_ns;
  out->ctime_ns = inode.ctime_ns;
  auto it = pending_mtime.find(ino);
  if (it != pending_mtime.end()) {
    out->mtime_ns = std::max(out->mtime_ns, it->second);
    out->ctime_ns = std::max(out->ctime_ns, it->second);
  }
}

DirIndex& Filesystem::Impl::dir_index(uint64_t dir, const Inode& inode) {
  std::lock_guard guard(cache_mutex);
  auto& slot = dirs[dir];
  if (!slot) slot = DirIndex::build(fs.pool_, inode);
  return *slot;
}

void Filesystem::Impl::drop_dir_index(uint64_t dir) {
  std::lock_guard guard(cache_mutex);
  dirs.erase(dir);
}

void Filesystem::Impl::add_lookup(uint64_t ino) {
  std::lock_guard guard(cache_mutex);
  ++refs[ino].lookups;
}

bool Filesystem::Impl::referenced(uint64_t ino) {
  std::lock_guard guard(cache_mutex);
  auto it = refs.find(ino);
  return it != refs.end() && (it->second.lookups > 0 || it->second.opens > 0);
}

Status Filesystem::Impl::punch_blocks(uint64_t ino, uint64_t first, uint64_t end) {
  for (int round = 0;; ++round) {
    Transaction txn(fs.pool_);
    auto inode = load(txn, ino);
    if (!inode.is_ok()) return inode.status();
    bool done = false;
    BlockMap(fs.pool_, &txn).punch(fs.blocks_, *inode, first, end, kPunchBudgetBlocks, &done);
    store(txn, ino, *inode);
    HAPM_TRY(commit(txn));
    if (done) return Status::ok();
  }
}

Status Filesystem::Impl::reclaim(uint64_t ino) {
  HAPM_TRY(punch_blocks(ino, 0, kNoBlock));
  Transaction txn(fs.pool_);
  auto inode = load(txn, ino);
  if (!inode.is_ok()) return inode.status();
  if (inode->xattr_block) fs.blocks_.release(txn, inode->xattr_block);
  Inode freed{};
  freed.generation = inode->generation;  // kept so a reused slot gets a new one
  seal_inode(freed);
  pending_mtime.erase(ino);
  txn.put(ino_offset(ino), freed);
  fs.inodes_.release(txn, ino);
  HAPM_TRY(commit(txn));
  drop_dir_index(ino);
  return Status::ok();
}

Status Filesystem::Impl::commit_pending_times(uint64_t ino) {
  if (pending_mtime.find(ino) == pending_mtime.end()) return Status::ok();
  Transaction txn(fs.pool_);
  auto inode = load(txn, ino);
  if (!inode.is_ok()) {
    pending_mtime.erase(ino);
    return Status::ok();
  }
  store(txn, ino, *inode);
  return commit(txn);
}

// ---- references, open files, fsync, statfs ----------------------------------

void Filesystem::forget(uint64_t ino, uint64_t count) {
  std::unique_lock lock(lock_);
  {
    std::lock_guard guard(impl_->cache_mutex);
    auto it = impl_->refs.find(ino);
    if (it == impl_->refs.end()) return;
    it->second.lookups -= std::min(count, it->second.lookups);
    if (it->second.lookups > 0 || it->second.opens > 0) return;
    impl_->refs.erase(it);
  }
  auto inode = impl_->load(ino);
  if (inode.is_ok() && inode->nlink == 0 && !impl_->read_only) {
    Status s = impl_->reclaim(ino);
    if (!s.is_ok()) spdlog::error("cannot reclaim inode {}: {}", ino, s.to_string());
  }
}

Status Filesystem::open(uint64_t ino, int /*flags*/) {
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  std::lock_guard guard(impl_->cache_mutex);
  ++impl_->refs[ino].opens;
  return Status::ok();
}

void Filesystem::release(uint64_t ino) {
  std::unique_lock lock(lock_);
  {
    std::lock_guard guard(impl_->cache_mutex);
    auto it = impl_->refs.find(ino);
    if (it == impl_->refs.end()) return;
    if (it->second.opens > 0) --it->second.opens;
    if (it->second.lookups > 0 || it->second.opens > 0) return;
    impl_->refs.erase(it);
  }
  auto inode = impl_->load(ino);
  if (inode.is_ok() && inode->nlink == 0 && !impl_->read_only) {
    Status s = impl_->reclaim(ino);
    if (!s.is_ok()) spdlog::error("cannot reclaim inode {}: {}", ino, s.to_string());
  }
}

Status Filesystem::fsync(uint64_t ino, bool datasync) {
  uint64_t ticket = 0;
  {
    std::unique_lock lock(lock_);
    if (!datasync && !impl_->read_only) HAPM_TRY(impl_->commit_pending_times(ino));
    // Every store made so far becomes durable: file data written in place and
    // anything not yet flushed. This is where a consistency point closes.
    pool_.flush_dirty();
    ++impl_->fsyncs;
    if (!cp_sink_) return Status::ok();
    Result<uint64_t> closed = cp_sink_->close_cp();
    if (!closed.is_ok()) return closed.status();
    ticket = *closed;
  }
  // Waiting for a replica happens without the lock, so other operations (and
  // other fsyncs, which may share this round trip) go on meanwhile.
  return cp_sink_->wait_cp(ticket);
}

void Filesystem::with_pool_stable(const std::function<void()>& fn) {
  std::shared_lock lock(lock_);
  fn();
}

void Filesystem::with_pool_exclusive(const std::function<void()>& fn) {
  std::unique_lock lock(lock_);
  fn();
}

FsStats Filesystem::statfs() {
  std::shared_lock lock(lock_);
  FsStats s;
  s.total_blocks = blocks_.data_blocks();
  const uint64_t free = blocks_.free_blocks();
  s.free_blocks = free > BlockAllocator::kReserveBlocks ? free - BlockAllocator::kReserveBlocks : 0;
  s.total_inodes = inodes_.total_inodes() - 1;
  s.free_inodes = inodes_.free_inodes();
  return s;
}

}  // namespace hapm
