#include "fs/fs_error.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lmover {

FsError::FsError(std::string_view op, std::string_view path, int err)
    : std::runtime_error(fmt::format("{} '{}': {}", op, printable(path), std::strerror(err))),
      path_(path),
      err_(err) {}

FsError::FsError(std::string_view op, std::string_view path, std::string_view reason)
    : std::runtime_error(fmt::format("{} '{}': {}", op, printable(path), reason)), path_(path), err_(0) {}

std::string printable(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace lmover
