// hapm-fileops-bench: measures a few file operations on one directory, so
// scripts/bench.sh can put tmpfs, a FUSE passthrough (bindfs) and hapm side by
// side. It only makes POSIX calls: any filesystem can be measured.
//
//   hapm-fileops-bench DIR --op fsync-lat|seq-write|small-files|all [options]
//
// Output is one `key=value` per line on stdout (easy to parse from a shell);
// errors go to stderr with exit code 1, usage errors exit 2.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr size_t kSmallBlockBytes = 4096;
constexpr size_t kMiB = 1024 * 1024;

struct Options {
  std::string dir;
  std::string op;
  uint64_t fsync_ops = 10000;    // measured 4 KiB write+fsync cycles
  uint64_t fsync_warmup = 200;   // unmeasured cycles first
  uint64_t fsync_file_mib = 64;  // the preallocated file they land in
  uint64_t seq_mib = 256;        // sequential write size
  uint64_t files = 10000;        // small-file phases
  uint64_t seed = 1;
};

// The tool reports a failed system call and stops; an exception carries the
// message to main(), the one place that prints it.
[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Close explicitly when the close itself is part of what is measured.
  void close_or_fail(const std::string& what) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close " + what);
  }

 private:
  int fd_;
};

Fd open_or_fail(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) fail("open " + path);
  return Fd(fd);
}

void pwrite_all(int fd, const char* buf, size_t len, off_t off, const std::string& what) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, buf, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write " + what);
    buf += n;
    len -= static_cast<size_t>(n);
    off += n;
  }
}

void fsync_or_fail(int fd, const std::string& what) {
  if (::fsync(fd) != 0) fail("fsync " + what);
}

// Non-zero, non-repeating bytes, so no layer can shortcut zeroes.
std::vector<char> pattern(size_t len, uint64_t seed) {
  std::vector<char> buf(len);
  std::mt19937_64 rng(seed);
  for (auto& c : buf) c = static_cast<char>(rng() | 1);
  return buf;
}

double percentile_us(const std::vector<uint64_t>& sorted_ns, unsigned pct) {
  size_t idx = std::min(sorted_ns.size() - 1, sorted_ns.size() * pct / 100);
  return static_cast<double>(sorted_ns[idx]) / 1000.0;
}

// 4 KiB pwrite at a random aligned offset of a preallocated file, then fsync;
// each cycle timed on its own.
void bench_fsync_latency(const Options& opt) {
  const std::string path = opt.dir + "/fsync-lat." + std::to_string(getpid());
  const uint64_t file_bytes = opt.fsync_file_mib * kMiB;
  std::vector<char> big = pattern(kMiB, opt.seed);
  std::vector<char> block = pattern(kSmallBlockBytes, opt.seed + 1);
  std::vector<uint64_t> lat_ns;
  lat_ns.reserve(opt.fsync_ops);
  {
    Fd fd = open_or_fail(path, O_CREAT | O_TRUNC | O_RDWR);
    for (uint64_t off = 0; off < file_bytes; off += kMiB) {
      pwrite_all(fd.get(), big.data(), kMiB, static_cast<off_t>(off), path);
    }
    fsync_or_fail(fd.get(), path);

    std::mt19937_64 rng(opt.seed);
    const uint64_t blocks = file_bytes / kSmallBlockBytes;
    const uint64_t total = opt.fsync_warmup + opt.fsync_ops;
    for (uint64_t i = 0; i < total; i++) {
      const off_t off = static_cast<off_t>((rng() % blocks) * kSmallBlockBytes);
      std::memcpy(block.data(), &i, sizeof i);  // every write carries new bytes
      const uint64_t t0 = now_ns();
      pwrite_all(fd.get(), block.data(), block.size(), off, path);
      fsync_or_fail(fd.get(), path);
      const uint64_t t1 = now_ns();
      if (i >= opt.fsync_warmup) lat_ns.push_back(t1 - t0);
    }
  }
  if (::unlink(path.c_str()) != 0) fail("unlink " + path);

  std::sort(lat_ns.begin(), lat_ns.end());
  double sum = 0;
  for (uint64_t v : lat_ns) sum += static_cast<double>(v);
  std::printf("fsync_lat_ops=%" PRIu64 "\n", static_cast<uint64_t>(lat_ns.size()));
  std::printf("fsync_lat_p50_us=%.2f\n", percentile_us(lat_ns, 50));
  std::printf("fsync_lat_p99_us=%.2f\n", percentile_us(lat_ns, 99));
  std::printf("fsync_lat_mean_us=%.2f\n", sum / static_cast<double>(lat_ns.size()) / 1000.0);
}

// 1 MiB writes into a new file, then fsync and close; the clock covers all of
// it, so the rate is what an application copying a file and syncing it sees.
void bench_seq_write(const Options& opt) {
  const std::string path = opt.dir + "/seq-write." + std::to_string(getpid());
  std::vector<char> buf = pattern(kMiB, opt.seed);
  const uint64_t t0 = now_ns();
  Fd fd = open_or_fail(path, O_CREAT | O_TRUNC | O_WRONLY);
  for (uint64_t i = 0; i < opt.seq_mib; i++) {
    std::memcpy(buf.data(), &i, sizeof i);
    pwrite_all(fd.get(), buf.data(), kMiB, static_cast<off_t>(i * kMiB), path);
  }
  fsync_or_fail(fd.get(), path);
  fd.close_or_fail(path);
  const uint64_t t1 = now_ns();
  if (::unlink(path.c_str()) != 0) fail("unlink " + path);

  const double secs = static_cast<double>(t1 - t0) / 1e9;
  std::printf("seq_write_mib=%" PRIu64 "\n", opt.seq_mib);
  std::printf("seq_write_mb_s=%.1f\n", static_cast<double>(opt.seq_mib * kMiB) / 1e6 / secs);
}

double rate(uint64_t count, uint64_t t0, uint64_t t1) {
  return static_cast<double>(count) / (static_cast<double>(t1 - t0) / 1e9);
}

// Three timed phases over the same files in a fresh directory:
// create+write(4 KiB)+fsync+close, then stat, then unlink.
void bench_small_files(const Options& opt) {
  const std::string sub = opt.dir + "/small-files." + std::to_string(getpid());
  if (::mkdir(sub.c_str(), 0755) != 0) fail("mkdir " + sub);
  std::vector<std::string> names;
  names.reserve(opt.files);
  char name[32];
  for (uint64_t i = 0; i < opt.files; i++) {
    std::snprintf(name, sizeof name, "/f%07" PRIu64, i);
    names.push_back(sub + name);
  }
  std::vector<char> block = pattern(kSmallBlockBytes, opt.seed);

  const uint64_t t0 = now_ns();
  for (const auto& path : names) {
    Fd fd = open_or_fail(path, O_CREAT | O_EXCL | O_WRONLY);
    pwrite_all(fd.get(), block.data(), block.size(), 0, path);
    fsync_or_fail(fd.get(), path);
    fd.close_or_fail(path);
  }
  const uint64_t t1 = now_ns();
  struct stat st {};
  for (const auto& path : names) {
    if (::stat(path.c_str(), &st) != 0) fail("stat " + path);
    if (st.st_size != static_cast<off_t>(kSmallBlockBytes)) {
      errno = EIO;
      fail("unexpected size of " + path);
    }
  }
  const uint64_t t2 = now_ns();
  for (const auto& path : names) {
    if (::unlink(path.c_str()) != 0) fail("unlink " + path);
  }
  const uint64_t t3 = now_ns();
  if (::rmdir(sub.c_str()) != 0) fail("rmdir " + sub);

  std::printf("files=%" PRIu64 "\n", opt.files);
  std::printf("create_write_fsync_ops_s=%.0f\n", rate(opt.files, t0, t1));
  std::printf("stat_ops_s=%.0f\n", rate(opt.files, t1, t2));
  std::printf("unlink_ops_s=%.0f\n", rate(opt.files, t2, t3));
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: hapm-fileops-bench DIR --op fsync-lat|seq-write|small-files|all\n"
               "         [--ops N] [--warmup N] [--file-mib N] [--seq-mib N] [--files N]"
               " [--seed N]\n"
               "  fsync-lat    N (10000) x [pwrite 4 KiB at a random aligned offset of a\n"
               "               --file-mib (64) file, fsync]: p50/p99/mean in microseconds\n"
               "  seq-write    --seq-mib (256) x 1 MiB writes + fsync + close: MB/s\n"
               "  small-files  --files (10000) x create+write 4 KiB+fsync, then stat,\n"
               "               then unlink: operations per second of each phase\n"
               "Prints key=value lines.\n");
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out > 0;
}

// Returns false (after saying why) on a usage error.
bool parse_args(int argc, char** argv, Options& opt) {
  struct Numeric {
    std::string_view flag;
    uint64_t* field;
  };
  const Numeric numerics[] = {
      {"--ops", &opt.fsync_ops},
      {"--warmup", &opt.fsync_warmup},
      {"--file-mib", &opt.fsync_file_mib},
      {"--seq-mib", &opt.seq_mib},
      {"--files", &opt.files},
      {"--seed", &opt.seed},
  };
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (arg == "--op" && i + 1 < argc) {
      opt.op = argv[++i];
      continue;
    }
    bool matched = false;
    for (const auto& n : numerics) {
      if (arg != n.flag) continue;
      matched = true;
      if (i + 1 >= argc || !parse_u64(argv[i + 1], *n.field)) {
        std::fprintf(stderr, "hapm-fileops-bench: %s needs a positive number\n", argv[i]);
        return false;
      }
      i++;
    }
    if (matched) continue;
    if (!arg.starts_with("-") && opt.dir.empty()) {
      opt.dir = std::string(arg);
      continue;
    }
    std::fprintf(stderr, "hapm-fileops-bench: unexpected argument '%s'\n", argv[i]);
    return false;
  }
  if (opt.dir.empty() || opt.op.empty()) {
    std::fprintf(stderr, "hapm-fileops-bench: DIR and --op are required\n");
    return false;
  }
  if (opt.op != "fsync-lat" && opt.op != "seq-write" && opt.op != "small-files" &&
      opt.op != "all") {
    std::fprintf(stderr, "hapm-fileops-bench: unknown --op '%s'\n", opt.op.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, opt)) {
    usage(stderr);
    return 2;
  }
  try {
    if (opt.op == "fsync-lat" || opt.op == "all") bench_fsync_latency(opt);
    if (opt.op == "seq-write" || opt.op == "all") bench_seq_write(opt);
    if (opt.op == "small-files" || opt.op == "all") bench_small_files(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hapm-fileops-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
