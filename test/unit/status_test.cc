#include "common/status.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

namespace hapm {
namespace {

TEST_CASE("every status code maps to its errno at the POSIX boundary", "[status]") {
  struct Row {
    Code code;
    int err;
  };
  const Row table[] = {
      {Code::Ok, 0},
      {Code::NotFound, ENOENT},
      {Code::AlreadyExists, EEXIST},
      {Code::InvalidArgument, EINVAL},
      {Code::NotSupported, EOPNOTSUPP},
      {Code::NoSpace, ENOSPC},
      {Code::NotEmpty, ENOTEMPTY},
      {Code::NotADirectory, ENOTDIR},
      {Code::IsADirectory, EISDIR},
      {Code::PermissionDenied, EPERM},
      {Code::NameTooLong, ENAMETOOLONG},
      {Code::TooBig, EFBIG},
      {Code::NoData, ENODATA},
      {Code::OutOfRange, ERANGE},
      {Code::TooManyLinks, EMLINK},
      {Code::Busy, EBUSY},
      {Code::ReadOnly, EROFS},
      {Code::Corruption, EIO},
      {Code::IOError, EIO},
      {Code::Unavailable, EAGAIN},
  };
  for (const Row& row : table) {
    Status s(row.code, "x");
    INFO(s.to_string());
    CHECK(s.to_errno() == row.err);
  }
}

TEST_CASE("a default status is ok and prints as ok", "[status]") {
  Status s;
  CHECK(s.is_ok());
  CHECK(static_cast<bool>(s));
  CHECK(s.code() == Code::Ok);
  CHECK(s.to_errno() == 0);
  CHECK(s.to_string() == "ok");
  CHECK(Status::ok().is_ok());
}

TEST_CASE("a failed status prints its code name and message", "[status]") {
  Status s(Code::Corruption, "inode 12 checksum mismatch");
  CHECK_FALSE(s.is_ok());
  CHECK_FALSE(static_cast<bool>(s));
  CHECK(s.message() == "inode 12 checksum mismatch");
  CHECK(s.to_string() == "corruption: inode 12 checksum mismatch");
  CHECK(code_name(Code::NoSpace) == "no space left");
}

TEST_CASE("from_errno maps known errnos back to their codes", "[status]") {
  CHECK(Status::from_errno(ENOENT, "open").code() == Code::NotFound);
  CHECK(Status::from_errno(EEXIST, "open").code() == Code::AlreadyExists);
  CHECK(Status::from_errno(ENOSPC, "write").code() == Code::NoSpace);
  CHECK(Status::from_errno(EBUSY, "lock").code() == Code::Busy);
  CHECK(Status::from_errno(EROFS, "write").code() == Code::ReadOnly);
  CHECK(Status::from_errno(EAGAIN, "connect").code() == Code::Unavailable);
  CHECK(Status::from_errno(EPERM, "chown").code() == Code::PermissionDenied);
  CHECK(Status::from_errno(EACCES, "open").code() == Code::PermissionDenied);
}

TEST_CASE("from_errno turns EIO into an I/O error, never into corruption", "[status]") {
  CHECK(Status::from_errno(EIO, "read").code() == Code::IOError);
}

TEST_CASE("from_errno maps an unknown errno to an I/O error with the strerror text", "[status]") {
  Status s = Status::from_errno(EXDEV, "rename /a");
  CHECK(s.code() == Code::IOError);
  CHECK(s.message().find("rename /a") != std::string::npos);
  CHECK(s.message().find("cross-device") != std::string::npos);
}

TEST_CASE("from_errno keeps what failed in the message", "[status]") {
  Status s = Status::from_errno(ENOENT, "open /pool");
  CHECK(s.message().rfind("open /pool", 0) == 0);
}

TEST_CASE("a result holds either a value or the status saying why not", "[status]") {
  Result<int> good = 42;
  REQUIRE(good.is_ok());
  CHECK(good.value() == 42);
  CHECK(*good == 42);
  CHECK(good.status().is_ok());

  Result<int> bad = Status(Code::NotFound, "no such inode");
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Code::NotFound);
  CHECK(bad.status().message() == "no such inode");

  Result<std::string> moved = std::string("abc");
  std::string taken = std::move(moved).value();
  CHECK(taken == "abc");
  Result<std::string> arrow = std::string("hello");
  CHECK(arrow->size() == 5);
}

Status fails_at(int step, int* reached) {
  HAPM_TRY(Status::ok());
  *reached = 1;
  HAPM_TRY(step == 1 ? Status(Code::Busy, "step 1") : Status::ok());
  *reached = 2;
  return Status::ok();
}

TEST_CASE("HAPM_TRY returns the first failure and stops there", "[status]") {
  int reached = 0;
  Status s = fails_at(1, &reached);
  CHECK(s.code() == Code::Busy);
  CHECK(reached == 1);
  reached = 0;
  CHECK(fails_at(0, &reached).is_ok());
  CHECK(reached == 2);
}

}  // namespace
}  // namespace hapm
