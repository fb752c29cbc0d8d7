// A populated in-memory pool for the fsck tests, and small helpers that read
// and damage on-pool structures directly (the way media corruption would).
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fs/filesystem.h"
#include "fs/inode_util.h"
#include "fs/mkfs.h"
#include "fs/pool_format.h"
#include "fs/ram_pool.h"
#include "tools/fsck.h"

namespace hapm::test {

using format::Dirent;
using format::Inode;
using format::kBlockSize;

inline std::string pattern(size_t n, char seed) {
  std::string s(n, 0);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 % 61);
  return s;
}

struct FsckPool {
  static constexpr uint64_t kBytes = 16ull << 20;
  RamPool ram{kBytes};
  format::PoolHeader h{};
  // Inodes of the populated tree (see populate()).
  uint64_t docs = 0, sub = 0, a_txt = 0, b_bin = 0, sym = 0, fifo = 0, many = 0;
  std::string a_data = pattern(10000, 'a');
  std::string b_head = pattern(4096, 'b');
  std::string b_tail = pattern(3000, 'c');
  static constexpr uint64_t kTailOffset = 5ull << 20;  // needs a 2-level map

  FsckPool() { REQUIRE(make_filesystem(ram.memory(), MkfsOptions{}, &h).is_ok()); }
  PoolMemory& pool() { return ram.memory(); }

  template <class F>
  void with_fs(F&& fn) {
    RecoveryReport report;
    auto fs = Filesystem::mount(pool(), MountOptions{}, &report);
    REQUIRE(fs.is_ok());
    fn(**fs);
    REQUIRE((*fs)->unmount().is_ok());
  }

  // /docs/a.txt (10000 bytes, user.color xattr), /docs/sub/b.bin (sparse,
  // 5 MiB hole), /hard (hard link to a.txt), /sym -> docs/a.txt, /fifo,
  // /many with 20 files (a directory of two blocks).
  void populate() {
    with_fs([&](Filesystem& fs) {
      Caller root;
      Attr a;
      REQUIRE(fs.mkdir(format::kRootIno, "docs", 0755, root, &a).is_ok());
      docs = a.ino;
      REQUIRE(fs.mkdir(docs, "sub", 0755, root, &a).is_ok());
      sub = a.ino;
      REQUIRE(fs.mknod(docs, "a.txt", S_IFREG | 0644, 0, root, &a).is_ok());
      a_txt = a.ino;
      REQUIRE(fs.write(a_txt, 0, a_data.data(), a_data.size()).is_ok());
      REQUIRE(fs.setxattr(a_txt, "user.color", "blue", 0).is_ok());
      REQUIRE(fs.mknod(sub, "b.bin", S_IFREG | 0600, 0, root, &a).is_ok());
      b_bin = a.ino;
      REQUIRE(fs.write(b_bin, 0, b_head.data(), b_head.size()).is_ok());
      REQUIRE(fs.write(b_bin, kTailOffset, b_tail.data(), b_tail.size()).is_ok());
      REQUIRE(fs.link(a_txt, format::kRootIno, "hard", &a).is_ok());
      REQUIRE(fs.symlink(format::kRootIno, "sym", "docs/a.txt", root, &a).is_ok());
      sym = a.ino;
      REQUIRE(fs.mknod(format::kRootIno, "fifo", S_IFIFO | 0644, 0, root, &a).is_ok());
      fifo = a.ino;
      REQUIRE(fs.mkdir(format::kRootIno, "many", 0755, root, &a).is_ok());
      many = a.ino;
      for (int i = 0; i < 20; ++i)
        REQUIRE(fs.mknod(many, "f" + std::to_string(i), S_IFREG | 0644, 0, root, &a).is_ok());
    });
  }

  uint64_t ino_off(uint64_t ino) const { return inode_offset(h, ino); }
  Inode inode(uint64_t ino) { return pool().load<Inode>(ino_off(ino)); }
  void put_inode(uint64_t ino, Inode inode, bool seal = true) {
    if (seal) seal_inode(inode);
    pool().write(ino_off(ino), &inode, sizeof inode);
  }
  template <class T>
  void poke(uint64_t offset, const T& value) {
    pool().write(offset, &value, sizeof value);
  }
  template <class T>
  T peek(uint64_t offset) {
    return pool().load<T>(offset);
  }

  // Pool byte offset of the map slot holding file block `fblock`.
  uint64_t map_slot(uint64_t ino, uint64_t fblock) {
    const Inode in = inode(ino);
    REQUIRE(in.map_root != 0);
    uint64_t node = in.map_root;
    for (uint32_t level = in.map_height; level > 1; --level) {
      const uint64_t i = (fblock >> (format::kMapFanoutShift * (level - 1))) & 511;
      node = peek<uint64_t>(map_slot_offset(node, i));
      REQUIRE(node != 0);
    }
    return map_slot_offset(node, fblock & 511);
  }
  uint64_t data_block(uint64_t ino, uint64_t fblock) {
    return peek<uint64_t>(map_slot(ino, fblock));
  }

  // Offset of the slot naming `name` in directory `dir` (0 if none); with
  // name "" the first free slot.
  uint64_t dirent(uint64_t dir, const std::string& name) {
    const Inode d = inode(dir);
    for (uint64_t fb = 0; fb < d.size / kBlockSize; ++fb) {
      const uint64_t block = data_block(dir, fb);
      for (uint64_t s = 0; s < format::kDirentsPerBlock; ++s) {
        const uint64_t off = block * kBlockSize + s * sizeof(Dirent);
        const Dirent e = peek<Dirent>(off);
        if (name.empty() ? e.ino == 0 : (e.ino != 0 && std::string(e.name, e.name_len) == name))
          return off;
      }
    }
    return 0;
  }

  bool bitmap_bit(uint64_t block) {
    return (peek<uint64_t>(h.bitmap_block * kBlockSize + block / 64 * 8) >> (block % 64)) & 1;
  }
  void set_bitmap_bit(uint64_t block, bool on) {
    const uint64_t off = h.bitmap_block * kBlockSize + block / 64 * 8;
    uint64_t w = peek<uint64_t>(off);
    w = on ? w | (uint64_t{1} << (block % 64)) : w & ~(uint64_t{1} << (block % 64));
    poke(off, w);
  }
  // A data block that is free in the bitmap (from the end of the pool).
  uint64_t free_block() {
    for (uint64_t b = h.block_count - 1; b >= h.data_block; --b)
      if (!bitmap_bit(b)) return b;
    FAIL("no free block");
    return 0;
  }
  uint64_t free_inode() {
    for (uint64_t ino = 2; ino < h.inode_count; ++ino)
      if (inode(ino).mode == 0) return ino;
    FAIL("no free inode");
    return 0;
  }

  FsckReport fsck(bool repair = false) {
    FsckOptions options;
    options.repair = repair;
    return run_fsck(pool(), options);
  }

  // The file's bytes [offset, offset + n) read through the filesystem.
  std::string read(uint64_t ino, uint64_t offset, size_t n) {
    std::string out;
    with_fs([&](Filesystem& fs) {
      REQUIRE(fs.read(ino, offset, n, [&](const struct iovec* iov, int count) {
                  for (int i = 0; i < count; ++i)
                    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
                }).is_ok());
    });
    return out;
  }
  // Every populated file still holds what populate() wrote.
  void require_data_intact(bool check_b = true) {
    CHECK(read(a_txt, 0, a_data.size()) == a_data);
    if (check_b) {
      CHECK(read(b_bin, 0, b_head.size()) == b_head);
      CHECK(read(b_bin, kTailOffset, b_tail.size()) == b_tail);
      CHECK(read(b_bin, 100000, 4096) == std::string(4096, '\0'));
    }
  }
};

inline bool has_kind(const FsckReport& r, const std::string& kind) {
  return std::any_of(r.problems.begin(), r.problems.end(),
                     [&](const FsckProblem& p) { return p.kind == kind; });
}

inline const FsckProblem* find_kind(const FsckReport& r, const std::string& kind) {
  for (const FsckProblem& p : r.problems)
    if (p.kind == kind) return &p;
  return nullptr;
}

// Shows the report when an assertion about it fails.
#define HAPM_SHOW(report) INFO((report).to_text())

}  // namespace hapm::test
