#include "passes/verify_pass.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "fs/data_copy.h"
#include "fs/dir_reader.h"
#include "fs/entry_meta.h"
#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/resolve.h"
#include "fs/xattrs.h"
#include "passes/chunked_copy.h"
#include "passes/entry_copy.h"
#include "passes/hardlink_farm.h"

namespace lmover {
namespace {

// XXH3-128 of bytes [begin, end) of the file open at `fd` (fewer if it ends sooner), read in
// 1 MiB pieces.
XXH128_hash_t content_hash(int fd, uint64_t begin, uint64_t end, const std::string& rel) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  constexpr size_t kBuffer = 1 << 20;
  thread_local std::unique_ptr<char[]> buf(new char[kBuffer]);  // one per thread, not one per file
  for (uint64_t pos = begin; pos < end;) {
    ssize_t n = pread(fd, buf.get(), std::min<uint64_t>(kBuffer, end - pos), static_cast<off_t>(pos));
    if (n < 0) {
      int err = errno;
      XXH3_freeState(state);
      throw FsError("read", rel, err);
    }
    if (n == 0) break;
    XXH3_128bits_update(state, buf.get(), static_cast<size_t>(n));
    pos += static_cast<uint64_t>(n);
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return h;
}

// Whether bytes [begin, end) of `name` are the same in both directories.
bool same_content(const DirPair& dirs, const char* name, const std::string& rel, uint64_t begin, uint64_t end) {
  UniqueFd a = open_source_file(EntryLocation{dirs.src.get(), name}, rel);
  UniqueFd b = open_source_file(EntryLocation{dirs.dst.get(), name}, rel);
  return XXH128_isEqual(content_hash(a.get(), begin, end, rel), content_hash(b.get(), begin, end, rel));
}

// Bytes of the file open at `fd` that lie in data segments (SEEK_DATA/SEEK_HOLE), and how many
// segments there are.
struct DataMap {
  uint64_t bytes = 0, segments = 0;
};
DataMap data_map(int fd, uint64_t size, const std::string& rel) {
  DataMap map;
  for_each_data_segment(fd, 0, static_cast<off_t>(size), rel, [&](off_t data, off_t hole) {
    map.bytes += static_cast<uint64_t>(hole - data);
    ++map.segments;
  });
  return map;
}

// Whether the target holds data where the source has holes (a sparse file made dense): more data
// than the source's segments, each rounded out to a target block, can hold. Asked only of files
// whose source allocates less than its size; a source that is merely compressed (ZFS, btrfs) shows
// no holes to SEEK_HOLE, so its dense copy is no difference.
std::optional<std::string> filled_holes(const DirPair& dirs, const char* name, const std::string& rel,
                                        const EntryMeta& src) {
  UniqueFd a = open_source_file(EntryLocation{dirs.src.get(), name}, rel);
  UniqueFd b = open_source_file(EntryLocation{dirs.dst.get(), name}, rel);
  auto size = static_cast<uint64_t>(src.size);
  DataMap from = data_map(a.get(), size, rel);
  if (from.bytes >= size) return std::nullopt;
  struct stat st;
  if (fstat(b.get(), &st) < 0) throw FsError("stat", rel, errno);
  uint64_t block = std::max<uint64_t>(4096, static_cast<uint64_t>(st.st_blksize));
  DataMap to = data_map(b.get(), size, rel);
  if (to.bytes <= from.bytes + 2 * block * from.segments) return std::nullopt;
  return fmt::format("holes: {} bytes of data vs {}", from.bytes, to.bytes);
}

// "(user.a only on the target, user.b differs)": which keys, at most three of them, for the admin
// who must decide what to do about them.
std::string xattr_differences(const XattrList& src, const XattrList& dst) {
  std::map<std::string, std::string> a(src.begin(), src.end()), b(dst.begin(), dst.end());
  std::vector<std::string> out;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end()) out.push_back(printable(key) + " missing on the target");
    else if (it->second != value) out.push_back(printable(key) + " differs");
  }
  for (const auto& [key, value] : b) {
    if (!a.count(key)) out.push_back(printable(key) + " only on the target");
  }
  std::string text;
  for (size_t i = 0; i < out.size() && i < 3; ++i) text += (i ? ", " : "") + out[i];
  if (out.size() > 3) text += fmt::format(", {} more", out.size() - 3);
  return "(" + text + ")";
}

std::string time_text(const timespec& t) { return fmt::format("{}.{:09}", t.tv_sec, t.tv_nsec); }

}  // namespace

void VerifyPass::handle(const Task& task, TaskSink& sink) {
  try {
    if (task.kind == TaskKind::kChunk) {
      compare_chunk(task);
    } else {
      compare_directory(task, sink);
    }
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
      if (compare_entry(dirs, name.c_str(), rel, task, sink)) {
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

// What differs of everything but the data, each as it is said in the list of differences.
std::vector<std::string> VerifyPass::metadata_differences(const DirPair& dirs, const char* name, const std::string& rel,
                                                         const EntryMeta& src, const EntryMeta& dst) const {
  bool dir = src.type == EntryType::kDirectory;
  std::vector<std::string> what;
  // Only what this run could have set (ChangeRule): a run that cannot keep owners says so once,
  // in its warning, summary and --json, not once per entry.
  ChangeRule rule = ctx_.options().change_rule();
  if (rule.mode_differs(src, dst) && src.type != EntryType::kSymlink) {
    what.push_back(fmt::format("mode {:o} vs {:o}", src.perm, dst.perm));
  }
  if (rule.owners_differ(src, dst)) {
    what.push_back(fmt::format("owner {}:{} vs {}:{}", src.uid, src.gid, dst.uid, dst.gid));
  }
  if (!same_time(src.mtime, dst.mtime)) what.push_back(fmt::format("mtime {} vs {}", time_text(src.mtime), time_text(dst.mtime)));
  if (!dir && src.size != dst.size) what.push_back(fmt::format("size {} vs {}", src.size, dst.size));
  // Named as what it means for the link structure: a group split (or an inode shared too widely)
  // on the target, which no other attribute shows.
  if (!dir && src.nlink > dst.nlink) {
    what.push_back(fmt::format("hard-link group split on the target: link count {} vs {}", src.nlink, dst.nlink));
  } else if (!dir && src.nlink < dst.nlink) {
    what.push_back(fmt::format("target inode shared with names the source does not link: link count {} vs {}",
                               src.nlink, dst.nlink));
  }
  if ((src.type == EntryType::kCharDevice || src.type == EntryType::kBlockDevice) && src.rdev != dst.rdev) {
    what.push_back("device number");
  }
  if (src.type == EntryType::kSymlink && read_link(dirs.src.get(), name, rel) != read_link(dirs.dst.get(), name, rel)) {
    what.push_back("symlink target");
  }
  if (ctx_.options().metadata.xattrs) {
    XattrList a = read_xattrs(NodeRef{dirs.src.get(), name, rel}), b = read_xattrs(NodeRef{dirs.dst.get(), name, rel});
    if (a != b) what.push_back("xattrs/ACLs " + xattr_differences(a, b));
  }
  return what;
}

bool VerifyPass::compare_entry(const DirPair& dirs, const char* name, const std::string& rel, const Task& task,
                               TaskSink& sink) {
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
  std::vector<std::string> what = metadata_differences(dirs, name, rel, *src, *dst);
  // HSM (Lustre): a released file on either side is compared by its state, never by data or holes
  // (reading them would restore them from the archive).
  bool data_readable = true;
  if (src->type == EntryType::kRegular && ctx_.options().lustre) {
    const Hsm& hsm = ctx_.options().lustre->hsm();
    UniqueFd a = open_source_file(EntryLocation{dirs.src.get(), name}, rel);
    UniqueFd b = open_source_file(EntryLocation{dirs.dst.get(), name}, rel);
    std::optional<HsmState> from = hsm.released(a.get(), rel), to = hsm.released(b.get(), rel);
    data_readable = !from && !to;
    if (to && !from) what.push_back("HSM: released on the target only");
    if (from && to && from->archive_id != to->archive_id) {
      what.push_back(fmt::format("HSM archive {} vs {}", from->archive_id, to->archive_id));
    }
  }
  if (data_readable && src->type == EntryType::kRegular && src->size == dst->size && src->blocks * 512 < src->size) {
    if (auto holes = filled_holes(dirs, name, rel, *src)) what.push_back(*holes);
  }
  bool in_chunks = false;
  if (data_readable && ctx_.options().verify_content && src->type == EntryType::kRegular && src->size == dst->size) {
    // A big file's data is compared in chunk tasks, cut as the copy pass cuts them, so that one
    // huge file is hashed by every thread and node rather than one.
    auto size = static_cast<uint64_t>(src->size);
    in_chunks = ctx_.options().in_chunks(size);
    if (in_chunks) {
      submit_chunk_tasks(task, name, "", size, ctx_.options().chunk_size, sink);
    } else if (!same_content(dirs, name, rel, 0, size)) {
      what.push_back("content");
    }
  }
  if (!what.empty()) {
    std::string joined;
    for (const auto& w : what) joined += (joined.empty() ? "" : ", ") + w;
    ctx_.differ(rel, joined);
  } else if (!dir && !in_chunks) {  // a file compared in chunks is not known to be the same yet
    PassStats::add(ctx_.stats().unchanged);
  }
  return dir;
}

// A file whose data differs in several chunks is reported once per differing range.
void VerifyPass::compare_chunk(const Task& task) {
  DirPair dirs = DirPair::open(ctx_, task, false);
  const std::string& name = task.names.at(0);
  std::string rel = join_rel(task.dir, name);
  if (!same_content(dirs, name.c_str(), rel, task.offset, task.offset + task.length)) {
    ctx_.differ(rel, fmt::format("content in bytes [{}, {})", task.offset, task.offset + task.length));
  }
}

}  // namespace lmover
