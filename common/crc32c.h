// CRC32C (Castagnoli), the checksum of every on-pool and on-wire structure.
// Computed by ISA-L; wrapped once here so callers never see its conventions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hapm {

// Standard CRC32C: crc32c("123456789") == 0xE3069283. `seed` chains a
// previous result so that crc32c(a+b) == crc32c(b, crc32c(a)).
uint32_t crc32c(const void* data, size_t len, uint32_t seed = 0);

}  // namespace hapm
