// The changelog side of a run (--changelog USER, --incremental[=auto]): the bookmark beside DST,
// `<parent>/.<name>.lmover-changelog`, like the lock.
//
// The bookmark says, per MDT of SRC's filesystem, up to which record the target is known to follow
// the source. A full pass run with --changelog reads each MDT's log to its end at its *start* (a
// pass can copy an entry before that entry changes, so the start, never the end), and that becomes
// the bookmark once the run completes without a failure. An incremental pass reads the records
// after the bookmark, visits only what they name (passes/changed_places.h), and once complete
// advances the bookmark to the last record it read and clears the records up to it, which also keeps
// the changelog user alive (the MDS deregisters idle users: changelog_gc).
//
// Directory times are the exception: a copy or delete moves the mtimes of the target directories
// it writes in, and only dirtime sets them back, so a run without dirtime leaves directories behind
// that no later record names. The bookmark therefore keeps a second mark per MDT, from where
// directory times are not settled: an incremental run with dirtime reads the records from that
// older mark (or, when no pass settled them since a full copy, dirtime walks the whole tree), and
// records are cleared only up to it.
//
// Every writing run on DST (with --changelog or not) marks an existing bookmark unsettled while it
// runs and settles it only when it completes: a pass that failed, was stopped or was killed since
// may have left the target behind in places no record names (a copy that removed a file and died
// before writing the new one), so the log cannot be trusted after it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/run_plan.h"
#include "lustre/changes.h"
#include "passes/changed_places.h"
#include "report/summary.h"

namespace lmover {

class LustreApi;

class ChangelogRun {
 public:
  // Before the passes, with the target's lock held. `api`: the run's liblustreapi (nullptr: none).
  // Throws FsError (exit 2) when --incremental is refused, naming the changelog and why.
  ChangelogRun(const RunPlan& plan, const std::string& src_path, int src_root, const LustreApi* api, unsigned threads,
               Summary& summary);
  ~ChangelogRun();
  ChangelogRun(const ChangelogRun&) = delete;
  ChangelogRun& operator=(const ChangelogRun&) = delete;

  // The places pass `kind` visits; nullptr: the whole tree.
  const PlaceSpool* places_for(PassKind kind) const {
    return kind == PassKind::kDirtime && dirtime_whole_ ? nullptr : spool_.get();
  }
  // What follows the hard-link groups a changelog-driven copy meets (nullptr for other passes).
  std::unique_ptr<LinkFollower> follow_links(PassKind kind) const;
  // After the passes: `complete` when every one completed without a failure.
  void finish(bool complete);

 private:
  // "" when the records after the bookmark can be trusted to name every change; why not otherwise.
  std::string why_untrusted() const;
  void record_start();  // a full pass: each MDT's end now
  // An incremental pass: the places, or why the log cannot be trusted after all.
  std::string scan(unsigned threads, int src_root);
  void write(const nlohmann::json& doc) const;
  // The bookmark's marks per MDT: "index" (entries), or "dirtime" (directory times; absent for an
  // MDT where they are not settled).
  std::map<std::string, uint64_t> marks(const char* which = "index") const;

  const RunPlan& plan_;
  Summary& summary_;
  std::string path_;            // the bookmark
  nlohmann::json bookmark_;     // as found (null: none)
  bool writes_ = false;         // a run that writes the target (not a dry run, not verify)
  bool with_dirtime_ = false;   // the run has a dirtime pass
  bool dirtime_whole_ = false;  // --incremental, but directory times were never settled since: dirtime walks all
  std::optional<ChangelogSource> source_;
  std::map<std::string, uint64_t> next_;  // the bookmark this run leaves when it completes
  std::unique_ptr<PlaceSpool> spool_;
};

}  // namespace lmover
