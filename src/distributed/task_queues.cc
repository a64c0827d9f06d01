#include "distributed/task_queues.h"

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

}  // namespace lmover
