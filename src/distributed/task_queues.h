// The task queues every party of a prefix shares: declared alike by workers and submitters, and
// looked at (their depths) by --metrics-listen and `lmover stats graphite`.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "distributed/broker.h"
#include "distributed/messages.h"

namespace lmover {

// Declares the task queues and their dead-letter queue (idempotent; same arguments everywhere).
void declare_task_queues(BrokerSession& session, const QueueNames& queues);

// Ready messages by queue name, for the task queues that exist. Throws BrokerError.
std::map<std::string, uint64_t> task_queue_depths(const Broker& broker, const QueueNames& queues);

}  // namespace lmover
