#include "test/crash/fs_driver.h"

#include <fcntl.h>

namespace hapm::crash {

std::vector<uint8_t> pattern(uint64_t seed, size_t len) {
  std::vector<uint8_t> out(len);
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < len; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x >> 24) | 1;  // never 0: a lost write never reads as a hole
  }
  return out;
}

Result<uint64_t> FsDriver::resolve(std::string_view path) {
  uint64_t ino = format::kRootIno;
  size_t pos = 0;
  for (int depth = 0; depth < 64; ++depth) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    if (pos >= path.size()) return ino;
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    Attr attr;
    HAPM_TRY(fs_.lookup(ino, path.substr(pos, end - pos), &attr));
    fs_.forget(attr.ino, 1);
    ino = attr.ino;
    pos = end;
  }
  return Status(Code::InvalidArgument, "path too deep: " + std::string(path));
}

Result<std::pair<uint64_t, std::string>> FsDriver::split(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash);
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  auto parent = resolve(dir);
  if (!parent.is_ok()) return parent.status();
  return std::make_pair(parent.value(), name);
}

Status FsDriver::create(std::string_view path, uint32_t mode) {
  auto p = split(path);
  if (!p.is_ok()) return p.status();
  Attr attr;
  HAPM_TRY(fs_.mknod(p->first, p->second, S_IFREG | mode, 0, caller_, &attr));
  fs_.forget(attr.ino, 1);
  return Status::ok();
}

Status FsDriver::write(std::string_view path, uint64_t offset, const std::vector<uint8_t>& bytes) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  HAPM_TRY(fs_.open(*ino, O_WRONLY));
  size_t done = 0;
  Status status;
  // A short write is retried for the rest, as the kernel would; bounded.
  for (int tries = 0; done < bytes.size() && tries < 1024; ++tries) {
    auto n = fs_.write(*ino, offset + done, bytes.data() + done, bytes.size() - done);
    if (!n.is_ok()) {
      status = n.status();
      break;
    }
    done += *n;
  }
  fs_.release(*ino);
  if (status.is_ok() && done != bytes.size()) return Status(Code::IOError, "write stalled");
  return status;
}

Status FsDriver::truncate(std::string_view path, uint64_t size) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  SetAttrRequest req;
  req.set_size = true;
  req.size = size;
  Attr attr;
  return fs_.setattr(*ino, req, &attr);
}

Status FsDriver::unlink(std::string_view path) {
  auto p = split(path);
  if (!p.is_ok()) return p.status();
  return fs_.unlink(p->first, p->second);
}

Status FsDriver::mkdir(std::string_view path, uint32_t mode) {
  auto p = split(path);
  if (!p.is_ok()) return p.status();
  Attr attr;
  HAPM_TRY(fs_.mkdir(p->first, p->second, mode, caller_, &attr));
  fs_.forget(attr.ino, 1);
  return Status::ok();
}

Status FsDriver::rmdir(std::string_view path) {
  auto p = split(path);
  if (!p.is_ok()) return p.status();
  return fs_.rmdir(p->first, p->second);
}

Status FsDriver::symlink(std::string_view target, std::string_view path) {
  auto p = split(path);
  if (!p.is_ok()) return p.status();
  Attr attr;
  HAPM_TRY(fs_.symlink(p->first, p->second, target, caller_, &attr));
  fs_.forget(attr.ino, 1);
  return Status::ok();
}

Status FsDriver::link(std::string_view existing, std::string_view path) {
  auto ino = resolve(existing);
  if (!ino.is_ok()) return ino.status();
  auto p = split(path);
  if (!p.is_ok()) return p.status();
  Attr attr;
  HAPM_TRY(fs_.link(*ino, p->first, p->second, &attr));
  fs_.forget(attr.ino, 1);
  return Status::ok();
}

Status FsDriver::rename(std::string_view from, std::string_view to, unsigned flags) {
  auto a = split(from);
  if (!a.is_ok()) return a.status();
  auto b = split(to);
  if (!b.is_ok()) return b.status();
  return fs_.rename(a->first, a->second, b->first, b->second, flags);
}

Status FsDriver::chmod(std::string_view path, uint32_t mode) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  SetAttrRequest req;
  req.set_mode = true;
  req.mode = mode;
  Attr attr;
  return fs_.setattr(*ino, req, &attr);
}

Status FsDriver::chown(std::string_view path, uint32_t uid, uint32_t gid) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  SetAttrRequest req;
  req.set_uid = req.set_gid = true;
  req.uid = uid;
  req.gid = gid;
  Attr attr;
  return fs_.setattr(*ino, req, &attr);
}

Status FsDriver::utimens(std::string_view path, int64_t atime_ns, int64_t mtime_ns) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  SetAttrRequest req;
  req.set_atime = req.set_mtime = true;
  req.atime_ns = atime_ns;
  req.mtime_ns = mtime_ns;
  Attr attr;
  return fs_.setattr(*ino, req, &attr);
}

Status FsDriver::setxattr(std::string_view path, std::string_view name, std::string_view value,
                          int flags) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  return fs_.setxattr(*ino, name, value, flags);
}

Status FsDriver::removexattr(std::string_view path, std::string_view name) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  return fs_.removexattr(*ino, name);
}

Status FsDriver::fallocate(std::string_view path, int mode, uint64_t offset, uint64_t length) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  return fs_.fallocate(*ino, mode, offset, length);
}

Status FsDriver::fsync(std::string_view path) {
  auto ino = resolve(path);
  if (!ino.is_ok()) return ino.status();
  return fs_.fsync(*ino, false);
}

}  // namespace hapm::crash
