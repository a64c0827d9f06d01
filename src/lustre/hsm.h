// Hsm: what lmover does with the HSM-released files of a Lustre source. A released file keeps its
// inode (size, owner, times, st_blocks = 1) but its data live only in the archive (tape, mostly):
// any read, mmap, SEEK_DATA/SEEK_HOLE or FIEMAP of it starts a restore and blocks until the data
// are back (lustre-release llite, lov_io_init_released). A copy that read every file the usual way
// would recall a whole archive and fill the source. So before any data call on a Lustre source
// file lmover asks its HSM state (on an O_NONBLOCK descriptor, whose open restores nothing), and a
// released file goes by --hsm:
//   skip     (default) nothing is made on the target; the file is listed as deferred (--failures,
//            counter hsm_deferred, exit 1): never silent.
//   stub     the target gets a released file of its own (llapi_hsm_import) with the source's size,
//            mode, owner, times, xattrs, ACLs and first layout component, bound to the same archive
//            number; "old_FID new_FID" goes to the rebind list, what `lhsmtool_posix --rebind LIST`
//            reads to make the new filesystem's FIDs find the archived copies.
//   restore  the files of a task are restored in requests of at most --hsm-batch, waited for, then
//            copied as usual; one still released after --hsm-restore-timeout is deferred.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/entry_meta.h"
#include "fs/unique_fd.h"
#include "lustre/lustre_api.h"

namespace lmover {

struct HsmSettings {
  enum class Mode { kSkip, kStub, kRestore };
  Mode mode = Mode::kSkip;
  // stub: where "old_FID new_FID" lines are appended; "" = <parent of DST>/.<name of DST>.lmover-rebind.
  std::string rebind_path;
  unsigned batch = 100;             // restore: FIDs per HSM request at most
  unsigned restore_timeout = 3600;  // restore: seconds a request may take (Lustre's active_request_timeout)

  static Mode parse_mode(const std::string& text);  // skip|stub|restore; throws std::invalid_argument
  static const char* name(Mode mode);
  // The rebind list's default path for target root `dst` (an absolute path).
  static std::string default_rebind_path(const std::string& dst);
};

// Appends "old_FID new_FID" lines, each one write(2) of an O_APPEND file, so that threads and nodes
// writing to one shared list never interleave within a line. A comment line ("# lmover ...") starts
// each run's lines; lhsmtool_posix ignores those.
class RebindList {
 public:
  explicit RebindList(std::string path) : path_(std::move(path)) {}
  // Throws FsError naming the list when it cannot be written.
  void add(const Fid& old_fid, const Fid& new_fid) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  mutable std::mutex mutex_;
  mutable UniqueFd fd_;
};

class Hsm {
 public:
  Hsm(std::shared_ptr<const LustreApi> api, HsmSettings settings, std::string rebind_path);

  const HsmSettings& settings() const { return settings_; }
  const std::string& rebind_path() const { return rebind_.path(); }

  // The HSM state of the file open at `fd` if it is released; nullopt when it is not, or is not on
  // Lustre. Throws FsError naming `rel` on any other failure: a state that cannot be read must not
  // be taken for "not released" (the read that follows would start a restore).
  std::optional<HsmState> released(int fd, std::string_view rel) const;

  // stub: creates `name` in `dst_dir` as a released file for the source file open at `src_fd`
  // (stat `meta`, state `state`, layout `layout`), appends its rebind line and returns it open
  // O_RDONLY (for its metadata; no write touches a released file's data). Throws FsError naming
  // `rel`.
  UniqueFd make_stub(int src_fd, const EntryMeta& meta, const HsmState& state, const std::optional<Layout>& layout,
                     int dst_dir, const char* name, std::string_view rel) const;

  // restore: one released file to bring back. `dir_fd`/`name` reach it again while it is waited for.
  struct Released {
    int dir_fd;
    std::string name;
    std::string rel;
    Fid fid;
    uint64_t size;
  };
  // Asks the coordinator of the filesystem `fs_path` lies on to restore `files` (requests of at
  // most --hsm-batch FIDs) and waits, for at most --hsm-restore-timeout, until none is released.
  // Returns the files that came back; the others stay released (their copy defers them). Throws
  // FsError naming `fs_path` when a request is refused.
  std::vector<const Released*> restore(const std::string& fs_path, const std::vector<Released>& files) const;

 private:
  std::shared_ptr<const LustreApi> api_;
  HsmSettings settings_;
  RebindList rebind_;
};

}  // namespace lmover
