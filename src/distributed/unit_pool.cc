#include "distributed/unit_pool.h"

#include <nlohmann/json.hpp>

#include "distributed/messages.h"

namespace lmover {

void UnitPool::fill(BrokerSession& session, const std::string& queue, uint64_t budget) {
  session.declare_queue(queue);
  uint64_t grant = grant_for(budget);
  for (uint64_t left = budget; left > 0;) {
    uint64_t n = std::min(grant, left);
    session.publish(queue, pack_msgpack({{"units", n}}));
    left -= n;
  }
  session.wait_for_confirms();
}

bool UnitPool::take() {
  std::lock_guard lock(mutex_);
  if (held_ > 0) {
    --held_;
    return true;
  }
  if (empty_) return false;
  try {
    if (!session_) session_ = broker_.connect();
    for (;;) {
      auto grant = session_->get(queue_);
      if (!grant) {
        empty_ = true;  // never refilled: a run's budget is put in once, before its first task
        return false;
      }
      session_->ack(grant->tag);
      auto j = nlohmann::json::from_msgpack(grant->body, true, false);
      uint64_t units = j.is_object() ? j.value("units", uint64_t(0)) : 0;
      if (units == 0) continue;
      held_ = units - 1;
      return true;
    }
  } catch (const BrokerError&) {
    session_.reset();  // a lost session is good for nothing: the next take connects again
    throw;
  }
}

}  // namespace lmover
