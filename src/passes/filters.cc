#include "passes/filters.h"

#include <cerrno>
#include <fstream>

#include "fs/fs_error.h"

namespace lmover {

namespace {

std::string_view normalised(std::string_view path) {
  while (path.substr(0, 2) == "./") path.remove_prefix(2);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

// One path a line (raw bytes; blank lines and '#' comments ignored) into `add`.
template <typename Add>
void read_list(const std::string& file, const char* what, Add add) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FsError(what, file, errno);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    add(line);
  }
  if (in.bad()) throw FsError(what, file, errno);
}

}  // namespace

void Filters::exclude(std::string_view path) {
  path = normalised(path);
  if (!path.empty()) excluded_.insert(std::string(path));
}

void Filters::exclude_from_file(const std::string& file) {
  read_list(file, "read exclude list", [this](const std::string& line) { exclude(line); });
}

void Filters::only(std::string_view path) {
  path = normalised(path);
  if (path.empty()) {
    only_.insert("");  // the root itself: everything
    return;
  }
  only_.insert(std::string(path));
  on_the_way_.insert("");
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    on_the_way_.insert(std::string(path.substr(0, slash)));
  }
}

void Filters::only_from_file(const std::string& file) {
  read_list(file, "read --only-from list", [this](const std::string& line) { only(line); });
  if (only_.empty()) throw FsError("read --only-from list", file, "no path in it");
}

Filters::Reach Filters::reach(std::string_view rel) const {
  if (only_.empty() || only_.count("")) return Reach::kAll;
  // Listed, or below a listed path: one lookup per level.
  for (std::string_view prefix = rel;;) {
    if (only_.count(std::string(prefix))) return Reach::kAll;
    size_t slash = prefix.rfind('/');
    if (slash == std::string_view::npos) break;
    prefix = prefix.substr(0, slash);
  }
  return on_the_way_.count(std::string(rel)) ? Reach::kPath : Reach::kNone;
}

bool Filters::skipped_by_time(const EntryMeta& meta) const {
  if (meta.type == EntryType::kDirectory) return false;
  if (atime_before_ && newer(*atime_before_, meta.atime)) return true;
  if (mtime_after_ && newer(meta.mtime, *mtime_after_)) return true;
  return false;
}

}  // namespace lmover
