#include "lustre/data_version.h"

#include <sys/xattr.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include <fmt/format.h>

#include "fs/fs_error.h"

namespace lmover {

std::string SourceVersion::text() const { return fmt::format("{} {:#x}", fid.text(), version); }

std::optional<SourceVersion> SourceVersion::parse(std::string_view text) {
  std::string s(text);
  unsigned long long seq = 0, dv = 0;
  unsigned oid = 0, ver = 0;
  int used = 0;
  if (std::sscanf(s.c_str(), "[%llx:%x:%x] %llx%n", &seq, &oid, &ver, &dv, &used) != 4 ||
      static_cast<size_t>(used) != s.size()) {
    return std::nullopt;
  }
  return SourceVersion{Fid{seq, oid, ver}, dv};
}

std::optional<SourceVersion> source_version(const LustreApi& api, int fd, bool flush) {
  std::optional<uint64_t> dv = api.data_version(fd, flush);
  if (!dv) return std::nullopt;
  std::optional<Fid> fid = api.fid_of(fd);
  if (!fid) return std::nullopt;
  return SourceVersion{*fid, *dv};
}

void record_version(int fd, const SourceVersion& version, std::string_view rel) {
  std::string text = version.text();
  if (fsetxattr(fd, kDataVersionXattr, text.data(), text.size(), 0) == 0) return;
  if (errno == EPERM || errno == ENOTSUP || errno == EACCES) return;
  throw FsError("keep the data version", rel, errno);
}

std::optional<SourceVersion> recorded_version(int fd) {
  char buf[128];
  ssize_t n = fgetxattr(fd, kDataVersionXattr, buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  return SourceVersion::parse(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace lmover
