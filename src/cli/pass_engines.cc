#include "cli/pass_engines.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/broker_commands.h"
#include "cli/interrupt.h"
#include "cli/pass_factory.h"
#include "distributed/broker_retry.h"
#include "distributed/consumer_watch.h"
#include "distributed/submitter.h"
#include "distributed/unit_pool.h"
#include "engine/thread_engine.h"
#include "passes/changed_places.h"

namespace lmover {
namespace {

using json = nlohmann::json;

// What the last phase of a changelog-driven pass visits (ChangedPlacesPass's `more`), one run
// each: a copy's own follower's names; for dirtime, those of every copy before it.
std::vector<const PlaceSpool*> last_phase_places(LinkFollower* links, PassKind kind, const ChangelogRun& changelog) {
  if (links) return {&links->close()};
  return changelog.followed_for(kind);
}

// A changelog-driven pass: the places the changelog names, in ChangedPlacesPass's phases; the
// hard-link groups a copy meets in the first two are followed to all their names in the last.
uint64_t run_phases(ThreadEngine& engine, Pass& pass, PassKind kind, const PassContext& ctx, ChangelogRun& changelog,
                    const PlaceSpool& places) {
  constexpr int kLast = ChangedPlacesPass::kPhases - 1;
  LinkFollower* links = changelog.follow_links(kind);
  uint64_t broken = 0;
  if (links) ctx.watch_links([links](std::string_view rel) { links->met(rel); });
  for (int phase = 0; phase < kLast && !interrupt_signal(); ++phase) {
    ChangedPlacesPass scoped(pass, ctx, places, phase);
    broken += engine.run(scoped, Task::root(), &interrupt_requested());
  }
  ctx.watch_links({});
  for (const PlaceSpool* more : last_phase_places(links, kind, changelog)) {
    if (interrupt_signal()) break;
    ChangedPlacesPass scoped(pass, ctx, places, kLast, more);
    broken += engine.run(scoped, Task::root(), &interrupt_requested());
  }
  return broken;
}

}  // namespace

std::string DistributedGauges::text() const {
  int64_t p = pending, c = consumers;
  std::string out = p < 0 ? "" : fmt::format("{} tasks pending", p);
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (c == ConsumerWatch::kUnreachable) add("broker unreachable");
  if (paused) add("workers paused (lmover control resume)");
  if (c == 0 && !paused) add("no worker is consuming");
  if (c > 0) add(fmt::format("{} worker threads consuming", c));
  return out;
}

void run_embedded(PassKind kind, const PassContext& ctx, unsigned threads, ChangelogRun* changelog) {
  ThreadEngine engine(threads);
  std::unique_ptr<Pass> pass = make_pass(kind, ctx);
  const PlaceSpool* places = changelog ? changelog->places_for(kind) : nullptr;
  pass->prepare();
  uint64_t broken = places ? run_phases(engine, *pass, kind, ctx, *changelog, *places)
                           : engine.run(*pass, Task::root(), &interrupt_requested());
  pass->finish();
  PassStats::add(ctx.stats().errors, broken);
}

namespace {

// One pass on the workers of a broker: one run, or one per phase of a changelog-driven pass.
struct DistributedPass {
  const RunPlan& plan;
  const Broker& broker;
  const PassContext& ctx;
  FailureLog& failures;
  TargetLock* lock;
  NodeCounters& per_node;
  RunState::LinkedSink linked;  // where the hard-link groups the tasks met go, if anywhere
  DistributedGauges* gauges;           // what the run looks like as it goes, if anyone asks
  std::vector<std::string> runs = {};  // every run submitted, in order

  // Submits `spec` (its root's children from `root`, if given, else the root task itself) and
  // follows it to its end. Throws BrokerError.
  DistributedResult run(const json& spec, const Submitter::RootChildren& root = {}) {
    Submitter submitter(broker, QueueNames{plan.broker.prefix}, progress_into(ctx.stats(), gauges ? &gauges->pending : nullptr),
                        [&](const std::string& path, const std::string& message) { failures.record_remote(path, message); });
    submitter.retry_for(plan.broker.retry_for());
    // From the moment the run may reach the broker until it is complete, its lock stays whatever
    // ends this process (an error, the broker lost for good, a signal): the run's tasks may still be
    // writing the target, and only `lmover wait --run` for that run may take the lock over.
    std::string run;
    submitter.on_submitted([this, &run](const std::string& id) {
      run = id;
      runs.push_back(id);
      if (!lock) return;
      lock->set_run(id);
      lock->keep(true);
    });
    submitter.count_by_node([this](const std::string& node, const std::string& key, uint64_t value) {
      per_node.add(node, key, value);
    });
    submitter.on_linked(linked);
    submitter.stop_when(interrupt_requested());
    ConsumerWatch watch(broker, QueueNames{plan.broker.prefix}, gauges ? &gauges->consumers : nullptr,
                        ConsumerWatch::kEvery, gauges ? &gauges->paused : nullptr);
    try {
      return submitter.run(spec, root);
    } catch (const BrokerError& e) {
      if (run.empty()) throw;
      throw BrokerError(fmt::format("{}; run {} goes on on the workers and keeps the target's lock: re-attach with "
                                    "'lmover wait --run {}' once the broker is back",
                                    e.what(), run, run));
    }
  }
};

// Adds a later run's result to `total` (a changelog-driven pass: one run per phase).
void add_result(DistributedResult& total, DistributedResult next) {
  total.run = next.run;  // the one to re-attach to, if interrupted
  total.spec = std::move(next.spec);
  total.tasks += next.tasks;
  total.messages += next.messages;
  total.largest_message = std::max(total.largest_message, next.largest_message);
  total.refusals.update(next.refusals);
  total.interrupted = next.interrupted;
  total.cancelled = next.cancelled;
}

// Every file of `met` to the follower (LinkFollower::met), on `threads` threads.
void follow_all(LinkFollower& links, const std::unordered_set<std::string>& met, unsigned threads) {
  std::vector<const std::string*> todo;
  for (const std::string& rel : met) todo.push_back(&rel);
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads && t < todo.size(); ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < todo.size();) links.met(*todo[i]);
    });
  }
  for (auto& t : pool) t.join();
}

// Whether phase `phase` of `places` (or `more`) visits anything: a run of nothing still costs
// the broker's round trips and the end-of-run grace.
bool phase_visits_any(const PlaceSpool& places, int phase, const PlaceSpool* more) {
  struct Count : TaskSink {
    size_t tasks = 0;
    void submit(Task) override { ++tasks; }
  } count;
  ChangedPlacesPass::root_children(places, phase, more, count);
  return count.tasks > 0;
}

// A changelog-driven pass over a broker: ChangedPlacesPass's phases, one run each, whose root this
// process runs (the places are spooled here); the hard-link groups a copy meets in the first two
// come back in the reports and are followed to all their names in the last (see run_phases).
DistributedResult run_phases_distributed(DistributedPass& call, PassKind kind, const json& spec,
                                         ChangelogRun& changelog, const PlaceSpool& places, unsigned threads) {
  constexpr int kLast = ChangedPlacesPass::kPhases - 1;
  LinkFollower* links = changelog.follow_links(kind);
  std::mutex mutex;
  std::unordered_set<std::string> met;  // one per hard-linked file met, as the follower holds too
  if (links) {
    call.linked = [&](const std::string& rel) {
      std::lock_guard lock(mutex);
      met.insert(rel);
    };
  }
  DistributedResult total;
  total.spec = spec;  // where a --max-delete budget is, even when no phase had anything to visit
  auto run_phase = [&](int phase, const PlaceSpool* more) {
    if (!phase_visits_any(places, phase, more)) return;
    json phase_spec = spec;
    phase_spec["watch_links"] = links && phase < 2;
    add_result(total, call.run(phase_spec, [&](TaskSink& sink) { ChangedPlacesPass::root_children(places, phase, more, sink); }));
  };
  for (int phase = 0; phase < kLast && !total.interrupted && !total.cancelled && !interrupt_signal(); ++phase) {
    run_phase(phase, nullptr);
  }
  call.linked = {};
  if (links) follow_all(*links, met, threads);  // fid2path: ~0.7 ms each, so on many threads
  for (const PlaceSpool* more : last_phase_places(links, kind, changelog)) {
    if (total.interrupted || total.cancelled || interrupt_signal()) break;
    run_phase(kLast, more);
  }
  return total;
}

}  // namespace

json run_distributed(PassKind kind, const PassContext& ctx, const RunPlan& plan, const Broker& broker,
                     const RunRoots& roots, FailureLog& failures, TargetLock* lock, NodeCounters& per_node,
                     ChangelogRun* changelog, DistributedGauges* gauges) {
  std::unique_ptr<Pass> pass = make_pass(kind, ctx);  // its prepare/finish touch the roots only: here
  pass->prepare();
  json spec = make_spec(kind, roots, ctx.options());
  BrokerRetry retry(plan.broker.retry_for(), &interrupt_requested());
  if (kind == PassKind::kDelete && plan.options.max_delete && !plan.options.dry_run) {
    // One budget for every worker, held by the broker: see UnitPool. Filled afresh after a lost
    // broker (no task can take from it before the run is submitted), so it is never filled twice.
    std::string queue = fmt::format("{}.budget.{:016x}", plan.broker.prefix, (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}());
    try {
      retry.run("fill the --max-delete budget", [&] {
        std::unique_ptr<BrokerSession> session = broker.connect();
        session->delete_queue(queue);
        UnitPool::fill(*session, queue, *plan.options.max_delete);
      });
    } catch (const BrokerRetry::Stopped&) {
      return json::object();  // interrupted before the pass began: execute() says so
    }
    spec["max_delete"] = {{"queue", queue}};
  }
  DistributedPass call{plan, broker, ctx, failures, lock, per_node, {}, gauges};
  const PlaceSpool* places = changelog ? changelog->places_for(kind) : nullptr;
  auto start = std::chrono::steady_clock::now();
  unsigned threads = std::max(8u, std::thread::hardware_concurrency());
  DistributedResult result = places ? run_phases_distributed(call, kind, spec, *changelog, *places, threads)
                                    : call.run(spec);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("{}: {} tasks in {:.2f} s, {} messages: {:.0f} tasks/s, {:.0f} messages/s", pass_name(kind), result.tasks,
               seconds, result.messages, result.tasks / seconds, result.messages / seconds);
  if (result.interrupted && failures.limit_reached() && !interrupt_signal()) {
    // --max-errors: the run ends here, not only our following of it.
    retry.run("cancel run " + result.run, [&] { Submitter(broker, QueueNames{plan.broker.prefix}).cancel(result.run); });
    spdlog::warn("{}: run {} cancelled (--max-errors {}): its remaining tasks are dropped", pass_name(kind), result.run,
                 plan.max_errors);
    std::this_thread::sleep_for(kRunOverGrace);
    result.interrupted = false;
    result.cancelled = true;
  }
  if (result.cancelled) {
    // Over, without its end: nothing of it writes the target any more (the submitter waited out
    // kRunOverGrace), but what it would have done is not done; the next pass does it.
    if (lock) lock->keep(false);
  } else if (result.interrupted) {
    // The run goes on on the workers (they still use the hard-link area), and keeps the lock.
    spdlog::warn("{}: run {} goes on on the workers; re-attach with: lmover wait --run {}", pass_name(kind), result.run,
                 result.run);
  } else {
    if (lock) lock->keep(false);  // complete: nothing of it writes the target any more
    pass->finish();
    drop_shared_budget(broker, result.spec, retry);
  }
  json details = {{"run", result.run},
                  {"tasks", result.tasks},
                  {"messages", result.messages},
                  {"largest_message_bytes", result.largest_message},
                  {"refused_by", result.refusals}};
  if (result.cancelled) details["cancelled"] = true;
  if (call.runs.size() > 1) details["runs"] = call.runs;  // one per phase of a changelog-driven pass
  return details;
}

}  // namespace lmover
