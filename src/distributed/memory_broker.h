// MemoryBroker: the broker seam (distributed/broker.h) in process, for fast unit tests of the
// protocol: the worker, the submitter, checkpoints, the shared budget. It keeps the promises
// broker.h lists, as RabbitMQ keeps them, and is strict where RabbitMQ is strict:
// - an unacknowledged message goes back to the head of its queue, marked redelivered, when its
//   session is closed or lost; a prefetch of N holds at most N consumed deliveries;
// - restart() is a broker restart: every session is lost (its next call throws BrokerError),
//   published messages that no wait_for_confirms() covered yet are lost with it (RabbitMQ may
//   or may not have stored them: losing them is the case the protocol must survive), durable
//   queues keep the rest; private queues and fanout exchanges go;
// - declaring a queue again with another dead-letter queue fails (PRECONDITION_FAILED), and so
//   does acking a tag twice or one the session never had; a consumer whose queue is deleted fails.
// Faults come in through on_call(): a hook run before every session call with its name, which may
// throw BrokerError (that session is then lost) or call restart().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "distributed/broker.h"

namespace lmover {

class MemoryBroker : public Broker {
 public:
  MemoryBroker();
  ~MemoryBroker() override;

  std::unique_ptr<BrokerSession> connect() const override;
  std::string where() const override { return "memory-broker"; }

  // Every session lost at once; unconfirmed publishes lost; unacked messages requeued.
  void restart();
  // While down, connect() throws BrokerError.
  void set_down(bool down);
  // Called before every session call with its name ("publish", "ack", "wait_for_confirms", ...)
  // and the session's number (1 for the first connect()); may throw BrokerError or restart().
  void on_call(std::function<void(const std::string& call, unsigned session)> hook);

  // For assertions: ready messages of a queue (nullopt: no such queue), their bodies, and the
  // deliveries held unacknowledged by open sessions.
  std::optional<size_t> ready(const std::string& queue) const;
  std::vector<std::string> bodies(const std::string& queue) const;
  size_t unacked() const;
  unsigned sessions_opened() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace lmover
