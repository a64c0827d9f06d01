// `lmover control`: sends one command to every worker of a prefix over the fanout exchange
// <prefix>.control and gathers their answers (each worker describes itself after obeying).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/broker.h"
#include "distributed/messages.h"

namespace lmover {

// Returns the answers that arrived within `wait` (workers that are down simply do not answer).
// With `node`, only the workers of that host (or that one worker, host:pid) obey and answer.
std::vector<nlohmann::json> send_control(const Broker& broker, const QueueNames& queues,
                                         const std::string& command, unsigned n, std::chrono::milliseconds wait,
                                         const std::string& node = "");

}  // namespace lmover
