#include "rabbit/worker.h"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace lmover {
namespace {

// Children are kept until the task is done, then published together.
class CollectingSink : public TaskSink {
 public:
  void submit(Task task) override { tasks.push_back(std::move(task)); }
  std::vector<Task> tasks;
};

void sleep_unless_stopped(const std::atomic<bool>& stop, std::chrono::milliseconds total) {
  for (auto slept = std::chrono::milliseconds(0); slept < total && !stop; slept += std::chrono::milliseconds(100)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

void declare_task_queues(AmqpSession& session, const QueueNames& queues) {
  session.declare_queue(queues.dead_letters());
  session.declare_queue(queues.dirs(), queues.dead_letters());
  session.declare_queue(queues.files(), queues.dead_letters());
}

RabbitWorker::RabbitWorker(BrokerAddress address, QueueNames queues, unsigned threads, RunnerFactory factory)
    : address_(std::move(address)), queues_(std::move(queues)), threads_(threads ? threads : 1), factory_(std::move(factory)) {}

void RabbitWorker::run(const std::atomic<bool>& stop) {
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads_; ++i) pool.emplace_back([this, &stop] { thread_main(stop); });
  for (auto& t : pool) t.join();
}

void RabbitWorker::thread_main(const std::atomic<bool>& stop) {
  auto backoff = std::chrono::milliseconds(500);
  while (!stop) {
    try {
      AmqpSession session(address_);
      declare_task_queues(session, queues_);
      session.set_prefetch(1);
      session.consume(queues_.dirs());
      session.consume(queues_.files());
      backoff = std::chrono::milliseconds(500);
      serve(session, stop);
    } catch (const BrokerError& e) {
      spdlog::warn("{}; reconnecting in {} ms", e.what(), backoff.count());
      sleep_unless_stopped(stop, backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
    }
  }
}

void RabbitWorker::serve(AmqpSession& session, const std::atomic<bool>& stop) {
  while (!stop) {
    auto delivery = session.next_delivery(std::chrono::milliseconds(500));
    if (delivery) handle(session, *delivery);
  }
}

std::shared_ptr<TaskRunner> RabbitWorker::runner_for(const nlohmann::json& spec) {
  std::string key = spec.dump();
  std::lock_guard lock(runners_mutex_);
  auto it = runners_.find(key);
  if (it != runners_.end()) return it->second;
  auto runner = factory_(spec);
  runners_.emplace(std::move(key), runner);
  return runner;
}

void RabbitWorker::handle(AmqpSession& session, const Delivery& delivery) {
  TaskMessage message;
  try {
    message = decode_task(delivery.body);
  } catch (const std::invalid_argument& e) {
    // Not ours or damaged: to the dead-letter queue for a human to look at, never a silent drop.
    spdlog::error("rejecting a message from {} to {}: {}", delivery.queue, queues_.dead_letters(), e.what());
    session.reject(delivery.tag, false);
    return;
  }
  ReportMessage report;
  report.run = message.run;
  report.id = message.task.id;
  CollectingSink children;
  try {
    TaskOutcome outcome = runner_for(message.spec)->run(message.task, children);
    report.counters = std::move(outcome.counters);
    report.failures = std::move(outcome.failures);
  } catch (const std::exception& e) {
    // This node cannot run the pass at all (e.g. a root is not mounted here): report the task
    // as failed rather than loop on it forever.
    spdlog::error("task on '{}' cannot run here: {}", message.task.dir, e.what());
    report.counters = {{"errors", 1}};
    report.failures.emplace_back(message.task.dir, e.what());
    children.tasks.clear();
  }
  for (const Task& child : children.tasks) {
    report.children.push_back(child.id);
    session.publish(queues_.for_task(child), encode(TaskMessage{message.run, message.spec, child}));
  }
  session.publish(queues_.reports(message.run), encode(report));
  session.wait_for_confirms();
  session.ack(delivery.tag);
}

}  // namespace lmover
