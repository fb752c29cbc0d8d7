#include "common/status.h"

#include <cstring>

namespace hapm {

namespace {
struct CodeInfo {
  Code code;
  const char* name;
  int err;
};
constexpr CodeInfo kCodes[] = {
#define HAPM_X(name, text, err) {Code::name, text, err},
    HAPM_STATUS_CODES(HAPM_X)
#undef HAPM_X
};
}  // namespace

std::string_view code_name(Code code) {
  return kCodes[static_cast<int>(code)].name;
}

int Status::to_errno() const {
  return kCodes[static_cast<int>(code_)].err;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string s(code_name(code_));
  if (!message_.empty()) s += ": " + message_;
  return s;
}

Status Status::from_errno(int err, std::string_view what) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  for (const CodeInfo& info : kCodes) {
    // IOError is the catch-all; Corruption is never produced from errno.
    if (info.err == err && info.code != Code::Corruption && info.code != Code::Ok)
      return Status(info.code, std::move(msg));
  }
  if (err == EACCES) return Status(Code::PermissionDenied, std::move(msg));
  return Status(Code::IOError, std::move(msg));
}

}  // namespace hapm
