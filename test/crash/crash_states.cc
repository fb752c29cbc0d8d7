// crash_states: power-failure testing of the filesystem core.
//
// For each operation: record its stores, flushes and fences on a recording
// pool, then check crash images at every fence (docs/crash-testing.md).
//
//   crash_states                          the default run (CI)
//   HAPM_CRASH_EXHAUSTIVE=1 crash_states  every subset where feasible
//   crash_states --op rename --seed S --point P --image K   replay one image
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <random>

#include "test/crash/crash_runner.h"
#include "test/crash/model_selftest.h"
#include "test/crash/recovery_crashes.h"
#include "test/crash/saved_image.h"

namespace {

using namespace hapm::crash;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int list_ops() {
  for (const Scenario& s : all_scenarios()) {
    std::cout << s.name << ":";
    for (const Step& step : s.steps) std::cout << " [" << step.what << "]";
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"crash-state checker: crash images of the pool at every fence"};
  RunConfig config;
  std::vector<std::string> ops, mutant_ops;
  size_t mutant_images = 60;
  std::optional<uint64_t> seed;
  std::optional<size_t> point, image, recovery_point, recovery_image;
  std::string subset_text, regressions, image_dir, check_file;
  bool no_torn = false, exhaustive = false, list = false, quick = false;
  app.add_option("--op", ops, "operations to check (default: all; see --list)");
  app.add_option("--seed", seed, "seed of the random subsets (default: random, printed)");
  app.add_option("--images", config.budget, "distinct crash images per operation")
      ->check(CLI::Range(1, 10000000));
  app.add_flag("--exhaustive", exhaustive,
               "every subset of up to 12 uncertain lines per fence, more samples elsewhere");
  app.add_flag("--no-torn", no_torn, "never cut a cache line at 8-byte granularity");
  app.add_flag("--quick", quick, "skip the fsck after mount + unmount of each image");
  app.add_option("--point", point, "replay: the crash point (fences done)");
  app.add_option("--image", image, "replay: the image number at that point");
  app.add_option("--recovery-point", recovery_point, "replay: then cut its recovery at this point");
  app.add_option("--recovery-image", recovery_image, "replay: the image number there");
  app.add_option("--recovery-images", config.recovery_budget,
                 "crash images of interrupted recoveries per operation (0: none)");
  app.add_option("--subset", subset_text,
                 "replay: the lines written back, e.g. 12,40:0x0f ('-' none)");
  app.add_option("--regressions", regressions, "file of regression cases to run first");
  app.add_option("--image-dir", image_dir, "directory of saved images (*.img) to check");
  app.add_option("--check-image", check_file, "check one saved image and exit");
  app.add_option("--save-failures", config.save_dir, "write each failing image to this directory");
  app.add_option("--show", config.failures_shown_max, "failing images described per operation");
  app.add_option(
      "--mutants", mutant_ops,
      "also run these operations with each fence removed in turn: the checker must catch some");
  app.add_option("--mutant-images", mutant_images, "images per mutant");
  app.add_flag("-v,--verbose", config.verbose, "more detail");
  app.add_flag("--list", list, "list the operations and exit");
  CLI11_PARSE(app, argc, argv);

  if (list) return list_ops();
  if (!seed && env("HAPM_CRASH_STATES_SEED"))
    seed = std::strtoull(env("HAPM_CRASH_STATES_SEED"), nullptr, 0);
  if (!seed) seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  if (env("HAPM_CRASH_STATES_IMAGES") && !app.count("--images"))
    config.budget = std::strtoull(env("HAPM_CRASH_STATES_IMAGES"), nullptr, 10);
  exhaustive = exhaustive ||
               (env("HAPM_CRASH_EXHAUSTIVE") && std::string(env("HAPM_CRASH_EXHAUSTIVE")) == "1");
  config.plan.seed = *seed;
  config.plan.torn = !no_torn;
  config.plan.exhaustive = exhaustive;
  config.check.fsck_after_unmount = !quick;

  if (!check_file.empty()) {
    ImageInfo info;
    std::vector<uint8_t> bytes;
    ScratchPools scratch;
    hapm::Status s = load_image(check_file, &info, &bytes);
    std::vector<std::string> problems = s.is_ok() ? check_image_standalone(bytes, scratch)
                                                  : std::vector<std::string>{s.to_string()};
    for (const auto& [k, v] : info) std::cout << k << ": " << v << "\n";
    for (const std::string& p : problems) std::cout << "  " << p << "\n";
    std::cout << (problems.empty() ? "1 passed, 0 failed\n" : "0 passed, 1 failed\n");
    return problems.empty() ? 0 : 1;
  }

  if (point) {  // replay one image
    if (ops.size() != 1) {
      std::cerr << "replay needs exactly one --op\n";
      return 2;
    }
    const Scenario* sc = find_scenario(ops[0]);
    if (!sc) {
      std::cerr << "no operation '" << ops[0] << "' (see --list)\n";
      return 2;
    }
    std::optional<Subset> subset;
    if (!subset_text.empty()) {
      Subset parsed;
      if (!parse_subset(subset_text, &parsed)) {
        std::cerr << "cannot parse --subset '" << subset_text << "'\n";
        return 2;
      }
      subset = parsed;
    }
    std::cout << "seed " << *seed << "\n";
    if (recovery_point)
      return replay_recovery_image(*sc, config, *point, image.value_or(0), *recovery_point,
                                   recovery_image.value_or(0), std::cout)
                 ? 0
                 : 1;
    return replay_image(*sc, config, *point, image, subset, std::cout) ? 0 : 1;
  }

  std::vector<const Scenario*> chosen;
  if (ops.empty()) {
    for (const Scenario& s : all_scenarios()) chosen.push_back(&s);
  } else {
    for (const std::string& name : ops) {
      const Scenario* sc = find_scenario(name);
      if (!sc) {
        std::cerr << "no operation '" << name << "' (see --list)\n";
        return 2;
      }
      chosen.push_back(sc);
    }
  }
  std::cout << "crash_states: seed " << *seed << (exhaustive ? ", exhaustive" : "")
            << (config.plan.torn ? ", torn lines on" : ", torn lines off") << ", "
            << (exhaustive ? std::string("per-point quotas")
                           : std::to_string(config.budget) + " images per operation")
            << "  (replay: HAPM_CRASH_STATES_SEED=" << *seed << ")\n";
  size_t passed = 0, failed = 0, images = 0;
  std::vector<std::string> model = model_self_test();
  for (const std::string& m : model) std::cout << "[FAIL] crash model: " << m << "\n";
  (model.empty() ? passed : failed) += 1;
  std::cout << (model.empty() ? "[ok]   crash model self-test\n" : "");
  if (!regressions.empty()) {
    auto [p, f] = run_regressions(regressions, config, std::cout);
    passed += p;
    failed += f;
  }
  if (!image_dir.empty()) {
    auto [p, f] = run_saved_images(image_dir, std::cout);
    passed += p;
    failed += f;
  }
  for (const std::string& name : mutant_ops) {
    const Scenario* sc = find_scenario(name);
    RunConfig mc = config;
    mc.budget = mutant_images;
    bool ok = sc && run_mutants(*sc, mc, std::cout);
    if (!sc) std::cout << "[FAIL] mutants: no operation '" << name << "'\n";
    (ok ? passed : failed) += 1;
  }
  for (const Scenario* sc : chosen) {
    OpResult r = run_op(*sc, config, std::cout);
    images += r.images;
    (r.ok() ? passed : failed) += 1;
    std::cout.flush();
  }
  std::cout << "crash_states: " << images << " crash images checked; " << passed << " passed, "
            << failed << " failed (seed " << *seed << ")\n";
  return failed == 0 ? 0 : 1;
}
