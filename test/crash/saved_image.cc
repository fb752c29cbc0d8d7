#include "test/crash/saved_image.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hapm::crash {

namespace {

constexpr char kMagic[] = "HAPM-CRASH-IMAGE 1";
constexpr uint64_t kChunk = 4096;
constexpr uint64_t kEnd = ~uint64_t{0};
constexpr uint64_t kImageBytesMax = 1ull << 32;  // refuse absurd sizes from a damaged file

}  // namespace

Status save_image(const std::string& path, const ImageInfo& info,
                  const std::vector<uint8_t>& image) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status(Code::IOError, "cannot create " + path);
  out << kMagic << "\n";
  for (const auto& [key, value] : info) {
    if (key.find_first_of(" \n") != std::string::npos || value.find('\n') != std::string::npos)
      return Status(Code::InvalidArgument, "image info '" + key + "' cannot be stored");
    out << key << " " << value << "\n";
  }
  out << "data\n";
  uint64_t size = image.size();
  out.write(reinterpret_cast<const char*>(&size), sizeof size);
  static const std::vector<uint8_t> zero(kChunk, 0);
  for (uint64_t off = 0; off < size; off += kChunk) {
    uint64_t len = std::min(kChunk, size - off);
    if (std::memcmp(image.data() + off, zero.data(), len) == 0) continue;
    uint64_t index = off / kChunk;
    out.write(reinterpret_cast<const char*>(&index), sizeof index);
    out.write(reinterpret_cast<const char*>(image.data() + off), static_cast<std::streamsize>(len));
  }
  out.write(reinterpret_cast<const char*>(&kEnd), sizeof kEnd);
  return out ? Status::ok() : Status(Code::IOError, "writing " + path + " failed");
}

Status load_image(const std::string& path, ImageInfo* info, std::vector<uint8_t>* image) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::NotFound, "cannot open " + path);
  std::string line;
  if (!std::getline(in, line) || line != kMagic)
    return Status(Code::InvalidArgument, path + " is not a saved crash image");
  info->clear();
  for (int lines = 0; std::getline(in, line) && line != "data"; ++lines) {
    if (lines > 1000) return Status(Code::InvalidArgument, path + ": header too long");
    size_t sp = line.find(' ');
    (*info)[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  uint64_t size = 0;
  if (!in.read(reinterpret_cast<char*>(&size), sizeof size) || size > kImageBytesMax)
    return Status(Code::InvalidArgument, path + ": bad image size");
  image->assign(size, 0);
  for (uint64_t chunks = 0; chunks <= size / kChunk + 1; ++chunks) {
    uint64_t index = 0;
    if (!in.read(reinterpret_cast<char*>(&index), sizeof index))
      return Status(Code::InvalidArgument, path + ": truncated");
    if (index == kEnd) return Status::ok();
    if (index >= (size + kChunk - 1) / kChunk)
      return Status(Code::InvalidArgument, path + ": bad block index");
    uint64_t len = std::min(kChunk, size - index * kChunk);
    if (!in.read(reinterpret_cast<char*>(image->data() + index * kChunk),
                 static_cast<std::streamsize>(len)))
      return Status(Code::InvalidArgument, path + ": truncated");
  }
  return Status(Code::InvalidArgument, path + ": no end marker");
}

}  // namespace hapm::crash
