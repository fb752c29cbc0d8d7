// hapm mkfs POOL --size SIZE [--inodes N] [--force]
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "common/units.h"
#include "fs/fuse_mountinfo.h"
#include "fs/fuse_status.h"
#include "fs/mkfs.h"
#include "fs/pmem_file.h"
#include "fs/pool_header.h"
#include "tools/commands.h"

namespace hapm::cli {

namespace {

struct MkfsArgs {
  std::string pool;
  std::string size_text;
  uint64_t inodes = 0;
  bool force = false;
};

int fail(const std::string& message) {
  fmt::print(stderr, "hapm mkfs: {}\n", message);
  return kExitFailure;
}

// CLI11 check: a size it can turn into a pool (errors are usage errors).
std::string check_size(std::string& text) {
  Result<uint64_t> size = parse_size(text);
  if (!size.is_ok()) return size.status().message();
  if (*size < kPoolSizeMin) return "a pool needs at least " + format_size(kPoolSizeMin);
  if (*size % format::kBlockSize != 0) return "the size must be a multiple of 4 KiB";
  return "";
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

// --force on an existing file: refuse what must not be deleted, then delete.
Status remove_existing(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return Status::from_errno(errno, path);
  if (!S_ISREG(st.st_mode)) {
    return Status(Code::InvalidArgument,
                  path + " is not a regular file; --force only replaces pool files");
  }
  char real[PATH_MAX];
  const std::string source = hapm_mount_source(realpath(path.c_str(), real) ? real : path);
  if (Result<std::vector<MountEntry>> mounts = read_mountinfo(); mounts.is_ok()) {
    for (const MountEntry& m : *mounts) {
      if (m.source == source) {
        return Status(Code::Busy, path + " is mounted at " + m.mount_point + "; unmount it first");
      }
    }
  }
  // Hold the pool lock while deleting, so a mount cannot start in between.
  Result<std::unique_ptr<PmemFile>> held = PmemFile::open(path, PmemFile::Lock::Exclusive);
  if (!held.is_ok() && held.status().code() == Code::Busy) {
    return Status(Code::Busy, path +
                                  " is in use (mounted, or being checked by fsck); "
                                  "unmount it or wait, then retry");
  }
  if (unlink(path.c_str()) != 0) return Status::from_errno(errno, "deleting " + path);
  return Status::ok();
}

int run_mkfs(const MkfsArgs& a) {
  const uint64_t size = parse_size(a.size_text).value();  // checked by CLI11
  struct stat st {};
  if (lstat(a.pool.c_str(), &st) == 0) {
    if (!a.force) {
      return fail(a.pool +
                  " already exists; --force would delete it and create a new, empty "
                  "filesystem (everything in it would be lost)");
    }
    if (Status s = remove_existing(a.pool); !s.is_ok()) return fail(s.message());
  }

  Result<std::unique_ptr<PmemFile>> created = PmemFile::create(a.pool, size);
  if (!created.is_ok())
    return fail("cannot create " + a.pool + ": " + created.status().to_string());
  PmemFile& pool = **created;

  MkfsOptions options;
  options.inode_count = a.inodes;
  options.root_uid = geteuid();
  options.root_gid = getegid();
  format::PoolHeader header{};
  if (Status s = make_filesystem(pool.memory(), options, &header); !s.is_ok()) {
    created->reset();
    unlink(a.pool.c_str());  // leave nothing half-made behind
    return fail("cannot make a filesystem in " + a.pool + ": " + s.to_string());
  }

  const std::string path = absolute(a.pool);
  const std::string granularity = pool.granularity();
  fmt::print("Created a hapm filesystem in {}\n", path);
  fmt::print("  uuid         {}\n", uuid_string(header.uuid));
  fmt::print("  size         {} ({} blocks of 4 KiB)\n", format_size(header.pool_size),
             header.block_count);
  fmt::print("  inodes       {}\n", header.inode_count - 1);  // inode 0 is never used
  fmt::print("  layout       {}\n", describe_arch(header.arch));
  fmt::print("  durability   {}: {}\n", granularity_name(granularity),
             describe_durability(granularity, path));
  fmt::print("Mount it with: hapm mount {} MOUNTPOINT\n", path);
  return kExitOk;
}

}  // namespace

Runner setup_mkfs(CLI::App& sub) {
  auto a = std::make_shared<MkfsArgs>();
  sub.add_option("POOL", a->pool, "Pool file to create (e.g. on a DAX mount, or /dev/shm)")
      ->required();
  sub.add_option("--size,-s", a->size_text,
                 "Pool size: a number with K, M, G or T (powers of 1024), at least 8M")
      ->required()
      ->check(CLI::Validator(check_size, "SIZE"));
  sub.add_option("--inodes,-i", a->inodes,
                 "Number of inodes (default: one per 16 KiB of pool, at least 1024)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub.add_flag("--force", a->force,
               "Delete an existing POOL file first (refused while it is mounted or checked)");
  return [a] { return run_mkfs(*a); };
}

}  // namespace hapm::cli
