// RabbitWorker: `lmover worker` on a data-mover node. Each thread holds its own broker
// connection and consumes directory and file-batch tasks (one unacknowledged task at a time), runs
// it, publishes its children and a report, waits for the broker to confirm them, and only then
// acks the task. A worker killed at any point therefore loses nothing: its task is redelivered and,
// being idempotent, simply runs again. Broker outages are ridden out by reconnecting with backoff.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "rabbit/amqp_session.h"
#include "rabbit/messages.h"
#include "rabbit/task_runner.h"

namespace lmover {

class RabbitWorker {
 public:
  RabbitWorker(BrokerAddress address, QueueNames queues, unsigned threads, RunnerFactory factory);

  // Consumes until `stop` becomes true, then finishes the tasks in hand and returns.
  void run(const std::atomic<bool>& stop);

 private:
  void thread_main(const std::atomic<bool>& stop);
  void serve(AmqpSession& session, const std::atomic<bool>& stop);
  void handle(AmqpSession& session, const Delivery& delivery);
  std::shared_ptr<TaskRunner> runner_for(const nlohmann::json& spec);

  BrokerAddress address_;
  QueueNames queues_;
  unsigned threads_;
  RunnerFactory factory_;
  std::mutex runners_mutex_;
  std::unordered_map<std::string, std::shared_ptr<TaskRunner>> runners_;  // by spec text
};

// Declares the task queues and their dead-letter queue (idempotent; same arguments everywhere).
void declare_task_queues(AmqpSession& session, const QueueNames& queues);

}  // namespace lmover
