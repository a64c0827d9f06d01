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
#include "passes/copy_pass.h"
#include "passes/delete_pass.h"
#include "passes/dirtime_pass.h"
#include "passes/verify_pass.h"
#include "rabbit/messages.h"

namespace lmover {
namespace {

using json = nlohmann::json;

std::string absolute_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) throw FsError("resolve", path, errno);
  return buf;
}

json time_or_null(const std::optional<timespec>& t) {
  return t ? json::array({t->tv_sec, t->tv_nsec}) : json(nullptr);
}

std::optional<timespec> time_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  return timespec{j.at(0).get<time_t>(), j.at(1).get<long>()};
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

// What the submitter decided about Lustre: "on" when it goes through liblustreapi (every worker
// must then too, or refuse the run), "off" for plain POSIX.
json lustre_spec(const LustreTarget* lustre) {
  if (!lustre) return {{"mode", "off"}};
  const LustreSettings& s = lustre->settings();
  return {{"mode", "on"},
          {"layout", s.layout.name()},
          {"mdts", s.mdts},
          {"mdt_depth", s.mdt_depth},
          {"dir_stripes", s.dir_stripes},
          {"dir_layout_copy", s.dir_layout_copy},
          {"hsm", HsmSettings::name(s.hsm.mode)},
          {"hsm_rebind", s.hsm.rebind_path},
          {"hsm_batch", s.hsm.batch},
          {"hsm_restore_timeout", s.hsm.restore_timeout}};
}

LustreSettings lustre_settings_from(const json& spec) {
  LustreSettings s;
  s.mode = LustreSettings::Mode::kOff;
  if (!spec.contains("lustre") || spec["lustre"].value("mode", "off") != "on") return s;
  const json& l = spec["lustre"];
  s.mode = LustreSettings::Mode::kOn;
  s.layout = LayoutPolicy::parse(l.at("layout").get<std::string>());
  s.mdts = l.at("mdts").get<std::vector<int>>();
  s.mdt_depth = l.at("mdt_depth").get<unsigned>();
  s.dir_stripes = l.value("dir_stripes", 0);
  s.dir_layout_copy = l.value("dir_layout_copy", false);
  s.hsm.mode = HsmSettings::parse_mode(l.value("hsm", std::string("skip")));
  s.hsm.rebind_path = l.value("hsm_rebind", std::string());
  s.hsm.batch = l.value("hsm_batch", 100u);
  s.hsm.restore_timeout = l.value("hsm_restore_timeout", 3600u);
  return s;
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
    options_.dry_run = spec.at("dry_run").get<bool>();
    options_.verbose = spec.at("verbose").get<bool>();
    // Owners are preserved when this worker can: it may run with other privileges than the submitter.
    options_.metadata.owner = spec.at("owner").get<bool>() && geteuid() == 0;
    options_.metadata.xattrs = spec.value("xattrs", true);
    options_.pin_entries = pin_entries_for(src_.get());
    options_.relayout = spec.value("relayout", false);
    options_.rewrite = spec.value("rewrite", false);
    options_.verify_content = spec.value("verify_content", false);
    options_.chunk_threshold = spec.value("chunk_threshold", options_.chunk_threshold);
    options_.chunk_size = spec.value("chunk_size", options_.chunk_size);
    options_.rebalance_percent = spec.value("rebalance_percent", 0.0);
    options_.rebalance_seed = spec.value("rebalance_seed", uint64_t{0});
    try {
      options_.lustre = lustre_for_run(lustre_settings_from(spec), src_.get(), roots.src_path, dst_.get(), roots.dst_path);
      if (options_.lustre) say_mdc_slots(options_.lustre->api(), roots.src_path, roots.dst_path, std::max(threads, cores));
    } catch (const FsError& e) {
      throw RunRefused(std::string("the run copies Lustre layouts and this node cannot: ") + e.what());
    }
    for (const auto& path : spec.at("exclude")) options_.filters.exclude(from_bytes(path));
    if (spec.contains("only")) {
      for (const auto& path : spec.at("only")) options_.filters.only(from_bytes(path));
    }
    if (auto t = time_from(spec.at("atime_before"))) options_.filters.skip_atime_before(*t);
    if (auto t = time_from(spec.at("mtime_after"))) options_.filters.skip_mtime_after(*t);
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
    make_handler(kind_, ctx)->handle(task, sink);
    if (tally_) tally_->add(pass_name(kind_), stats);
    return TaskOutcome{stats.nonzero(), failures.take_collected()};
  }

 private:
  PassKind kind_;
  UniqueFd src_, dst_;
  unsigned wanted_threads_ = 0;  // more than the cores when a root is latency-bound
  PassOptions options_;
  std::shared_ptr<WorkTally> tally_;
};

}  // namespace

const char* pass_name(PassKind kind) {
  switch (kind) {
    case PassKind::kCopy: return "copy";
    case PassKind::kDelete: return "delete";
    case PassKind::kDirtime: return "dirtime";
    case PassKind::kVerify: return "verify";
  }
  return "?";
}

PassKind pass_kind(const std::string& name) {
  if (name == "copy") return PassKind::kCopy;
  if (name == "delete") return PassKind::kDelete;
  if (name == "dirtime") return PassKind::kDirtime;
  if (name == "verify") return PassKind::kVerify;
  throw std::invalid_argument("unknown pass '" + name + "'");
}

std::unique_ptr<TaskHandler> make_handler(PassKind kind, const PassContext& ctx) {
  switch (kind) {
    case PassKind::kCopy: return std::make_unique<CopyPass>(ctx);
    case PassKind::kDelete: return std::make_unique<DeletePass>(ctx);
    case PassKind::kDirtime: return std::make_unique<DirtimePass>(ctx);
    case PassKind::kVerify: return std::make_unique<VerifyPass>(ctx);
  }
  throw std::invalid_argument("unknown pass");
}

RunRoots run_roots(const Roots& roots, bool allow_empty_source) {
  return RunRoots{absolute_path(roots.src_path), absolute_path(roots.dst_path),
                  identify_root(roots.src.get(), roots.src_path), identify_root(roots.dst.get(), roots.dst_path),
                  allow_empty_source};
}

json make_spec(PassKind kind, const RunRoots& roots, const PassOptions& options) {
  json exclude = json::array();
  for (const auto& path : options.filters.excluded_paths()) exclude.push_back(to_bytes(path));
  json only = json::array();
  for (const auto& path : options.filters.only_paths()) only.push_back(to_bytes(path));
  // The spec travels with every task message: a list that would swell each of them is refused.
  constexpr size_t kMaxOnlyPaths = 20000;
  if (only.size() > kMaxOnlyPaths) {
    throw FsError("--only-from", roots.src, fmt::format("{} paths are too many for a distributed run (at most {}): "
                                                        "split the list, or run it embedded", only.size(), kMaxOnlyPaths));
  }
  return {{"pass", pass_name(kind)},
          {"src", roots.src},
          {"dst", roots.dst},
          {"src_id", identity_json(roots.src_id)},
          {"dst_id", identity_json(roots.dst_id)},
          {"allow_empty_source", roots.allow_empty_source},
          {"dry_run", options.dry_run},
          {"verbose", options.verbose},
          {"owner", options.metadata.owner},
          {"xattrs", options.metadata.xattrs},
          {"relayout", options.relayout},
          {"rewrite", options.rewrite},
          {"verify_content", options.verify_content},
          {"chunk_threshold", options.chunk_threshold},
          {"chunk_size", options.chunk_size},
          {"rebalance_percent", options.rebalance_percent},
          {"rebalance_seed", options.rebalance_seed},
          {"lustre", lustre_spec(options.lustre.get())},
          {"exclude", exclude},
          {"only", only},
          {"atime_before", time_or_null(options.filters.atime_before())},
          {"mtime_after", time_or_null(options.filters.mtime_after())}};
}

RunnerFactory pass_runner_factory(SharedBudgets budgets, std::shared_ptr<WorkTally> tally) {
  return [budgets, tally](const json& spec) -> std::shared_ptr<TaskRunner> {
    return std::make_shared<PassRunner>(spec, budgets, tally);
  };
}

}  // namespace lmover
