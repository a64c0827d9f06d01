// `lmover control`: sends one command to every worker of a prefix over the fanout exchange
// <prefix>.control and gathers their answers (each worker describes itself after obeying), and
// says how many workers were connected to answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/broker.h"
#include "distributed/messages.h"

namespace lmover {

struct ControlAnswers {
  std::vector<nlohmann::json> answers;  // those that arrived within the wait
  std::optional<uint32_t> connected;    // workers connected when it was sent (nullopt: unknown)
};

// Sends `command` and gathers the answers that arrive within `wait` (workers that are down simply
// do not answer). With `node`, only the workers of that host (or that one worker, host:pid) obey
// and answer. `pause` and `resume` are also held on the broker (QueueNames::paused) for workers
// that reconnect later.
ControlAnswers send_control(const Broker& broker, const QueueNames& queues, const std::string& command, unsigned n,
                            std::chrono::milliseconds wait, const std::string& node = "");

}  // namespace lmover
