// hapm fsck POOL [--repair] [--json]
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "fs/fuse_mountinfo.h"
#include "fs/pmem_file.h"
#include "tools/commands.h"
#include "tools/fsck.h"

namespace hapm::cli {

namespace {

struct FsckArgs {
  std::string pool;
  bool repair = false;
  bool json = false;
};

// A one-line bar redrawn in place on stderr (only used on a terminal).
class ProgressBar {
 public:
  void update(double fraction) {
    const int percent = static_cast<int>(fraction * 100 + 0.5);
    if (percent == shown_) return;
    shown_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    fmt::print(stderr, "\rchecking [{}{}] {:3d}%", std::string(filled, '#'),
               std::string(kWidth - filled, '.'), percent);
    std::fflush(stderr);
  }
  void finish() {
    if (shown_ >= 0) fmt::print(stderr, "\r{:60}\r", "");
  }

 private:
  int shown_ = -1;
};

// Where the pool is mounted, when the mount table says so ("" otherwise).
std::string mounted_at(const std::string& pool) {
  char real[PATH_MAX];
  if (!realpath(pool.c_str(), real)) return "";
  auto mounts = read_mountinfo();
  if (!mounts.is_ok()) return "";
  for (const MountEntry& m : *mounts)
    if (m.source == hapm_mount_source(real)) return m.mount_point;
  return "";
}

int operational_error(const FsckArgs& args, const std::string& message) {
  fmt::print(stderr, "hapm fsck: {}\n", message);
  if (args.json) {
    FsckReport r;
    r.exit_code = kFsckOperationalError;
    r.error = message;
    r.repair_mode = args.repair;
    fmt::print("{}\n", r.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return kFsckOperationalError;
}

int run(const FsckArgs& args) {
  auto file = PmemFile::open(args.pool, PmemFile::Lock::Exclusive);
  if (!file.is_ok()) {
    const Status& s = file.status();
    if (s.code() == Code::Busy) {
      const std::string where = mounted_at(args.pool);
      return operational_error(args, args.pool + ": pool is in use (" +
                                         (where.empty() ? "mounted?" : "mounted at " + where) +
                                         "): unmount it first");
    }
    return operational_error(args, s.message());
  }
  FsckOptions options;
  options.repair = args.repair;
  ProgressBar bar;
  if (isatty(STDERR_FILENO)) options.progress = [&bar](double f) { bar.update(f); };
  FsckReport report = run_fsck((*file)->memory(), options);
  bar.finish();
  if (report.exit_code == kFsckOperationalError)
    return operational_error(args, args.pool + ": " + report.error);
  if (args.json)
    fmt::print("{}\n",
               report.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  else
    fmt::print("{}", report.to_text());
  return report.exit_code;
}

}  // namespace

Runner setup_fsck(CLI::App& sub) {
  auto args = std::make_shared<FsckArgs>();
  sub.add_option("POOL", args->pool, "Pool file to check (must not be mounted)")->required();
  sub.add_flag("--repair", args->repair,
               "Repair what can be repaired safely (through the journal)");
  sub.add_flag("--json", args->json, "Print the report as JSON on stdout");
  sub.footer(sub.get_footer() + "\n\n" +
             "Exit status: 0 clean, 1 problems corrected, 4 problems left uncorrected,\n"
             "8 operational error (cannot open, in use, not a pool, foreign architecture).");
  return [args] { return run(*args); };
}

}  // namespace hapm::cli
