#include "fs/dir_reader.h"

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/fs_error.h"

namespace lmover {
namespace {

constexpr size_t kBufSize = 64 * 1024;

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

}  // namespace

DirReader::DirReader(int fd, std::string_view rel) : fd_(fd), rel_(rel), buf_(new char[kBufSize]) {}

DirReader::~DirReader() = default;

bool DirReader::next(DirEntry& entry) {
  for (;;) {
    if (pos_ >= len_) {
      len_ = syscall(SYS_getdents64, fd_, buf_.get(), kBufSize);
      if (len_ < 0) throw FsError("list", rel_, errno);
      pos_ = 0;
      if (len_ == 0) return false;
    }
    auto* d = reinterpret_cast<LinuxDirent64*>(buf_.get() + pos_);
    pos_ += d->d_reclen;
    if (d->d_name[0] == '.' && (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0'))) continue;
    entry.name = d->d_name;
    entry.d_type = d->d_type;
    return true;
  }
}

}  // namespace lmover
