#include "lustre/changes.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "fs/fs_error.h"
#include "fs/resolve.h"

namespace lmover {
namespace {

using Kind = ChangedPlace::Kind;

bool zero(const Fid& f) { return f.seq == 0 && f.oid == 0 && f.ver == 0; }

}  // namespace

namespace {

// MDS_FMODE_WRITE | MDS_OPEN_TRUNC | MDS_OPEN_APPEND (lustre_user.h, enum mds_open_flags).
constexpr uint16_t kWriteIntent = 00000002 | 00001000 | 00002000;

}  // namespace

std::vector<WantedPlace> places_wanted_by(const ChangelogRecord& r) {
  std::vector<WantedPlace> out;
  auto want = [&](const Fid& f, Kind k, bool not_directory = false) {
    if (!zero(f)) out.push_back({f, k, not_directory});
  };
  switch (r.type) {
    case cl::kCreate:
    case cl::kMknod:
    case cl::kSoftlink:
    case cl::kHardlink:
    case cl::kUnlink:  // the other names of a file that had more than one
      want(r.parent, Kind::kListing);
      want(r.target, Kind::kEntry, true);
      break;
    case cl::kRmdir:
      want(r.parent, Kind::kListing);
      want(r.target, Kind::kEntry);
      break;
    case cl::kMkdir:
      want(r.parent, Kind::kListing);
      want(r.target, Kind::kSubtree);
      break;
    case cl::kRename:
      want(r.parent, Kind::kListing);
      want(r.target, Kind::kEntry);  // overwritten: the names it may still have
      if (r.has_rename) {
        want(r.source_parent, Kind::kListing);
        want(r.source, Kind::kSubtree);
      }
      break;
    case cl::kClose:
      // mdd_close logs it for an open with write intent, whose flags it keeps (the low 12 bits of
      // enum mds_open_flags: a directory is never opened so); with CL_OPEN in the mask, for any
      // last close too, of a directory as well.
      want(r.target, Kind::kEntry, (r.flags & kWriteIntent) != 0);
      break;
    case cl::kTrunc:  // a file's data or mirrors
    case cl::kHsm:
    case cl::kFlrw:
    case cl::kResync:
      want(r.target, Kind::kEntry, true);
      break;
    case cl::kSetattr:
    case cl::kSetxattr:
    case cl::kLayout:
    case cl::kMtime:
    case cl::kCtime:
      want(r.target, Kind::kEntry);
      break;
    case cl::kMark:
    case cl::kOpen:
    case cl::kAtime:
    case cl::kGetxattr:
    case cl::kDeniedOpen:
      break;
    default:  // MIGRT, RNMTO, and types newer than this lmover
      want(r.target, Kind::kEntry);
      want(r.parent, Kind::kListing);
  }
  return out;
}

ChangelogUsers ChangelogUsers::parse(const std::string& spec) {
  ChangelogUsers u;
  u.spec_ = spec;
  if (spec.empty()) throw std::invalid_argument("--changelog needs a user (cl1, or MDT0000=cl1,MDT0001=cl2)");
  if (spec.find('=') == std::string::npos) {
    u.all_ = spec;
    return u;
  }
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    unsigned index = 0;
    std::string mdt = eq == std::string::npos ? "" : item.substr(0, eq);
    size_t at = mdt.rfind("MDT");
    std::string digits = at == std::string::npos ? mdt : mdt.substr(at + 3);
    if (eq == std::string::npos || eq + 1 == item.size() || digits.empty() ||
        std::sscanf(digits.c_str(), "%x", &index) != 1) {
      throw std::invalid_argument("--changelog: '" + item + "' is not MDT=USER (MDT0000=cl1, or 0=cl1)");
    }
    u.by_mdt_[index] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return u;
}

std::string ChangelogUsers::of(unsigned index) const {
  if (!all_.empty()) return all_;
  auto it = by_mdt_.find(index);
  return it == by_mdt_.end() ? "" : it->second;
}

ChangelogSource::ChangelogSource(const LustreApi& api, const std::string& src_path, ChangelogUsers users)
    : lustre_(api), users_(std::move(users)), src_path_(src_path) {
  std::string why;
  api_ = ChangelogApi::from(api, &why);
  if (!api_) throw FsError("--changelog", src_path, why);
  auto mount = api_->mount_of(src_path);
  if (!mount) throw FsError("--changelog: find the Lustre mount of", src_path, errno);
  mount_ = mount->first;
  fsname_ = mount->second;
  // fid2path answers relative to the filesystem's root: SRC's own place in it is asked the same
  // way (its FID, and back), which holds for a subdirectory mount (fileset) too.
  auto fid = api_->fid_of(src_path);
  if (!fid) throw FsError("--changelog: path2fid", src_path, errno);
  std::vector<std::string> paths;
  if (int rc = api_->paths_of(mount_, *fid, &paths); rc < 0 || paths.empty()) {
    throw FsError("--changelog: fid2path " + fid->text() + " on", mount_, rc < 0 ? -rc : ENOENT);
  }
  src_in_fs_ = paths.front();
  int count = api_->mdt_count(mount_);
  if (count <= 0) throw FsError("--changelog: count the MDTs of", mount_, count < 0 ? -count : ENODEV);
  for (int i = 0; i < count; ++i) {
    std::string user = users_.of(static_cast<unsigned>(i));
    std::string mdt = fmt::format("{}-MDT{:04x}", fsname_, i);
    if (user.empty()) throw FsError("--changelog", mdt, "no changelog user given for this MDT (" + users_.spec() + ")");
    mdts_.push_back(mdt);
    user_by_mdt_.push_back(user);
  }
}

const std::string& ChangelogSource::user_of(const std::string& mdt) const {
  for (size_t i = 0; i < mdts_.size(); ++i) {
    if (mdts_[i] == mdt) return user_by_mdt_[i];
  }
  throw std::invalid_argument("no MDT " + mdt);
}

std::map<std::string, uint64_t> ChangelogSource::ends(const std::map<std::string, uint64_t>& from, int* err,
                                                      std::string* where) const {
  std::map<std::string, uint64_t> out;
  *err = 0;
  for (const std::string& mdt : mdts_) {
    auto it = from.find(mdt);
    uint64_t last = it == from.end() ? 0 : it->second;
    int rc = api_->read(mdt, user_of(mdt), last + 1, [&](const ChangelogRecord& r) {
      last = std::max(last, r.index);
      return true;
    });
    if (rc < 0) {
      *err = rc;
      *where = mdt;
      return {};
    }
    out[mdt] = last;
  }
  return out;
}

int ChangelogSource::clear(const std::string& mdt, uint64_t index) const {
  return api_->clear(mdt, user_of(mdt), index);
}

std::optional<std::pair<Fid, std::vector<std::string>>> ChangelogSource::names_of(int src_root,
                                                                                  const std::string& rel) const {
  std::optional<Fid> fid;
  try {
    size_t slash = rel.rfind('/');
    std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
    UniqueFd parent = open_dir_beneath(src_root, dir);
    UniqueFd pinned = pin_entry(parent.get(), rel.c_str() + (slash == std::string::npos ? 0 : slash + 1), rel);
    fid = lustre_.fid_of(pinned.get());  // llapi_fd2fid: an O_PATH descriptor will do (name_to_handle_at)
  } catch (const FsError& e) {
    errno = e.err() ? e.err() : ENOENT;
    return std::nullopt;
  }
  if (!fid) return std::nullopt;
  std::vector<std::string> paths, names;
  if (int rc = api_->paths_of(mount_, *fid, &paths); rc < 0) {
    errno = -rc;
    return std::nullopt;
  }
  for (const std::string& p : paths) {
    if (auto name = relative_to_src(p); name && !name->empty()) names.push_back(std::move(*name));
  }
  return std::make_pair(*fid, std::move(names));
}

std::optional<std::string> ChangelogSource::relative_to_src(const std::string& path) const {
  if (src_in_fs_.empty()) return path;
  if (path == src_in_fs_) return std::string();
  if (path.size() > src_in_fs_.size() && path.compare(0, src_in_fs_.size(), src_in_fs_) == 0 &&
      path[src_in_fs_.size()] == '/') {
    return path.substr(src_in_fs_.size() + 1);
  }
  return std::nullopt;
}

}  // namespace lmover
