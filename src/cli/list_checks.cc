#include "cli/list_checks.h"

#include <cerrno>
#include <cstring>
#include <optional>

#include "fs/resolve.h"

namespace lmover {
namespace {

// Why `rel` names no entry beneath `root`, or nullopt when it names one.
std::optional<std::string> why_not_there(int root, const std::string& rel) {
  for (size_t start = 0;;) {
    size_t slash = rel.find('/', start);
    std::string component = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (component.empty() || component == "." || component == "..") {
      return std::string("not a plain relative path (an empty, '.' or '..' component)");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  int err = 0;
  if (stat_beneath(root, rel, &err)) return std::nullopt;
  if (err == ELOOP || err == ENOTDIR) {
    return std::string("a component on the way is a symlink (never followed) or not a directory");
  }
  return std::string(err == ENOENT ? "no such entry" : std::strerror(err));
}

std::string with_hint(const std::string& path, std::string why) {
  if (!path.empty() && path.back() == '\r') return why + "; the line ends in a carriage return (a DOS line end?)";
  if (!path.empty() && (path.back() == ' ' || path.back() == '\t')) return why + "; the line ends in white space";
  return why;
}

std::string trimmed(std::string path) {
  while (!path.empty() && (path.back() == '\r' || path.back() == ' ' || path.back() == '\t')) path.pop_back();
  return path;
}

}  // namespace

std::vector<UnmatchedLine> unmatched_only_paths(const Filters& filters, int src_root) {
  std::vector<UnmatchedLine> out;
  for (const std::string& path : filters.only_paths()) {
    if (path.empty()) continue;  // the root itself
    if (auto why = why_not_there(src_root, path)) out.push_back({path, with_hint(path, *why)});
  }
  return out;
}

std::vector<UnmatchedLine> unmatched_excludes(const Filters& filters, int src_root, int dst_root) {
  std::vector<UnmatchedLine> out;
  for (const std::string& path : filters.excluded_paths()) {
    auto why = why_not_there(src_root, path);
    if (!why || (dst_root >= 0 && !why_not_there(dst_root, path))) continue;
    out.push_back({path, with_hint(path, "on neither side: " + *why)});
  }
  return out;
}

bool names_an_entry_once_trimmed(const UnmatchedLine& line, int src_root, int dst_root) {
  std::string bare = trimmed(line.path);
  if (bare == line.path || bare.empty()) return false;
  return !why_not_there(src_root, bare) || (dst_root >= 0 && !why_not_there(dst_root, bare));
}

}  // namespace lmover
