// ChangelogApi: an MDT's changelog and FID-to-path resolution, through liblustreapi, with the C
// signatures of lustre-release's lustreapi.h and the return conventions of liblustreapi_chlg.c,
// liblustreapi_fid.c and liblustreapi_root.c:
//   llapi_changelog_start(void **priv, enum changelog_send_flag, const char *mdt, long long startrec)
//   llapi_changelog_start_user(void **priv, flags, const char *mdt, const char *user, __u64 mask,
//                              long long startrec)      (since LU-19296, 2026)
//   llapi_changelog_recv(void *priv, struct changelog_rec **rec)  0 a record, 1 the end, -errno
//   llapi_changelog_free(struct changelog_rec **rec), llapi_changelog_fini(void **priv)
//   llapi_changelog_clear(const char *mdt, const char *user, long long endrec)
//   llapi_fid2path(const char *mount_or_fsname, const char *fidstr, char *path, int pathlen,
//                  long long *recno, int *linkno)
//   llapi_path2fid(const char *path, struct lu_fid *fid)
//   llapi_search_mounts(const char *path, int index, char *mntdir, char *fsname)
//   llapi_get_obd_count(char *mnt, int *count, int is_mdt)
// all 0 or a negative errno. They are resolved only when a run asks for the changelog, so a library
// without them still serves every other run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lustre/lustre_api.h"

namespace lmover {

// enum changelog_rec_type (lustre_user.h).
namespace cl {
inline constexpr uint32_t kMark = 0, kCreate = 1, kMkdir = 2, kHardlink = 3, kSoftlink = 4, kMknod = 5,
                          kUnlink = 6, kRmdir = 7, kRename = 8, kExt = 9, kOpen = 10, kClose = 11, kLayout = 12,
                          kTrunc = 13, kSetattr = 14, kSetxattr = 15, kHsm = 16, kMtime = 17, kCtime = 18, kAtime = 19,
                          kMigrate = 20, kFlrw = 21, kResync = 22, kGetxattr = 23, kDeniedOpen = 24, kLast = 25;
}  // namespace cl

// One record, as lmover needs it.
struct ChangelogRecord {
  uint64_t index = 0;
  uint32_t type = cl::kMark;
  uint16_t flags = 0;  // the low 12 bits of cr_flags: per type (CLF_UNLINK_LAST, ...)
  Fid target;          // cr_tfid: the entry the record is about (for a rename, what was overwritten)
  Fid parent;          // cr_pfid: the directory `name` is in (namespace records)
  std::string name;
  // CLF_RENAME (changelog_ext_rename): the entry renamed, and where it came from.
  bool has_rename = false;
  Fid source, source_parent;  // cr_sfid, cr_spfid
  std::string source_name;    // after the first NUL of the name field
};

// "CREAT", "RENME", ... (changelog_type2str), "?" for a type this lmover does not know.
const char* changelog_type_name(uint32_t type);

// Parses a record as llapi_changelog_recv hands it out: the packed struct changelog_rec (64 bytes),
// then the extensions its cr_flags name, in the order of their flags (rename, jobid, extra flags and,
// by cr_extra_flags, uid/gid, nid, open mode, xattr name), then cr_namelen bytes of name.
ChangelogRecord parse_changelog_record(const void* rec);

class ChangelogApi {
 public:
  // nullptr, with `why`, when the library lacks a function the changelog needs.
  static std::unique_ptr<ChangelogApi> from(const LustreApi& api, std::string* why);

  // Whether the library can tell a deregistered user from a quiet log (llapi_changelog_start_user).
  bool knows_users() const { return start_user_ != nullptr; }

  // Calls `each` for every record of MDT `mdt` ("fsname-MDT0000") from index `start` on, to the end
  // of the log as it is now; `each` returns false to stop. 0, or a negative errno (-ENOENT: `user`
  // is not registered there, where the library can tell).
  int read(const std::string& mdt, const std::string& user, uint64_t start,
           const std::function<bool(const ChangelogRecord&)>& each) const;
  // Clears `user`'s records of `mdt` up to and including `end`. 0 or a negative errno (-ENOENT:
  // no such user).
  int clear(const std::string& mdt, const std::string& user, uint64_t end) const;

  // Every path of `fid` relative to the filesystem root the mount `mount` shows ("" for the root),
  // one per hard link. 0, or a negative errno (-ENOENT, -ESTALE: gone since the record).
  int paths_of(const std::string& mount, const Fid& fid, std::vector<std::string>* paths) const;
  // The FID of `path` (followed if it is a symlink: give it directories). nullopt with errno set.
  std::optional<Fid> fid_of(const std::string& path) const;
  // The mount point of the Lustre filesystem `path` is on, and its name. nullopt with errno set.
  std::optional<std::pair<std::string, std::string>> mount_of(const std::string& path) const;
  // How many MDTs the filesystem mounted at `mount` has. A negative errno on failure.
  int mdt_count(const std::string& mount) const;

 private:
  ChangelogApi() = default;

  int (*start_)(void**, int, const char*, long long) = nullptr;
  int (*start_user_)(void**, int, const char*, const char*, uint64_t, long long) = nullptr;
  int (*recv_)(void*, void**) = nullptr;
  int (*free_)(void**) = nullptr;
  int (*fini_)(void**) = nullptr;
  int (*clear_)(const char*, const char*, long long) = nullptr;
  int (*fid2path_)(const char*, const char*, char*, int, long long*, int*) = nullptr;
  int (*path2fid_)(const char*, void*) = nullptr;
  int (*search_mounts_)(const char*, int, char*, char*) = nullptr;
  int (*obd_count_)(char*, int*, int) = nullptr;
};

}  // namespace lmover
