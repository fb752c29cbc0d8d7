#include "test/crash/crash_runner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <unordered_set>

#include "test/crash/recovery_crashes.h"
#include "test/crash/saved_image.h"

namespace hapm::crash {

namespace {

bool has_torn(const Subset& s) {
  return std::any_of(s.begin(), s.end(), [](const LineChoice& c) { return c.word_mask != 0xff; });
}

std::string replay_command(const std::string& op, const RunConfig& c, size_t point, size_t k) {
  std::ostringstream o;
  o << "crash_states --op " << op << " --seed " << c.plan.seed << " --point " << point
    << " --image " << k << (c.plan.torn ? "" : " --no-torn")
    << (c.plan.exhaustive ? " --exhaustive" : "");
  return o.str();
}

void print_problems(const std::vector<std::string>& problems, std::ostream& out) {
  for (const std::string& p : problems) out << "    " << p << "\n";
}

std::string join_states(const std::vector<size_t>& matched) {
  std::ostringstream o;
  for (size_t i = 0; i < matched.size(); ++i) o << (i ? "/" : "") << matched[i];
  return o.str();
}

}  // namespace

OpResult run_op(const Scenario& sc, const RunConfig& config, std::ostream& out) {
  auto rec = record(sc);
  if (!rec.is_ok()) {
    out << "[FAIL] " << sc.name << ": recording the run failed: " << rec.status().to_string()
        << "\n";
    OpResult res;
    res.op = sc.name;
    res.failures = 1;
    return res;
  }
  std::vector<std::string> cross = cross_check(sc, rec.value());
  if (!cross.empty()) {
    out << "[FAIL] " << sc.name << ": the recorded run differs from a plain RamPool run:\n";
    print_problems(cross, out);
  }
  if (!rec->fsync_gaps.empty()) {
    out << "[FAIL] " << sc.name << ": an fsync left changes only in DRAM:\n";
    print_problems(rec->fsync_gaps, out);
  }
  OpResult res = check_recording(sc, rec.value(), config, out, false);
  RecoveryCrashResult rc = check_recovery_crashes(sc, rec.value(), config, out, false);
  res.recovery_images = rc.images;
  res.failures += rc.failures;
  res.failures += (cross.empty() ? 0 : 1) + (rec->fsync_gaps.empty() ? 0 : 1);
  out << (res.ok() ? "[ok]   " : "[FAIL] ") << sc.name << ": " << res.points << " crash points, "
      << res.images << " images (" << res.torn << " with torn lines, " << res.mixed
      << " with partly written data, " << res.duplicates << " duplicates skipped); states matched "
      << join_states(res.matched) << "; " << rc.images << " more cut during the recovery of "
      << rc.recorded << " of them"
      << (res.failures ? ", " + std::to_string(res.failures) + " failing" : "") << "\n";
  return res;
}

OpResult check_recording(const Scenario& sc, const Recording& recording, const RunConfig& config,
                         std::ostream& out, bool quiet) {
  OpResult res;
  res.op = sc.name;
  const Recording* rec = &recording;
  res.matched.assign(rec->states.size(), 0);
  CrashStates states(rec->log);
  res.points = states.crash_points();
  std::vector<size_t> counts;
  for (size_t p = 0; p < res.points; ++p) {
    states.seek(p);
    counts.push_back(states.pending_lines().size());
  }
  std::vector<size_t> quota = plan_quotas(counts, config.budget, config.plan);
  std::unordered_set<uint64_t> seen;
  std::vector<uint8_t> image;
  ScratchPools scratch;
  std::vector<size_t> next_k(res.points, 0), done(res.points, 0);
  std::vector<bool> exhausted(res.points, false);
  // Checks images at point p until `want` distinct ones are done there, or
  // the point looks exhausted (every recent attempt a duplicate).
  auto fill = [&](size_t p, size_t want) {
    states.seek(p);
    const std::vector<uint64_t> pending = states.pending_lines();
    const size_t lo = rec->min_state(p), hi = rec->max_state(p);
    size_t& distinct = done[p];
    const size_t k_end = next_k[p] + (want - std::min(want, distinct)) * 32 + 32;
    for (size_t& k = next_k[p]; distinct < want; ++k) {
      if (k >= k_end) {
        exhausted[p] = true;
        break;
      }
      Subset subset = choose_subset(pending, config.plan, sc.name, p, k);
      // Identical images (at points with the same allowed states) are checked once.
      uint64_t key = states.image_hash(subset) ^ (uint64_t{lo} * 0x9e3779b97f4a7c15ULL) ^
                     (uint64_t{hi} * 0xc2b2ae3d27d4eb4fULL);
      if (!seen.insert(key).second) {
        ++res.duplicates;
        continue;
      }
      states.build(subset, &image);
      ++distinct;
      ++res.images;
      if (has_torn(subset)) ++res.torn;
      ImageVerdict v = check_image(image, *rec, lo, hi, config.check, scratch);
      if (v.matched_state >= 0) ++res.matched[v.matched_state];
      if (v.mixed_data) ++res.mixed;
      if (v.problems.empty()) continue;
      if (++res.failures <= config.failures_shown_max && !quiet) {
        out << "[FAIL] " << sc.name << " crash point " << p << "/" << res.points << " image " << k
            << " (" << pending.size() << " uncertain lines, " << subset.size()
            << " written back; allowed states " << lo << ".." << hi << "):\n";
        print_problems(v.problems, out);
        out << "    replay: " << replay_command(sc.name, config, p, k) << "\n"
            << "    regression line: " << sc.name << "-p" << p << " " << sc.name << " " << p << " "
            << (subset.empty() ? "-" : format_subset(subset)) << "\n";
      }
      if (!config.save_dir.empty() && !quiet) {
        std::string path = config.save_dir + "/" + sc.name + "-p" + std::to_string(p) + "-i" +
                           std::to_string(k) + ".img";
        ImageInfo info{{"op", sc.name},
                       {"point", std::to_string(p)},
                       {"image", std::to_string(k)},
                       {"seed", std::to_string(config.plan.seed)},
                       {"subset", subset.empty() ? "-" : format_subset(subset)}};
        Status s = save_image(path, info, image);
        if (!s.is_ok()) out << "    saving the image: " << s.to_string() << "\n";
      }
    }
  };
  for (size_t p = 0; p < res.points; ++p) fill(p, quota[p]);
  // Budget left by points with few distinct images goes to the others.
  size_t budget = 0, checked = 0;
  for (size_t p = 0; p < res.points; ++p) budget += quota[p], checked += done[p];
  for (int pass = 0; pass < 4 && !config.plan.exhaustive && checked < budget; ++pass) {
    std::vector<size_t> open;
    for (size_t p = 0; p < res.points; ++p)
      if (!exhausted[p] && counts[p] > 0) open.push_back(p);
    if (open.empty()) break;
    const size_t share = std::max<size_t>(1, (budget - checked) / open.size());
    for (size_t p : open) {
      if (checked >= budget) break;
      size_t before = done[p];
      fill(p, done[p] + std::min(share, budget - checked));
      checked += done[p] - before;
    }
  }
  if (config.verbose && !quiet)
    for (size_t p = 0; p < res.points; ++p)
      out << "  point " << p << ": " << counts[p] << " uncertain lines, states "
          << rec->min_state(p) << ".." << rec->max_state(p) << ", " << done[p] << " images"
          << (exhausted[p] ? " (no more distinct ones found)" : "") << "\n";
  return res;
}

bool run_mutants(const Scenario& sc, const RunConfig& config, std::ostream& out) {
  auto base = record(sc);
  if (!base.is_ok()) {
    out << "[FAIL] mutants of " << sc.name << ": recording failed: " << base.status().to_string()
        << "\n";
    return false;
  }
  size_t caught = 0;
  const uint64_t drains = base->drain_calls;
  for (uint64_t d = 0; d < drains; ++d) {
    auto rec = record(sc, {d});
    if (!rec.is_ok()) {
      out << "  mutant without fence " << d << ": recording failed: " << rec.status().to_string()
          << "\n";
      continue;
    }
    OpResult r = check_recording(sc, rec.value(), config, out, true);
    caught += r.failures ? 1 : 0;
    if (config.verbose || r.failures == 0)
      out << "  " << sc.name << " without fence " << d + 1 << " of " << drains << ": "
          << (r.failures ? "caught (" + std::to_string(r.failures) + " of " +
                               std::to_string(r.images) + " images fail)"
                         : "not caught (" + std::to_string(r.images) + " images)")
          << "\n";
  }
  out << (caught ? "[ok]   " : "[FAIL] ") << "mutants of " << sc.name << ": " << caught << " of "
      << drains << " fences found missing by the checker\n";
  return caught > 0;
}

bool replay_image(const Scenario& sc, const RunConfig& config, size_t point,
                  std::optional<size_t> k, std::optional<Subset> subset, std::ostream& out) {
  auto rec = record(sc);
  if (!rec.is_ok()) {
    out << "recording failed: " << rec.status().to_string() << "\n";
    return false;
  }
  CrashStates states(rec->log);
  if (point >= states.crash_points()) {
    out << "crash point " << point << " out of range: the run has " << states.crash_points()
        << "\n";
    return false;
  }
  states.seek(point);
  std::vector<uint64_t> pending = states.pending_lines();
  Subset chosen =
      subset ? *subset : choose_subset(pending, config.plan, sc.name, point, k.value_or(0));
  std::vector<uint8_t> image;
  size_t stale = 0;
  states.build(chosen, &image, &stale);
  const size_t lo = rec->min_state(point), hi = rec->max_state(point);
  out << sc.name << " crash point " << point << " of " << states.crash_points() << ": "
      << pending.size() << " uncertain lines, allowed states " << lo << ".." << hi << "\n"
      << "  uncertain lines: "
      << format_subset(choose_subset(pending, config.plan, sc.name, point, 1)) << "\n"
      << "  written back:    " << (chosen.empty() ? "-" : format_subset(chosen)) << "\n";
  if (stale) out << "  warning: " << stale << " chosen lines are not uncertain here (stale case)\n";
  ScratchPools scratch;
  ImageVerdict v = check_image(image, rec.value(), lo, hi, config.check, scratch);
  if (config.verbose) {
    auto hex = [](const uint8_t* p) {
      std::string h;
      static const char* digits = "0123456789abcdef";
      for (uint64_t i = 0; i < kLineBytes; ++i) {
        if (i && i % 8 == 0) h += ' ';
        h += digits[p[i] >> 4];
        h += digits[p[i] & 15];
      }
      return h;
    };
    for (uint64_t line : pending)
      out << "  line " << line << " (pool offset " << line * kLineBytes << ")\n    durable "
          << hex(states.durable_line(line)) << "\n    pending "
          << hex(states.pending_line(line)->data()) << "\n";
    for (size_t s = lo; s <= hi; ++s) out << "state " << s << ":\n" << describe(rec->states[s]);
  }
  out << (v.problems.empty() ? "PASS" : "FAIL") << " (matched state " << v.matched_state
      << (v.mixed_data ? ", partly written data" : "") << ")\n";
  print_problems(v.problems, out);
  if (!config.save_dir.empty()) {
    std::string path = config.save_dir + "/" + sc.name + "-p" + std::to_string(point) + ".img";
    ImageInfo info{{"op", sc.name},
                   {"point", std::to_string(point)},
                   {"subset", chosen.empty() ? "-" : format_subset(chosen)}};
    Status s = save_image(path, info, image);
    out << (s.is_ok() ? "saved " + path : s.to_string()) << "\n";
  }
  return v.problems.empty();
}

std::pair<size_t, size_t> run_regressions(const std::string& path, const RunConfig& config,
                                          std::ostream& out) {
  std::ifstream in(path);
  if (!in) {
    out << "[FAIL] regressions: cannot read " << path << "\n";
    return {0, 1};
  }
  size_t passed = 0, failed = 0;
  std::map<std::string, std::unique_ptr<Recording>> recordings;
  ScratchPools scratch;
  std::string line;
  for (int lineno = 1; std::getline(in, line) && lineno < 100000; ++lineno) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, op, subset_text;
    size_t point = 0;
    Subset subset;
    std::string marker;
    fields >> name >> op >> point >> subset_text >> marker;
    const bool xfail = marker == "xfail";
    if (!fields.eof() || name.empty() || subset_text.empty() || !(marker.empty() || xfail) ||
        !parse_subset(subset_text, &subset)) {
      out << "[FAIL] " << path << ":" << lineno << ": cannot parse '" << line << "'\n";
      ++failed;
      continue;
    }
    const Scenario* sc = find_scenario(op);
    if (!sc) {
      out << "[FAIL] regression " << name << ": no operation '" << op << "'\n";
      ++failed;
      continue;
    }
    auto& rec = recordings[op];
    if (!rec) {
      auto r = record(*sc);
      if (!r.is_ok()) {
        out << "[FAIL] regression " << name << ": recording failed: " << r.status().to_string()
            << "\n";
        ++failed;
        continue;
      }
      rec = std::make_unique<Recording>(std::move(r.value()));
    }
    CrashStates states(rec->log);
    if (point >= states.crash_points()) {
      out << "[FAIL] regression " << name << ": crash point " << point << " no longer exists ("
          << states.crash_points() << " now): the case is stale, rewrite it\n";
      ++failed;
      continue;
    }
    states.seek(point);
    std::vector<uint8_t> image;
    size_t stale = 0;
    states.build(subset, &image, &stale);
    ImageVerdict v = check_image(image, *rec, rec->min_state(point), rec->max_state(point),
                                 config.check, scratch);
    if (stale)
      out << "[warn] regression " << name << ": " << stale
          << " of its lines are no longer uncertain at that point (the write pattern changed)\n";
    if (v.problems.empty() && !xfail) {
      ++passed;
      if (config.verbose) out << "[ok]   regression " << name << "\n";
    } else if (v.problems.empty()) {
      ++failed;  // strict: a fixed bug must lose its marker, or the case proves nothing
      out << "[FAIL] regression " << name << " passes but is marked xfail: remove the marker\n";
    } else if (xfail) {
      ++passed;
      out << "[xfail] regression " << name << " (" << op << " point " << point
          << ") still fails, as marked: " << v.problems.front() << "\n";
    } else {
      ++failed;
      out << "[FAIL] regression " << name << " (" << op << " point " << point << "):\n";
      print_problems(v.problems, out);
    }
  }
  out << "regressions: " << passed << " passed, " << failed << " failed\n";
  return {passed, failed};
}

std::pair<size_t, size_t> run_saved_images(const std::string& dir, std::ostream& out) {
  size_t passed = 0, failed = 0;
  std::error_code ec;
  std::vector<std::string> files;
  ScratchPools scratch;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".img") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    ImageInfo info;
    std::vector<uint8_t> image;
    Status s = load_image(file, &info, &image);
    std::vector<std::string> problems;
    if (!s.is_ok())
      problems.push_back(s.to_string());
    else
      problems = check_image_standalone(image, scratch);
    if (problems.empty()) {
      ++passed;
    } else {
      ++failed;
      out << "[FAIL] saved image " << file << " (op " << info["op"] << ", point " << info["point"]
          << "):\n";
      print_problems(problems, out);
    }
  }
  out << "saved images: " << passed << " passed, " << failed << " failed\n";
  return {passed, failed};
}

}  // namespace hapm::crash
