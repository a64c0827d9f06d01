// The submitter's checkpoint as it sits in its state queue: a header (seq, run, spec, counters,
// failures, refusals) and the completion tracker's bytes, cut into parts of at most 8 MiB so that
// no message grows with the run, however large the frontier (RabbitMQ refuses messages over
// max_message_size, 128 MiB by default). A checkpoint counts only when all its parts are there:
// a submitter killed halfway through publishing one leaves the previous one in force.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "distributed/broker.h"

namespace lmover {

inline constexpr size_t kCheckpointPartBytes = size_t(8) << 20;

struct Checkpoint {
  nlohmann::json header;  // must hold "seq" and "run"
  std::string tracker;    // CompletionTracker::save()
};

// The messages of one checkpoint, in order.
std::vector<std::string> checkpoint_parts(const Checkpoint& checkpoint);

// The newest complete checkpoint in `queue`, with the delivery tags of its parts, which stay
// unacknowledged (held); every older or incomplete part is acked (dropped). nullopt when the queue
// holds no complete checkpoint (another submitter holds it). Throws BrokerError.
struct HeldCheckpoint {
  Checkpoint checkpoint;
  std::vector<uint64_t> tags;
};
std::optional<HeldCheckpoint> take_checkpoint(BrokerSession& session, const std::string& queue);

}  // namespace lmover
