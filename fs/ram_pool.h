// A pool in ordinary heap memory with a volatile persistence domain: for unit
// tests and tools that work on a copy. Nothing here is durable.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "fs/pool_memory.h"

namespace hapm {

class VolatileDomain final : public PersistDomain {
 public:
  void store(void* dst, const void* src, size_t len, StoreKind) override {
    std::memmove(dst, src, len);
  }
  void fill(void* dst, int byte, size_t len) override { std::memset(dst, byte, len); }
  void flush(const void*, size_t) override {}
  void drain() override {}
  std::string describe() const override { return "volatile (heap memory, tests only)"; }
};

class RamPool {
 public:
  explicit RamPool(uint64_t size) : bytes_(size, 0), memory_(bytes_.data(), size, domain_) {}
  // A pool holding a copy of `image`.
  explicit RamPool(const std::vector<uint8_t>& image)
      : bytes_(image), memory_(bytes_.data(), bytes_.size(), domain_) {}
  PoolMemory& memory() { return memory_; }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  VolatileDomain domain_;
  PoolMemory memory_;
};

}  // namespace hapm
