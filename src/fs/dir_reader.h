// DirReader: streams the entries of an open directory with getdents64, a buffer at a time, so a
// directory of millions of entries is never held in memory as a whole. Skips "." and "..".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lmover {

struct DirEntry {
  const char* name;  // NUL-terminated, valid until the next call to next()
  uint8_t d_type;    // DT_* from the kernel; DT_UNKNOWN means "stat it"
};

class DirReader {
 public:
  // `fd` stays owned by the caller and must outlive the reader. `rel` names the directory in errors.
  DirReader(int fd, std::string_view rel);
  ~DirReader();

  // Next entry, or false at the end. Throws FsError if the listing fails part-way, so a caller can
  // tell a complete listing from a partial one.
  bool next(DirEntry& entry);

 private:
  int fd_;
  std::string rel_;
  std::unique_ptr<char[]> buf_;
  long len_ = 0;
  long pos_ = 0;
};

}  // namespace lmover
