// hapm mount POOL MOUNTPOINT [-f] [--log-file F] [--debug] [-o opts]
//
// Every check that can fail runs before anything is mounted and before the
// process detaches, so errors reach the terminal (one line, exit 1). The
// mountpoint is checked before Filesystem::mount, which writes to the pool
// (mount count, clean flag): a bad mountpoint changes nothing on disk.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "fs/filesystem.h"
#include "fs/fuse_frontend.h"
#include "fs/fuse_mountinfo.h"
#include "fs/pmem_file.h"
#include "fs/pool_header.h"
#include "tools/commands.h"

namespace hapm::cli {

namespace {

struct MountArgs {
  std::string pool;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  std::string log_file;
  std::vector<std::string> fuse_opts;
};

int fail(const std::string& message) {
  fmt::print(stderr, "hapm mount: {}\n", message);
  return kExitFailure;
}

int64_t now_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Result<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return Status::from_errno(errno, path);
  return std::string(buf);
}

// Absolute path without resolving the last component (it need not exist yet).
std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

// An existing directory that nothing is mounted on yet; returns its real path.
Result<std::string> check_mountpoint(const std::string& mountpoint) {
  struct stat st {};
  if (stat(mountpoint.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT)
      return Status(Code::NotFound, "mountpoint " + mountpoint + " does not exist");
    if (err == ENOTCONN) {
      return Status(Code::Busy, "mountpoint " + mountpoint +
                                    " holds a dead FUSE mount (its daemon is gone); detach it "
                                    "with: fusermount3 -u " +
                                    mountpoint);
    }
    return Status::from_errno(err, "mountpoint " + mountpoint);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::NotADirectory, "mountpoint " + mountpoint + " is not a directory");
  }
  Result<std::string> real = real_path(mountpoint);
  if (!real.is_ok()) return real.status();
  Result<std::vector<MountEntry>> mounts = read_mountinfo();
  if (!mounts.is_ok()) return mounts.status();
  for (const MountEntry& m : *mounts) {
    if (m.mount_point == *real) {
      return Status(Code::Busy, "mountpoint " + mountpoint + " is busy: " + m.source + " (" +
                                    m.fstype + ") is already mounted there");
    }
  }
  return real;
}

// Splits the -o lists; "ro"/"rw" are ours (the core must know), the rest go
// to libfuse, which refuses what it does not know.
void split_fuse_opts(const std::vector<std::string>& given, FuseOptions* out) {
  for (const std::string& list : given) {
    std::stringstream ss(list);
    std::string opt;
    while (std::getline(ss, opt, ',')) {
      if (opt.empty() || opt == "rw") continue;
      if (opt == "ro") {
        out->read_only = true;
        continue;
      }
      out->mount_options.push_back(opt);
    }
  }
}

// The background daemon logs to a file (its stderr becomes /dev/null once
// it detaches); until then errors also reach the terminal.
Status setup_log_file(const std::string& path, bool debug) {
  try {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    err->set_level(spdlog::level::warn);
    auto logger = std::make_shared<spdlog::logger>("hapm", spdlog::sinks_init_list{file, err});
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%P] %^%l%$ %v");
    logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
    logger->flush_on(spdlog::level::info);  // the log is read while we run, and after a kill
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    return Status(Code::IOError, std::string("cannot open log file ") + path + ": " + e.what());
  }
  return Status::ok();
}

void log_recovery(const std::string& pool, const RecoveryReport& report) {
  if (!report.was_clean) {
    spdlog::warn(
        "UNCLEAN SHUTDOWN: the last mount of {} did not end with a clean unmount "
        "(crash, kill or power loss); recovery ran: {}",
        pool, report.summary());
  } else {
    spdlog::info("recovery: {}", report.summary());
  }
}

int run_mount(const MountArgs& a) {
  FuseOptions fuse_options;
  split_fuse_opts(a.fuse_opts, &fuse_options);
  fuse_options.debug = a.debug;
  fuse_options.allow_other = geteuid() == 0;

  // 1. The pool: exists, not in use, a valid pool for this machine.
  Result<std::string> pool_path = real_path(a.pool);
  if (!pool_path.is_ok()) {
    if (pool_path.status().code() == Code::NotFound) {
      return fail("pool " + a.pool + " does not exist (create one with: hapm mkfs " + a.pool +
                  " --size SIZE)");
    }
    return fail("cannot open pool: " + pool_path.status().message());
  }
  Result<std::unique_ptr<PmemFile>> pool = PmemFile::open(*pool_path, PmemFile::Lock::Exclusive);
  if (!pool.is_ok()) {
    if (pool.status().code() == Code::Busy) {
      return fail("pool " + *pool_path + " is in use (mounted, or being checked by fsck)");
    }
    return fail("cannot open pool " + *pool_path + ": " + pool.status().to_string());
  }
  if (Result<format::PoolHeader> h = read_header((*pool)->memory()); !h.is_ok()) {
    return fail(*pool_path + " is not a usable hapm pool: " + h.status().to_string());
  }

  // 2. The mountpoint.
  Result<std::string> mountpoint = check_mountpoint(a.mountpoint);
  if (!mountpoint.is_ok()) return fail(mountpoint.status().message());
  fuse_options.mountpoint = *mountpoint;

  // 3. The FUSE session, so a bad -o option is refused before the pool changes.
  Result<std::unique_ptr<FuseServer>> server = FuseServer::create(*pool_path, fuse_options);
  if (!server.is_ok()) {
    fail(server.status().message());
    return server.status().code() == Code::InvalidArgument ? kExitUsage : kExitFailure;
  }

  const std::string log_file = a.log_file.empty() ? *pool_path + ".log" : absolute(a.log_file);
  if (!a.foreground) {
    if (Status s = setup_log_file(log_file, a.debug); !s.is_ok()) return fail(s.message());
  } else if (a.debug) {
    spdlog::set_level(spdlog::level::debug);
  }

  // 4. The filesystem: recovery, then the pool is marked in use.
  MountOptions mount_options;
  mount_options.unsafe_shutdown_count = (*pool)->unsafe_shutdown_count();
  mount_options.read_only = fuse_options.read_only;
  RecoveryReport report;
  Result<std::unique_ptr<Filesystem>> fs =
      Filesystem::mount((*pool)->memory(), mount_options, &report);
  if (!fs.is_ok()) return fail("cannot mount " + *pool_path + ": " + fs.status().to_string());
  log_recovery(*pool_path, report);

  // 5. Mount.
  MountFacts facts;
  facts.pool_path = *pool_path;
  facts.mountpoint = *mountpoint;
  facts.granularity = (*pool)->granularity();
  facts.real_pmem = (*pool)->is_real_pmem();
  facts.recovery = report;
  facts.mounted_since_ns = now_ns();
  facts.read_only = fuse_options.read_only;
  if (Status s = (*server)->mount(**fs, facts); !s.is_ok()) {
    if (Status u = (*fs)->unmount(); !u.is_ok()) spdlog::error("unmount: {}", u.to_string());
    return fail(s.message());
  }
  spdlog::info("mounted {} at {} ({}; durability: {})", *pool_path, *mountpoint,
               fuse_options.read_only ? "read-only" : "read-write",
               granularity_name(facts.granularity));

  // 6. Detach, serve until unmounted or signalled, then close cleanly.
  if (!a.foreground) {
    fmt::print(stderr, "hapm: mounted {} at {}; log: {}\n", *pool_path, *mountpoint, log_file);
    if (Status s = (*server)->daemonize(); !s.is_ok()) {
      (*server)->unmount();
      (void)(*fs)->unmount();
      return fail(s.message());
    }
  }
  Status served = (*server)->run();
  if (!served.is_ok()) spdlog::error("{}", served.to_string());
  server->reset();  // the session is gone: no request can reach the core now
  Status closed = (*fs)->unmount();
  if (!closed.is_ok()) {
    spdlog::error("closing the filesystem failed; the next mount runs recovery: {}",
                  closed.to_string());
    return kExitFailure;
  }
  spdlog::info("{} closed cleanly", *pool_path);
  return served.is_ok() ? kExitOk : kExitFailure;
}

}  // namespace

Runner setup_mount(CLI::App& sub) {
  auto a = std::make_shared<MountArgs>();
  sub.add_option("POOL", a->pool, "Pool file made by 'hapm mkfs'")->required();
  sub.add_option("MOUNTPOINT", a->mountpoint, "An existing, empty directory")->required();
  sub.add_flag("-f,--foreground", a->foreground,
               "Stay in the foreground until unmounted (umount MOUNTPOINT) or SIGINT/SIGTERM");
  sub.add_option("--log-file", a->log_file, "Where the background daemon logs (default: POOL.log)");
  sub.add_flag("--debug", a->debug, "Log every FUSE request (debug level)");
  sub.add_option("-o", a->fuse_opts, "Mount options, comma separated (ro, or FUSE options)")
      ->allow_extra_args(false);
  return [a] { return run_mount(*a); };
}

}  // namespace hapm::cli
