// Crash images on disk: a failing image kept for debugging or as a
// regression case. Text header (key value lines) then the non-zero 4 KiB
// blocks, so a mostly empty 8 MiB pool takes a few hundred KiB.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace hapm::crash {

using ImageInfo = std::map<std::string, std::string>;  // op, point, image, seed, subset, ...

Status save_image(const std::string& path, const ImageInfo& info,
                  const std::vector<uint8_t>& image);
Status load_image(const std::string& path, ImageInfo* info, std::vector<uint8_t>* image);

}  // namespace hapm::crash
