// A pool file mapped with libpmem2: the real persistence domain.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "fs/pool_memory.h"

namespace hapm {

class PmemFile {
 public:
  enum class Lock { Exclusive, None };

  // Opens and maps an existing pool file. With Lock::Exclusive a second
  // opener (another mount, a concurrent fsck) is refused with Code::Busy.
  static Result<std::unique_ptr<PmemFile>> open(const std::string& path, Lock lock);
  // Creates a new file of `size` bytes (refuses to overwrite) and maps it.
  static Result<std::unique_ptr<PmemFile>> create(const std::string& path, uint64_t size);

  ~PmemFile();
  PmemFile(const PmemFile&) = delete;
  PmemFile& operator=(const PmemFile&) = delete;

  PoolMemory& memory() { return *memory_; }
  const std::string& path() const { return path_; }
  // "byte", "cache line" or "page (msync)": what a persist costs and means.
  std::string granularity() const;
  // True where persist flushes CPU caches to real persistent memory.
  bool is_real_pmem() const;
  // The device's unsafe shutdown count, when the platform reports one.
  std::optional<uint64_t> unsafe_shutdown_count() const { return usc_; }

 private:
  struct Impl;
  PmemFile() = default;
  static Result<std::unique_ptr<PmemFile>> map_fd(const std::string& path, int fd);

  std::string path_;
  int fd_ = -1;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<PoolMemory> memory_;
  std::optional<uint64_t> usc_;
};

}  // namespace hapm
