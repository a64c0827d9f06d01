// LustreTarget: what the passes ask of Lustre while they build the target. New files are created
// with the layout the policy derives from their source's (before any data is written, the only
// moment Lustre accepts one), and directories at the chosen depth are placed round-robin over the
// chosen MDTs. Thread-safe; one per pass run.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fs/unique_fd.h"
#include "lustre/hsm.h"
#include "lustre/layout.h"
#include "lustre/lustre_api.h"

namespace lmover {

struct LustreSettings {
  enum class Mode { kAuto, kOn, kOff };
  Mode mode = Mode::kAuto;
  LayoutPolicy layout;
  std::vector<int> mdts;  // --mdts: empty = directories stay where Lustre puts them
  unsigned mdt_depth = 1;  // directories this many levels below the root are placed
  int dir_stripes = 0;     // --dir-stripes: those directories striped over N MDTs (-1: all; 0: plain)
  // --dir-layout copy: a striped source directory is made striped alike (count, hash), and every
  // directory's default LMV is copied. MDT indexes come from --mdts where it places the directory.
  bool dir_layout_copy = false;
  HsmSettings hsm;  // released files of the source (--hsm); its rebind path resolved

  static Mode parse_mode(const std::string& text);  // auto|on|off; throws std::invalid_argument
  static std::vector<int> parse_mdts(const std::string& text);  // "0,1,3"
};

// What a submitter decided about Lustre, as it travels in a distributed run's spec: mode "on"
// when it goes through liblustreapi (every worker must then too, or refuse the run), "off" for
// plain POSIX (`settings` nullptr). Read back with mode kOff for "off" or no entry at all.
nlohmann::json lustre_settings_to_spec(const LustreSettings* settings);
LustreSettings lustre_settings_from_spec(const nlohmann::json& spec);  // throws std::invalid_argument, json errors

class LustreTarget {
 public:
  LustreTarget(std::shared_ptr<const LustreApi> api, LustreSettings settings)
      : api_(std::move(api)), settings_(std::move(settings)), hsm_(api_, settings_.hsm, settings_.hsm.rebind_path) {}

  // Creates file `name` (`size` bytes to come) in target directory `dst_dir` (O_WRONLY, mode 0600 like every new entry
  // until its metadata is set) with the policy's layout for the source file open at `src_fd`.
  // A layout the target refuses is relaxed step by step (relaxed()), with one warning per
  // distinct case. Throws FsError naming `rel`. `mirrored` (if given): whether it was made with
  // FLR mirrors, which sync_mirrors() brings in sync once the data are written.
  UniqueFd create_file(int src_fd, uint64_t size, int dst_dir, const char* name, std::string_view rel,
                       bool* mirrored = nullptr) const;

  // Resyncs the stale mirrors of the mirrored target file `out`, just written (writing made every
  // mirror but one stale), before its times are set: the resync writes. `out` is replaced by the
  // descriptor the resync used. false: the target could not (said once; the file's mirrors are
  // left stale, its data whole).
  bool sync_mirrors(UniqueFd& out, std::string_view rel) const;

  // --relayout: whether unchanged target file `name` must be copied again because its layout is
  // not what the policy gives its source (`size` bytes) now. Opens both files to ask.
  bool needs_relayout(int src_dir, int dst_dir, const char* name, uint64_t size, std::string_view rel) const;

  // Gives new target directory `dst_dir` the policy's layout for the source directory's default
  // layout, if it has one (files users create there later get it). Relaxed like files' layouts.
  void copy_dir_default(int src_dir, int dst_dir, std::string_view rel) const;

  // Whether directory `rel` is one that --mdts / --dir-stripes places, and if so makes it (mode
  // 0700) on the next MDT in turn, striped if asked. Throws FsError (EEXIST included) naming `rel`.
  bool places(std::string_view rel) const;
  void make_dir(int dst_dir, const char* name, std::string_view rel) const;

  // --dir-layout copy: the striping of source directory `src_dir` when it is striped over MDTs
  // (nullopt: plain, or no --dir-layout copy). Throws FsError naming `rel` when it cannot be read.
  std::optional<DirLayout> striping_to_copy(int src_dir, std::string_view rel) const;
  // Makes `name` (mode 0700) striped as `striping`, on the MDT --mdts gives it when it places
  // `rel`, else on the source's first MDT. A target that refuses the MDT gets it where Lustre
  // chooses, one that refuses the striping a plain directory: each with one warning.
  void make_striped_dir(int dst_dir, const char* name, const DirLayout& striping, std::string_view rel) const;
  // Copies the default LMV of `src_dir`, if it has one, to `dst_dir` (--dir-layout copy).
  void copy_default_dir_layout(int src_dir, int dst_dir, std::string_view rel) const;

  const Hsm& hsm() const { return hsm_; }

  const LustreApi& api() const { return *api_; }
  const LustreSettings& settings() const { return settings_; }

 private:
  // Says `what` the first time only; `first` (", the first: 'a/b'") names the entry it was said for.
  void warn_once(const std::string& what, const std::string& first = "") const;

  int next_mdt() const;

  std::shared_ptr<const LustreApi> api_;
  LustreSettings settings_;
  Hsm hsm_;
  mutable std::atomic<uint64_t> next_mdt_{0};
  mutable std::mutex warned_mutex_;
  mutable std::set<std::string> warned_;
};

}  // namespace lmover
