// A small closed set of error codes carried with a human message.
//
// Every layer returns Status (or Result<T>); the conversion to errno happens in
// exactly one place (to_errno) at the FUSE boundary, and the conversion from
// errno in exactly one place (Status::from_errno).
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace hapm {

// The table: code, printable name, errno it maps to at the POSIX boundary.
#define HAPM_STATUS_CODES(X)                      \
  X(Ok, "ok", 0)                                  \
  X(NotFound, "not found", ENOENT)                \
  X(AlreadyExists, "already exists", EEXIST)      \
  X(InvalidArgument, "invalid argument", EINVAL)  \
  X(NotSupported, "not supported", EOPNOTSUPP)    \
  X(NoSpace, "no space left", ENOSPC)             \
  X(NotEmpty, "directory not empty", ENOTEMPTY)   \
  X(NotADirectory, "not a directory", ENOTDIR)    \
  X(IsADirectory, "is a directory", EISDIR)       \
  X(PermissionDenied, "permission denied", EPERM) \
  X(NameTooLong, "name too long", ENAMETOOLONG)   \
  X(TooBig, "too big", EFBIG)                     \
  X(NoData, "no such attribute", ENODATA)         \
  X(NoSuchOffset, "no data or hole there", ENXIO) \
  X(OutOfRange, "buffer too small", ERANGE)       \
  X(TooManyLinks, "too many links", EMLINK)       \
  X(Busy, "busy", EBUSY)                          \
  X(ReadOnly, "read-only", EROFS)                 \
  X(Corruption, "corruption", EIO)                \
  X(IOError, "I/O error", EIO)                    \
  X(Unavailable, "unavailable", EAGAIN)

enum class Code {
#define HAPM_X(name, text, err) name,
  HAPM_STATUS_CODES(HAPM_X)
#undef HAPM_X
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  // The one errno -> Status conversion. `what` says what failed.
  static Status from_errno(int err, std::string_view what);

  bool is_ok() const { return code_ == Code::Ok; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corruption: inode 12 checksum mismatch"
  std::string to_string() const;
  // The one Status -> errno conversion (for FUSE replies).
  int to_errno() const;

 private:
  Code code_ = Code::Ok;
  std::string message_;
};

std::string_view code_name(Code code);

// A value or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {}

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& value() const& { return *value_; }
  T* operator->() { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace hapm

// Propagate a failed Status to the caller.
#define HAPM_TRY(expr)                            \
  do {                                            \
    ::hapm::Status hapm_try_s_ = (expr);          \
    if (!hapm_try_s_.is_ok()) return hapm_try_s_; \
  } while (0)
