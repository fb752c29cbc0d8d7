// Parsing and printing of sizes with units ("4G", "512KiB", "64M").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace hapm {

// Accepts a number with an optional K/M/G/T suffix (optionally followed by
// "iB" or "B"); all multipliers are powers of 1024.
Result<uint64_t> parse_size(std::string_view text);
// 1536 -> "1.5 KiB"
std::string format_size(uint64_t bytes);

}  // namespace hapm
