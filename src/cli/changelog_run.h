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
// The bookmark keeps one mark per pass (copy, delete, dirtime) and MDT: each pass settles something
// else (a copy deletes nothing, a delete copies nothing, and a copy or a delete moves the mtimes of
// the target directories it writes in, which only dirtime sets back), so a run advances the marks
// of its own passes only. A run without dirtime that wrote keeps dirtime's mark no newer than its
// own start (an incremental one) or takes it away (a full one); a delete that split hard-link
// groups with no copy after it takes the copy's away. An incremental run reads the records from the
// oldest mark of its passes; a delete or dirtime without a mark walks the whole tree (directories
// only), a copy without one means the log cannot be trusted. Records are cleared up to the oldest
// mark of all.
//
// The MDS deregisters a changelog user that has not cleared for 30 days (changelog_gc, judged by
// the time of its last clear, which a clear up to the same index renews). A writing run with
// --changelog renews it every kKeepAlive while it runs, and `lmover changes` once, each by a clear
// up to no further than the bookmark already cleared (or, with no bookmark, than this run's start):
// nothing a later pass needs is cleared by it.
//
// Every writing run on DST (with --changelog or not) marks an existing bookmark unsettled while it
// runs and settles it only when it completes: a pass that failed, was stopped or was killed since
// may have left the target behind in places no record names (a copy that removed a file and died
// before writing the new one), so the log cannot be trusted after it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
  const PlaceSpool* places_for(PassKind kind) const { return whole_.count(kind) ? nullptr : spool_.get(); }
  // A delete of this run split hard-link groups on the target and no copy followed to settle them:
  // the copy's mark goes (no record names those groups).
  void groups_split() { groups_split_ = true; }
  // What follows the hard-link groups a changelog-driven copy meets (nullptr for other passes);
  // held until the run ends.
  LinkFollower* follow_links(PassKind kind);
  // What the last phase of pass `kind` visits besides its own follower's names: for dirtime, the
  // names every copy before it followed (it sets their directories' times); nothing otherwise.
  std::vector<const PlaceSpool*> followed_for(PassKind kind) const;
  // After the passes: `complete` when every one completed without a failure.
  void finish(bool complete);
  // `lmover changes`: what the records since the bookmark name, per MDT, and what the next
  // incremental sync would cost, from the rates the bookmark keeps of the runs before; on stdout.
  void report() const;

  // How often a running pass renews the changelog user (LMOVER_CHANGELOG_KEEPALIVE_S, for tests).
  static constexpr std::chrono::hours kKeepAlive{6};

 private:
  // "" when the records after the bookmark can be trusted to name every change; why not otherwise.
  std::string why_untrusted() const;
  void record_start();  // a full pass: each MDT's end now
  // An incremental pass: the places, or why the log cannot be trusted after all.
  std::string scan(unsigned threads, int src_root);
  void write(const nlohmann::json& doc) const;
  // The bookmark's marks of `pass` ("copy", "delete", "dirtime") by MDT; an MDT without one is absent.
  std::map<std::string, uint64_t> marks(const std::string& pass) const;
  std::map<std::string, uint64_t> oldest_marks() const;  // over the three passes, by MDT
  // The same, where the bookmark is of SRC's filesystem; nothing otherwise.
  std::map<std::string, uint64_t> oldest_marks_of_this_fs() const;
  nlohmann::json next_marks(const std::string& mdt) const;  // what this run leaves for `mdt`
  // The bookmark's "rates" with this complete run's: seconds per place of an incremental run,
  // entries per second of a full one (what `changes` estimates from).
  nlohmann::json next_rates() const;
  // Each MDT cleared up to where nothing a pass needs lies (see above): renews the user.
  void keep_user_alive() const;
  void stop_keeping_alive();

  const RunPlan& plan_;
  Summary& summary_;
  std::string path_;            // the bookmark
  nlohmann::json bookmark_;     // as found (null: none)
  int src_root_;                // SRC, open
  bool writes_ = false;         // a run that writes the target (not a dry run, not verify)
  std::vector<PassKind> writing_;   // the run's passes that write
  std::set<PassKind> whole_;        // --incremental: its passes without a mark, which walk the whole tree
  bool groups_split_ = false;
  std::map<std::string, uint64_t> from_;  // --incremental: where the scan began, by MDT
  nlohmann::json scanned_;                // --incremental: what the scan found (the summary's "changelog")
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<ChangelogSource> source_;
  std::map<std::string, uint64_t> next_;  // the bookmark this run leaves when it completes
  std::unique_ptr<PlaceSpool> spool_;
  std::vector<std::unique_ptr<LinkFollower>> followers_;  // one per copy (a relink is one too)
  std::thread keepalive_;  // a writing run with --changelog: keep_user_alive() every kKeepAlive
  std::mutex keepalive_mutex_;
  std::condition_variable keepalive_stop_;
  bool stopping_ = false;
};

}  // namespace lmover
