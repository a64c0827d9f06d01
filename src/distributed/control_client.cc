#include "distributed/control_client.h"

namespace lmover {

std::vector<nlohmann::json> send_control(const Broker& broker, const QueueNames& queues,
                                         const std::string& command, unsigned n, std::chrono::milliseconds wait,
                                         const std::string& node) {
  std::unique_ptr<BrokerSession> connection = broker.connect();
  BrokerSession& session = *connection;
  session.declare_fanout_exchange(queues.control());
  std::string inbox = session.declare_private_queue();
  nlohmann::json message = {{"v", 1}, {"cmd", command}, {"n", n}, {"reply", inbox}};
  if (!node.empty()) message["node"] = node;
  session.publish_to_exchange(queues.control(), pack_msgpack(message));
  session.wait_for_confirms();  // before consuming: waiting must meet no delivery
  session.set_prefetch(1000);
  session.consume(inbox);
  std::vector<nlohmann::json> answers;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto d = session.next_delivery(std::chrono::milliseconds(100))) {
      nlohmann::json answer = nlohmann::json::from_msgpack(d->body, true, false);
      if (!answer.is_discarded()) answers.push_back(std::move(answer));
      session.ack(d->tag);
    }
  }
  return answers;
}

}  // namespace lmover
