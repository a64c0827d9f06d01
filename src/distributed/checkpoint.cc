#include "distributed/checkpoint.h"

#include <map>

#include <spdlog/spdlog.h>

#include "distributed/messages.h"

namespace lmover {

using json = nlohmann::json;

std::vector<std::string> checkpoint_parts(const Checkpoint& checkpoint) {
  size_t parts = std::max<size_t>(1, (checkpoint.tracker.size() + kCheckpointPartBytes - 1) / kCheckpointPartBytes);
  std::vector<std::string> out;
  for (size_t i = 0; i < parts; ++i) {
    // The header travels in the first part only; every part names its checkpoint and place.
    json part = i == 0 ? checkpoint.header : json{{"seq", checkpoint.header.at("seq")}, {"run", checkpoint.header.at("run")}};
    part["part"] = i;
    part["parts"] = parts;
    part["tracker"] = to_bytes(checkpoint.tracker.substr(i * kCheckpointPartBytes, kCheckpointPartBytes));
    out.push_back(pack_msgpack(part));
  }
  return out;
}

std::optional<HeldCheckpoint> take_checkpoint(BrokerSession& session, const std::string& queue) {
  struct Part {
    json doc;
    uint64_t tag;
  };
  std::map<uint64_t, std::map<uint64_t, Part>> by_seq;  // seq -> part index -> part
  while (auto d = session.get(queue)) {
    json doc = json::from_msgpack(d->body, true, false);
    if (doc.is_discarded() || !doc.contains("seq") || !doc.contains("tracker") || !doc["tracker"].is_binary()) {
      spdlog::error("dropping a malformed checkpoint message from {}", queue);
      session.ack(d->tag);
      continue;
    }
    uint64_t seq = doc["seq"].get<uint64_t>(), part = doc.value("part", uint64_t(0));
    // A part published twice (a submission done again after a lost broker): one copy is enough.
    if (auto twin = by_seq[seq].find(part); twin != by_seq[seq].end()) session.ack(twin->second.tag);
    by_seq[seq][part] = Part{std::move(doc), d->tag};
  }
  std::optional<HeldCheckpoint> held;
  for (auto it = by_seq.rbegin(); it != by_seq.rend(); ++it) {
    auto& parts = it->second;
    uint64_t wanted = parts.begin()->second.doc.value("parts", uint64_t(1));
    bool whole = !held && parts.size() == wanted && parts.rbegin()->first + 1 == wanted;
    for (auto& [index, part] : parts) {
      if (!whole) {
        session.ack(part.tag);  // older, or a checkpoint its submitter did not finish publishing
        continue;
      }
      if (!held) held.emplace();
      const auto& bytes = part.doc["tracker"].get_binary();
      held->checkpoint.tracker.append(bytes.begin(), bytes.end());
      held->tags.push_back(part.tag);
      if (index == 0) held->checkpoint.header = std::move(part.doc);
    }
  }
  if (held) held->checkpoint.header.erase("tracker");
  return held;
}

}  // namespace lmover
