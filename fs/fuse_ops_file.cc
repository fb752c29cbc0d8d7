// File handles and data: open, create, read, write, flush, release, fsync,
// fallocate, lseek.
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "fs/fuse_context.h"

namespace hapm::fuse {

namespace {

// fuse_reply_iov adds one iovec for the reply header; writev takes IOV_MAX.
constexpr int kReplyIovMax = IOV_MAX - 1;
constexpr uint64_t kHandleWritable = 1;

// With the writeback cache the kernel trusts its own size and times and
// keeps the rest (st_blocks) cached for attr_timeout, so after data reached
// the core its cached attributes are stale: have it fetch them again. Called
// on FLUSH and FSYNC, when the kernel has written the dirty pages back and
// holds no lock the notification needs — and only when a write allocated
// blocks since, so an overwrite+fsync pays no extra syscall.
void refresh_kernel_attrs(fuse_req_t req, fuse_ino_t ino) {
  Context& c = ctx(req);
  if (!c.writeback_cache.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard guard(c.stale_mutex);
    if (c.stale_attrs.erase(ino) == 0) return;
  }
  const int rc = fuse_lowlevel_notify_inval_inode(c.session, ino, -1, 0);
  if (rc != 0 && rc != -ENOENT) spdlog::debug("attribute refresh of inode {}: {}", ino, rc);
}

// How the kernel should cache an open file. Only this mount changes the pool,
// so the page cache stays valid across opens (keep_cache). O_DIRECT bypasses
// it; shared mmap of such a handle is refused by the kernel, which is what
// O_DIRECT asks for.
void set_caching(fuse_file_info* fi) {
  // The core counts opens per inode; the handle only remembers whether it
  // may have written (flush refreshes the kernel's attributes then).
  fi->fh = (fi->flags & O_ACCMODE) == O_RDONLY ? 0 : kHandleWritable;
  if (fi->flags & O_DIRECT) {
    fi->direct_io = 1;
  } else {
    fi->keep_cache = 1;
  }
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // O_TRUNC never arrives here: init() leaves atomic_o_trunc off, so the
  // kernel truncates with a separate setattr(size = 0).
  Status s = fs(req).open(ino, fi->flags);
  if (!s.is_ok()) {
    reply_status(req, s);
    return;
  }
  set_caching(fi);
  fuse_reply_open(req, fi);
}

// create = mknod + open. The kernel sends it after a failed lookup; if the
// name appeared meanwhile and O_EXCL is not set, open what is there.
Status do_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                 fuse_file_info* fi, Attr* attr) {
  Filesystem& f = fs(req);
  const uint32_t file_mode = (mode & ~S_IFMT) | S_IFREG;
  Status s = f.mknod(parent, name, file_mode, 0, caller(req), attr);
  if (s.code() == Code::AlreadyExists && !(fi->flags & O_EXCL)) {
    HAPM_TRY(f.lookup(parent, name, attr));
    if (S_ISDIR(attr->mode)) {
      f.forget(attr->ino, 1);
      return Status(Code::IsADirectory, "create: name is a directory");
    }
    s = Status::ok();
  }
  HAPM_TRY(s);
  Status opened = f.open(attr->ino, fi->flags);
  if (!opened.is_ok()) f.forget(attr->ino, 1);  // the kernel never learns of this reference
  return opened;
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  Attr attr;
  Status s = do_create(req, parent, name, mode, fi, &attr);
  if (!s.is_ok()) {
    reply_status(req, s);
    return;
  }
  set_caching(fi);
  fuse_entry_param e{};
  e.ino = attr.ino;
  e.generation = attr.generation;
  attr.to_stat(&e.attr);
  e.attr_timeout = ctx(req).attr_timeout_s;
  e.entry_timeout = ctx(req).entry_timeout_s;
  fuse_reply_create(req, &e, fi);
}

// Zero-copy read: the core hands iovecs pointing into the pool and the reply
// is written from them while the core still holds them valid.
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  bool replied = false;
  auto consume = [&](const struct iovec* iov, int count) {
    if (replied) {
      spdlog::error("read of inode {}: data handed over twice; second part dropped", ino);
      return;
    }
    replied = true;
    if (count <= kReplyIovMax) {
      fuse_reply_iov(req, iov, count);
      return;
    }
    std::vector<char> copy;  // more pieces than writev takes: gather them
    for (int i = 0; i < count; ++i) {
      const char* p = static_cast<const char*>(iov[i].iov_base);
      copy.insert(copy.end(), p, p + iov[i].iov_len);
    }
    fuse_reply_buf(req, copy.data(), copy.size());
  };
  Status s = fs(req).read(ino, static_cast<uint64_t>(off), size, consume);
  if (replied) {
    if (!s.is_ok()) spdlog::error("read of inode {} failed after replying: {}", ino, s.to_string());
    return;
  }
  if (!s.is_ok()) {
    reply_status(req, s);
    return;
  }
  fuse_reply_buf(req, nullptr, 0);  // at or past end of file
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              fuse_file_info*) {
  bool allocated = false;
  Result<size_t> written = fs(req).write(ino, static_cast<uint64_t>(off), buf, size, &allocated);
  if (!written.is_ok()) {
    // The core's write is all-or-nothing for space, so a writeback WRITE
    // either lands whole or fails, and the failure reaches fsync/close.
    reply_status(req, written.status());
    return;
  }
  if (allocated) {
    Context& c = ctx(req);
    std::lock_guard guard(c.stale_mutex);
    c.stale_attrs.insert(ino);
  }
  fuse_reply_write(req, written.value());
}

void op_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // close(2) promises no durability; the kernel has already sent the file's
  // dirty pages as WRITEs. Durability is fsync's job.
  if (fi->fh == kHandleWritable) refresh_kernel_attrs(req, ino);
  reply_status(req, Status::ok());
}

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  fs(req).release(ino);
  fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  fsync_hook(req, ino, datasync);
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  fuse_file_info*) {
  if (offset < 0 || length <= 0) {
    reply_status(req, Status(Code::InvalidArgument, "fallocate: bad range"));
    return;
  }
  reply_status(req, fs(req).fallocate(ino, mode, static_cast<uint64_t>(offset),
                                      static_cast<uint64_t>(length)));
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
  // The kernel answers SEEK_SET/CUR/END itself; only DATA/HOLE come here.
  if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0) {
    reply_status(req, Status(Code::InvalidArgument, "lseek: unsupported whence"));
    return;
  }
  Result<uint64_t> pos = fs(req).seek_data_hole(ino, static_cast<uint64_t>(off), whence);
  if (!pos.is_ok()) {
    reply_status(req, pos.status());
    return;
  }
  fuse_reply_lseek(req, static_cast<off_t>(pos.value()));
}

}  // namespace

// THE FSYNC HOOK. fsync(2), fdatasync(2), msync(MS_SYNC) on a mapping and
// fsync of a directory all end here, after the kernel has sent the file's
// dirty pages as WRITE requests. Filesystem::fsync makes every pool store so
// far durable and runs its fsync observer: this is where a consistency point
// closes (the replicator attaches there). Never answer ENOSYS: the kernel
// would stop sending FSYNC for the whole mount.
void fsync_hook(fuse_req_t req, fuse_ino_t ino, int datasync) {
  Status s = fs(req).fsync(ino, datasync != 0);
  if (s.is_ok()) {
    ctx(req).fsyncs.fetch_add(1, std::memory_order_relaxed);
    refresh_kernel_attrs(req, ino);
  }
  reply_status(req, s);
}

void add_file_ops(fuse_lowlevel_ops& ops) {
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.fallocate = op_fallocate;
  ops.lseek = op_lseek;
}

}  // namespace hapm::fuse
