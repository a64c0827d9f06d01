#include "distributed/control_client.h"

namespace lmover {

ControlAnswers send_control(const Broker& broker, const QueueNames& queues, const std::string& command, unsigned n,
                            std::chrono::milliseconds wait, const std::string& node) {
  std::unique_ptr<BrokerSession> connection = broker.connect();
  BrokerSession& session = *connection;
  // The held state first, the message after: a worker that looks at the state between the two
  // already sees what the message will say.
  if (command == "pause") session.declare_queue(queues.paused(node));
  if (command == "resume") session.delete_queue(queues.paused(node));
  ControlAnswers out;
  if (node.empty()) out.connected = session.consumers(queues.workers());
  session.declare_fanout_exchange(queues.control());
  std::string inbox = session.declare_private_queue();
  nlohmann::json message = {{"v", 1}, {"cmd", command}, {"n", n}, {"reply", inbox}};
  if (!node.empty()) message["node"] = node;
  session.publish_to_exchange(queues.control(), pack_msgpack(message));
  session.wait_for_confirms();  // before consuming: waiting must meet no delivery
  session.set_prefetch(1000);
  session.consume(inbox);
  std::vector<nlohmann::json>& answers = out.answers;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto d = session.next_delivery(std::chrono::milliseconds(100))) {
      nlohmann::json answer = nlohmann::json::from_msgpack(d->body, true, false);
      if (!answer.is_discarded()) answers.push_back(std::move(answer));
      session.ack(d->tag);
    }
  }
  return out;
}

}  // namespace lmover
