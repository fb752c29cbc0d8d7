// hapm status TARGET [--json]
//
// TARGET a mount point: the live document the daemon serves as the reserved
// attribute hapm.status on the root. TARGET a pool file: its header, read
// without taking the pool lock, so it works while the pool is mounted.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "common/units.h"
#include "fs/fuse_mountinfo.h"
#include "fs/fuse_status.h"
#include "fs/pmem_file.h"
#include "fs/pool_header.h"
#include "tools/commands.h"

namespace hapm::cli {

namespace {

using nlohmann::json;

struct StatusArgs {
  std::string target;
  bool json = false;
};

// The document may grow between the size probe and the read.
constexpr int kStatusReadAttemptsMax = 5;

int fail(const std::string& message) {
  fmt::print(stderr, "hapm status: {}\n", message);
  return kExitFailure;
}

void row(const char* name, const std::string& value) {
  fmt::print("  {:<17} {}\n", name, value);
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string mount_history(uint64_t mounts, uint64_t epoch) {
  return fmt::format("mounted {} time{}, fencing epoch {}", mounts, mounts == 1 ? "" : "s", epoch);
}

Result<json> read_live_status(const std::string& mountpoint) {
  for (int attempt = 0; attempt < kStatusReadAttemptsMax; ++attempt) {
    ssize_t size = getxattr(mountpoint.c_str(), kStatusXattr, nullptr, 0);
    if (size < 0) {
      const int err = errno;
      if (err == ENODATA || err == ENOTSUP) {
        return Status(Code::NotFound, mountpoint + " is not the root of a hapm mount");
      }
      if (err == ENOTCONN) {
        return Status(Code::Unavailable,
                      mountpoint +
                          " is a dead mount: its daemon is gone (crashed or killed); "
                          "detach it with fusermount3 -u, then run hapm fsck on the pool");
      }
      return Status::from_errno(err, "reading the status of " + mountpoint);
    }
    std::string buf(static_cast<size_t>(size) + 4096, '\0');
    ssize_t got = getxattr(mountpoint.c_str(), kStatusXattr, buf.data(), buf.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) return Status::from_errno(errno, "reading the status of " + mountpoint);
    buf.resize(static_cast<size_t>(got));
    json doc = json::parse(buf, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Status(Code::Corruption, "the daemon sent unreadable status");
    return doc;
  }
  return Status(Code::Busy, "the status of " + mountpoint + " kept changing size; try again");
}

void print_live(const json& d) {
  const json& m = d["mount"];
  const json& p = d["pool"];
  const json& du = d["durability"];
  const json& r = d["recovery"];
  const uint64_t bs = p["block_size"].get<uint64_t>();
  const uint64_t btotal = p["blocks_total"].get<uint64_t>();
  const uint64_t bused = p["blocks_used"].get<uint64_t>();
  const uint64_t itotal = p["inodes_total"].get<uint64_t>();
  const uint64_t iused = p["inodes_used"].get<uint64_t>();

  fmt::print("Mount {}\n", m["mountpoint"].get<std::string>());
  row("pool", p["path"].get<std::string>());
  row("daemon", fmt::format("pid {}, mounted since {}, {}", m["pid"].get<int64_t>(),
                            m["mounted_since"].get<std::string>(),
                            m["read_only"].get<bool>() ? "read-only" : "read-write"));
  fmt::print("Pool\n");
  row("uuid", p["uuid"].get<std::string>());
  row("size", format_size(p["size_bytes"].get<uint64_t>()));
  row("space",
      fmt::format("{} used of {} ({}), {} free", format_size(bused * bs), format_size(btotal * bs),
                  percent(bused, btotal), format_size(p["blocks_free"].get<uint64_t>() * bs)));
  row("inodes", fmt::format("{} used of {} ({}), {} free", iused, itotal, percent(iused, itotal),
                            p["inodes_free"].get<uint64_t>()));
  row("mounts", mount_history(p["mount_count"].get<uint64_t>(), p["epoch"].get<uint64_t>()));
  fmt::print("Durability\n");
  row("granularity", du["granularity"].get<std::string>());
  row("meaning", du["meaning"].get<std::string>());
  row("fsyncs", fmt::format("{} answered since mount", du["fsyncs"].get<uint64_t>()));
  row("journal",
      fmt::format("{} transactions committed since mount", du["journal_commits"].get<uint64_t>()));
  fmt::print("Recovery at mount\n");
  row("last shutdown",
      r["was_clean"].get<bool>() ? "clean" : "NOT clean (crash, kill or power loss)");
  row("summary", r["summary"].get<std::string>());
  fmt::print("Replication\n");
  row("state", d["replication"]["state"].get<std::string>());
}

int status_of_mount(const StatusArgs& a) {
  Result<json> doc = read_live_status(a.target);
  if (!doc.is_ok()) return fail(doc.status().message());
  if (a.json) {
    fmt::print("{}\n", doc->dump(2));
  } else {
    print_live(*doc);
  }
  return kExitOk;
}

int status_of_pool(const StatusArgs& a) {
  char real[PATH_MAX];
  if (!realpath(a.target.c_str(), real)) return fail(a.target + ": " + std::strerror(errno));
  const std::string path = real;
  Result<std::unique_ptr<PmemFile>> pool = PmemFile::open(path, PmemFile::Lock::None);
  if (!pool.is_ok()) return fail("cannot open " + path + ": " + pool.status().to_string());
  HeaderCheck check;
  Result<format::PoolHeader> header = read_header((*pool)->memory(), &check);
  if (!header.is_ok()) {
    return fail(path + " is not a usable hapm pool: " + header.status().to_string());
  }
  const format::PoolHeader& h = *header;

  // Mounts of this pool; one whose daemon is gone still shows in the table.
  std::vector<std::string> mounted_at, dead_at;
  if (Result<std::vector<MountEntry>> mounts = read_mountinfo(); mounts.is_ok()) {
    for (const MountEntry& m : *mounts) {
      if (m.source != hapm_mount_source(path)) continue;
      const bool dead = read_live_status(m.mount_point).status().code() == Code::Unavailable;
      (dead ? dead_at : mounted_at).push_back(m.mount_point);
    }
  }
  const bool in_use = !mounted_at.empty();
  const std::string granularity = (*pool)->granularity();
  const std::string usc = h.unsafe_shutdown_count == format::kUnknownShutdownCount
                              ? "unknown (not reported for this file)"
                              : std::to_string(h.unsafe_shutdown_count);

  if (a.json) {
    json doc = {
        {"pool",
         {{"path", path},
          {"uuid", uuid_string(h.uuid)},
          {"size_bytes", h.pool_size},
          {"block_count", h.block_count},
          {"inode_count", h.inode_count},
          {"layout_version", h.arch.layout_version},
          {"arch", describe_arch(h.arch)},
          {"created", format_time_utc(h.created_ns)},
          {"clean", h.clean != 0},
          {"mount_count", h.mount_count},
          {"epoch", h.epoch},
          {"unsafe_shutdown_count", usc},
          {"header_primary_ok", check.primary_ok},
          {"header_backup_ok", check.backup_ok}}},
        {"in_use", in_use},
        {"mountpoints", mounted_at},
        {"dead_mountpoints", dead_at},
        {"durability",
         {{"granularity", granularity_name(granularity)},
          {"granularity_detail", granularity},
          {"real_pmem", (*pool)->is_real_pmem()},
          {"meaning", describe_durability(granularity, path)}}},
        {"replication", {{"configured", false}, {"state", "not configured (single node)"}}},
    };
    fmt::print("{}\n", doc.dump(2));
    return kExitOk;
  }

  fmt::print("Pool {}\n", path);
  row("uuid", uuid_string(h.uuid));
  row("size", fmt::format("{} ({} blocks of 4 KiB), {} inodes", format_size(h.pool_size),
                          h.block_count, h.inode_count - 1));
  row("layout", describe_arch(h.arch));
  row("created", format_time_utc(h.created_ns));
  if (in_use) {
    std::string where;
    for (const std::string& m : mounted_at) where += (where.empty() ? "" : ", ") + m;
    row("in use",
        "yes: mounted at " + where + " (hapm status " + mounted_at[0] + " shows live figures)");
    row("shutdown", "open: the clean flag is set again at unmount");
  } else if (!dead_at.empty()) {
    row("in use", "no, but its daemon died and left a dead mount at " + dead_at[0] +
                      " (detach it with: fusermount3 -u " + dead_at[0] + ")");
  } else {
    row("in use", "no mount in this namespace");
  }
  if (!in_use) {
    row("shutdown", h.clean ? "clean: the last mount ended with a clean unmount"
                            : "NOT clean: the last mount did not end cleanly (crash, kill or "
                              "power loss); the next mount or fsck runs recovery");
  }
  row("mounts", mount_history(h.mount_count, h.epoch));
  row("headers", fmt::format("primary {}, backup {}", check.primary_ok ? "good" : "DAMAGED",
                             check.backup_ok ? "good" : "DAMAGED"));
  fmt::print("Durability\n");
  row("granularity", granularity_name(granularity));
  row("meaning", describe_durability(granularity, path));
  row("unsafe shutdowns", usc);
  fmt::print("Replication\n");
  row("state", "not configured (single node)");
  return kExitOk;
}

int run_status(const StatusArgs& a) {
  struct stat st {};
  if (stat(a.target.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOTCONN) return status_of_mount(a);  // a dead mount: say so
    return fail("cannot access " + a.target + ": " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) return status_of_mount(a);
  return status_of_pool(a);
}

}  // namespace

Runner setup_status(CLI::App& sub) {
  auto a = std::make_shared<StatusArgs>();
  sub.add_option("TARGET", a->target,
                 "A mount point (live figures from the daemon) or a pool file (its header)")
      ->required();
  sub.add_flag("--json", a->json, "Print one JSON object instead of text");
  return [a] { return run_status(*a); };
}

}  // namespace hapm::cli
