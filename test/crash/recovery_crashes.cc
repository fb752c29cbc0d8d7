#include "test/crash/recovery_crashes.h"

#include "fs/dirty_map.h"
#include "fs/pool_header.h"
#include "test/crash/saved_image.h"

#include <ostream>
#include <string>
#include <unordered_set>

namespace hapm::crash {

namespace {

constexpr size_t kImagesPerRecoveryPoint = 3;  // drained, all lines, one random

struct RecordedRecovery {
  CrashLog log;
  RecoveryReport report;
  Status status;
  bool tracked = false;  // the dirty map was attached, as `hapm mount` does
};

// Mounts a copy of `image` on a recording pool; the log covers the mount
// (recovery and marking the pool in use), nothing after it.
RecordedRecovery record_recovery(const std::vector<uint8_t>& image) {
  RecordedRecovery r;
  auto pool = std::make_unique<RecordingPool>(image);
  // As `hapm mount` does: the dirty map is attached before recovery writes
  // (not possible when both header copies are torn; recovery then rewrites
  // them and such images skip the dirty-map check).
  std::unique_ptr<DirtyMap> dirty;
  if (auto h = read_header(pool->memory()); h.is_ok()) {
    if (auto m = DirtyMap::attach(pool->memory(), *h); m.is_ok()) dirty = std::move(m.value());
  }
  r.tracked = dirty != nullptr;
  pool->domain().start_log();
  auto mounted = Filesystem::mount(pool->memory(), MountOptions{}, &r.report);
  r.status = mounted.is_ok() ? Status::ok() : mounted.status();
  r.log = pool->domain().log();
  return r;
}

void save(const RunConfig& config, const Scenario& sc, size_t p, size_t k, size_t q, size_t k2,
          const Subset& s2, const std::vector<uint8_t>& image, std::ostream& out) {
  if (config.save_dir.empty()) return;
  std::string path = config.save_dir + "/" + sc.name + "-p" + std::to_string(p) + "-i" +
                     std::to_string(k) + "-r" + std::to_string(q) + "-i" + std::to_string(k2) +
                     ".img";
  ImageInfo info{{"op", sc.name},
                 {"point", std::to_string(p)},
                 {"image", std::to_string(k)},
                 {"recovery-point", std::to_string(q)},
                 {"recovery-image", std::to_string(k2)},
                 {"seed", std::to_string(config.plan.seed)},
                 {"recovery-subset", s2.empty() ? "-" : format_subset(s2)}};
  Status s = save_image(path, info, image);
  out << (s.is_ok() ? "    saved " + path : "    saving: " + s.to_string()) << "\n";
}

std::string recovery_seed_name(const Scenario& sc, size_t p, size_t k) {
  return sc.name + "/recovery/" + std::to_string(p) + "/" + std::to_string(k);
}

}  // namespace

RecoveryCrashResult check_recovery_crashes(const Scenario& sc, const Recording& rec,
                                           const RunConfig& config, std::ostream& out, bool quiet) {
  RecoveryCrashResult res;
  if (config.recovery_budget == 0) return res;
  CrashStates states(rec.log);
  ScratchPools scratch;
  std::vector<uint8_t> image, image2;
  std::unordered_set<uint64_t> seen;
  for (size_t p = 0; p < states.crash_points() && res.images < config.recovery_budget; ++p) {
    states.seek(p);
    const std::vector<uint64_t> pending = states.pending_lines();
    for (size_t k : {size_t{1}, size_t{0}}) {
      if (res.images >= config.recovery_budget) break;
      Subset subset = choose_subset(pending, config.plan, sc.name, p, k);
      if (!seen.insert(states.image_hash(subset)).second) continue;
      states.build(subset, &image);
      // Where the uninterrupted recovery ends: the state every interrupted
      // one must reach too.
      ImageVerdict first =
          check_image(image, rec, rec.min_state(p), rec.max_state(p), config.check, scratch);
      if (first.matched_state < 0) continue;  // reported by the main loop
      RecordedRecovery recovery = record_recovery(image);
      // Also when there is nothing to recover: mounting rewrites both pool
      // headers (in use, mount count), and a crash can cut that too.
      if (!recovery.status.is_ok()) continue;
      ++res.recorded;
      const size_t lo = first.matched_state;
      const size_t hi = first.mixed_data ? rec.max_state(p) : lo;
      CrashStates rstates(recovery.log);
      const std::string seed_name = recovery_seed_name(sc, p, k);
      for (size_t q = 0; q < rstates.crash_points(); ++q) {
        rstates.seek(q);
        const std::vector<uint64_t> rpending = rstates.pending_lines();
        std::unordered_set<uint64_t> rseen;
        for (size_t k2 = 0; k2 < kImagesPerRecoveryPoint; ++k2) {
          Subset s2 = choose_subset(rpending, config.plan, seed_name, q, k2);
          if (!rseen.insert(rstates.image_hash(s2)).second) continue;
          rstates.build(s2, &image2);
          ++res.images;
          CheckOptions options = config.check;
          options.check_dirty_map = recovery.tracked;
          ImageVerdict v = check_image(image2, rec, lo, hi, options, scratch);
          if (v.problems.empty()) continue;
          if (++res.failures <= config.failures_shown_max && !quiet) {
            out << "[FAIL] " << sc.name << " crash point " << p << " image " << k
                << ", recovery cut at its point " << q << " image " << k2 << " ("
                << recovery.report.summary() << "):\n";
            for (const std::string& prob : v.problems) out << "    " << prob << "\n";
            out << "    replay: crash_states --op " << sc.name << " --seed " << config.plan.seed
                << " --point " << p << " --image " << k << " --recovery-point " << q
                << " --recovery-image " << k2 << (config.plan.torn ? "" : " --no-torn") << "\n";
            save(config, sc, p, k, q, k2, s2, image2, out);
          }
        }
      }
    }
  }
  return res;
}

bool replay_recovery_image(const Scenario& sc, const RunConfig& config, size_t point, size_t k,
                           size_t recovery_point, size_t recovery_k, std::ostream& out) {
  auto rec = record(sc);
  if (!rec.is_ok()) {
    out << "recording failed: " << rec.status().to_string() << "\n";
    return false;
  }
  CrashStates states(rec->log);
  if (point >= states.crash_points()) {
    out << "crash point " << point << " out of range\n";
    return false;
  }
  states.seek(point);
  std::vector<uint8_t> image, image2;
  states.build(choose_subset(states.pending_lines(), config.plan, sc.name, point, k), &image);
  ScratchPools scratch;
  ImageVerdict first = check_image(image, rec.value(), rec->min_state(point), rec->max_state(point),
                                   config.check, scratch);
  out << "image " << k << " at crash point " << point << ": matched state " << first.matched_state
      << "\n";
  if (first.matched_state < 0) return false;
  RecordedRecovery recovery = record_recovery(image);
  out << "its recovery: " << recovery.report.summary() << " (" << recovery.status.to_string()
      << ")\n";
  CrashStates rstates(recovery.log);
  if (recovery_point >= rstates.crash_points()) {
    out << "recovery crash point " << recovery_point << " out of range: " << rstates.crash_points()
        << "\n";
    return false;
  }
  rstates.seek(recovery_point);
  Subset s2 = choose_subset(rstates.pending_lines(), config.plan, recovery_seed_name(sc, point, k),
                            recovery_point, recovery_k);
  rstates.build(s2, &image2);
  out << "  written back: " << (s2.empty() ? "-" : format_subset(s2)) << "\n";
  const size_t lo = first.matched_state;
  const size_t hi = first.mixed_data ? rec->max_state(point) : lo;
  ImageVerdict v = check_image(image2, rec.value(), lo, hi, config.check, scratch);
  out << (v.problems.empty() ? "PASS" : "FAIL") << " (matched state " << v.matched_state << ")\n";
  for (const std::string& p : v.problems) out << "    " << p << "\n";
  save(config, sc, point, k, recovery_point, recovery_k, s2, image2, out);
  return v.problems.empty();
}

}  // namespace hapm::crash
