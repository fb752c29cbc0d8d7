#include "fs/pmem_file.h"

#include <fcntl.h>
#include <libpmem2.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>

#include "fs/pool_format.h"

namespace hapm {

namespace {

// The one libpmem2 -> Status conversion.
Status pmem2_status(int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + pmem2_errormsg();
  if (rc == PMEM2_E_GRANULARITY_NOT_SUPPORTED) return Status(Code::NotSupported, msg);
  if (rc < 0 && -rc < 4096) return Status::from_errno(-rc, msg);
  return Status(Code::IOError, msg);
}

class Pmem2Domain final : public PersistDomain {
 public:
  Pmem2Domain(pmem2_map* map, bool on_tmpfs)
      : on_tmpfs_(on_tmpfs),
        granularity_(pmem2_map_get_store_granularity(map)),
        memcpy_(pmem2_get_memcpy_fn(map)),
        memset_(pmem2_get_memset_fn(map)),
        flush_(pmem2_get_flush_fn(map)),
        drain_(pmem2_get_drain_fn(map)) {}

  void store(void* dst, const void* src, size_t len, StoreKind kind) override {
    // On real PM, bulk data goes with non-temporal stores (flushed on their
    // own; the drain at fsync orders them). On the msync fallback a copy must
    // not msync per store: copy now, msync the dirty ranges at fsync.
    unsigned flags = PMEM2_F_MEM_NOFLUSH;
    if (kind == StoreKind::Bulk && granularity_ != PMEM2_GRANULARITY_PAGE)
      flags = PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN;
    memcpy_(dst, src, len, flags);
  }
  void fill(void* dst, int byte, size_t len) override {
    memset_(dst, byte, len, PMEM2_F_MEM_NOFLUSH);
  }
  void flush(const void* addr, size_t len) override { flush_(addr, len); }
  void drain() override { drain_(); }
  std::string describe() const override {
    if (on_tmpfs_)
      return "cache line on tmpfs (the persistent-memory code path on RAM: no durability across a "
             "power loss or reboot without a replica)";
    switch (granularity_) {
      case PMEM2_GRANULARITY_BYTE:
        return "byte (eADR persistent memory)";
      case PMEM2_GRANULARITY_CACHE_LINE:
        return "cache line (persistent memory, flush+fence)";
      case PMEM2_GRANULARITY_PAGE:
        return "page (not persistent memory: msync fallback)";
    }
    return "unknown";
  }
  pmem2_granularity granularity() const { return granularity_; }
  bool on_tmpfs() const { return on_tmpfs_; }

 private:
  bool on_tmpfs_;
  pmem2_granularity granularity_;
  pmem2_memcpy_fn memcpy_;
  pmem2_memset_fn memset_;
  pmem2_flush_fn flush_;
  pmem2_drain_fn drain_;
};

}  // namespace

struct PmemFile::Impl {
  pmem2_config* config = nullptr;
  pmem2_source* source = nullptr;
  pmem2_map* map = nullptr;
  std::unique_ptr<Pmem2Domain> domain;
  ~Impl() {
    if (map) pmem2_map_delete(&map);
    if (source) pmem2_source_delete(&source);
    if (config) pmem2_config_delete(&config);
  }
};

PmemFile::~PmemFile() {
  memory_.reset();
  impl_.reset();
  if (fd_ >= 0) close(fd_);
}

std::string PmemFile::granularity() const {
  return impl_->domain->describe();
}

bool PmemFile::is_real_pmem() const {
  return impl_->domain->granularity() != PMEM2_GRANULARITY_PAGE && !impl_->domain->on_tmpfs();
}

Result<std::unique_ptr<PmemFile>> PmemFile::map_fd(const std::string& path, int fd) {
  std::unique_ptr<PmemFile> file(new PmemFile());
  file->path_ = path;
  file->fd_ = fd;
  file->impl_ = std::make_unique<Impl>();
  Impl& im = *file->impl_;
  int rc = pmem2_config_new(&im.config);
  if (rc) return pmem2_status(rc, "pmem2_config_new");
  // Accept any granularity; the domain adapts (PAGE means msync fallback).
  rc = pmem2_config_set_required_store_granularity(im.config, PMEM2_GRANULARITY_PAGE);
  if (rc) return pmem2_status(rc, "pmem2_config_set_required_store_granularity");
  rc = pmem2_source_from_fd(&im.source, fd);
  if (rc) return pmem2_status(rc, "cannot use " + path + " as a pool");
  // On tmpfs msync is a no-op for durability (the file is RAM). Take the
  // persistent-memory path instead — CPU cache flush + fence — which is both
  // cheaper and the path real PM takes. Unless the user forced a granularity.
  struct statfs fs_info {};
  const bool on_tmpfs = fstatfs(fd, &fs_info) == 0 && fs_info.f_type == TMPFS_MAGIC;
  const bool force = on_tmpfs && getenv("PMEM2_FORCE_GRANULARITY") == nullptr;
  if (force) setenv("PMEM2_FORCE_GRANULARITY", "cache_line", 0);
  rc = pmem2_map_new(&im.map, im.config, im.source);
  if (force) unsetenv("PMEM2_FORCE_GRANULARITY");
  if (rc) return pmem2_status(rc, "cannot map " + path);
  uint64_t usc = 0;
  if (pmem2_source_device_usc(im.source, &usc) == 0) file->usc_ = usc;
  im.domain = std::make_unique<Pmem2Domain>(
      im.map, on_tmpfs && pmem2_map_get_store_granularity(im.map) != PMEM2_GRANULARITY_PAGE);
  file->memory_ = std::make_unique<PoolMemory>(static_cast<uint8_t*>(pmem2_map_get_address(im.map)),
                                               pmem2_map_get_size(im.map), *im.domain);
  return file;
}

Result<std::unique_ptr<PmemFile>> PmemFile::open(const std::string& path, Lock lock) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "cannot open pool " + path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status(Code::InvalidArgument, path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) < 4 * format::kBlockSize) {
    close(fd);
    return Status(Code::Corruption, path + " is too small to be a hapm pool (" +
                                        std::to_string(st.st_size) + " bytes)");
  }
  if (lock == Lock::Exclusive && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK)
      return Status(Code::Busy,
                    "pool " + path + " is in use by another process (mounted, or being checked)");
    return Status::from_errno(err, "cannot lock " + path);
  }
  return map_fd(path, fd);
}

Result<std::unique_ptr<PmemFile>> PmemFile::create(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::from_errno(errno, "cannot create pool " + path);
  int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err == EOPNOTSUPP || err == EINVAL) err = ftruncate(fd, static_cast<off_t>(size)) ? errno : 0;
  if (err != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (err == 0) err = errno;
    close(fd);
    unlink(path.c_str());
    return Status::from_errno(err,
                              "cannot allocate " + std::to_string(size) + " bytes for " + path);
  }
  auto mapped = map_fd(path, fd);
  if (!mapped.is_ok()) unlink(path.c_str());
  return mapped;
}

}  // namespace hapm
