#include "fs/pool_header.h"

#include <unistd.h>

#include <cstdio>

#include "common/crc32c.h"

namespace hapm {

using format::PoolHeader;

format::ArchSignature local_arch() {
  format::ArchSignature a{};
  a.endian_marker = format::kEndianMarker;
  a.word_size = sizeof(void*);
  a.page_size = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  a.layout_version = format::kLayoutVersion;
  return a;
}

std::string describe_arch(const format::ArchSignature& a) {
  std::string endian = a.endian_marker == format::kEndianMarker ? "little-endian"
                       : a.endian_marker == 0x04030201          ? "big-endian"
                                                                : "unknown byte order";
  return endian + ", " + std::to_string(a.word_size * 8) + "-bit words, " +
         std::to_string(a.page_size) + "-byte pages, layout " + std::to_string(a.layout_version);
}

uint32_t header_crc(const PoolHeader& h) {
  return crc32c(&h, offsetof(PoolHeader, crc));
}

std::string uuid_string(const uint8_t u[16]) {
  char buf[40];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                u[15]);
  return buf;
}

std::string header_problem(const PoolHeader& h, uint64_t pool_size, Code* code) {
  *code = Code::Corruption;
  if (h.magic == format::kPoolMagicSwapped) {
    *code = Code::NotSupported;
    return "pool was written by a machine of the opposite byte order (big-endian); this machine "
           "is " +
           describe_arch(local_arch());
  }
  if (h.magic != format::kPoolMagic) return "not a hapm pool (bad magic number)";
  const format::ArchSignature here = local_arch();
  if (h.arch.endian_marker != here.endian_marker || h.arch.word_size != here.word_size ||
      h.arch.page_size != here.page_size) {
    *code = Code::NotSupported;
    return "pool was created on a different architecture (" + describe_arch(h.arch) +
           "); this machine is " + describe_arch(here);
  }
  if (h.arch.layout_version != format::kLayoutVersion) {
    *code = Code::NotSupported;
    return "pool has layout version " + std::to_string(h.arch.layout_version) +
           "; this hapm understands layout " + std::to_string(format::kLayoutVersion) +
           (h.arch.layout_version > format::kLayoutVersion ? " (upgrade hapm)" : "");
  }
  if (header_crc(h) != h.crc) return "header checksum mismatch";
  if (h.pool_size != pool_size)
    return "pool file is " + std::to_string(pool_size) + " bytes but the header says " +
           std::to_string(h.pool_size) + (pool_size < h.pool_size ? " (truncated?)" : "");
  const uint64_t n = h.block_count;
  if (n * format::kBlockSize != h.pool_size || h.journal_block != format::kJournalBlock ||
      h.journal_blocks < format::kJournalBlocksMin ||
      h.journal_blocks > format::kJournalBlocksMax ||
      h.inode_table_block != h.journal_block + h.journal_blocks || h.inode_count < 2 ||
      h.bitmap_block != h.inode_table_block + (h.inode_count + format::kInodesPerBlock - 1) /
                                                  format::kInodesPerBlock ||
      h.bitmap_blocks != (n + 8 * format::kBlockSize - 1) / (8 * format::kBlockSize) ||
      h.dirty_map_block != h.bitmap_block + h.bitmap_blocks ||
      h.dirty_chunk_shift < format::kDirtyChunkShiftMin || h.dirty_chunk_shift > 40 ||
      (((h.pool_size - 1) >> h.dirty_chunk_shift) + 1) > format::kDirtyMapBitsMax ||
      h.dirty_map_blocks !=
          1 + ((((h.pool_size - 1) >> h.dirty_chunk_shift) + 1) + 8 * format::kBlockSize - 1) /
                  (8 * format::kBlockSize) ||
      h.data_block != h.dirty_map_block + h.dirty_map_blocks || h.data_block >= n)
    return "header geometry is inconsistent";
  return "";
}

Result<PoolHeader> read_header(const PoolMemory& pool, HeaderCheck* check) {
  HeaderCheck local;
  HeaderCheck& c = check ? *check : local;
  if (pool.size() < 2 * format::kBlockSize)
    return Status(Code::Corruption, "file is too small to be a hapm pool");
  auto primary = pool.load<PoolHeader>(format::kHeaderBlock * format::kBlockSize);
  auto backup = pool.load<PoolHeader>(format::kBackupHeaderBlock * format::kBlockSize);
  Code pcode, bcode;
  c.primary_problem = header_problem(primary, pool.size(), &pcode);
  c.backup_problem = header_problem(backup, pool.size(), &bcode);
  c.primary_ok = c.primary_problem.empty();
  c.backup_ok = c.backup_problem.empty();
  if (c.primary_ok) return primary;
  // A foreign or newer pool is refused outright, never "repaired" from a backup.
  if (pcode == Code::NotSupported) return Status(pcode, c.primary_problem);
  if (c.backup_ok) return backup;
  return Status(pcode, c.primary_problem);
}

}  // namespace hapm
