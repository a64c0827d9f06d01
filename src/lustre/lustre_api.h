// LustreApi: liblustreapi, opened with dlopen at run time, so that one binary runs on nodes with
// and without a Lustre client and nothing Lustre is needed to build it. Every call lmover makes
// into the library goes through here, with the C signatures of lustre-release's lustreapi.h; only
// documented llapi_* symbols are resolved (the README lists them).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lustre/layout.h"

namespace lmover {

// A Lustre file identifier (struct lu_fid), printed as lfs and lhsmtool_posix read it.
struct Fid {
  uint64_t seq = 0;
  uint32_t oid = 0, ver = 0;
  std::string text() const;  // "[0x200000401:0x1:0x0]"
  bool operator==(const Fid&) const = default;
};

// A file's HSM state (struct hsm_user_state): enum hsm_states bits and its archive number.
struct HsmState {
  static constexpr uint32_t kExists = 0x1, kDirty = 0x2, kReleased = 0x4, kArchived = 0x8, kLost = 0x40;
  uint32_t states = 0;
  uint32_t archive_id = 0;
  bool released() const { return states & kReleased; }
  // "released,archived" (for messages and verify), "none" when no bit is set.
  std::string describe() const;
};

// A directory's LMV (struct lmv_user_md_v1): how it is striped over MDTs, or the default that new
// subdirectories get. Only what can be asked for again on another filesystem.
struct DirLayout {
  int32_t stripe_count = 0;    // 0 or 1: one MDT; -1 (default only): all MDTs
  uint32_t stripe_offset = 0;  // the MDT of stripe 0 (-1 as unsigned: any)
  uint32_t hash_type = 0;      // enum lmv_hash_type and its flags (LMV_HASH_FLAG_*)
  uint8_t max_inherit = 0, max_inherit_rr = 0;  // default LMV only
  std::string pool;
  bool operator==(const DirLayout&) const = default;
  std::string describe() const;
};

// liblustreapi takes paths: a directory pinned by its fd is reached through its /proc magic link,
// so no symlink on the way can lead elsewhere; the name itself is created (O_EXCL / mkdir), which
// never follows one either.
inline std::string path_in(int dir_fd, const char* name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

class LustreApi {
 public:
  // Opens $LMOVER_LUSTREAPI if set, else liblustreapi.so.1, else liblustreapi.so. nullptr if it
  // cannot be opened or lacks a symbol; `why` then says which and the dlerror text.
  static std::unique_ptr<LustreApi> load(std::string* why);
  ~LustreApi();
  LustreApi(const LustreApi&) = delete;
  LustreApi& operator=(const LustreApi&) = delete;

  const std::string& library() const { return library_; }
  // A symbol of the library that not every run needs (the changelog's: ChangelogApi), so that a
  // library without it still serves the rest; nullptr when it lacks it.
  void* optional_symbol(const char* name) const;

  // The layout of the open file or directory `fd`. nullopt with errno set when it has none that
  // can be read (ENODATA: a directory without a default layout; ENOTTY: not on Lustre).
  std::optional<Layout> layout_of(int fd) const;

  // Creates `path` (O_CREAT|O_EXCL is added) with `layout` and returns the open fd, or -1 with
  // errno set (EINVAL: the target cannot honour the layout). nullopt layout: the default one.
  int create_file(const std::string& path, int flags, mode_t mode, const std::optional<Layout>& layout) const;

  // FLR: brings the stale mirrors of the file open at `fd`, just written through one of them,
  // in sync again, as `lfs mirror resync` does (a write lease with the resync intent, then
  // llapi_mirror_resync_many, then the lease given back with the components synced). It reopens
  // the file O_RDWR|O_DIRECT, the way the library reads and writes single mirrors, and replaces
  // `fd` with that descriptor: a write lease is only granted to the file's one opener. 0 (also
  // when nothing was stale), or an errno value (the target cannot: ENOTTY, EOPNOTSUPP; EBUSY:
  // another opener took the lease away). It writes the data again: times are to be set after it.
  int resync_mirrors(int* fd) const;

  // Sets the default layout of directory `path` (what `lfs setstripe DIR` does): files later
  // created in it get it. 0, or -1 with errno set.
  int set_default_layout(const std::string& path, const Layout& layout) const;

  // The filesystem name and the client mount's instance of the file or directory `path`
  // (llapi_get_fsname_instance: "lustre" and "ffff8881f7c1d000"), which name its MDC devices.
  // nullopt with errno set when it is not on Lustre.
  std::optional<std::pair<std::string, std::string>> fsname_instance(const std::string& path) const;

  // The MDT index that holds the open directory or file `fd`; -1 with errno set on failure.
  int mdt_index(int fd) const;

  // mkdir of `path` on MDT `mdt` (-1: any), striped over `stripes` MDTs (0: a plain directory;
  // -1: all), as `lfs mkdir -i MDT -c STRIPES`; 0, or -1 with errno set.
  int make_dir_on_mdt(const std::string& path, mode_t mode, int mdt, int stripes = 0, uint32_t hash_type = 0) const;

  // The striping (LMV_MAGIC_V1) or the default LMV (LMV_USER_MAGIC) of the open directory `fd`,
  // through the LL_IOC_LMV_GETSTRIPE ioctl of lustre_user.h. nullopt with errno set when it has
  // none (ENODATA) or is not on Lustre (ENOTTY). A plain directory reads as nullopt.
  std::optional<DirLayout> dir_layout_of(int fd, bool default_lmv) const;
  // Sets the default LMV of the open directory `fd` (LL_IOC_LMV_SET_DEFAULT_STRIPE); 0, or -1
  // with errno set.
  int set_default_dir_layout(int fd, const DirLayout& layout) const;

  // The HSM state of the file open at `fd` (llapi_hsm_state_get_fd; open it O_NONBLOCK: the open
  // of a released file must not start a restore). nullopt with errno set on failure (ENOTTY: not
  // on Lustre).
  std::optional<HsmState> hsm_state(int fd) const;

  // The data version of the file open at `fd` (llapi_get_data_version): it changes with every
  // write or truncate reaching an OST and never restores a released file. `flush`: dirty pages
  // of other clients are flushed first (LL_DV_RD_FLUSH). nullopt with errno set on failure, and
  // when the file has no objects yet (version 0 says nothing).
  std::optional<uint64_t> data_version(int fd, bool flush) const;

  // The FID of the file open at `fd`; nullopt with errno set on failure.
  std::optional<Fid> fid_of(int fd) const;

  // Creates `path` as a released file bound to archive `archive` (llapi_hsm_import): size, mode,
  // owner, atime and mtime from `st`, the first component of `layout` as its striping. 0, or -1
  // with errno set (liblustreapi removes the half-made file). `made` gets its FID.
  int hsm_import(const std::string& path, uint32_t archive, const struct stat& st, const std::optional<Layout>& layout,
                 Fid* made) const;

  // Asks the HSM coordinator of the filesystem `fs_path` lies on to restore `fids` (whole files,
  // HUA_RESTORE), one request (llapi_hsm_request). 0, or -1 with errno set.
  int hsm_restore(const std::string& fs_path, const std::vector<Fid>& fids) const;

 private:
  struct Symbols;
  LustreApi(void* handle, std::string library, std::unique_ptr<Symbols> symbols);
  // A liblustreapi layout built from `layout`; nullptr with errno set when it refuses a value.
  struct llapi_layout* build(const Layout& layout) const;
  struct llapi_layout* build_mirrored(const Layout& layout) const;

  void* handle_;
  std::string library_;
  std::unique_ptr<Symbols> sym_;
};

}  // namespace lmover
