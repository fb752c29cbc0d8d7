// The FUSE front end: serves a mounted hapm::Filesystem to the kernel through
// the libfuse3 low-level API, with a multi-threaded request loop.
//
// The handlers live in fs/fuse_ops_*.cc, one file per operation family; each
// calls one Filesystem method and turns its Status into one reply
// (fs/fuse_context.h). This header keeps libfuse out of its includers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "fs/filesystem.h"
#include "fs/fuse_status.h"

struct fuse_session;

namespace hapm {

namespace fuse {
struct Context;
}

struct FuseOptions {
  std::string mountpoint;                  // absolute; an existing directory
  std::vector<std::string> mount_options;  // extra "-o" options as given (comma lists allowed)
  bool allow_other = false;                // let every user in; permissions still apply
  bool read_only = false;                  // mount "ro"
  bool debug = false;                      // libfuse traces every request (debug log level)
  double entry_timeout_s = 1.0;
  double attr_timeout_s = 1.0;
  // Worker threads of the request loop. Idle threads are kept, never torn
  // down and recreated (see notes/fuse-latency.md).
  unsigned threads_max = 16;
};

class FuseServer {
 public:
  // Creates the session (fsname "hapm:<pool>", subtype "hapm",
  // default_permissions). Nothing is mounted yet, so a bad option
  // (InvalidArgument) is refused before the pool is touched.
  static Result<std::unique_ptr<FuseServer>> create(const std::string& pool_path,
                                                    const FuseOptions& options);
  // Mounts the session at options.mountpoint, serving `fs` (which must
  // outlive the server).
  Status mount(Filesystem& fs, MountFacts facts);
  ~FuseServer();  // unmounts if still mounted, then destroys the session
  FuseServer(const FuseServer&) = delete;
  FuseServer& operator=(const FuseServer&) = delete;

  // Detaches from the terminal (fuse_daemonize): forks, the parent exits 0,
  // the child continues with stdio on /dev/null and "/" as its directory.
  // Call before run() and before any thread is started.
  Status daemonize();
  // Serves requests until the mount is unmounted (umount, fusermount3 -u) or
  // SIGINT/SIGTERM/SIGHUP arrives, then unmounts. Ok for all of those.
  Status run();
  // Detaches the mount if it is still attached. Idempotent.
  void unmount();

  FrontendCounters counters() const;

 private:
  struct SessionDeleter {
    void operator()(struct fuse_session* se) const;
  };
  FuseServer() = default;

  FuseOptions options_;
  std::unique_ptr<fuse::Context> ctx_;  // the session's userdata; outlives it
  std::unique_ptr<struct fuse_session, SessionDeleter> session_;
  bool mounted_ = false;
};

}  // namespace hapm
