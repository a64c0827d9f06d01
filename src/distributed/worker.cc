#include "distributed/worker.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/give_up.h"
#include "fs/fs_error.h"
#include "fs/host_name.h"
#include "report/log_run_tag.h"
#include "report/version.h"
#include "distributed/broker_retry.h"
#include "distributed/task_queues.h"

namespace lmover {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// One broker connection at a time while `ready()` and until `stop`: `setup` declares and
// subscribes, `serve` works until it returns (e.g. its thread slot went idle). A broker failure
// anywhere means a new connection, tried for ever as BrokerRetry does (its backoff starts afresh
// once a setup succeeds).
template <typename Ready, typename Setup, typename Serve>
void stay_connected(const Broker& broker, const std::atomic<bool>& stop, const std::string& who, Ready ready,
                    Setup setup, Serve serve) {
  BrokerRetry retry(BrokerRetry::kForever, &stop);
  while (!stop) {
    if (!ready()) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    try {
      retry.run(who, [&] {
        if (!ready()) return;  // went idle (paused, shrunk, resting) while the broker was away
        std::unique_ptr<BrokerSession> session = broker.connect();
        setup(*session);
        retry.contact();
        serve(*session);
      });
    } catch (const BrokerRetry::Stopped&) {
      return;
    }
  }
}

std::string host_and_pid() { return host_name() + ":" + std::to_string(getpid()); }

}  // namespace

Worker::Worker(const Broker& broker, QueueNames queues, unsigned threads, RunnerFactory factory)
    : broker_(broker),
      queues_(std::move(queues)),
      factory_(std::move(factory)),
      id_(host_and_pid()),
      target_threads_(threads ? threads : 1) {}

void Worker::run(std::atomic<bool>& stop) {
  std::thread control([this, &stop] { control_main(stop); });
  // Thread slots are added as `grow` asks; a slot beyond the target (or all, when paused) idles
  // without a connection, so the broker hands it nothing.
  std::vector<std::thread> pool;
  while (!stop) {
    while (pool.size() < target_threads_) {
      unsigned slot = static_cast<unsigned>(pool.size());
      pool.emplace_back([this, slot, &stop] { thread_main(slot, stop); });
    }
    std::this_thread::sleep_for(100ms);
  }
  for (auto& t : pool) t.join();
  control.join();
}

void Worker::thread_main(unsigned slot, const std::atomic<bool>& stop) {
  stay_connected(
      broker_, stop, fmt::format("worker thread {}", slot), [&] { return slot_active(slot) && !resting(slot); },
      [&](BrokerSession& session) {
        declare_task_queues(session, queues_);
        session.set_prefetch(1);
        session.consume(queues_.dirs());
        session.consume(queues_.files());
      },
      [&](BrokerSession& session) { serve(slot, session, stop); });
}

void Worker::serve(unsigned slot, BrokerSession& session, const std::atomic<bool>& stop) {
  while (!stop && slot_active(slot) && !resting(slot)) {
    if (auto delivery = session.next_delivery(500ms)) handle(slot, session, *delivery);
  }
  // Leaving closes the connection: a delivery already pushed to us but not started goes back.
}

std::shared_ptr<TaskRunner> Worker::runner_for(const std::string& run, const json& spec) {
  constexpr size_t kRunsKept = 4;  // a sync runs three passes back to back; older runs are over
  std::lock_guard lock(runners_mutex_);
  for (const auto& [id, runner] : runners_) {
    if (id == run) return runner;
  }
  auto runner = factory_(spec);
  if (unsigned wanted = runner->wanted_threads(); grow_for_runs_ && wanted > target_threads_) {
    spdlog::info("run {}: {} threads, as its roots are latency-bound (-j N to choose)", run, wanted);
    target_threads_ = wanted;
  }
  runners_.emplace_front(run, runner);
  if (runners_.size() > kRunsKept) runners_.pop_back();
  return runner;
}

void Worker::handle(unsigned slot, BrokerSession& session, const Delivery& delivery) {
  TaskMessage message;
  std::shared_ptr<TaskRunner> runner;
  try {
    message = decode_task(delivery.body);
    runner = runner_for(message.run, message.spec);
  } catch (const RunRefused& e) {
    return refuse(slot, session, delivery, message.run, e.what());
  } catch (const OtherVersion& e) {
    // Back to the queue for a worker of the run's own version, and the submitter told why.
    if (!e.run.empty()) return refuse(slot, session, delivery, e.run, e.what());
    return dead_letter(session, delivery, e.what());
  } catch (const std::exception& e) {
    return dead_letter(session, delivery, e.what());
  }
  LogRunTag log_tag(message.run);  // this thread's lines name the run until the task is done
  if (!run_is_live(session, message.run)) {
    // A duplicate of a task of a run that is complete (a redelivered parent published its
    // children again): running it now would write the target after its submitter moved on.
    spdlog::debug("dropping a task of run {}, which is over", message.run);
    session.ack(delivery.tag);
    return;
  }
  {
    std::lock_guard lock(active_mutex_);
    const Task& first = message.tasks.front().task;
    active_[slot] = ActiveTask{first.dir, first.kind, message.tasks.size(), std::chrono::steady_clock::now()};
  }
  // A redelivery: another worker (or this one, before a reconnect) died or was cut off holding it.
  if (delivery.redelivered) ++redelivered_;
  ReportMessage report;
  report.run = message.run;
  report.node = id_.substr(0, id_.rfind(':'));  // the host: statistics are per node
  report.lineage = message.lineage;
  // The delivered tasks, then their descendants, newest first (depth-first, like the embedded
  // engine), for as long as the time budget lasts: every message costs the broker a persistent
  // write and a confirm, so one delivery should carry a worthwhile amount of work. What is left
  // goes out for the other workers in a few bundles (publish_leftovers). Measured on 100k small
  // files, 2 workers, one task per message: 8000 messages and 3.9 s without the budget; 50 ms
  // 1.7 s, 100 ms 1.4 s, 200 ms 1.25 s, 400 ms 1.4 s.
  constexpr auto kInlineBudget = 200ms;
  auto deadline = std::chrono::steady_clock::now() + kInlineBudget;
  std::vector<QueuedTask> stack(std::make_move_iterator(message.tasks.rbegin()), std::make_move_iterator(message.tasks.rend()));
  CollectingSink children;
  // Ours only while the broker can count on this connection, and while the run goes on: see
  // engine/give_up.h.
  GiveUpWhen fence([&] {
    try {
      return session.in_touch() && run_is_live(session, message.run);
    } catch (const BrokerError&) {
      return false;
    }
  });
  try {
    run_inline(*runner, report, stack, children, deadline);
  } catch (const TaskGivenUp&) {
    ++given_up_;
    throw BrokerError(fmt::format("broker {}: out of touch, or run {} is over, while running its tasks in '{}': given "
                                  "up there (the broker gives them to a worker in touch)",
                                  broker_.where(), message.run, printable(message.tasks.front().task.dir)));
  }
  publish_leftovers(session, message, report.lineage, stack);
  session.publish(queues_.reports(message.run), encode(report));
  session.wait_for_confirms();
  session.ack(delivery.tag);
  tasks_done_ += report.done.size();
  std::lock_guard lock(active_mutex_);
  active_.erase(slot);
}

void Worker::dead_letter(BrokerSession& session, const Delivery& delivery, const std::string& why) {
  // Not ours or damaged (also a spec this version cannot read): to the dead-letter queue for a
  // human to look at, never a silent drop.
  spdlog::error("rejecting a message from {} to {}: {}", delivery.queue, queues_.dead_letters(), why);
  session.reject(delivery.tag, false);
}

bool Worker::run_is_live(BrokerSession& session, const std::string& run) {
  // The submitter deletes a run's report queue once the run is complete, then waits
  // kRunOverGrace (submitter.h) before it acts on the target: a run seen live longer ago than
  // this is looked at again, so that nothing of a complete run starts after that grace.
  constexpr auto kSeenLiveFor = 250ms;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(active_mutex_);
    auto it = live_runs_.find(run);
    if (it != live_runs_.end() && now - it->second < kSeenLiveFor) return true;
  }
  bool live = session.ready_messages(queues_.reports(run)).has_value();
  std::lock_guard lock(active_mutex_);
  if (live) {
    live_runs_[run] = now;
  } else {
    live_runs_.erase(run);
  }
  if (live_runs_.size() > 64) live_runs_.clear();  // runs come and go: keep the map small
  return live;
}

void Worker::run_inline(TaskRunner& runner, ReportMessage& report, std::vector<QueuedTask>& stack,
                              CollectingSink& children, std::chrono::steady_clock::time_point deadline) {
  while (!stack.empty() && (report.done.empty() || std::chrono::steady_clock::now() < deadline)) {
    give_up_point();
    QueuedTask next = std::move(stack.back());
    stack.pop_back();
    TaskResult& result = report.done.emplace_back();
    result.up = next.up;
    result.id = next.task.id;
    children.tasks.clear();
    try {
      TaskOutcome outcome = runner.run(next.task, children);
      report.set_counters(result, outcome.counters);
      result.failures = std::move(outcome.failures);
      result.linked = std::move(outcome.linked);
    } catch (const BrokerError&) {
      throw;  // a broker the task needs (the shared budget) is away: not the entry's fault; redone later
    } catch (const std::exception& e) {
      // A runner must not throw for a failing entry; if it does anyway, the task's directory is
      // reported failed rather than retried forever.
      spdlog::error("task on '{}' failed: {}", printable(next.task.dir), e.what());
      report.set_counters(result, {{"errors", 1}});
      result.failures.emplace_back(next.task.dir, e.what());
    }
    if (!children.tasks.empty()) {
      uint32_t up = report.lineage.add(next.up, next.task.id);
      for (Task& child : children.tasks) {
        result.children.push_back(child.id);
        stack.push_back(QueuedTask{std::move(child), up});
      }
    }
    // The root's children go out at once: every other worker is idle until something is published.
    if (next.up == LineageTable::kTop) break;
  }
}

void Worker::publish_leftovers(BrokerSession& session, const TaskMessage& delivered, const LineageTable& lineage,
                                     std::vector<QueuedTask>& left) {
  // Spread over a few messages per queue, so that idle workers get a share each: bottom of the
  // stack (shallow directories, big subtrees) and top alike, dealt round-robin. More messages only
  // when one would carry too many tasks or bytes.
  constexpr size_t kSpread = 8, kMaxTasks = 256, kMaxBytes = 1 << 20;
  for (TaskKind kind : {TaskKind::kDirectory, TaskKind::kPlaces, TaskKind::kBatch, TaskKind::kChunk}) {
    std::vector<QueuedTask*> tasks;
    size_t bytes = 0;
    for (QueuedTask& q : left) {
      if (q.task.kind != kind) continue;
      tasks.push_back(&q);
      bytes += 32 + q.task.dir.size();
      for (const auto& name : q.task.names) bytes += 4 + name.size();
    }
    if (tasks.empty()) continue;
    size_t count = std::max({std::min(tasks.size(), kSpread), (tasks.size() + kMaxTasks - 1) / kMaxTasks,
                             (bytes + kMaxBytes - 1) / kMaxBytes});
    std::vector<TaskMessage> out(count);
    std::vector<std::vector<uint32_t>> memo(count);
    for (size_t i = 0; i < tasks.size(); ++i) {
      TaskMessage& m = out[i % count];
      uint32_t up = m.lineage.copy_from(lineage, tasks[i]->up, memo[i % count]);
      m.tasks.push_back(QueuedTask{std::move(tasks[i]->task), up});
    }
    for (TaskMessage& m : out) {
      m.run = delivered.run;
      m.spec = delivered.spec;
      session.publish(queues_.for_task(m.tasks.front().task), encode(m));
    }
  }
}

void Worker::refuse(unsigned slot, BrokerSession& session, const Delivery& delivery, const std::string& run,
                          const std::string& why) {
  // Back to the queue for a node that sees the right filesystems; this slot rests meanwhile (its
  // connection closes, so the broker cannot hand the same task straight back), then checks again:
  // the mount may have been fixed.
  constexpr auto kRest = 5s;
  session.reject(delivery.tag, true);
  bool first = false;
  {
    std::lock_guard lock(active_mutex_);
    resting_until_[slot] = std::chrono::steady_clock::now() + kRest;
    if (std::find(refused_runs_.begin(), refused_runs_.end(), run) == refused_runs_.end()) {
      first = true;
      refused_runs_.push_front(run);
      if (refused_runs_.size() > 16) refused_runs_.pop_back();
    }
  }
  if (!first) return;
  spdlog::error("refusing the tasks of run {}: {}", run, why);
  ReportMessage notice;
  notice.run = run;
  notice.refused_by = id_;
  notice.reason = why;
  session.publish(queues_.reports(run), encode(notice));
  session.wait_for_confirms();
}

bool Worker::resting(unsigned slot) const {
  std::lock_guard lock(active_mutex_);
  auto it = resting_until_.find(slot);
  return it != resting_until_.end() && std::chrono::steady_clock::now() < it->second;
}

json Worker::describe(bool with_tasks) const {
  json out = {{"worker", id_},
              {"version", version_line()},
              {"threads", target_threads_.load()},
              {"paused", paused_.load()},
              {"tasks_done", tasks_done_.load()},
              {"redelivered", redelivered_.load()},
              {"given_up", given_up_.load()},
              {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()}};
  std::lock_guard lock(active_mutex_);
  out["active"] = active_.size();
  if (with_tasks) {
    json tasks = json::array();
    auto now = std::chrono::steady_clock::now();
    for (const auto& [slot, t] : active_) {
      tasks.push_back({{"thread", slot},
                       {"kind", task_kind_name(t.kind)},
                       {"dir", printable(t.dir.empty() ? "." : t.dir)},
                       {"entries", t.entries},
                       {"seconds", std::chrono::duration<double>(now - t.since).count()}});
    }
    out["tasks"] = tasks;
  }
  return out;
}

std::vector<std::string> Worker::node_names() const {
  std::string host = id_.substr(0, id_.rfind(':'));
  // The host as this worker knows it, or its short name (clusters mix "n01" and "n01.hpc.example").
  return {id_, host, host.substr(0, host.find('.'))};
}

bool Worker::addressed_to_us(const json& command) const {
  std::string node = command.value("node", "");
  std::vector<std::string> names = node_names();
  return node.empty() || std::find(names.begin(), names.end(), node) != names.end();
}

json Worker::obey(const json& command, std::atomic<bool>& stop) {
  std::string cmd = command.value("cmd", "");
  unsigned n = command.value("n", 0u);
  if (cmd == "stop") {
    spdlog::info("control: stop requested");
    stop = true;
  } else if (cmd == "pause") {
    paused_ = true;
  } else if (cmd == "resume") {
    paused_ = false;
  } else if (cmd == "grow") {
    target_threads_ += n;
  } else if (cmd == "shrink") {
    unsigned now = target_threads_;
    target_threads_ = now > n ? now - n : 0;
  } else if (cmd != "workers" && cmd != "active") {
    return {{"worker", id_}, {"error", "unknown command '" + cmd + "'"}};
  }
  if (cmd != "workers" && cmd != "active") spdlog::info("control: {} {} -> {} threads, paused={}", cmd, n, target_threads_.load(), paused_.load());
  return describe(cmd == "active");
}

void Worker::follow_held_pause(BrokerSession& session) {
  bool held = session.ready_messages(queues_.paused()).has_value();  // every worker of the prefix
  for (const std::string& node : node_names()) held = held || session.ready_messages(queues_.paused(node)).has_value();
  if (held != paused_.exchange(held)) spdlog::info("control: {} (held on the broker)", held ? "paused" : "resumed");
}

void Worker::control_main(std::atomic<bool>& stop) {
  stay_connected(
      broker_, stop, "worker control", [] { return true; },
      [&](BrokerSession& session) {
        session.declare_fanout_exchange(queues_.control());
        std::string inbox = session.declare_private_queue(queues_.control());
        session.set_prefetch(1);
        session.consume(inbox);
        session.declare_queue(queues_.workers());
        session.consume(queues_.workers());  // counted there as one connected worker
      },
      [&](BrokerSession& session) {
        auto looked = std::chrono::steady_clock::now();
        bool connected_now = true;
        while (!stop) {
          // At every (re)connect: a pause or resume sent while this worker was away (a broker
          // restart, a cut link) is found in the state the broker holds. Then every 30 s only, as
          // a safety net: a connected worker hears the commands themselves, and 200 workers
          // looking every 2 s would cost the broker 400 declares a second.
          if (std::exchange(connected_now, false) || std::chrono::steady_clock::now() - looked > 30s) {
            follow_held_pause(session);
            looked = std::chrono::steady_clock::now();
          }
          auto delivery = session.next_delivery(300ms);
          if (!delivery) continue;
          json command = json::from_msgpack(delivery->body, true, false);
          if (command.is_discarded() || !command.contains("reply")) {
            spdlog::error("ignoring a malformed control message");
          } else if (addressed_to_us(command)) {  // else for another node: neither obeyed nor answered
            json answer = obey(command, stop);
            session.publish(command["reply"].get<std::string>(), pack_msgpack(answer));
            session.wait_for_confirms();
          }
          session.ack(delivery->tag);
        }
      });
}

}  // namespace lmover
