// Reading and checking the pool header (R15: refuse a foreign pool).
#pragma once

#include <string>

#include "common/status.h"
#include "fs/pool_format.h"
#include "fs/pool_memory.h"

namespace hapm {

struct HeaderCheck {
  bool primary_ok = false;
  bool backup_ok = false;
  std::string primary_problem;  // empty when primary_ok
  std::string backup_problem;
};

// This machine's signature.
format::ArchSignature local_arch();
// Names a signature for messages: "little-endian, 64-bit words, 4096-byte pages, layout 1".
std::string describe_arch(const format::ArchSignature& arch);
// Checks magic, architecture, layout version, geometry and checksum of the
// primary header, falling back to the backup. Errors say what is wrong and
// what the pool seems to be (Corruption for damage, NotSupported for a pool
// from another architecture or a newer layout).
Result<format::PoolHeader> read_header(const PoolMemory& pool, HeaderCheck* check = nullptr);
// Validates one header image against the pool it lives in; "" when good.
std::string header_problem(const format::PoolHeader& h, uint64_t pool_size, Code* code);
uint32_t header_crc(const format::PoolHeader& h);
std::string uuid_string(const uint8_t uuid[16]);

}  // namespace hapm
