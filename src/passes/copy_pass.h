// CopyPass: creates missing directories and copies new or changed entries with all their
// metadata. Directory tasks list a source directory, settle its subdirectories and spawn a task
// for each, and gather the other entries into batches; batch tasks decide and act entry by entry.
// Directory times are left to the dirtime pass.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/task.h"
#include "passes/pass.h"
#include "fs/dir_reader.h"
#include "fs/entry_meta.h"
#include "passes/copy_decision.h"
#include "passes/dir_pair.h"
#include "passes/entry_copy.h"
#include "passes/hardlink_farm.h"
#include "passes/pass_context.h"

namespace lmover {

// Whether a lookup by name on SRC is a round trip to a server (Lustre, NFS, FUSE...): there the
// entries are pinned to save one (PassOptions::pin_entries). On a local
// filesystem the pin and the reopen through /proc cost more CPU than the lookup they save (about
// 10% of a tmpfs copy). Asked once per run: a statfs, which on Lustre is itself a round trip.
bool pin_entries_for(int src_root);

class CopyPass : public Pass {
 public:
  explicit CopyPass(const PassContext& ctx) : ctx_(ctx), farm_(ctx) {}

  // Before the walk: root metadata, and a stale hard-link farm from a killed run removed.
  void prepare() override;
  void handle(const Task& task, TaskSink& sink) override;
  // After the walk: removes the hard-link farm.
  void finish() override;
  // Changelog-driven (changed_places.h): see the .cc for what each kind of place becomes.
  std::optional<Task> task_for(const ChangedPlace& place, bool is_dir, const Task& parent) const override;
  bool incremental() const override { return true; }

 private:
  // Whether entries created in a target directory may inherit xattrs (it has a default ACL).
  struct InheritedXattrs {
    int dst_dir;   // -1: not there yet (dry run)
    bool enabled;  // false under --no-xattrs
    std::optional<bool> known;
    bool possible();
  };

  void copy_directory(const Task& task, TaskSink& sink);
  void copy_batch(const Task& task, TaskSink& sink);
  // Non-directory entries `names` of `task`'s directory, whose pair `dirs` is open.
  void copy_names(const DirPair& dirs, const Task& task, const std::vector<std::string>& names, TaskSink& sink);
  // `second_look`: this is the retry after finding the entry made by someone else meanwhile, or
  // after the source changed under the copy (`attempt` counts those).
  void copy_entry(const DirPair& dirs, const std::string& name, const Task& task, TaskSink& sink,
                  InheritedXattrs& may_inherit_xattrs, bool second_look = false, int attempt = 0);
  // An unchanged entry by the change rule: whether its xattrs still match (edited on the target, or
  // marks a killed chunked copy left), compared where either side has any. Off under --no-xattrs.
  bool xattrs_match(NodeRef src, NodeRef dst) const;
  // The data of `to` were compared equal to its source's: its ctime is moved past the source's.
  void mark_data_settled(EntryLocation to, const EntryMeta& src, const std::string& rel);
  // The source of `rel` changed while it was copied to `to`: the target entry is dropped, and the
  // entry copied again, or (attempts spent) left for the next pass and counted.
  void source_changed(const DirPair& dirs, const std::string& name, const Task& task, TaskSink& sink,
                      InheritedXattrs& may_inherit_xattrs, const EntryMeta& src, int attempt, const std::string& rel);
  // --relayout on Lustre: an unchanged regular file whose target layout is not the policy's.
  // Whether source file `from` is HSM-released (Lustre): then it is not copied in chunks.
  bool source_released(EntryLocation from, const std::string& rel) const;
  bool wants_new_layout(const DirPair& dirs, const std::string& name, const EntryMeta& src, const std::string& rel);
  SourceSnapshot apply_action(CopyAction action, EntryLocation from, const EntryMeta& src, EntryLocation to,
                              const std::optional<EntryMeta>& dst, const std::string& rel);
  // A listed entry that says it is a directory: looked at, and settled if it still is one. Returns
  // false if it is something else now (the caller copies it as an entry).
  bool take_directory_entry(const DirPair& dirs, const DirEntry& entry, std::string& rel, const Task& task,
                            TaskSink& sink);
  // Makes the target directory match, then spawns the task that fills it, handing on the pair of
  // open directories when it has them. `src_dir` is the source directory if already open.
  void settle_directory(const DirPair& dirs, const char* name, std::string rel, const EntryMeta& src,
                        UniqueFd src_dir, const Task& parent, TaskSink& sink, bool second_look = false);

  const PassContext& ctx_;
  HardlinkFarm farm_;
};

}  // namespace lmover
