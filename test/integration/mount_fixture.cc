#define CATCH_CONFIG_EXTERNAL_INTERFACES  // for the listener below
#include "test/integration/mount_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "common/crc32c.h"

namespace hapm::test {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_failed_assertions{0};

// Counts failed assertions so fixtures know whether to print the daemon log.
struct FailureCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) g_failed_assertions++;
    return true;
  }
};

// argv for execvp, built before fork (nothing but async-signal-safe calls
// may run in the child of a multi-threaded process).
std::vector<char*> make_argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

std::string join(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

int failed_assertions() {
  return g_failed_assertions.load();
}

std::string CommandResult::describe() const {
  std::ostringstream s;
  s << "exit " << exit_code << (timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
    << out << "\n--- stderr ---\n"
    << err;
  return s.str();
}

std::string hapm_bin() {
  const char* bin = std::getenv("HAPM_BIN");
  if (bin == nullptr || *bin == '\0') FAIL("HAPM_BIN is not set (run through meson test)");
  return bin;
}

CommandResult run_command(const std::vector<std::string>& args, int timeout_ms) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  auto argv = make_argv(args);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the kill below never misses
  close(out_pipe[1]);
  close(err_pipe[1]);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = result.timed_out ? -1 : decode_status(status);
  return result;
}

CommandResult run_hapm(const std::vector<std::string>& args, int timeout_ms) {
  std::vector<std::string> argv{hapm_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout_ms);
}

FsckResult run_fsck(const std::string& pool, const std::vector<std::string>& extra_args) {
  std::vector<std::string> args{"fsck", pool, "--json"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  FsckResult r;
  r.command = run_hapm(args);
  r.report = nlohmann::json::parse(r.command.out, nullptr, /*allow_exceptions=*/false);
  if (r.report.is_discarded()) r.report = nullptr;
  return r;
}

bool is_mounted(const std::string& mountpoint, std::string_view fstype) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "id parent maj:min root mountpoint options... - fstype source super"
    std::istringstream fields(line);
    std::string id, parent, dev, root, mp;
    fields >> id >> parent >> dev >> root >> mp;
    if (mp != mountpoint) continue;
    if (fstype.empty()) return true;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type;
    tail >> type;
    if (type == fstype) return true;
  }
  return false;
}

int mount_count(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mp;
    fields >> id >> parent >> dev >> root >> mp;
    n += mp == mountpoint;
  }
  return n;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string file_digest(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "missing:" + std::string(strerror(errno));
  // CRC32C of the bytes plus the size: enough to tell "unchanged" from
  // "changed" for the bad-input tests (nobody is forging collisions here).
  uint32_t crc = 0;
  uint64_t size = 0;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    crc = crc32c(buf.data(), static_cast<size_t>(n), crc);
    size += static_cast<uint64_t>(n);
  }
  close(fd);
  char out[64];
  snprintf(out, sizeof out, "%08x:%llu", crc, static_cast<unsigned long long>(size));
  return out;
}

TempDir::TempDir() {
  const char* base = std::getenv("HAPM_TEST_TMP");
  std::string tmpl = std::string(base != nullptr ? base : "/dev/shm") + "/hapm-it-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = buf.data();
  // Tests switch to an unprivileged user to check permissions on the mount.
  ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + path_ + "/") != std::string::npos) {
      std::cerr << "hapm test: leaving " << path_ << " in place: something is mounted below it\n";
      return;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

MountFixture::MountFixture(FixtureOptions options) : options_(std::move(options)) {
  failures_at_start_ = failed_assertions();
  pool_ = dir_.path() + "/pool";
  mnt_ = dir_.path() + "/mnt";
  log_ = dir_.path() + "/daemon.log";
  stderr_path_ = dir_.path() + "/daemon.stderr";
  if (::mkdir(mnt_.c_str(), 0755) != 0) throw std::runtime_error("mkdir " + mnt_);
  std::vector<std::string> args{"mkfs", pool_, "--size", options_.pool_size};
  args.insert(args.end(), options_.mkfs_args.begin(), options_.mkfs_args.end());
  auto r = run_hapm(args);
  INFO("hapm " << join(args) << "\n" << r.describe());
  REQUIRE(r.exit_code == 0);
  if (options_.mount) mount();
}

MountFixture::~MountFixture() {
  const bool failed = failed_assertions() != failures_at_start_ || std::uncaught_exceptions() > 0;
  if (daemon_pid_ > 0) {
    auto r = run_command({"umount", mnt_}, kExitWaitMs);
    if (r.exit_code != 0 || wait_daemon(kExitWaitMs) == -2) {
      if (daemon_pid_ > 0) kill(-daemon_pid_, SIGKILL);
      wait_daemon(kExitWaitMs);
    }
  }
  detach_mount();
  if (failed) {
    std::cerr << "==== hapm daemon output (" << dir_.path() << ") ====\n"
              << daemon_output() << "\n==== end of daemon output ====\n";
  }
}

std::string MountFixture::path(std::string_view rel) const {
  return mnt_ + "/" + std::string(rel);
}

void MountFixture::mount() {
  REQUIRE(daemon_pid_ <= 0);
  std::vector<std::string> args{hapm_bin(), "mount", pool_, mnt_, "-f", "--log-file", log_};
  args.insert(args.end(), options_.mount_args.begin(), options_.mount_args.end());
  auto argv = make_argv(args);
  int err_fd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(err_fd >= 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    // If the test process dies without cleaning up, the daemon unmounts.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(err_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);
  close(err_fd);
  daemon_pid_ = pid;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kMountWaitMs);
  bool up = false;
  while (Clock::now() < deadline) {
    if (is_mounted(mnt_)) {
      up = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      daemon_pid_ = -1;
      INFO("hapm mount exited with " << decode_status(status) << " before mounting\n"
                                     << daemon_output());
      FAIL("hapm mount did not mount " << mnt_);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  INFO(daemon_output());
  REQUIRE(up);
}

int MountFixture::wait_daemon(int timeout_ms) {
  if (daemon_pid_ <= 0) return -1;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(daemon_pid_, &status, WNOHANG);
    if (r == daemon_pid_) {
      daemon_pid_ = -1;
      return decode_status(status);
    }
    if (r < 0 && errno == ECHILD) {  // reaped elsewhere: nothing to wait for
      daemon_pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -2;  // still running
}

int MountFixture::unmount() {
  if (daemon_pid_ <= 0) {
    detach_mount();
    return -1;
  }
  auto r = run_command({"umount", mnt_}, kExitWaitMs);
  if (r.exit_code != 0) {
    UNSCOPED_INFO("umount " << mnt_ << " failed: " << r.describe());
    run_command({"fusermount3", "-u", "-z", mnt_}, kExitWaitMs);
  }
  int code = wait_daemon(kExitWaitMs);
  if (code == -2) {
    UNSCOPED_INFO("hapm daemon did not exit within " << kExitWaitMs
                                                     << " ms of unmount; killing it");
    kill(-daemon_pid_, SIGKILL);
    wait_daemon(kExitWaitMs);
    code = -1;
  }
  detach_mount();
  return code;
}

void MountFixture::kill_daemon() {
  if (daemon_pid_ <= 0) return;
  kill(-daemon_pid_, SIGKILL);
  if (wait_daemon(kExitWaitMs) == -2) FAIL("daemon " << daemon_pid_ << " survived SIGKILL");
}

void MountFixture::detach_mount() {
  // Bounded: a dead FUSE mount detaches with one lazy unmount.
  for (int i = 0; i < 50 && is_mounted(mnt_, ""); i++) {
    auto r = run_command({"umount", "-l", mnt_}, kExitWaitMs);
    if (r.exit_code != 0) run_command({"fusermount3", "-u", "-z", mnt_}, kExitWaitMs);
    if (!is_mounted(mnt_, "")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string MountFixture::daemon_output(size_t max_bytes) const {
  std::string out;
  for (const auto& [name, path] : {std::pair{"log", log_}, std::pair{"stderr", stderr_path_}}) {
    std::string text;
    try {
      text = read_file(path);
    } catch (const std::exception&) {
      continue;  // with -f the daemon logs to stderr only
    }
    if (text.size() > max_bytes) text = "...\n" + text.substr(text.size() - max_bytes);
    out += std::string("--- daemon ") + name + " ---\n" + text + "\n";
  }
  return out;
}

CATCH_REGISTER_LISTENER(FailureCounter)

}  // namespace hapm::test
