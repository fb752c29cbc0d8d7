#include "fs/inode_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <cstring>

#include "common/crc32c.h"

namespace hapm {

int64_t now_ns() {
  // The coarse clock is the one the kernel stamps times with: with the
  // writeback cache it sends its own ctime/mtime, and the two must never
  // disagree so much that a time appears to go backwards.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void seal_inode(format::Inode& inode) {
  inode.crc = crc32c(&inode, offsetof(format::Inode, crc));
}

bool inode_crc_ok(const format::Inode& inode) {
  return inode.crc == crc32c(&inode, offsetof(format::Inode, crc));
}

uint32_t dirent_crc(const format::Dirent& d) {
  uint32_t c = crc32c(&d.ino, sizeof d.ino);
  c = crc32c(&d.name_len, 2, c);  // name_len and type
  return crc32c(d.name, d.name_len, c);
}

bool dirent_crc_ok(const format::Dirent& d) {
  return d.crc == dirent_crc(d);
}

format::Dirent make_dirent(uint64_t ino, uint8_t type, std::string_view name) {
  format::Dirent d{};
  d.ino = ino;
  d.type = type;
  d.name_len = static_cast<uint8_t>(name.size());
  std::memcpy(d.name, name.data(), name.size());
  d.crc = dirent_crc(d);
  return d;
}

uint8_t mode_to_dtype(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return DT_REG;
    case S_IFDIR:
      return DT_DIR;
    case S_IFLNK:
      return DT_LNK;
    case S_IFCHR:
      return DT_CHR;
    case S_IFBLK:
      return DT_BLK;
    case S_IFIFO:
      return DT_FIFO;
    case S_IFSOCK:
      return DT_SOCK;
  }
  return DT_UNKNOWN;
}

uint32_t map_height_for(uint64_t fblock) {
  uint32_t h = 1;
  while (h < format::kMapHeightMax && fblock >= map_span(h)) ++h;
  return h;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > format::kNameMax || name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace hapm
