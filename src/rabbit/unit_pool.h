// UnitPool: a budget of units shared by every worker of a run through the broker, for a limit that
// must hold across nodes (--max-delete). The submitter fills a queue with grant messages of
// `grant` units each; a worker takes one (basic.get), acks it at once and spends it locally, then
// takes the next. A grant is consumed before any of its units is used, so a worker that dies
// loses what it held instead of giving it out twice: the total spent never exceeds the budget,
// whatever the redeliveries. What dead or finished workers held unspent is the cost, bounded by
// one grant per worker process.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "rabbit/amqp_session.h"

namespace lmover {

class UnitPool {
 public:
  // Grant size for a budget: single units up to 10 000 (exact), else 1/10 000 of it.
  static uint64_t grant_for(uint64_t budget) { return budget <= 10000 ? 1 : budget / 10000; }
  // Declares `queue` and fills it with `budget` units (submitter side). Throws BrokerError.
  static void fill(AmqpSession& session, const std::string& queue, uint64_t budget);

  UnitPool(BrokerAddress address, std::string queue) : address_(std::move(address)), queue_(std::move(queue)) {}
  // One unit, or false once the pool is empty. Thread-safe. Throws BrokerError.
  bool take();

 private:
  BrokerAddress address_;
  std::string queue_;
  std::mutex mutex_;
  std::unique_ptr<AmqpSession> session_;  // opened on first use
  uint64_t held_ = 0;
  bool empty_ = false;
};

}  // namespace lmover
