// Worker: `lmover worker` on a data-mover node. Each thread holds its own broker
// connection and consumes task messages (bundles of directory or file-batch tasks, one
// unacknowledged message per queue at a time), runs them and what they spawn for a time budget,
// publishes the rest and a report, waits for the broker to confirm them, and only then acks. A worker killed at any point therefore loses nothing: its task is redelivered and,
// being idempotent, simply runs again. Broker outages are ridden out by reconnecting with backoff.
//
// A control thread listens on the fanout exchange <prefix>.control for `lmover control`:
// workers / active (describe), stop, pause / resume, grow N / shrink N (threads, live).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <deque>
#include <utility>
#include <vector>

#include "distributed/broker.h"
#include "distributed/messages.h"
#include "distributed/task_runner.h"

namespace lmover {

// Children are kept until the task is done, then published together.
class CollectingSink : public TaskSink {
 public:
  void submit(Task task) override { tasks.push_back(std::move(task)); }
  std::vector<Task> tasks;
};

class Worker {
 public:
  Worker(const Broker& broker, QueueNames queues, unsigned threads, RunnerFactory factory);

  // When on (no -j given), a run whose roots want more threads on this node (latency-bound
  // filesystems: TaskRunner::wanted_threads) gets them; the count never shrinks by itself.
  void grow_for_runs(bool on) { grow_for_runs_ = on; }

  // Consumes until `stop` becomes true (a signal, or `lmover control stop`), then finishes the
  // tasks in hand and returns.
  void run(std::atomic<bool>& stop);

 private:
  struct ActiveTask {
    std::string dir;
    TaskKind kind;
    size_t entries;
    std::chrono::steady_clock::time_point since;
  };

  void thread_main(unsigned slot, const std::atomic<bool>& stop);
  void serve(unsigned slot, BrokerSession& session, const std::atomic<bool>& stop);
  void handle(unsigned slot, BrokerSession& session, const Delivery& delivery);
  // Runs the stack's tasks, newest first, and what they spawn, into `report`, until the deadline.
  void run_inline(TaskRunner& runner, ReportMessage& report, std::vector<QueuedTask>& stack, CollectingSink& children,
                  std::chrono::steady_clock::time_point deadline);
  // Publishes the tasks `left` undone after a delivery's time budget, for any worker to take.
  void publish_leftovers(BrokerSession& session, const TaskMessage& delivered, const LineageTable& lineage,
                         std::vector<QueuedTask>& left);
  // This node must not run `run` (RunRefused): the task goes back, the submitter hears why once.
  void refuse(unsigned slot, BrokerSession& session, const Delivery& delivery, const std::string& run,
              const std::string& why);
  bool resting(unsigned slot) const;
  // Whether `run` is still going on (its report queue exists); asked of the broker at most every
  // quarter second per run.
  bool run_is_live(BrokerSession& session, const std::string& run);
  std::shared_ptr<TaskRunner> runner_for(const std::string& run, const nlohmann::json& spec);
  bool slot_active(unsigned slot) const { return !paused_ && slot < target_threads_; }

  void control_main(std::atomic<bool>& stop);
  // A message that is not a task of ours, rejected to the dead-letter queue with a line saying why.
  void dead_letter(BrokerSession& session, const Delivery& delivery, const std::string& why);
  // What `--node` may name this worker by: host:pid, its host, the host's short name.
  std::vector<std::string> node_names() const;
  // Takes the pause state `lmover control` holds on the broker (QueueNames::paused).
  void follow_held_pause(BrokerSession& session);
  nlohmann::json obey(const nlohmann::json& command, std::atomic<bool>& stop);
  // A control command without "node" is for every worker; with one, for that host or host:pid.
  bool addressed_to_us(const nlohmann::json& command) const;
  nlohmann::json describe(bool with_tasks) const;

  const Broker& broker_;
  QueueNames queues_;
  RunnerFactory factory_;
  std::string id_;  // host:pid
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<unsigned> target_threads_;
  bool grow_for_runs_ = false;
  std::atomic<bool> paused_{false};
  std::atomic<uint64_t> tasks_done_{0};
  std::atomic<uint64_t> redelivered_{0};  // messages that came to this worker a second time
  std::atomic<uint64_t> given_up_{0};     // deliveries given up half-way, out of touch with the broker
  std::mutex runners_mutex_;
  // By run: each run opens the roots afresh (a target may have been recreated between runs).
  std::deque<std::pair<std::string, std::shared_ptr<TaskRunner>>> runners_;
  mutable std::mutex active_mutex_;
  std::map<unsigned, ActiveTask> active_;  // thread slot -> its task in hand
  std::map<unsigned, std::chrono::steady_clock::time_point> resting_until_;  // after a refusal
  std::deque<std::string> refused_runs_;  // the newest few, so each refusal is said once
  std::map<std::string, std::chrono::steady_clock::time_point> live_runs_;  // run -> last seen live
};

}  // namespace lmover
