#include "test/crash/crash_check.h"

#include <cstring>

#include "fs/dirty_map.h"
#include "fs/mkfs.h"
#include "fs/pool_header.h"
#include "fs/ram_pool.h"
#include "tools/fsck.h"

namespace hapm::crash {

namespace {

// mkfs, mount, populate, fsync, then the steps. `at_state(j, fs)` runs after
// the setup (j = 0) and after each step j; `at_start` just before step 1.
Status run_scenario(const Scenario& sc, PoolMemory& pool, const std::function<void()>& at_start,
                    const std::function<Status(size_t, Filesystem&)>& at_state) {
  HAPM_TRY(make_filesystem(pool, MkfsOptions{}));
  RecoveryReport report;
  auto mounted = Filesystem::mount(pool, MountOptions{}, &report);
  if (!mounted.is_ok()) return mounted.status();
  Filesystem& fs = *mounted.value();
  FsDriver d(fs);
  Status s = populate(d);
  if (s.is_ok() && sc.extra_setup) s = sc.extra_setup(d);
  if (s.is_ok()) s = d.fsync("/");
  if (!s.is_ok()) return Status(s.code(), "setup: " + s.message());
  HAPM_TRY(at_state(0, fs));
  if (at_start) at_start();
  for (size_t j = 0; j < sc.steps.size(); ++j) {
    Status r = sc.steps[j].run(d);
    if (!r.is_ok()) return Status(r.code(), "step '" + sc.steps[j].what + "': " + r.message());
    HAPM_TRY(at_state(j + 1, fs));
  }
  return Status::ok();
}

std::string fsck_summary(const FsckReport& r) {
  std::string s = "exit " + std::to_string(r.exit_code);
  if (!r.error.empty()) s += " (" + r.error + ")";
  return s;
}

void clear_times(Snapshot* snap) {
  for (auto& [path, node] : snap->nodes)
    node.attr.atime_ns = node.attr.mtime_ns = node.attr.ctime_ns = 0;
}

}  // namespace

PoolMemory& ScratchPools::load(int which, const std::vector<uint8_t>& image) {
  std::vector<uint8_t>& bytes = bytes_[which];
  memory_[which].reset();
  if (bytes.size() != image.size()) bytes.assign(image.size(), 0);
  std::memcpy(bytes.data(), image.data(), image.size());
  memory_[which] = std::make_unique<PoolMemory>(bytes.data(), bytes.size(), domain_);
  return *memory_[which];
}

size_t Recording::min_state(size_t point) const {
  size_t k = 0;
  for (size_t j = 1; j < states.size(); ++j)
    if (durable[j] && step_fence[j] <= point) k = j;
  return k;
}

size_t Recording::max_state(size_t point) const {
  // Step j's stores start in the epoch after the fence step j-1 ended with.
  size_t k = 0;
  for (size_t j = 1; j < states.size(); ++j)
    if (step_fence[j - 1] <= point) k = j;
  return k;
}

Result<Recording> record(const Scenario& sc, const std::vector<uint64_t>& skip_drains) {
  Recording rec;
  auto pool = std::make_unique<RecordingPool>(kPoolBytes);
  RecordingDomain& domain = pool->domain();
  std::vector<uint8_t> final_view;
  std::optional<uint64_t> bypass;
  std::unique_ptr<DirtyMap> dirty;  // destroyed before the pool
  Status map_status;
  Status s = run_scenario(
      sc, pool->memory(),
      [&] {
        // Track writes as a replicated mount does, from an all-clean map.
        auto h = read_header(pool->memory());
        auto m = h.is_ok() ? DirtyMap::attach(pool->memory(), *h)
                           : Result<std::unique_ptr<DirtyMap>>(h.status());
        if (!m.is_ok()) {
          map_status = m.status();
        } else {
          dirty = std::move(m.value());
          dirty->reset_for_replica(ReplicaId{1, 2, 3});
          dirty->clear_synced(dirty->open_cp());
          rec.baseline = domain.program_view();
        }
        domain.start_log();
        domain.skip_drains(skip_drains);
      },
      [&](size_t j, Filesystem& fs) -> Status {
        uint64_t stores = domain.stores();
        auto live = take_snapshot(fs);
        if (!live.is_ok()) return live.status();
        // Reading must not write: the snapshot would perturb the recording.
        if (domain.stores() != stores)
          return Status(Code::InvalidArgument, "taking a snapshot stored to the pool");
        // What the pool itself holds: times of in-place writes, for one, may
        // live in DRAM until the file's fsync.
        RamPool copy(domain.program_view());
        RecoveryReport report;
        auto mounted = Filesystem::mount(copy.memory(), MountOptions{}, &report);
        if (!mounted.is_ok())
          return Status(mounted.status().code(),
                        "mounting the program view: " + mounted.status().message());
        auto on_pool = take_snapshot(*mounted.value());
        if (!on_pool.is_ok()) return on_pool.status();
        if (j > 0 && sc.steps[j - 1].durable) {
          std::vector<std::string> gaps = diff_metadata(on_pool.value(), live.value());
          for (std::string& d : diff_contents(on_pool.value(), live.value())) gaps.push_back(d);
          for (std::string& d : gaps)
            rec.fsync_gaps.push_back("after '" + sc.steps[j - 1].what +
                                     "', pool vs what the program sees: " + d);
        }
        rec.states.push_back(std::move(on_pool.value()));
        rec.live.push_back(std::move(live.value()));
        rec.step_fence.push_back(domain.fences());
        rec.durable.push_back(j > 0 && sc.steps[j - 1].durable);
        // The log ends with the last step: unmount and teardown are not part of it.
        if (j == sc.steps.size()) {
          rec.log = domain.log();
          final_view = domain.program_view();
          rec.drain_calls = domain.drain_calls();
          bypass = domain.first_bypass();
          if (!bypass) bypass = domain.find_bypass();
        }
        return Status::ok();
      });
  HAPM_TRY(s);
  HAPM_TRY(map_status);
  if (bypass)
    return Status(Code::Corruption, "a store bypassed the persistence domain at pool offset " +
                                        std::to_string(*bypass));
  // The fsck/statfs offsets, from the final image as the program saw it.
  RamPool final_pool(final_view);
  FsckReport r = run_fsck(final_pool.memory(), FsckOptions{});
  if (r.exit_code != kFsckClean || !r.problems.empty())
    return Status(Code::Corruption,
                  "fsck of the final state: " + fsck_summary(r) + "\n" + r.to_text());
  const FsStats& st = rec.states.back().stats;
  rec.blocks_offset =
      static_cast<int64_t>(st.total_blocks - st.free_blocks) - static_cast<int64_t>(r.blocks_used);
  rec.inodes_offset =
      static_cast<int64_t>(st.total_inodes - st.free_inodes) - static_cast<int64_t>(r.inodes_used);
  return rec;
}

std::vector<std::string> cross_check(const Scenario& sc, const Recording& rec) {
  std::vector<std::string> out;
  RamPool pool(kPoolBytes);
  Status s = run_scenario(sc, pool.memory(), {}, [&](size_t j, Filesystem& fs) -> Status {
    auto snap = take_snapshot(fs);
    if (!snap.is_ok()) return snap.status();
    Snapshot want = rec.live[j];
    clear_times(&snap.value());
    clear_times(&want);
    for (const std::string& d : diff_metadata(snap.value(), want))
      out.push_back("state " + std::to_string(j) + ": " + d);
    for (const std::string& d : diff_contents(snap.value(), want))
      out.push_back("state " + std::to_string(j) + ": " + d);
    return Status::ok();
  });
  if (!s.is_ok()) out.push_back("plain RamPool run: " + s.to_string());
  return out;
}

std::vector<std::string> dirty_map_gaps(const std::vector<uint8_t>& image,
                                        const std::vector<uint8_t>& baseline) {
  std::vector<std::string> gaps;
  if (baseline.size() != image.size() || baseline.size() < sizeof(format::PoolHeader)) return gaps;
  format::PoolHeader h;
  std::memcpy(&h, baseline.data(), sizeof h);
  const uint64_t bits = (h.dirty_map_block + 1) * format::kBlockSize;
  const uint64_t map_begin = h.dirty_map_block * format::kBlockSize;
  const uint64_t map_end = h.data_block * format::kBlockSize;
  const uint64_t chunk = uint64_t{1} << h.dirty_chunk_shift;
  for (uint64_t c = 0; c * chunk < image.size(); ++c) {
    const uint64_t begin = c * chunk, end = std::min<uint64_t>(image.size(), begin + chunk);
    bool changed = false;
    for (uint64_t off = begin; off < end && !changed;) {
      if (off >= map_begin && off < map_end) {
        off = map_end;
        continue;
      }
      const uint64_t stop = off < map_begin ? std::min(end, map_begin) : end;
      changed = std::memcmp(image.data() + off, baseline.data() + off, stop - off) != 0;
      off = stop;
    }
    if (!changed) continue;
    uint64_t word;
    std::memcpy(&word, image.data() + bits + (c / 64) * 8, 8);
    if (!((word >> (c % 64)) & 1))
      gaps.push_back("dirty map: chunk " + std::to_string(c) +
                     " changed but its bit is not durable (a resync would miss it)");
  }
  return gaps;
}

ImageVerdict check_image(const std::vector<uint8_t>& image, const Recording& rec, size_t min_state,
                         size_t max_state, const CheckOptions& options, ScratchPools& scratch) {
  ImageVerdict v;
  auto problem = [&](std::string s) { v.problems.push_back(std::move(s)); };

  // 0. Replication: every chunk the image changed is marked in its dirty map.
  if (options.check_dirty_map)
    for (std::string& gap : dirty_map_gaps(image, rec.baseline)) problem(std::move(gap));

  // 1. fsck (which runs recovery first) on one copy: recovery alone must
  //    leave nothing to repair.
  uint64_t fsck_blocks = 0, fsck_inodes = 0;
  bool fsck_counts = false;
  {
    PoolMemory& a = scratch.load(0, image);
    FsckOptions fo;
    fo.repair = true;
    FsckReport r = run_fsck(a, fo);
    if (r.exit_code != kFsckClean && r.exit_code != kFsckCorrected)
      problem("fsck after recovery: " + fsck_summary(r));
    for (const FsckProblem& p : r.problems)
      problem("fsck: " + p.kind + ": " + p.detail + (p.repaired ? " (repaired)" : ""));
    if (r.exit_code == kFsckCorrected) {
      FsckReport again = run_fsck(a, fo);
      if (again.exit_code != kFsckClean)
        problem("second fsck after a repair: " + fsck_summary(again));
    }
    fsck_counts = r.exit_code == kFsckClean && r.problems.empty();
    fsck_blocks = r.blocks_used;
    fsck_inodes = r.inodes_used;
  }

  // 2. Mount-time recovery on another copy, then the state.
  PoolMemory& b = scratch.load(1, image);
  RecoveryReport report;
  auto mounted = Filesystem::mount(b, MountOptions{}, &report);
  if (!mounted.is_ok()) {
    problem("mount: " + mounted.status().to_string());
    return v;
  }
  std::unique_ptr<Filesystem> fs = std::move(mounted.value());
  auto snap = take_snapshot(*fs);
  if (!snap.is_ok()) {
    problem("walking the mounted image: " + snap.status().to_string());
  } else {
    const Snapshot& got = snap.value();
    for (size_t k = max_state + 1; k-- > min_state && v.matched_state < 0;) {
      if (!diff_metadata(got, rec.states[k], 1).empty()) continue;
      if (diff_contents(got, rec.states[k], 1).empty()) {
        v.matched_state = static_cast<int>(k);
        break;
      }
      std::vector<const Snapshot*> later;
      for (size_t m = k + 1; m <= max_state; ++m) later.push_back(&rec.states[m]);
      if (!later.empty() && diff_contents_mixed(got, rec.states[k], later, 1).empty()) {
        v.matched_state = static_cast<int>(k);
        v.mixed_data = true;
      }
    }
    if (v.matched_state < 0) {
      problem("the state is none of the states " + std::to_string(min_state) + ".." +
              std::to_string(max_state) + " the run went through");
      for (size_t k : {min_state, max_state}) {
        for (const std::string& d : diff_metadata(got, rec.states[k]))
          problem("  vs state " + std::to_string(k) + ": " + d);
        for (const std::string& d : diff_contents(got, rec.states[k]))
          problem("  vs state " + std::to_string(k) + ": " + d);
        if (min_state == max_state) break;
      }
    }
    const FsStats& st = got.stats;
    if (fsck_counts) {
      int64_t blocks = static_cast<int64_t>(st.total_blocks - st.free_blocks) -
                       static_cast<int64_t>(fsck_blocks);
      int64_t inodes = static_cast<int64_t>(st.total_inodes - st.free_inodes) -
                       static_cast<int64_t>(fsck_inodes);
      if (blocks != rec.blocks_offset || inodes != rec.inodes_offset)
        problem("free-space accounting: statfs says " +
                std::to_string(st.total_blocks - st.free_blocks) + " blocks and " +
                std::to_string(st.total_inodes - st.free_inodes) + " inodes used, fsck counted " +
                std::to_string(fsck_blocks) + " and " + std::to_string(fsck_inodes) + " (offsets " +
                std::to_string(blocks) + "/" + std::to_string(inodes) + ", expected " +
                std::to_string(rec.blocks_offset) + "/" + std::to_string(rec.inodes_offset) + ")");
    }
  }
  Status u = fs->unmount();
  if (!u.is_ok()) problem("unmount: " + u.to_string());
  fs.reset();
  if (options.fsck_after_unmount) {
    FsckReport r = run_fsck(b, FsckOptions{});
    if (r.exit_code != kFsckClean || !r.problems.empty()) {
      problem("fsck after mount + unmount: " + fsck_summary(r));
      for (const FsckProblem& p : r.problems) problem("  " + p.kind + ": " + p.detail);
    }
  }
  return v;
}

std::vector<std::string> check_image_standalone(const std::vector<uint8_t>& image,
                                                ScratchPools& scratch) {
  std::vector<std::string> out;
  {
    PoolMemory& a = scratch.load(0, image);
    FsckOptions fo;
    fo.repair = true;
    FsckReport r = run_fsck(a, fo);
    if (r.exit_code != kFsckClean) out.push_back("fsck after recovery: " + fsck_summary(r));
    for (const FsckProblem& p : r.problems) out.push_back("fsck: " + p.kind + ": " + p.detail);
  }
  PoolMemory& b = scratch.load(1, image);
  RecoveryReport report;
  auto mounted = Filesystem::mount(b, MountOptions{}, &report);
  if (!mounted.is_ok()) {
    out.push_back("mount: " + mounted.status().to_string());
    return out;
  }
  std::unique_ptr<Filesystem> fs = std::move(mounted.value());
  auto snap = take_snapshot(*fs);
  if (!snap.is_ok()) out.push_back("walking the mounted image: " + snap.status().to_string());
  Status u = fs->unmount();
  if (!u.is_ok()) out.push_back("unmount: " + u.to_string());
  fs.reset();
  FsckReport r = run_fsck(b, FsckOptions{});
  if (r.exit_code != kFsckClean || !r.problems.empty())
    out.push_back("fsck after mount + unmount: " + fsck_summary(r));
  return out;
}

}  // namespace hapm::crash
