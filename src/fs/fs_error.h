// FsError: the error type of the filesystem layer (BrokerError, distributed/broker.h, is the
// broker's). Every failure of a filesystem call becomes an FsError that
// names the operation, the path (relative to a pass root, raw bytes) and the errno text, so logs and
// failure lists always say what failed, where and why.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace lmover {

class FsError : public std::runtime_error {
 public:
  FsError(std::string_view op, std::string_view path, int err);
  FsError(std::string_view op, std::string_view path, std::string_view reason);

  const std::string& path() const { return path_; }
  // errno of the failed call, 0 when the failure is not a syscall error.
  int err() const { return err_; }

 private:
  std::string path_;
  int err_;
};

// Throws FsError(op, path, errno) when rc < 0; returns rc otherwise.
inline long check(long rc, std::string_view op, std::string_view path);

// Renders raw path bytes for humans: printable ASCII stays, anything else becomes \xNN.
std::string printable(std::string_view raw);

inline long check(long rc, std::string_view op, std::string_view path) {
  if (rc < 0) throw FsError(op, path, errno);
  return rc;
}

}  // namespace lmover
