#include "passes/filters.h"

#include <cerrno>
#include <fstream>

#include "fs/fs_error.h"

namespace lmover {

void Filters::exclude(std::string_view path) {
  while (path.substr(0, 2) == "./") path.remove_prefix(2);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty()) excluded_.insert(std::string(path));
}

void Filters::exclude_from_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FsError("read exclude list", file, errno);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    exclude(line);
  }
  if (in.bad()) throw FsError("read exclude list", file, errno);
}

bool Filters::skipped_by_time(const EntryMeta& meta) const {
  if (meta.type == EntryType::kDirectory) return false;
  if (atime_before_ && newer(*atime_before_, meta.atime)) return true;
  if (mtime_after_ && newer(meta.mtime, *mtime_after_)) return true;
  return false;
}

}  // namespace lmover
