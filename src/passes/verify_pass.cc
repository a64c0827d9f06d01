#include "passes/verify_pass.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "fs/dir_reader.h"
#include "fs/entry_meta.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/resolve.h"
#include "fs/xattrs.h"
#include "passes/entry_copy.h"
#include "passes/hardlink_farm.h"

namespace lmover {
namespace {

// XXH3-128 of a whole file, read in 1 MiB pieces.
XXH128_hash_t content_hash(int dir_fd, const char* name, const std::string& rel) {
  UniqueFd file = open_source_file(EntryLocation{dir_fd, name}, rel);
  int fd = file.get();
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  constexpr size_t kBuffer = 1 << 20;
  thread_local std::unique_ptr<char[]> buf(new char[kBuffer]);  // one per thread, not one per file
  for (;;) {
    ssize_t n = read(fd, buf.get(), kBuffer);
    if (n < 0) {
      int err = errno;
      XXH3_freeState(state);
      throw FsError("read", rel, err);
    }
    if (n == 0) break;
    XXH3_128bits_update(state, buf.get(), static_cast<size_t>(n));
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return h;
}

std::string time_text(const timespec& t) { return fmt::format("{}.{:09}", t.tv_sec, t.tv_nsec); }

}  // namespace

void VerifyPass::handle(const Task& task, TaskSink& sink) {
  try {
    compare_directory(task, sink);
  } catch (const FsError& e) {
    ctx_.fail_unless_vanished(e);
  }
}

void VerifyPass::compare_directory(const Task& task, TaskSink& sink) {
  DirPair dirs = DirPair::open(ctx_, task, false);
  std::map<std::string, unsigned char> source;
  {
    DirReader reader(dirs.src.get(), task.dir);
    DirEntry e;
    while (reader.next(e)) source.emplace(e.name, e.d_type);
  }
  std::set<std::string> target;
  {
    DirReader reader(dirs.dst.get(), task.dir);
    DirEntry e;
    while (reader.next(e)) target.emplace(e.name);
  }
  auto left_alone = [&](const std::string& rel) {
    return ctx_.filters().excluded(rel) || ctx_.filters().reach(rel) == Filters::Reach::kNone;
  };
  for (const auto& [name, type] : source) {
    std::string rel = join_rel(task.dir, name);
    if (left_alone(rel)) continue;
    PassStats::add(ctx_.stats().entries);
    if (!target.count(name)) {
      ctx_.differ(rel, "missing on the target");
      continue;
    }
    try {
      if (compare_entry(dirs, name.c_str(), rel)) {
        Task child = task.child_directory(rel);
        dirs.hand_on_child(name.c_str(), child);
        sink.submit(std::move(child));
      }
    } catch (const FsError& e) {
      ctx_.fail_unless_vanished(e);
    }
  }
  for (const std::string& name : target) {
    std::string rel = join_rel(task.dir, name);
    if (source.count(name) || left_alone(rel)) continue;
    if (task.dir.empty() && name == kHardlinkFarmName) continue;
    ctx_.differ(rel, "only on the target");
  }
}

bool VerifyPass::compare_entry(const DirPair& dirs, const char* name, const std::string& rel) {
  auto src = stat_if_exists(dirs.src.get(), name, rel);
  auto dst = stat_if_exists(dirs.dst.get(), name, rel);
  if (!src) {
    PassStats::add(ctx_.stats().vanished);
    return false;
  }
  if (!dst) {
    ctx_.differ(rel, "missing on the target");
    return false;
  }
  if (src->type != dst->type) {
    ctx_.differ(rel, "type");
    return false;
  }
  bool dir = src->type == EntryType::kDirectory;
  std::vector<std::string> what;
  if (src->perm != dst->perm && src->type != EntryType::kSymlink) what.push_back(fmt::format("mode {:o} vs {:o}", src->perm, dst->perm));
  if (ctx_.options().metadata.owner && (src->uid != dst->uid || src->gid != dst->gid)) {
    what.push_back(fmt::format("owner {}:{} vs {}:{}", src->uid, src->gid, dst->uid, dst->gid));
  }
  if (!same_time(src->mtime, dst->mtime)) what.push_back(fmt::format("mtime {} vs {}", time_text(src->mtime), time_text(dst->mtime)));
  if (!dir && src->size != dst->size) what.push_back(fmt::format("size {} vs {}", src->size, dst->size));
  if (!dir && src->nlink != dst->nlink) what.push_back(fmt::format("link count {} vs {}", src->nlink, dst->nlink));
  if ((src->type == EntryType::kCharDevice || src->type == EntryType::kBlockDevice) && src->rdev != dst->rdev) {
    what.push_back("device number");
  }
  if (src->type == EntryType::kSymlink && read_link(dirs.src.get(), name, rel) != read_link(dirs.dst.get(), name, rel)) {
    what.push_back("symlink target");
  }
  if (ctx_.options().metadata.xattrs &&
      read_xattrs(NodeRef{dirs.src.get(), name, rel}) != read_xattrs(NodeRef{dirs.dst.get(), name, rel})) {
    what.push_back("xattrs/ACLs");
  }
  if (ctx_.options().verify_content && src->type == EntryType::kRegular && src->size == dst->size) {
    XXH128_hash_t a = content_hash(dirs.src.get(), name, rel), b = content_hash(dirs.dst.get(), name, rel);
    if (!XXH128_isEqual(a, b)) what.push_back("content");
  }
  if (!what.empty()) {
    std::string joined;
    for (const auto& w : what) joined += (joined.empty() ? "" : ", ") + w;
    ctx_.differ(rel, joined);
  } else if (!dir) {
    PassStats::add(ctx_.stats().unchanged);
  }
  return dir;
}

}  // namespace lmover
