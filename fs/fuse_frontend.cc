#include "fs/fuse_frontend.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "fs/fuse_context.h"
#include "fs/fuse_mountinfo.h"

namespace hapm {

namespace {

constexpr unsigned kMaxWriteBytes = 1u << 20;

// libfuse's own messages (and with -d its request trace) go to our log, so a
// daemon in the background still records them. libfuse sometimes emits one
// line in several calls and its callback carries no user data, so the
// unfinished line waits in a per-thread buffer (bounded by kLogLineMax).
constexpr size_t kLogLineMax = 4096;

void log_line(enum fuse_log_level level, std::string_view msg) {
  if (level <= FUSE_LOG_ERR) {
    spdlog::error("libfuse: {}", msg);
  } else if (level == FUSE_LOG_WARNING) {
    spdlog::warn("libfuse: {}", msg);
  } else if (level <= FUSE_LOG_INFO) {
    spdlog::info("libfuse: {}", msg);
  } else {
    spdlog::debug("libfuse: {}", msg);
  }
}

void log_from_libfuse(enum fuse_log_level level, const char* fmt, va_list ap) {
  thread_local std::string pending;
  char buf[1024];
  const int n = vsnprintf(buf, sizeof buf, fmt, ap);
  if (n <= 0) return;
  pending.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
  size_t nl;
  while ((nl = pending.find('\n')) != std::string::npos) {
    log_line(level, std::string_view(pending).substr(0, nl));
    pending.erase(0, nl + 1);
  }
  if (pending.size() > kLogLineMax) {
    log_line(level, pending);
    pending.clear();
  }
}

void op_init(void* userdata, fuse_conn_info* conn) {
  auto* ctx = static_cast<fuse::Context*>(userdata);
  // The writeback cache lets the kernel batch small writes into large WRITE
  // requests and serve shared mmap from the page cache; FSYNC still arrives
  // for every fsync/fdatasync/msync, after the dirty pages.
  if (conn->capable & FUSE_CAP_WRITEBACK_CACHE) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  // Lookups and readdirs in one directory may run concurrently; the core
  // takes its own locks.
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  // open(O_TRUNC) arrives as a separate setattr(size = 0), which the core
  // already handles as one transaction.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  // Splice does not help here: WRITE data must go through Filesystem::write
  // into pool memory (a pipe would add a copy), and READ replies already
  // come straight from the pool mapping via writev.
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  // The kernel clears setuid/setgid on write and chown with a setattr.
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  ctx->writeback_cache = (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0;
  conn->max_write = kMaxWriteBytes;
  conn->time_gran = 1;  // timestamps are kept in nanoseconds
  spdlog::debug("FUSE capabilities: kernel offers {:#x}, hapm wants {:#x}", conn->capable,
                conn->want);
  spdlog::info("FUSE connection: protocol {}.{}, writeback cache {}, max write {} KiB",
               conn->proto_major, conn->proto_minor,
               (conn->want & FUSE_CAP_WRITEBACK_CACHE) ? "on" : "off", conn->max_write / 1024);
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  fuse::add_entry_ops(ops);
  fuse::add_attr_ops(ops);
  fuse::add_dir_ops(ops);
  fuse::add_file_ops(ops);
  fuse::add_xattr_ops(ops);
  return ops;
}

struct ArgsDeleter {
  void operator()(fuse_args* a) const { fuse_opt_free_args(a); }
};

// "fsname=...,subtype=hapm,default_permissions[,allow_other][,ro][,user opts]"
Result<std::string> mount_option_string(const std::string& pool_path, const FuseOptions& options) {
  char* opts = nullptr;
  auto add = [&](const std::string& opt, bool escape) {
    return escape ? fuse_opt_add_opt_escaped(&opts, opt.c_str())
                  : fuse_opt_add_opt(&opts, opt.c_str());
  };
  int rc = 0;
  rc |= add("fsname=" + hapm_mount_source(pool_path), true);  // a path may hold commas
  rc |= add("subtype=hapm", false);
  rc |= add("default_permissions", false);
  if (options.allow_other) rc |= add("allow_other", false);
  if (options.read_only) rc |= add("ro", false);
  for (const std::string& o : options.mount_options) rc |= add(o, false);
  std::string out = opts ? opts : "";
  free(opts);
  if (rc != 0) return Status(Code::NoSpace, "out of memory building mount options");
  return out;
}

}  // namespace

void FuseServer::SessionDeleter::operator()(fuse_session* se) const {
  fuse_session_destroy(se);
}

Result<std::unique_ptr<FuseServer>> FuseServer::create(const std::string& pool_path,
                                                       const FuseOptions& options) {
  fuse_set_log_func(log_from_libfuse);
  Result<std::string> opts = mount_option_string(pool_path, options);
  if (!opts.is_ok()) return opts.status();

  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  std::unique_ptr<fuse_args, ArgsDeleter> args_guard(&args);
  if (fuse_opt_add_arg(&args, "hapm") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
      fuse_opt_add_arg(&args, opts->c_str()) != 0 ||
      (options.debug && fuse_opt_add_arg(&args, "-d") != 0)) {
    return Status(Code::NoSpace, "out of memory building FUSE arguments");
  }

  std::unique_ptr<FuseServer> server(new FuseServer());
  server->options_ = options;
  server->ctx_ = std::make_unique<fuse::Context>(options.entry_timeout_s, options.attr_timeout_s);
  const fuse_lowlevel_ops ops = make_ops();
  server->session_.reset(fuse_session_new(&args, &ops, sizeof ops, server->ctx_.get()));
  if (!server->session_) {
    return Status(Code::InvalidArgument, "bad mount options (libfuse said which above)");
  }
  return server;
}

Status FuseServer::mount(Filesystem& fs, MountFacts facts) {
  ctx_->fs = &fs;
  ctx_->session = session_.get();
  ctx_->facts = std::move(facts);
  if (fuse_session_mount(session_.get(), options_.mountpoint.c_str()) != 0) {
    return Status(Code::IOError, "cannot mount at " + options_.mountpoint +
                                     " (is /dev/fuse usable? libfuse said why above)");
  }
  mounted_ = true;
  return Status::ok();
}

FuseServer::~FuseServer() {
  unmount();
}

Status FuseServer::daemonize() {
  if (fuse_daemonize(0) != 0) return Status(Code::IOError, "cannot detach into the background");
  return Status::ok();
}

Status FuseServer::run() {
  fuse_session* se = session_.get();
  if (fuse_set_signal_handlers(se) != 0) {
    return Status(Code::IOError, "cannot install signal handlers");
  }
  std::unique_ptr<fuse_loop_config, decltype(&fuse_loop_cfg_destroy)> cfg(fuse_loop_cfg_create(),
                                                                          fuse_loop_cfg_destroy);
  if (!cfg) {
    fuse_remove_signal_handlers(se);
    return Status(Code::NoSpace, "cannot create the FUSE loop configuration");
  }
  // Idle threads keep libfuse's default: never destroyed. A small idle limit
  // makes libfuse create and destroy a thread per request (2-7x slower).
  fuse_loop_cfg_set_clone_fd(cfg.get(), 0);
  fuse_loop_cfg_set_max_threads(cfg.get(), options_.threads_max);

  spdlog::info("serving {} (up to {} threads)", options_.mountpoint, options_.threads_max);
  const int rc = fuse_session_loop_mt(se, cfg.get());
  fuse_remove_signal_handlers(se);
  if (rc > 0) {
    spdlog::info("signal {} received: unmounting {}", rc, options_.mountpoint);
  } else if (rc == 0) {
    spdlog::info("{} was unmounted", options_.mountpoint);
  }
  unmount();
  if (rc < 0) return Status::from_errno(-rc, "FUSE request loop");
  return Status::ok();
}

void FuseServer::unmount() {
  if (!mounted_ || !session_) return;
  fuse_session_unmount(session_.get());
  mounted_ = false;
}

FrontendCounters FuseServer::counters() const {
  FrontendCounters c;
  if (ctx_) c.fsyncs = ctx_->fsyncs.load(std::memory_order_relaxed);
  return c;
}

}  // namespace hapm
