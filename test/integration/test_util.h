// Small helpers shared by the integration tests: an fd that closes itself,
// deterministic byte patterns, whole-file I/O with errno reporting, and a
// bounded wait for conditions the kernel makes true asynchronously (FUSE
// FORGET and RELEASE are sent after the system call has returned).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

namespace hapm::test {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now and returns close()'s result (0, or -1 with errno set).
  int close_now() {
    int r = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return r;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// n bytes that depend on (seed, position): distinct files and offsets get
// distinct contents, so misplaced blocks are caught.
inline std::string pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x1234567;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// Writes all of data at offset; returns 0 or the errno of the failing call.
inline int pwrite_all(int fd, const std::string& data, off_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// Reads up to `size` bytes at offset (fewer at EOF); sets *err on failure.
inline std::string pread_all(int fd, size_t size, off_t offset, int* err = nullptr) {
  std::string out(size, '\0');
  size_t done = 0;
  if (err != nullptr) *err = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (err != nullptr) *err = errno;
      break;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

// Creates (or truncates) path with mode and writes data; returns 0 or errno.
inline int write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.ok()) return errno;
  if (int e = pwrite_all(fd.get(), data, 0)) return e;
  if (fd.close_now() != 0) return errno;
  return 0;
}

// The whole content of path through read(2); *err is the errno, or 0.
inline std::string slurp(const std::string& path, int* err = nullptr) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) {
    if (err != nullptr) *err = errno;
    return {};
  }
  struct stat st {};
  ::fstat(fd.get(), &st);
  std::string out = pread_all(fd.get(), static_cast<size_t>(st.st_size) + 1, 0, err);
  return out;
}

// "" when equal, else where they differ (binary data must not be printed).
inline std::string diff_bytes(const std::string& got, const std::string& want) {
  if (got == want) return "";
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) i++;
  return "got " + std::to_string(got.size()) + " bytes, expected " + std::to_string(want.size()) +
         "; first difference at byte " + std::to_string(i);
}

inline bool all_zero(const std::string& s) {
  return s.find_first_not_of('\0') == std::string::npos;
}

inline struct stat stat_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) st.st_ino = 0;
  return st;
}

inline mode_t current_umask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

// The errno of a call that is expected to fail (0 when it succeeded).
inline int errno_of(int rc) {
  return rc < 0 ? errno : 0;
}

// Polls `cond` until it holds, at most `timeout_ms` (a bound, not a
// performance threshold: the condition is expected to become true promptly).
inline bool eventually(const std::function<bool()>& cond, int timeout_ms = 10'000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace hapm::test
