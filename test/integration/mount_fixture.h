// A real hapm mount for one integration test: its own temporary directory,
// pool file, mountpoint and daemon log, and a daemon process it started and
// always takes down again (clean unmount, or SIGKILL + lazy detach), even
// when an assertion fails half-way through a test.
//
// The binary under test comes from the HAPM_BIN environment variable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hapm::test {

// Bounds on waiting for processes and mounts (generous: a loaded CI machine
// may be slow, but nothing may hang forever).
constexpr int kCommandTimeoutMs = 120'000;
constexpr int kMountWaitMs = 10'000;
constexpr int kExitWaitMs = 10'000;

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string describe() const;  // "exit 1; stderr: ..." for failure messages
};

// The path of the hapm binary under test (HAPM_BIN); fails the test if unset.
std::string hapm_bin();
// Runs argv[0] (looked up in PATH) without a shell, capturing both streams;
// the process group is killed when `timeout_ms` passes.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = kCommandTimeoutMs);
CommandResult run_hapm(const std::vector<std::string>& args, int timeout_ms = kCommandTimeoutMs);

struct FsckResult {
  CommandResult command;
  nlohmann::json report;  // null when stdout was not JSON
  int exit_code() const { return command.exit_code; }
};
FsckResult run_fsck(const std::string& pool, const std::vector<std::string>& extra_args = {});

// True when `mountpoint` is in /proc/self/mountinfo with file system type
// `fstype` (any type when empty).
bool is_mounted(const std::string& mountpoint, std::string_view fstype = "fuse.hapm");
// How many mounts (of any type) are stacked on `mountpoint`.
int mount_count(const std::string& mountpoint);

// Reads a whole file (throws std::runtime_error when it cannot).
std::string read_file(const std::string& path);
// A hex digest of the bytes of a file, for "unchanged" checks.
std::string file_digest(const std::string& path);

// A directory created with mkdtemp and removed with everything under it
// (unless something is still mounted below it: then it is left in place).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct FixtureOptions {
  std::string pool_size = "256M";
  std::vector<std::string> mkfs_args;   // e.g. {"--inodes", "200000"}
  std::vector<std::string> mount_args;  // extra arguments for hapm mount
  bool mount = true;                    // mount in the constructor
};

class MountFixture {
 public:
  explicit MountFixture(FixtureOptions options = {});
  ~MountFixture();
  MountFixture(const MountFixture&) = delete;
  MountFixture& operator=(const MountFixture&) = delete;

  const std::string& dir() const { return dir_.path(); }
  const std::string& pool() const { return pool_; }
  const std::string& mnt() const { return mnt_; }
  const std::string& log_path() const { return log_; }
  // mnt() + "/" + rel
  std::string path(std::string_view rel) const;

  // Starts `hapm mount POOL MNT -f --log-file LOG` and waits until the mount
  // appears; fails the test (with the daemon's output) if it does not.
  void mount();
  // umount (fallback: fusermount3 -u -z) and waits for the daemon; returns
  // the daemon's exit code (-1 when it had to be killed).
  int unmount();
  // SIGKILLs the daemon (no clean unmount) and detaches the dead mount.
  void kill9() {
    kill_daemon();
    detach_mount();
  }
  // The two halves of kill9, for tests that must let their own threads see
  // the dead connection (ENOTCONN) before the mountpoint reverts to a plain
  // directory.
  void kill_daemon();
  void detach_mount();
  void remount() {
    unmount();
    mount();
  }
  bool daemon_running() const { return daemon_pid_ > 0; }
  pid_t daemon_pid() const { return daemon_pid_; }

  FsckResult fsck(const std::vector<std::string>& extra_args = {}) const {
    return run_fsck(pool_, extra_args);
  }
  // The daemon's log file plus its stderr (tail of at most `max_bytes`).
  std::string daemon_output(size_t max_bytes = 16384) const;

 private:
  int wait_daemon(int timeout_ms);

  FixtureOptions options_;
  TempDir dir_;
  std::string pool_, mnt_, log_, stderr_path_;
  pid_t daemon_pid_ = -1;
  int failures_at_start_ = 0;
};

// Number of failed assertions seen so far in this test process (kept by a
// Catch2 listener), so a fixture can print the daemon log when its test failed.
int failed_assertions();

}  // namespace hapm::test
