// The task queues every party of a prefix shares: declared alike by workers and submitters, and
// looked at (their depths) by --metrics-listen and `lmover stats graphite`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "distributed/broker.h"
#include "distributed/messages.h"
#include "stats/counter_sink.h"

namespace lmover {

// Declares the task queues and their dead-letter queue (idempotent; same arguments everywhere).
void declare_task_queues(BrokerSession& session, const QueueNames& queues);

// Ready messages by queue name, for the task queues that exist. Throws BrokerError.
std::map<std::string, uint64_t> task_queue_depths(const Broker& broker, const QueueNames& queues);

// A queue's depth as the sinks' gauge: lmover_queue_ready_messages{queue=...} for Prometheus,
// "queues.<queue>.ready" for Graphite.
GaugeValue queue_gauge(const std::string& queue, uint64_t ready);

// Every task queue's, as task_queue_depths finds them. Throws BrokerError.
std::vector<GaugeValue> task_queue_gauges(const Broker& broker, const QueueNames& queues);

}  // namespace lmover
