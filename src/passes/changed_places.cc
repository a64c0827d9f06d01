#include "passes/changed_places.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fs/fs_error.h"
#include "fs/resolve.h"

namespace lmover {
namespace {

// What the root task's children carry: which slice of the spool they stand for.
struct SliceOfPlaces : TaskAttachment {
  SliceOfPlaces(const PlaceSpool& s, size_t i) : spool(s), index(i) {}
  const PlaceSpool& spool;
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
    add({ChangedPlace::Kind::kTimes, parent_and_name(place.rel).first, ChangedPlace::Type::kDirectory});
  }
  // A directory made, renamed, listed or timed once, whatever the number of records naming it: the
  // sets hold one path per changed directory anyway. Entries, one per changed file, go through the
  // dedupe window instead, which forgets.
  switch (place.kind) {
    case ChangedPlace::Kind::kSubtree:
      if (!subtrees_.insert(place.rel).second) return;
      break;
    case ChangedPlace::Kind::kListing:
      if (!listings_.insert(place.rel).second) return;
      break;
    case ChangedPlace::Kind::kTimes:
      if (!times_.insert(place.rel).second) return;
      break;
    case ChangedPlace::Kind::kEntry:
      if (recent_.count(place.rel)) return;
      if (recent_.size() >= kDedupeWindow) recent_.clear();
      recent_.insert(place.rel);
      break;
  }
  if (places_ % kSliceSize == 0) offsets_.push_back(written_ + buffer_.size());
  ++places_;
  switch (place.kind) {
    case ChangedPlace::Kind::kSubtree: ++subtree_places_; break;
    case ChangedPlace::Kind::kListing: ++listing_places_; break;
    case ChangedPlace::Kind::kEntry: ++entry_places_; break;
    case ChangedPlace::Kind::kTimes: ++times_places_; break;
  }
  uint32_t len = static_cast<uint32_t>(place.rel.size());
  buffer_ += char(place.kind);
  buffer_ += char(place.type);
  buffer_.append(reinterpret_cast<const char*>(&len), sizeof len);
  buffer_ += place.rel;
  if (buffer_.size() >= kFlushAt) flush();
}

uint64_t PlaceSpool::places_of(ChangedPlace::Kind kind) const {
  switch (kind) {
    case ChangedPlace::Kind::kSubtree: return subtree_places_;
    case ChangedPlace::Kind::kListing: return listing_places_;
    case ChangedPlace::Kind::kEntry: return entry_places_;
    case ChangedPlace::Kind::kTimes: return times_places_;
  }
  return 0;
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
  add({ChangedPlace::Kind::kTimes, "", ChangedPlace::Type::kDirectory});
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
  // Each place: its kind, its type, the length of its path, the path.
  constexpr size_t kHead = 2 + sizeof(uint32_t);
  for (size_t at = 0; at + kHead <= bytes.size();) {
    uint32_t len;
    std::memcpy(&len, bytes.data() + at + 2, sizeof len);
    out.push_back({ChangedPlace::Kind(bytes[at]), bytes.substr(at + kHead, len), ChangedPlace::Type(bytes[at + 1])});
    at += kHead + len;
  }
  return out;
}

bool PlaceSpool::covered(const ChangedPlace& place) const {
  std::string_view rel = place.rel;
  if (place.kind == ChangedPlace::Kind::kTimes && listings_.count(rel)) return true;
  if (subtrees_.empty()) return false;
  if (place.kind != ChangedPlace::Kind::kSubtree && subtrees_.count(rel)) return true;
  if (rel.empty()) return false;
  if (subtrees_.count(std::string_view())) return true;
  for (size_t slash = rel.find('/'); slash != std::string_view::npos; slash = rel.find('/', slash + 1)) {
    if (subtrees_.count(rel.substr(0, slash))) return true;
  }
  return false;
}

int ChangedPlacesPass::phase_of(ChangedPlace::Kind kind) {
  switch (kind) {
    case ChangedPlace::Kind::kSubtree: return 0;
    case ChangedPlace::Kind::kListing:
    case ChangedPlace::Kind::kTimes: return 1;
    case ChangedPlace::Kind::kEntry: return 2;
  }
  return 2;
}

void ChangedPlacesPass::handle(const Task& task, TaskSink& sink) {
  if (task.kind == TaskKind::kPlaces) {
    std::vector<ChangedPlace> places;
    for (const std::string& encoded : task.names) {
      // Its kind, its type, its path.
      if (encoded.size() >= 2) places.push_back({ChangedPlace::Kind(encoded[0]), encoded.substr(2), ChangedPlace::Type(encoded[1])});
    }
    return expand(places, task, sink);
  }
  if (auto* slice = dynamic_cast<const SliceOfPlaces*>(task.attachment.get())) {
    std::vector<ChangedPlace> places;
    try {
      places = slice->spool.read(slice->index);
    } catch (const FsError& e) {
      return ctx_.fail(e);
    }
    std::erase_if(places, [&](const ChangedPlace& p) { return !visits(*spool_, phase_, more_, slice->spool, p); });
    return expand(places, task, sink);
  }
  if (task.id != Task::root().id || !spool_) return inner_.handle(task, sink);
  const PlaceSpool* from = phase_ == kPhases - 1 ? more_ : spool_;
  for (size_t i = 0; from && i < from->slices(); ++i) {
    Task t = task.child_directory(fmt::format("changed places, slice {}", i));  // an id of its own
    t.attachment = std::make_shared<SliceOfPlaces>(*from, i);
    sink.submit(std::move(t));
  }
}

void ChangedPlacesPass::root_children(const PlaceSpool& spool, int phase, const PlaceSpool* more, TaskSink& sink) {
  const PlaceSpool* from = phase == kPhases - 1 ? more : &spool;
  std::vector<std::string> next;
  size_t made = 0;
  auto submit = [&] {
    if (next.empty()) return;
    sink.submit(Task::root().child_places(fmt::format("changed places {}", made++), std::move(next)));
    next.clear();
  };
  for (size_t i = 0; from && i < from->slices(); ++i) {
    for (const ChangedPlace& place : from->read(i)) {
      if (!visits(spool, phase, more, *from, place)) continue;
      next.push_back(std::string{char(place.kind), char(place.type)} + place.rel);
      if (next.size() == PlaceSpool::kSliceSize) submit();
    }
  }
  submit();
}

bool ChangedPlacesPass::visits(const PlaceSpool& spool, int phase, const PlaceSpool* more, const PlaceSpool& from,
                               const ChangedPlace& place) {
  bool linked = &from == more;  // the last phase: every place of the follower's
  return (linked || phase_of(place.kind) == phase) && !spool.covered(place);
}

bool ChangedPlacesPass::excluded(const std::string& rel) const {
  if (ctx_.filters().excluded(rel)) return true;
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (ctx_.filters().excluded(std::string_view(rel).substr(0, slash))) return true;
  }
  return false;
}

void ChangedPlacesPass::expand(const std::vector<ChangedPlace>& places, const Task& task, TaskSink& sink) {
  for (const ChangedPlace& place : places) {
    if (excluded(place.rel)) continue;
    bool is_dir = place.type == ChangedPlace::Type::kDirectory;
    if (place.type == ChangedPlace::Type::kUnknown) {  // not looked at when found (a followed link)
      int err = 0;
      auto meta = stat_beneath(ctx_.src_root(), place.rel, &err);
      if (!meta) {
        // Not there as named any more (gone, or a directory on the way replaced): the record that did
        // it also named the parent, whose listing brings the target along.
        if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;
        ctx_.fail(FsError("stat", place.rel, err));
        continue;
      }
      is_dir = meta->type == EntryType::kDirectory;
    }
    if (auto t = inner_.task_for(place, is_dir, task)) sink.submit(std::move(*t));
  }
}

LinkFollower::~LinkFollower() { ::unlink(spool_.path().c_str()); }

void LinkFollower::met(std::string_view rel) {
  auto names = source_.names_of(src_root_, std::string(rel));
  if (!names) return;  // gone since: the group is what its names left say
  std::lock_guard lock(mutex_);
  if (!groups_.insert(names->first.text()).second) return;
  for (const std::string& name : names->second) spool_.add({ChangedPlace::Kind::kEntry, name});
}

const PlaceSpool& LinkFollower::close() {
  std::lock_guard lock(mutex_);
  if (!closed_) spool_.close();
  closed_ = true;
  return spool_;
}

}  // namespace lmover
