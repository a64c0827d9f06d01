#include "cli/pass_factory.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "cli/concurrency.h"
#include "cli/lustre_setup.h"
#include "fs/fs_error.h"
#include "lustre/mdc_slots.h"
#include "fs/resolve.h"
#include "passes/changed_places.h"
#include "passes/copy_pass.h"
#include "distributed/messages.h"

namespace lmover {
namespace {

using json = nlohmann::json;

std::string absolute_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) throw FsError("resolve", path, errno);
  return buf;
}

json identity_json(const FsIdentity& id) { return json::array({id.fs_type, id.fs_id, id.root_ino}); }

FsIdentity identity_from(const json& j) {
  return FsIdentity{j.at(0).get<uint64_t>(), j.at(1).get<uint64_t>(), j.at(2).get<uint64_t>()};
}

void expect_same_view(const char* which, const std::string& path, const FsIdentity& here, const FsIdentity& there) {
  if (here == there) return;
  throw RunRefused(fmt::format("{} {} is not the filesystem the submitter saw (is it mounted on this node?): "
                               "here {}; submitter {}",
                               which, path, describe(here), describe(there)));
}

// The roots as this node sees them, after every check the submitter made; RunRefused otherwise.
Roots open_checked_roots(PassKind kind, const json& spec) {
  Roots roots{spec.at("src").get<std::string>(), spec.at("dst").get<std::string>(), {}, {}};
  try {
    roots.src = open_root(roots.src_path);
    roots.dst = open_root(roots.dst_path);
    expect_same_view("source", roots.src_path, identify_root(roots.src.get(), roots.src_path),
                     identity_from(spec.at("src_id")));
    expect_same_view("target", roots.dst_path, identify_root(roots.dst.get(), roots.dst_path),
                     identity_from(spec.at("dst_id")));
    check_root_pair(roots, kind == PassKind::kDelete && !spec.at("allow_empty_source").get<bool>());
  } catch (const FsError& e) {
    throw RunRefused(e.what());
  }
  return roots;
}

class PassRunner : public TaskRunner {
 public:
  PassRunner(const json& spec, const SharedBudgets& budgets, std::shared_ptr<WorkTally> tally)
      : kind_(pass_kind(spec.at("pass").get<std::string>())), tally_(std::move(tally)) {
    Roots roots = open_checked_roots(kind_, spec);
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned threads = default_concurrency(roots.src.get(), roots.src_path, roots.dst.get(), roots.dst_path, cores).threads;
    if (threads > cores) wanted_threads_ = threads;
    src_ = std::move(roots.src);
    dst_ = std::move(roots.dst);
    options_ = PassOptions::from_spec(spec);
    // Owners are preserved when this worker can: it may run with other privileges than the submitter.
    options_.metadata.owner = options_.metadata.owner && geteuid() == 0;
    options_.pin_entries = pin_entries_for(src_.get());
    try {
      options_.lustre = lustre_for_run(lustre_settings_from_spec(spec.value("lustre", json())), src_.get(), roots.src_path, dst_.get(), roots.dst_path);
      if (options_.lustre) say_mdc_slots(options_.lustre->api(), roots.src_path, roots.dst_path, std::max(threads, cores));
    } catch (const FsError& e) {
      throw RunRefused(std::string("the run copies Lustre layouts and this node cannot: ") + e.what());
    }
    // A changelog-driven copy's first phases: the hard-link groups it settles go back to the
    // submitter, which follows them to their other names (passes/changed_places.h).
    watch_links_ = spec.value("watch_links", false);
    if (spec.contains("max_delete")) {
      if (!budgets) throw RunRefused("the run has a shared --max-delete budget and this worker cannot reach it");
      options_.shared_max_delete = budgets(spec.at("max_delete"));
    }
  }

  unsigned wanted_threads() const override { return wanted_threads_; }

  TaskOutcome run(const Task& task, TaskSink& sink) override {
    PassStats stats;
    FailureLog failures;
    failures.collect();
    PassContext ctx(src_.get(), dst_.get(), options_, stats, failures);
    std::vector<std::string> linked;
    if (watch_links_) ctx.watch_links([&linked](std::string_view rel) { linked.emplace_back(rel); });
    std::unique_ptr<Pass> pass = make_pass(kind_, ctx);
    if (task.kind == TaskKind::kPlaces) {
      ChangedPlacesPass(*pass, ctx).handle(task, sink);  // places a changelog names, carried in the task
    } else {
      pass->handle(task, sink);
    }
    if (tally_) tally_->add(pass_name(kind_), stats);
    return TaskOutcome{stats.nonzero(), failures.take_collected(), std::move(linked)};
  }

 private:
  PassKind kind_;
  UniqueFd src_, dst_;
  unsigned wanted_threads_ = 0;  // more than the cores when a root is latency-bound
  bool watch_links_ = false;
  PassOptions options_;
  std::shared_ptr<WorkTally> tally_;
};

}  // namespace

RunRoots run_roots(const Roots& roots, bool allow_empty_source) {
  return RunRoots{absolute_path(roots.src_path), absolute_path(roots.dst_path),
                  identify_root(roots.src.get(), roots.src_path), identify_root(roots.dst.get(), roots.dst_path),
                  allow_empty_source};
}

json make_spec(PassKind kind, const RunRoots& roots, const PassOptions& options) {
  // The spec travels with every task message: a list that would swell each of them is refused.
  constexpr size_t kMaxOnlyPaths = 20000;
  if (size_t only = options.filters.only_paths().size(); only > kMaxOnlyPaths) {
    throw FsError("--only-from", roots.src, fmt::format("{} paths are too many for a distributed run (at most {}): "
                                                        "split the list, or run it embedded", only, kMaxOnlyPaths));
  }
  json spec = options.to_spec();
  spec["pass"] = pass_name(kind);
  spec["src"] = roots.src;
  spec["dst"] = roots.dst;
  spec["src_id"] = identity_json(roots.src_id);
  spec["dst_id"] = identity_json(roots.dst_id);
  spec["allow_empty_source"] = roots.allow_empty_source;
  return spec;
}

RunnerFactory pass_runner_factory(SharedBudgets budgets, std::shared_ptr<WorkTally> tally) {
  return [budgets, tally](const json& spec) -> std::shared_ptr<TaskRunner> {
    return std::make_shared<PassRunner>(spec, budgets, tally);
  };
}

}  // namespace lmover
