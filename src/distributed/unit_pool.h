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

#include "distributed/broker.h"

namespace lmover {

class UnitPool {
 public:
  // Grant size for a budget: single units up to 10 000 (exact), else 1/10 000 of it.
  static uint64_t grant_for(uint64_t budget) { return budget <= 10000 ? 1 : budget / 10000; }
  // Declares `queue` and fills it with `budget` units (submitter side). Throws BrokerError.
  static void fill(BrokerSession& session, const std::string& queue, uint64_t budget);

  UnitPool(const Broker& broker, std::string queue) : broker_(broker), queue_(std::move(queue)) {}
  // One unit, or false once the pool is empty. Thread-safe. Throws BrokerError (the next call
  // connects again).
  bool take();

 private:
  const Broker& broker_;
  std::string queue_;
  std::mutex mutex_;
  std::unique_ptr<BrokerSession> session_;  // opened on first use
  uint64_t held_ = 0;
  bool empty_ = false;
};

}  // namespace lmover
