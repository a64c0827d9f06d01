#include "passes/changed_places.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/fs_error.h"
#include "fs/resolve.h"

namespace lmover {
namespace {

// What the root task's children carry: which slice of the spool they stand for.
struct SliceOfPlaces : TaskAttachment {
  explicit SliceOfPlaces(size_t i) : index(i) {}
  size_t index;
};

constexpr size_t kDedupeWindow = 1 << 20;
constexpr size_t kFlushAt = 1 << 20;

std::pair<std::string, std::string> parent_and_name(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

}  // namespace

Task listing_task(const Task& parent, const std::string& rel) {
  Task t = parent.child_directory(rel);
  t.shallow = true;
  return t;
}

Task entry_task(const Task& parent, const std::string& rel, bool walk_if_directory) {
  auto [dir, name] = parent_and_name(rel);
  Task t = parent.child_batch(std::move(dir), {std::move(name)});
  t.id = derive_task_id(parent.id, TaskKind::kBatch, rel);  // unique by path, not only by name
  t.target_is_new = false;
  t.shallow = !walk_if_directory;
  return t;
}

Task subtree_task(const Task& parent, const std::string& rel) { return parent.child_directory(rel); }

PlaceSpool::PlaceSpool(std::string path) : path_(std::move(path)) {
  fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd_.valid()) throw FsError("create the list of changed places", path_, errno);
}

void PlaceSpool::add(const ChangedPlace& place) {
  // Writing the entry (a staged copy renamed into place, a link) moves its directory's mtime on
  // the target: dirtime sets it again.
  if (place.kind == ChangedPlace::Kind::kEntry && !place.rel.empty()) {
    add({ChangedPlace::Kind::kTimes, parent_and_name(place.rel).first});
  }
  std::string key = char(place.kind) + place.rel;
  if (recent_.count(key)) return;
  if (recent_.size() >= kDedupeWindow) recent_.clear();
  recent_.insert(key);
  if (place.kind == ChangedPlace::Kind::kSubtree) subtrees_.insert(place.rel);
  if (place.kind == ChangedPlace::Kind::kListing) listings_.insert(place.rel);
  if (places_ % kSliceSize == 0) offsets_.push_back(written_ + buffer_.size());
  ++places_;
  uint32_t len = static_cast<uint32_t>(place.rel.size());
  buffer_ += char(place.kind);
  buffer_.append(reinterpret_cast<const char*>(&len), sizeof len);
  buffer_ += place.rel;
  if (buffer_.size() >= kFlushAt) flush();
}

void PlaceSpool::flush() {
  for (size_t done = 0; done < buffer_.size();) {
    ssize_t n = ::pwrite(fd_.get(), buffer_.data() + done, buffer_.size() - done, static_cast<off_t>(written_ + done));
    if (n < 0) throw FsError("write the list of changed places", path_, errno);
    done += static_cast<size_t>(n);
  }
  written_ += buffer_.size();
  buffer_.clear();
}

void PlaceSpool::close() {
  // The root's times, always: a copy that settles a hard-link group makes and removes its staging
  // area there.
  add({ChangedPlace::Kind::kTimes, ""});
  flush();
  recent_.clear();
}

std::vector<ChangedPlace> PlaceSpool::read(size_t slice) const {
  uint64_t begin = offsets_.at(slice), end = slice + 1 < offsets_.size() ? offsets_[slice + 1] : written_;
  std::string bytes(end - begin, '\0');
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::pread(fd_.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(begin + done));
    if (n <= 0) throw FsError("read the list of changed places", path_, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  std::vector<ChangedPlace> out;
  for (size_t at = 0; at + 5 <= bytes.size();) {
    uint32_t len;
    std::memcpy(&len, bytes.data() + at + 1, sizeof len);
    out.push_back({ChangedPlace::Kind(bytes[at]), bytes.substr(at + 5, len)});
    at += 5 + len;
  }
  return out;
}

bool PlaceSpool::covered(const ChangedPlace& place) const {
  const std::string& rel = place.rel;
  bool entry = place.kind == ChangedPlace::Kind::kEntry || place.kind == ChangedPlace::Kind::kSubtree;
  if (entry && !rel.empty() && listings_.count(parent_and_name(rel).first)) return true;
  if (place.kind == ChangedPlace::Kind::kTimes && listings_.count(rel)) return true;
  if (subtrees_.empty()) return false;
  if (place.kind != ChangedPlace::Kind::kSubtree && subtrees_.count(rel)) return true;
  if (rel.empty()) return false;
  if (subtrees_.count("")) return true;
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (subtrees_.count(rel.substr(0, slash))) return true;
  }
  return false;
}

std::vector<std::string> PlaceSpool::subtrees_below(const std::string& dir) const {
  std::vector<std::string> out;
  std::string prefix = dir.empty() ? "" : dir + "/";
  for (auto it = subtrees_.lower_bound(prefix); it != subtrees_.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
    std::string rest = it->substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) out.push_back(rest);
  }
  return out;
}

void ChangedPlacesPass::handle(const Task& task, TaskSink& sink) {
  if (auto* slice = dynamic_cast<const SliceOfPlaces*>(task.attachment.get())) {
    return expand_slice(slice->index, task, sink);
  }
  if (task.id != Task::root().id) return inner_.handle(task, sink);
  for (size_t i = 0; i < spool_.slices(); ++i) {
    Task t = task.child_directory("changed places, slice " + std::to_string(i));  // an id of its own
    t.attachment = std::make_shared<SliceOfPlaces>(i);
    sink.submit(std::move(t));
  }
}

bool ChangedPlacesPass::excluded(const std::string& rel) const {
  if (ctx_.filters().excluded(rel)) return true;
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (ctx_.filters().excluded(std::string_view(rel).substr(0, slash))) return true;
  }
  return false;
}

void ChangedPlacesPass::expand_slice(size_t slice, const Task& task, TaskSink& sink) {
  std::vector<ChangedPlace> places;
  try {
    places = spool_.read(slice);
  } catch (const FsError& e) {
    return ctx_.fail(e);
  }
  for (const ChangedPlace& place : places) {
    if (spool_.covered(place) || excluded(place.rel)) continue;
    int err = 0;
    auto meta = stat_beneath(ctx_.src_root(), place.rel, &err);
    if (!meta) {
      // Not there as named any more (gone, or a directory on the way replaced): the record that did
      // it also named the parent, whose listing brings the target along.
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;
      ctx_.fail(FsError("stat", place.rel, err));
      continue;
    }
    if (auto t = inner_.task_for(place, meta->type == EntryType::kDirectory, task)) {
      if (place.kind == ChangedPlace::Kind::kListing && t->kind == TaskKind::kDirectory) {
        for (std::string& name : spool_.subtrees_below(place.rel)) {  // a renamed file is no subtree
          int ignored = 0;
          auto below = stat_beneath(ctx_.src_root(), join_rel(place.rel, name), &ignored);
          if (below && below->type == EntryType::kDirectory) t->names.push_back(std::move(name));
        }
      }
      sink.submit(std::move(*t));
    }
  }
}

}  // namespace lmover
