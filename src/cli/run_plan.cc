#include "cli/run_plan.h"

#include <string.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/broker_commands.h"
#include "cli/changelog_run.h"
#include "cli/pass_engines.h"
#include "cli/concurrency.h"
#include "cli/interrupt.h"
#include "cli/list_checks.h"
#include "cli/lustre_setup.h"
#include "cli/pass_factory.h"
#include "cli/roots.h"
#include "cli/target_lock.h"
#include "engine/thread_engine.h"
#include "fs/fs_error.h"
#include "lustre/mdc_slots.h"
#include "passes/changed_places.h"
#include "passes/copy_pass.h"
#include "amqp/amqp_session.h"
#include "distributed/broker_retry.h"
#include "distributed/submitter.h"
#include "distributed/task_queues.h"
#include "distributed/unit_pool.h"
#include "report/failure_log.h"
#include "stats/counter_sink.h"
#include "stats/memcached_counters.h"
#include "stats/run_counters.h"
#include "report/progress_line.h"
#include "report/summary.h"

namespace lmover {
namespace {

using json = nlohmann::json;

// What a run cannot keep is said once, up front and in --json, not once per entry; the change rule
// and verify then leave it out (ChangeRule in passes/copy_decision.h).
void say_what_is_not_kept(const RunPlan& plan, Summary& summary) {
  const MetadataPlan& m = plan.options.metadata;
  summary.set("owners", m.owner ? "kept" : plan.owner_refused ? "not kept (--no-owner)" : "not kept (not root)");
  if (!m.owner && !plan.owner_refused) {
    spdlog::warn("not running as root: owners cannot be kept (entries get this user's uid, and the source's group "
                 "only where it is one of this user's groups); they are neither set nor compared by the change "
                 "rule or verify (--no-owner says so and silences this)");
  }
}

// Lines of the --only-from and --exclude-from lists that name nothing. An --only-from line that
// selects nothing is a failure (logged, listed, exit 1): what the admin asked to repair was not.
// An exclude line that matches nothing protects nothing: said at the end, and refused up front
// before a delete when a stray carriage return or blank is why.
std::vector<UnmatchedLine> check_lists(const RunPlan& plan, const Roots& roots, bool deletes, FailureLog& failures,
                                       Summary& summary, int& code) {
  const Filters& filters = plan.options.filters;
  int dst = roots.dst.valid() ? roots.dst.get() : -1;
  if (filters.limited()) {
    auto unmatched = unmatched_only_paths(filters, roots.src.get());
    for (const auto& line : unmatched) failures.record(FsError("--only-from", line.path, "selects nothing: " + line.why));
    summary.set("only_from_unmatched", unmatched.size());
    if (!unmatched.empty()) code = std::max(code, kExitSomeFailed);
  }
  if (filters.exclude_count() == 0) return {};
  auto unmatched = unmatched_excludes(filters, roots.src.get(), dst);
  for (const auto& line : unmatched) {
    if (deletes && names_an_entry_once_trimmed(line, roots.src.get(), dst)) {
      throw FsError("--exclude-from", line.path,
                    "matches nothing, but without its trailing carriage return or blanks it names an entry: "
                    "fix the list; refusing to delete with it");
    }
  }
  json listed = json::array();
  for (const auto& line : unmatched) listed.push_back(printable(line.path));
  summary.set("exclude_unmatched", listed);
  return unmatched;
}

void say_unmatched_excludes(const std::vector<UnmatchedLine>& unmatched) {
  if (unmatched.empty()) return;
  spdlog::warn("--exclude-from: {} line{} matched nothing, so excluded nothing:", unmatched.size(),
               unmatched.size() == 1 ? "" : "s");
  for (const auto& line : unmatched) spdlog::warn("  '{}': {}", printable(line.path), line.why);
}

}  // namespace

void write_summary(Summary& summary, int& code, const std::string& json_file) {
  if (!summary.finish(code, json_file)) code = std::max(code, kExitSomeFailed);
}

namespace {

// What every pass of a run shares, made once before the first.
struct RunSetup {
  const RunPlan& plan;
  Roots roots;
  PassOptions options;
  unsigned threads = 1;
  const Broker* broker = nullptr;  // nullptr: embedded
  TargetLock* lock = nullptr;
  FailureLog& failures;
  RunCounters counters{this_node()};  // what the sinks read: every pass so far
  Sinks sinks;
  ChangelogRun* changelog = nullptr;  // the bookmark; --incremental: what each pass visits
};

// The run's statistics sinks, reading its counters and, distributed, the task queues' depths. A
// dry run pushes nothing (its counters are what it would do). Throws FsError for a metrics
// address it cannot listen on.
void start_sinks(RunSetup& setup) {
  SinkSettings settings = setup.plan.sinks;
  if (setup.plan.options.dry_run) settings.memcached.clear(), settings.carbon.clear(), settings.metrics_textfile.clear();
  GaugeSource gauges;
  if (const Broker* broker = setup.broker) {
    gauges = [broker, queues = QueueNames{setup.plan.broker.prefix}] {
      try {
        return task_queue_gauges(*broker, queues);
      } catch (const BrokerError&) {
        return std::vector<GaugeValue>{};  // a broker away is said by the run itself
      }
    };
  }
  try {
    setup.sinks = make_sinks(settings, setup.counters.source(), gauges);
  } catch (const std::runtime_error& e) {
    throw FsError("listen for metrics", settings.metrics_listen, e.what());
  }
}

// The roots, checked for what the passes will do to them, and the options and threads the run
// gets on them. Throws FsError.
void open_for_passes(RunSetup& setup, Summary& summary, std::vector<UnmatchedLine>& unmatched, int& code) {
  const RunPlan& plan = setup.plan;
  bool deletes = std::count(plan.passes.begin(), plan.passes.end(), PassKind::kDelete) > 0;
  bool copies = std::count(plan.passes.begin(), plan.passes.end(), PassKind::kCopy) > 0;
  RootCheck check;
  check.create_dst = copies && !plan.options.dry_run;
  check.dst_may_be_missing = copies && plan.options.dry_run && plan.broker.empty();
  check.refuse_empty_source = deletes && !plan.allow_empty_source;
  check.dst_written = !plan.options.dry_run &&
                      std::any_of(plan.passes.begin(), plan.passes.end(), [](PassKind k) { return pass_info(k).writes; });
  setup.roots = open_roots(plan.src, plan.dst, check);
  Roots& roots = setup.roots;
  say_what_is_not_kept(plan, summary);
  unmatched = check_lists(plan, roots, deletes, setup.failures, summary, code);
  setup.threads = plan.threads;
  if (!plan.threads_chosen && plan.broker.empty()) {  // a distributed run's workers choose their own
    Concurrency c = default_concurrency(roots.src.get(), roots.src_path, roots.dst.get(), roots.dst_path, plan.threads);
    spdlog::debug("concurrency: {} threads ({}; -j N to choose)", c.threads, c.why);
    setup.threads = c.threads;
  }
  setup.options = plan.options;
  setup.options.lustre = lustre_for_run(plan.lustre, roots.src.get(), roots.src_path, roots.dst.get(), roots.dst_path);
  if (setup.options.lustre && plan.broker.empty()) {
    say_mdc_slots(setup.options.lustre->api(), roots.src_path, roots.dst_path, setup.threads);
  }
  setup.options.pin_entries = pin_entries_for(roots.src.get());
}

// One pass, shown while it runs (progress line, the sinks); returns what the summary says of it
// beyond its counters. Once it is over, the sinks push what they hold before the next one starts.
json run_one_pass(PassKind kind, const std::string& name, const PassContext& ctx, RunSetup& setup) {
  const RunPlan& plan = setup.plan;
  // Over a broker the line also says how many tasks are pending and how many workers consume.
  DistributedGauges gauges;
  ProgressLine progress(name, ctx.stats(), plan.progress, plan.progress_interval, [&gauges] { return gauges.text(); });
  NodeCounters per_node;
  json details = json::object();
  {
    RunCounters::Pass shown(setup.counters, name, ctx.stats(), setup.broker ? &per_node : nullptr);
    if (!setup.broker) {
      run_embedded(kind, ctx, setup.threads, setup.changelog);
    } else {
      details = run_distributed(kind, ctx, plan, *setup.broker, run_roots(setup.roots, plan.allow_empty_source),
                                setup.failures, setup.lock, per_node, setup.changelog, &gauges);
    }
  }
  if (std::string failed = flush_all(setup.sinks); !failed.empty()) spdlog::warn("{}", failed);
  return details;
}

// The passes in order, each into the summary; a delete that split link groups brings a copy
// again ("relink") before what follows. Stops after a pass a signal interrupted.
void run_passes(RunSetup& setup, Summary& summary, int& code) {
  const RunPlan& plan = setup.plan;
  std::vector<PassKind> passes = plan.passes;
  size_t relink_at = passes.size();  // none
  for (size_t i = 0; i < passes.size(); ++i) {
    PassKind kind = passes[i];
    const std::string name = i == relink_at ? "relink" : pass_name(kind);
    // A dry run onto a DST that does not exist yet: only the copy has something to say.
    if (!setup.roots.dst.valid() && kind != PassKind::kCopy) continue;
    PassStats stats;
    PassContext ctx(setup.roots.src.get(), setup.roots.dst.get(), setup.options, stats, setup.failures);
    auto start = std::chrono::steady_clock::now();
    json details = run_one_pass(kind, name, ctx, setup);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.add_pass(name, stats, seconds, details);
    // The delete removed names of target inodes that have others: those may now be a split link
    // group that the copy took for settled (it judges groups by their link count, which the
    // delete changed after it). A copy again settles them before dirtime, so that one sync
    // leaves an exact clone. Only then: it walks the whole tree.
    bool copied = std::find(passes.begin(), passes.begin() + i, PassKind::kCopy) != passes.begin() + i;
    if (kind == PassKind::kDelete && stats.shared_names_removed > 0 && !copied && setup.changelog) {
      setup.changelog->groups_split();  // no copy follows to settle them: no record names them either
    }
    if (kind == PassKind::kDelete && stats.shared_names_removed > 0 && copied && !plan.options.dry_run) {
      spdlog::info("delete: {} names of shared target inodes removed: copying again to settle their link groups",
                   stats.shared_names_removed.load());
      passes.insert(passes.begin() + i + 1, PassKind::kCopy);
      relink_at = i + 1;
    }
    if (stats.some_failed()) code = kExitSomeFailed;
    // Stopped by --max-errors (a run that limit cancelled, too) or cancelled by `lmover cancel`:
    // as after a signal, the later passes would act on a target this one did not finish.
    if (setup.failures.limit_reached() || details.value("cancelled", false)) {
      summary.set_interrupted(setup.failures.limit_reached() ? fmt::format("--max-errors {}", plan.max_errors)
                                                             : std::string("lmover cancel"));
      code = kExitSomeFailed;
      return;
    }
    if (interrupt_signal()) {
      summary.set_interrupted(signal_name(interrupt_signal()));
      code = 128 + interrupt_signal();
      return;  // the later passes would act on a target this one did not finish
    }
  }
}

}  // namespace

int execute(const RunPlan& plan) {
  catch_interrupts();
  Summary summary(plan.command, plan.src, plan.dst, plan.options.dry_run);
  FailureLog failures;
  int code = kExitOk;
  std::vector<UnmatchedLine> unmatched_excludes;
  try {
    if (!plan.failures_file.empty()) failures.open_list(plan.failures_file);
    // The engines stop as they do for SIGINT; run_passes then says why.
    failures.stop_after(plan.max_errors, [] { interrupt_requested() = true; });
    // A broker that cannot be reached or refuses our login fails the run before anything is made.
    std::optional<AmqpBroker> broker;
    if (!plan.broker.empty()) {
      broker = broker_for(plan.broker);
      broker->connect();  // the probe
    }
    RunSetup setup{plan, {}, {}, 1, broker ? &*broker : nullptr, nullptr, failures};
    open_for_passes(setup, summary, unmatched_excludes, code);
    start_sinks(setup);
    std::optional<TargetLock> lock;  // a dry run, or a verify, writes nothing and needs none
    bool writes = std::any_of(plan.passes.begin(), plan.passes.end(), [](PassKind k) { return pass_info(k).writes; });
    if (!plan.options.dry_run && writes) lock.emplace(plan.dst, plan.command);
    setup.lock = lock ? &*lock : nullptr;
    const LustreApi* api = setup.options.lustre ? &setup.options.lustre->api() : nullptr;
    ChangelogRun changelog(plan, setup.roots.src_path, setup.roots.src.get(), api, setup.threads, summary);
    setup.changelog = &changelog;
    if (plan.report_changes) {
      changelog.report();
    } else {
      run_passes(setup, summary, code);
      changelog.finish(code == kExitOk && !interrupt_signal());
    }
  } catch (const FsError& e) {
    record_fatal(summary, e, code);
  } catch (const BrokerError& e) {
    record_fatal(summary, e, code);
  }
  say_unmatched_excludes(unmatched_excludes);
  if (std::string unlogged = failures.unlogged_summary(); !unlogged.empty()) spdlog::warn("{}", unlogged);
  write_summary(summary, code, plan.json_file);
  return code;
}

}  // namespace lmover
