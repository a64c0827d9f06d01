// PassContext: what every task of a pass needs, passed explicitly (no globals): the two roots as
// directory fds, the options, the counters and the failure log. Shared read-only by all threads,
// apart from the thread-safe counters and log.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fs/fs_error.h"
#include "fs/node_ops.h"
#include "fs/unique_fd.h"
#include "lustre/lustre_target.h"
#include "passes/copy_decision.h"
#include "passes/filters.h"
#include "report/failure_log.h"
#include "report/pass_stats.h"

namespace lmover {

struct PassOptions {
  bool dry_run = false;
  bool verbose = false;
  MetadataPlan metadata;
  Filters filters;
  std::optional<uint64_t> max_delete;
  // Set by a distributed run's worker: one deletion from the budget all workers share (the
  // broker's), used instead of counting max_delete here. False once it is spent.
  std::function<bool()> shared_max_delete;
  // Set when layouts and MDT placement go through liblustreapi (--lustre); else plain POSIX.
  std::shared_ptr<const LustreTarget> lustre;
  // Entries are pinned (O_PATH) before they are read: see pin_entries_for.
  bool pin_entries = false;
  // --relayout: an unchanged file whose target layout is not the policy's is copied again.
  bool relayout = false;
  // --rewrite: every entry the pass reaches is copied again whatever the change rule says (after a
  // verify, `copy --only-from LIST --rewrite` repairs what it found).
  bool rewrite = false;
  // delete --rebalance-percent P --seed N: also remove this share of the target's regular files
  // that are unchanged copies of source files, chosen by a seeded hash of their path (0 = none),
  // so that the next copy pass writes them again with the new layout policy.
  double rebalance_percent = 0;
  uint64_t rebalance_seed = 0;
  // verify --content: also compare file data (XXH3-128 of both sides).
  bool verify_content = false;
  // Big files: from this size on (0: never), a regular file is copied in chunk tasks of this size.
  uint64_t chunk_threshold = 1ull << 30;
  uint64_t chunk_size = 256ull << 20;

  // The change rule this run can honour: owners only where it can set them.
  ChangeRule change_rule() const {
    return ChangeRule{metadata.owner, metadata.owner ? nullptr : &own_groups(), rewrite};
  }

  // Whether a file of `size` bytes is big enough to be copied (and verified) in chunks.
  bool in_chunks(uint64_t size) const {
    return chunk_threshold > 0 && chunk_size > 0 && size >= chunk_threshold && size > chunk_size;
  }

  // The options as they travel with a distributed run's tasks (pass_options_spec.cc), and back.
  // What each node decides for itself is not in it: pin_entries, shared_max_delete (from the
  // spec's budget), lustre (built from lustre_settings_from_spec by the node), and max_delete
  // (the shared budget replaces it); `metadata.owner` says what the submitter wanted.
  nlohmann::json to_spec() const;
  static PassOptions from_spec(const nlohmann::json& spec);  // throws nlohmann::json::exception
};

// An entry left off the target on purpose until a later pass can copy it (an HSM-released file
// under --hsm skip, or one whose restore did not come back): listed with the failures and exit 1
// like one, but counted apart (hsm_deferred), since nothing went wrong.
class HsmDeferred : public FsError {
 public:
  using FsError::FsError;
};

class PassContext {
 public:
  PassContext(int src_root, int dst_root, const PassOptions& options, PassStats& stats, FailureLog& failures)
      : src_root_(src_root), dst_root_(dst_root), options_(options), stats_(stats), failures_(failures) {}

  int src_root() const { return src_root_; }
  int dst_root() const { return dst_root_; }
  const PassOptions& options() const { return options_; }
  const Filters& filters() const { return options_.filters; }
  bool dry_run() const { return options_.dry_run; }
  PassStats& stats() const { return stats_; }

  // Counts, logs and lists a failed entry (an HsmDeferred one as deferred).
  void fail(const FsError& error) const;
  // The same, unless the error says "not there" (ENOENT, ENOTDIR) and the source entry it names is
  // really gone: users remove and rename directories while a pass runs, and that is `vanished`.
  void fail_unless_vanished(const FsError& error) const;
  // Reports an action on stdout when it is a dry run or -v was given ("copy a/b").
  void note(std::string_view verb, std::string_view rel) const;
  // verify: `rel` differs between the trees in `what` (counted, logged and listed like a failure,
  // under its own counter).
  void differ(std::string_view rel, std::string_view what) const;

  // A changelog-driven copy must settle every name of a hard-link group it touches in one pass,
  // and a walk or a listing meets only some of them: it says so here (LinkFollower). Set between
  // runs of the engine, never while tasks run; empty: nobody asks.
  using LinkWatch = std::function<void(std::string_view rel)>;
  void watch_links(LinkWatch watch) const { link_watch_ = std::move(watch); }
  void settling_link_group(std::string_view rel) const {
    if (link_watch_) link_watch_(rel);
  }

 private:
  // Whether `rel` still names an entry on the source (errors other than "not there" say yes).
  bool source_exists(std::string_view rel) const;

  int src_root_;
  int dst_root_;
  const PassOptions& options_;
  PassStats& stats_;
  FailureLog& failures_;
  mutable LinkWatch link_watch_;
};

// The name lmover reserves at the top of the target for its hard-link staging area.
inline constexpr const char* kHardlinkFarmName = ".lmover-hardlinks";

}  // namespace lmover
