// Small helpers over the on-pool structures, shared by the core and fsck.
#pragma once

#include <cstdint>
#include <string_view>

#include "fs/pool_format.h"

namespace hapm {

int64_t now_ns();
// Sets the inode's checksum; call before every store of an inode.
void seal_inode(format::Inode& inode);
bool inode_crc_ok(const format::Inode& inode);
// Fills a directory entry and its checksum.
format::Dirent make_dirent(uint64_t ino, uint8_t type, std::string_view name);
uint32_t dirent_crc(const format::Dirent& d);
bool dirent_crc_ok(const format::Dirent& d);
// DT_* type of an inode mode.
uint8_t mode_to_dtype(uint32_t mode);
// Pool offset of inode `ino`.
inline uint64_t inode_offset(const format::PoolHeader& h, uint64_t ino) {
  return h.inode_table_block * format::kBlockSize + ino * sizeof(format::Inode);
}
// Pool offset of the block-map slot `index` in node `block`.
inline uint64_t map_slot_offset(uint64_t block, uint64_t index) {
  return block * format::kBlockSize + index * sizeof(uint64_t);
}
// 512^level file blocks: the span of a block-map node at that level.
inline uint64_t map_span(uint32_t level) {
  return uint64_t{1} << (format::kMapFanoutShift * level);
}
// Height needed to map file block `fblock`.
uint32_t map_height_for(uint64_t fblock);
// Largest file size the map can address.
constexpr uint64_t kMaxFileSize =
    (uint64_t{1} << (format::kMapFanoutShift * format::kMapHeightMax)) * format::kBlockSize;
// A name acceptable in a directory: 1..255 bytes, no '/' or NUL, not "." or "..".
bool valid_name(std::string_view name);

}  // namespace hapm
