#include "distributed/task_queues.h"

#include "stats/memcached_counters.h"

#include <memory>

namespace lmover {

void declare_task_queues(BrokerSession& session, const QueueNames& queues) {
  session.declare_queue(queues.dead_letters());
  session.declare_queue(queues.dirs(), queues.dead_letters());
  session.declare_queue(queues.files(), queues.dead_letters());
}

std::map<std::string, uint64_t> task_queue_depths(const Broker& broker, const QueueNames& queues) {
  std::unique_ptr<BrokerSession> session = broker.connect();
  std::map<std::string, uint64_t> depths;
  for (const std::string& q : {queues.dirs(), queues.files(), queues.dead_letters()}) {
    if (auto n = session->ready_messages(q)) depths[q] = *n;
  }
  return depths;
}

GaugeValue queue_gauge(const std::string& queue, uint64_t ready) {
  return {"lmover_queue_ready_messages", "Messages ready in a task queue.", {{"queue", queue}}, double(ready),
          "queues." + metric_element(queue) + ".ready"};
}

std::vector<GaugeValue> task_queue_gauges(const Broker& broker, const QueueNames& queues) {
  std::vector<GaugeValue> out;
  for (const auto& [queue, n] : task_queue_depths(broker, queues)) out.push_back(queue_gauge(queue, n));
  return out;
}

}  // namespace lmover
