#include "common/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace hapm {

uint32_t crc32c(const void* data, size_t len, uint32_t seed) {
  // ISA-L takes an int length and does no pre/post inversion.
  uint32_t crc = ~seed;
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  while (len > 0) {
    int chunk = len > static_cast<size_t>(INT_MAX / 2) ? INT_MAX / 2 : static_cast<int>(len);
    crc = crc32_iscsi(p, chunk, crc);
    p += chunk;
    len -= static_cast<size_t>(chunk);
  }
  return ~crc;
}

}  // namespace hapm
