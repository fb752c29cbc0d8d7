// The SIGKILL crash test: a mixed workload with fsync on a real mount, the
// daemon killed at a random moment, fsck, remount, and every acknowledged
// operation checked against the oracle (test/integration/crash_model.h).
//
// HAPM_CRASH_ROUNDS (default 50) sets the number of rounds, HAPM_CRASH_SEED
// the seed (printed at the start, so a failing run can be repeated).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "test/integration/crash_model.h"
#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test::crash {
namespace {

constexpr int kOpsPerRoundMax = 20'000;  // the kill normally comes far earlier
constexpr int kKillDelayMsMax = 1000;
constexpr size_t kOracleTailLines = 40;

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

std::string parent_of(const std::string& root, const std::string& rel) {
  const auto slash = rel.rfind('/');
  return slash == std::string::npos ? root : root + "/" + rel.substr(0, slash);
}

int fsync_dir(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok()) return errno;
  if (::fsync(fd.get()) != 0) return errno;
  return fd.close_now() == 0 ? 0 : errno;
}

// Runs one operation and the fsyncs that acknowledge it; 0 or the first errno.
int execute(const std::string& root, const Op& op) {
  const std::string a = root + "/" + op.path, b = root + "/" + op.path2;
  auto data_op = [&](int flags, auto&& body) {
    Fd fd(::open(a.c_str(), flags | O_CLOEXEC, 0644));
    if (!fd.ok()) return errno;
    if (int e = body(fd.get())) return e;
    if (::fsync(fd.get()) != 0) return errno;
    return fd.close_now() == 0 ? 0 : errno;
  };
  switch (op.kind) {
    case Kind::Create:
      if (int e = data_op(O_WRONLY | O_CREAT | O_EXCL,
                          [&](int fd) { return pwrite_all(fd, op.bytes, 0); })) {
        return e;
      }
      return fsync_dir(parent_of(root, op.path));
    case Kind::Append:
      return data_op(O_WRONLY | O_APPEND, [&](int fd) {
        ssize_t n = op.bytes.empty() ? 0 : ::write(fd, op.bytes.data(), op.bytes.size());
        if (n < 0) return errno;
        return n == static_cast<ssize_t>(op.bytes.size()) ? 0 : EIO;
      });
    case Kind::Overwrite:
      return data_op(O_WRONLY, [&](int fd) {
        return pwrite_all(fd, op.bytes, static_cast<off_t>(op.offset));
      });
    case Kind::Truncate:
      return data_op(O_WRONLY, [&](int fd) {
        return ::ftruncate(fd, static_cast<off_t>(op.offset)) == 0 ? 0 : errno;
      });
    case Kind::Rename:
      if (::rename(a.c_str(), b.c_str()) != 0) return errno;
      if (int e = fsync_dir(parent_of(root, op.path))) return e;
      return fsync_dir(parent_of(root, op.path2));
    case Kind::Link:
      if (::link(a.c_str(), b.c_str()) != 0) return errno;
      return fsync_dir(parent_of(root, op.path2));
    case Kind::Unlink:
      if (::unlink(a.c_str()) != 0) return errno;
      return fsync_dir(parent_of(root, op.path));
    case Kind::Mkdir:
      if (::mkdir(a.c_str(), 0755) != 0) return errno;
      if (int e = fsync_dir(a)) return e;
      return fsync_dir(parent_of(root, op.path));
    case Kind::Rmdir:
      if (::rmdir(a.c_str()) != 0) return errno;
      return fsync_dir(parent_of(root, op.path));
  }
  return EINVAL;
}

// The workload thread's state. The main thread reads it only after join().
struct Workload {
  std::atomic<bool> killed{false};
  Tree tree;                    // everything acknowledged so far
  std::optional<Step> pending;  // the operation that did not finish
  std::string failure;          // an error before the kill: a bug
  long acked = 0;
  std::deque<std::string> oracle_tail;

  void log(std::ofstream& oracle, const std::string& line) {
    oracle << line << '\n';
    oracle_tail.push_back(line);
    if (oracle_tail.size() > kOracleTailLines) oracle_tail.pop_front();
  }

  void run(const std::string& root, uint64_t seed, std::ofstream& oracle) {
    try {
      run_ops(root, seed, oracle);
    } catch (const std::exception& e) {  // a bug in the test: report, do not abort
      failure = std::string("workload threw: ") + e.what();
    }
  }

  void run_ops(const std::string& root, uint64_t seed, std::ofstream& oracle) {
    std::mt19937_64 rng(seed);
    pending.reset();
    for (int i = 0; i < kOpsPerRoundMax && !killed.load(); i++) {
      Step step = plan(tree, rng);
      pending = step;
      log(oracle, "start " + step.op.describe());
      if (int e = execute(root, step.op)) {
        if (!killed.load()) failure = step.op.describe() + " failed: " + strerror(e);
        log(oracle, "  failed: " + std::string(strerror(e)));
        return;
      }
      tree = std::move(step.after);
      pending.reset();
      acked++;
      log(oracle, "  acknowledged");
    }
  }

  std::string tail() const {
    std::string s;
    for (const auto& l : oracle_tail) s += l + "\n";
    return s;
  }
};

// fsck after the crash: clean, or repaired and then clean.
void check_fsck(MountFixture& fx, int round) {
  auto first = fx.fsck({"--repair"});
  INFO("round " << round << ": hapm fsck --repair --json: " << first.command.describe());
  REQUIRE((first.exit_code() == 0 || first.exit_code() == 1));
  if (first.exit_code() == 1) {
    std::cout << "round " << round << ": fsck repaired: " << first.command.out << "\n";
    auto second = fx.fsck();
    INFO("second fsck: " << second.command.describe());
    REQUIRE(second.exit_code() == 0);
  }
}

TEST_CASE("acknowledged data and metadata survive SIGKILL of the daemon", "[crash]") {
  const int rounds = static_cast<int>(env_number("HAPM_CRASH_ROUNDS", 50));
  const uint64_t seed = env_number("HAPM_CRASH_SEED", std::random_device{}());
  std::cout << "crash test: seed " << seed << ", " << rounds
            << " rounds (set HAPM_CRASH_SEED / HAPM_CRASH_ROUNDS to change)" << std::endl;
  INFO("seed " << seed);

  MountFixture fx;
  const std::string root = fx.path("w");
  REQUIRE(::mkdir(root.c_str(), 0755) == 0);
  REQUIRE(fsync_dir(root) == 0);
  REQUIRE(fsync_dir(fx.mnt()) == 0);
  std::ofstream oracle(fx.dir() + "/oracle.log");
  Workload work;
  std::mt19937_64 timing(seed ^ 0x5eed);
  long total_acked = 0, rounds_in_flight = 0;

  for (int round = 0; round < rounds; round++) {
    if (!fx.daemon_running()) fx.mount();
    // Now and then kill at once, while the daemon is fresh from recovery.
    const int delay_ms = timing() % 8 == 0 ? static_cast<int>(timing() % 5)
                                           : static_cast<int>(timing() % kKillDelayMsMax);
    work.killed = false;
    work.oracle_tail.clear();
    work.log(oracle, "== round " + std::to_string(round) + ", kill after " +
                         std::to_string(delay_ms) + " ms");
    const long acked_before = work.acked;
    std::thread worker([&] { work.run(root, seed + static_cast<uint64_t>(round), oracle); });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    work.killed = true;
    fx.kill_daemon();
    worker.join();  // its system calls fail with ENOTCONN once the daemon is gone
    fx.detach_mount();
    total_acked += work.acked - acked_before;
    rounds_in_flight += work.pending.has_value();

    INFO("round " << round << " (seed " << seed << "): " << work.acked - acked_before
                  << " operations acknowledged; oracle tail:\n"
                  << work.tail());
    INFO("failure before the kill: " << work.failure);
    CHECK(work.failure.empty());
    check_fsck(fx, round);

    fx.mount();
    Observed seen = observe(root);
    Tree adopted;
    std::string diff = verify(seen, work.tree, work.pending ? &*work.pending : nullptr, &adopted);
    INFO("the tree after the crash does not match the oracle\n" << diff);
    REQUIRE(diff.empty());
    work.tree = std::move(adopted);

    // Every tenth round ends with a clean unmount, after which fsck has
    // nothing at all to say.
    if (round % 10 == 9) {
      REQUIRE(fx.unmount() == 0);
      auto clean = fx.fsck();
      INFO("fsck after a clean unmount: " << clean.command.describe());
      REQUIRE(clean.exit_code() == 0);
    }
  }
  std::cout << "crash test: " << rounds << " rounds, " << total_acked
            << " operations acknowledged, " << rounds_in_flight
            << " kills with an operation in flight, " << work.tree.files.size()
            << " files at the end" << std::endl;
  CHECK(total_acked > 0);
}

}  // namespace
}  // namespace hapm::test::crash
