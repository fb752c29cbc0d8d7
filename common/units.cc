#include "common/units.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace hapm {

Result<uint64_t> parse_size(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data())
    return Status(Code::InvalidArgument,
                  "'" + std::string(text) + "' is not a size (try 4G or 512M)");
  std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  int shift = 0;
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      case 'B':
        shift = 0;
        break;
      default:
        return Status(Code::InvalidArgument, "unknown size unit in '" + std::string(text) + "'");
    }
    std::string_view rest = unit.substr(1);
    if (!(rest.empty() || rest == "B" || rest == "iB" || rest == "b" ||
          (unit[0] == 'B' && rest.empty())))
      return Status(Code::InvalidArgument, "unknown size unit in '" + std::string(text) + "'");
  }
  if (shift > 0 && (value >> (64 - shift)) != 0)
    return Status(Code::InvalidArgument, "size '" + std::string(text) + "' is too large");
  return value << shift;
}

std::string format_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace hapm
