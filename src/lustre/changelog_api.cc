#include "lustre/changelog_api.h"

#include <linux/limits.h>

#include <cerrno>
#include <cstring>

namespace lmover {
namespace {

// struct lu_fid and struct changelog_rec (lustre_user.h), as they lie in a record.
struct RawFid {
  uint64_t seq;
  uint32_t oid, ver;
};
#pragma pack(push, 1)
struct RawRecord {
  uint16_t namelen, flags;
  uint32_t type;
  uint64_t index, prev, time;
  RawFid tfid, pfid;
};
#pragma pack(pop)
static_assert(sizeof(RawFid) == 16 && sizeof(RawRecord) == 64, "the layout of lustre_user.h");

// enum changelog_rec_flags, enum changelog_rec_extra_flags, enum changelog_send_flag.
constexpr uint16_t kClfRename = 0x2000, kClfJobid = 0x4000, kClfExtraFlags = 0x8000, kClfFlagMask = 0x0fff;
constexpr uint64_t kClfeUidGid = 0x1, kClfeNid = 0x2, kClfeOpen = 0x4, kClfeXattr = 0x8;
constexpr int kFlagJobid = 0x04, kFlagExtraFlags = 0x08;
// sizeof the extensions: changelog_ext_rename, _jobid, _extra_flags, _uidgid, _nid (two __u64 and
// a __u32, padded to 24), _openmode, _xattr (XATTR_NAME_MAX + 1).
constexpr size_t kRenameSize = 32, kJobidSize = 32, kExtraFlagsSize = 8, kUidGidSize = 16, kNidSize = 24,
                 kOpenSize = 4, kXattrSize = 256;

Fid fid_from(const RawFid& f) { return Fid{f.seq, f.oid, f.ver}; }

// changelog_rec_offset(): where the extensions and the name begin.
size_t name_offset(const char* base, const RawRecord& r) {
  size_t at = sizeof(RawRecord);
  if (r.flags & kClfRename) at += kRenameSize;
  if (r.flags & kClfJobid) at += kJobidSize;
  if (r.flags & kClfExtraFlags) {
    uint64_t extra;
    std::memcpy(&extra, base + at, sizeof extra);
    at += kExtraFlagsSize;
    if (extra & kClfeUidGid) at += kUidGidSize;
    if (extra & kClfeNid) at += kNidSize;
    if (extra & kClfeOpen) at += kOpenSize;
    if (extra & kClfeXattr) at += kXattrSize;
  }
  return at;
}

}  // namespace

const char* changelog_type_name(uint32_t type) {
  // changelog_type2str (lustre_user.h).
  static const char* const names[] = {"MARK",  "CREAT", "MKDIR", "HLINK", "SLINK", "MKNOD", "UNLNK",
                                      "RMDIR", "RENME", "RNMTO", "OPEN",  "CLOSE", "LYOUT", "TRUNC",
                                      "SATTR", "XATTR", "HSM",   "MTIME", "CTIME", "ATIME", "MIGRT",
                                      "FLRW",  "RESYNC", "GXATR", "NOPEN"};
  return type < cl::kLast ? names[type] : "?";
}

ChangelogRecord parse_changelog_record(const void* rec) {
  const char* base = static_cast<const char*>(rec);
  RawRecord r;
  std::memcpy(&r, base, sizeof r);
  ChangelogRecord out;
  out.index = r.index;
  out.type = r.type;
  out.flags = r.flags & kClfFlagMask;
  out.target = fid_from(r.tfid);
  out.parent = fid_from(r.pfid);
  if (r.flags & kClfRename) {
    RawFid ext[2];
    std::memcpy(ext, base + sizeof(RawRecord), sizeof ext);
    out.has_rename = true;
    out.source = fid_from(ext[0]);
    out.source_parent = fid_from(ext[1]);
  }
  // The name field: "name", or for a rename "target name\0source name" (changelog_rec_sname).
  std::string field(base + name_offset(base, r), r.namelen);
  size_t nul = field.find('\0');
  out.name = field.substr(0, nul);
  if (nul != std::string::npos && out.has_rename) {
    out.source_name = field.substr(nul + 1);
    out.source_name.resize(std::strlen(out.source_name.c_str()));
  }
  return out;
}

std::unique_ptr<ChangelogApi> ChangelogApi::from(const LustreApi& api, std::string* why) {
  std::unique_ptr<ChangelogApi> c(new ChangelogApi);
  struct Need {
    const char* name;
    void** slot;
    bool required;
  } needs[] = {
      {"llapi_changelog_start", reinterpret_cast<void**>(&c->start_), true},
      {"llapi_changelog_start_user", reinterpret_cast<void**>(&c->start_user_), false},
      {"llapi_changelog_recv", reinterpret_cast<void**>(&c->recv_), true},
      {"llapi_changelog_free", reinterpret_cast<void**>(&c->free_), true},
      {"llapi_changelog_fini", reinterpret_cast<void**>(&c->fini_), true},
      {"llapi_changelog_clear", reinterpret_cast<void**>(&c->clear_), true},
      {"llapi_fid2path", reinterpret_cast<void**>(&c->fid2path_), true},
      {"llapi_path2fid", reinterpret_cast<void**>(&c->path2fid_), true},
      {"llapi_search_mounts", reinterpret_cast<void**>(&c->search_mounts_), true},
      {"llapi_get_obd_count", reinterpret_cast<void**>(&c->obd_count_), true},
  };
  for (const Need& n : needs) {
    *n.slot = api.optional_symbol(n.name);
    if (!*n.slot && n.required) {
      *why = api.library() + " lacks " + n.name;
      return nullptr;
    }
  }
  return c;
}

int ChangelogApi::read(const std::string& mdt, const std::string& user, uint64_t start,
                       const std::function<bool(const ChangelogRecord&)>& each) const {
  // The flags upstream warns will become mandatory; without FOLLOW, recv says 1 at the log's end.
  int flags = kFlagJobid | kFlagExtraFlags;
  void* priv = nullptr;
  int rc = start_user_ ? start_user_(&priv, flags, mdt.c_str(), user.c_str(), 0, static_cast<long long>(start))
                       : start_(&priv, flags, mdt.c_str(), static_cast<long long>(start));
  if (rc < 0) {
    // start_user leaves the reader open when only its user filter failed (liblustreapi_chlg.c).
    if (priv) fini_(&priv);
    return rc;
  }
  for (;;) {
    void* rec = nullptr;
    rc = recv_(priv, &rec);
    if (rc != 0) break;
    ChangelogRecord record = parse_changelog_record(rec);
    free_(&rec);
    if (!each(record)) break;
  }
  fini_(&priv);
  return rc < 0 ? rc : 0;
}

int ChangelogApi::clear(const std::string& mdt, const std::string& user, uint64_t end) const {
  return clear_(mdt.c_str(), user.c_str(), static_cast<long long>(end));
}

int ChangelogApi::paths_of(const std::string& mount, const Fid& fid, std::vector<std::string>* paths) const {
  std::string fidstr = fid.text();
  std::vector<char> buf(PATH_MAX);
  // As `lfs fid2path` walks the links: linkno goes in and comes back moved on while there are more.
  int linkno = 0;
  for (int guard = 0; guard < 1 << 16; ++guard) {
    int before = linkno;
    long long recno = -1;
    int rc = fid2path_(mount.c_str(), fidstr.c_str(), buf.data(), static_cast<int>(buf.size()), &recno, &linkno);
    if (rc == -ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      linkno = before;
      continue;
    }
    if (rc < 0) return paths->empty() ? rc : 0;  // a link gone meanwhile ends the list
    paths->emplace_back(buf.data());
    if (linkno == before) break;
  }
  return 0;
}

std::optional<Fid> ChangelogApi::fid_of(const std::string& path) const {
  RawFid f{};
  int rc = path2fid_(path.c_str(), &f);
  if (rc < 0) {
    errno = -rc;
    return std::nullopt;
  }
  return fid_from(f);
}

std::optional<std::pair<std::string, std::string>> ChangelogApi::mount_of(const std::string& path) const {
  // llapi_search_mounts copies `path` into mntdir first: both are PATH_MAX.
  std::vector<char> mount(PATH_MAX + 1), fsname(PATH_MAX + 1);
  if (path.size() >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return std::nullopt;
  }
  int rc = search_mounts_(path.c_str(), 0, mount.data(), fsname.data());
  if (rc < 0) {
    errno = -rc;
    return std::nullopt;
  }
  return std::make_pair(std::string(mount.data()), std::string(fsname.data()));
}

int ChangelogApi::mdt_count(const std::string& mount) const {
  std::vector<char> mnt(mount.begin(), mount.end());
  mnt.push_back('\0');
  int count = 0;
  int rc = obd_count_(mnt.data(), &count, 1);
  return rc < 0 ? rc : count;
}

}  // namespace lmover
