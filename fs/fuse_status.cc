#include "fs/fuse_status.h"

#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <ctime>
#include <string_view>

#include "fs/pool_header.h"

namespace hapm {

namespace {

bool on_ram_filesystem(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return false;
  return st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC;
}

}  // namespace

std::string describe_durability(const std::string& granularity, const std::string& pool_path) {
  // Keyed by the start of PmemFile::granularity(), which may carry its own
  // parenthesised detail.
  auto starts = [&](std::string_view prefix) { return granularity.rfind(prefix, 0) == 0; };
  const bool ram = on_ram_filesystem(pool_path);
  if (starts("byte")) {
    return "the platform flushes CPU caches at power loss (eADR), so a store is durable once "
           "made; fsync only orders";
  }
  if (starts("cache line") && ram) {
    return "the pool is on tmpfs (RAM) and takes the persistent-memory code path (cache flush + "
           "fence): it survives a crash of the daemon, but not a reboot or power loss; "
           "durability across power loss must come from a replica";
  }
  if (starts("cache line")) {
    return "real persistent memory (DAX): fsync flushes CPU caches and fences without a kernel "
           "call, and data survives power loss once it returns";
  }
  if (starts("page")) {
    std::string text =
        "not persistent memory: libpmem2 falls back to msync, so durability is that of the file "
        "system holding the pool";
    if (ram) {
      text +=
          "; that is tmpfs (RAM): the pool survives a crash of the daemon but not a reboot "
          "or power loss (durability across power loss must come from a replica)";
    } else {
      text += "; fsync returns once msync has written the pages back to that storage";
    }
    return text;
  }
  return "unknown granularity";
}

std::string granularity_name(const std::string& granularity) {
  return granularity.substr(0, granularity.find(" ("));
}

std::string format_time_utc(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf, n);
}

nlohmann::json make_status_json(Filesystem& fs, const MountFacts& facts,
                                const FrontendCounters& counters) {
  const format::PoolHeader& h = fs.header();
  const FsStats st = fs.statfs();
  using nlohmann::json;
  json pool = {
      {"path", facts.pool_path},
      {"uuid", uuid_string(h.uuid)},
      {"size_bytes", h.pool_size},
      {"block_size", st.block_size},
      {"blocks_total", st.total_blocks},
      {"blocks_free", st.free_blocks},
      {"blocks_used", st.total_blocks - st.free_blocks},
      {"inodes_total", st.total_inodes},
      {"inodes_free", st.free_inodes},
      {"inodes_used", st.total_inodes - st.free_inodes},
      {"layout_version", h.arch.layout_version},
      {"mount_count", h.mount_count},
      {"epoch", h.epoch},
  };
  json durability = {
      {"granularity", granularity_name(facts.granularity)},
      {"granularity_detail", facts.granularity},
      {"real_pmem", facts.real_pmem},
      {"meaning", describe_durability(facts.granularity, facts.pool_path)},
      {"fsyncs", counters.fsyncs},
      {"journal_commits", fs.journal_commits()},
  };
  const RecoveryReport& r = facts.recovery;
  json recovery = {
      {"was_clean", r.was_clean},
      {"header_from_backup", r.header_from_backup},
      {"journal_replayed", r.journal_replayed},
      {"orphans_reclaimed", r.orphans_reclaimed},
      {"blocks_trimmed", r.blocks_trimmed},
      {"unsafe_shutdowns", r.unsafe_shutdowns},
      {"summary", r.summary()},
  };
  json mount = {
      {"mountpoint", facts.mountpoint},
      {"pid", static_cast<int64_t>(getpid())},
      {"mounted_since", format_time_utc(facts.mounted_since_ns)},
      {"mounted_since_unix_ns", facts.mounted_since_ns},
      {"read_only", facts.read_only},
  };
  json replication = facts.replication_status ? facts.replication_status()
                                              : json{
                                                    {"configured", false},
                                                    {"state", "not configured (single node)"},
                                                };
  return json{{"mount", mount},
              {"pool", pool},
              {"durability", durability},
              {"recovery", recovery},
              {"replication", replication}};
}

}  // namespace hapm
