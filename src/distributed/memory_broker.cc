#include "distributed/memory_broker.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

namespace lmover {

namespace {

struct Message {
  uint64_t id = 0;  // unique per publish: what a restart uses to find the unconfirmed ones
  std::string body;
  bool redelivered = false;
};

struct Queue {
  std::deque<Message> ready;
  std::string dead_letter;
  bool latest_only = false;
  bool is_private = false;
};

struct Held {
  std::string queue;
  Message message;
  bool consumed = false;  // by a consumer (counts against the prefetch), not by get()
};

}  // namespace

class MemorySession;

struct MemoryBroker::State {
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, Queue> queues;
  std::map<std::string, std::set<std::string>> exchanges;  // fanout exchange -> bound queues
  std::set<MemorySession*> sessions;
  uint64_t next_message = 1;
  unsigned next_session = 1;
  uint64_t epoch = 0;  // a session of an older epoch was lost in a restart
  bool down = false;
  std::function<void(const std::string&, unsigned)> hook;

  // Puts a held message back at the head of its queue (if the queue is still there).
  void requeue(Held held) {
    auto q = queues.find(held.queue);
    if (q == queues.end()) return;
    held.message.redelivered = true;
    q->second.ready.push_front(std::move(held.message));
  }
  void route(const std::string& queue, Message m) {
    auto q = queues.find(queue);
    if (q == queues.end()) return;  // unroutable: dropped, as with the default exchange
    if (q->second.latest_only) q->second.ready.clear();
    q->second.ready.push_back(std::move(m));
  }
};

class MemorySession : public BrokerSession {
 public:
  MemorySession(std::shared_ptr<MemoryBroker::State> state, unsigned number, uint64_t epoch)
      : state_(std::move(state)), number_(number), epoch_(epoch) {}

  ~MemorySession() override {
    std::lock_guard lock(state_->mutex);
    close_locked();
  }

  // Called with the lock held, by the destructor or a restart.
  void close_locked() {
    if (closed_) return;
    closed_ = true;
    state_->sessions.erase(this);
    // Newest first to the head, so they come back in the order they were delivered.
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) state_->requeue(std::move(it->second));
    held_.clear();
    for (const std::string& q : private_queues_) {
      state_->queues.erase(q);
      for (auto& [name, bound] : state_->exchanges) bound.erase(q);
    }
    state_->changed.notify_all();
  }
  // A restart: what this session published unconfirmed is lost with it.
  void lose_locked() {
    for (auto& [name, q] : state_->queues) {
      std::erase_if(q.ready, [&](const Message& m) { return unconfirmed_.count(m.id) > 0; });
    }
    unconfirmed_.clear();
    close_locked();
    lost_ = true;
  }

  void declare_queue(const std::string& name, const std::string& dead_letter_queue) override {
    auto lock = call("declare_queue");
    auto [it, made] = state_->queues.try_emplace(name);
    if (made) {
      it->second.dead_letter = dead_letter_queue;
    } else if (it->second.dead_letter != dead_letter_queue || it->second.latest_only) {
      fail_locked(fmt::format("declare queue {}: PRECONDITION_FAILED - inequivalent arguments", name));
    }
  }
  void declare_latest_only_queue(const std::string& name) override {
    auto lock = call("declare_latest_only_queue");
    auto [it, made] = state_->queues.try_emplace(name);
    if (made) {
      it->second.latest_only = true;
    } else if (!it->second.latest_only) {
      fail_locked(fmt::format("declare queue {}: PRECONDITION_FAILED - inequivalent arguments", name));
    }
  }
  void delete_queue(const std::string& name) override {
    auto lock = call("delete_queue");
    state_->queues.erase(name);
    state_->changed.notify_all();
  }
  std::optional<uint32_t> ready_messages(const std::string& name) override {
    auto lock = call("ready_messages");
    auto it = state_->queues.find(name);
    if (it == state_->queues.end()) return std::nullopt;
    return static_cast<uint32_t>(it->second.ready.size());
  }
  void declare_fanout_exchange(const std::string& name) override {
    auto lock = call("declare_fanout_exchange");
    state_->exchanges.try_emplace(name);
  }
  std::string declare_private_queue(const std::string& exchange) override {
    auto lock = call("declare_private_queue");
    std::string name = fmt::format("amq.gen-{}-{}", number_, private_queues_.size());
    state_->queues[name].is_private = true;
    private_queues_.push_back(name);
    if (!exchange.empty()) {
      auto ex = state_->exchanges.find(exchange);
      if (ex == state_->exchanges.end()) fail_locked("bind to exchange " + exchange + ": NOT_FOUND");
      ex->second.insert(name);
    }
    return name;
  }
  void publish(const std::string& queue, std::string_view body) override {
    auto lock = call("publish");
    Message m{state_->next_message++, std::string(body), false};
    unconfirmed_.insert(m.id);
    state_->route(queue, std::move(m));
    state_->changed.notify_all();
  }
  void publish_to_exchange(const std::string& exchange, std::string_view body) override {
    auto lock = call("publish_to_exchange");
    auto ex = state_->exchanges.find(exchange);
    if (ex == state_->exchanges.end()) fail_locked("publish to exchange " + exchange + ": NOT_FOUND");
    for (const std::string& q : ex->second) {
      Message m{state_->next_message++, std::string(body), false};
      unconfirmed_.insert(m.id);
      state_->route(q, std::move(m));
    }
    state_->changed.notify_all();
  }
  void wait_for_confirms(std::chrono::seconds) override {
    auto lock = call("wait_for_confirms");
    unconfirmed_.clear();
  }
  void set_prefetch(uint16_t count) override {
    auto lock = call("set_prefetch");
    prefetch_ = count;
  }
  void consume(const std::string& queue) override {
    auto lock = call("consume");
    if (!state_->queues.count(queue)) fail_locked("consume from " + queue + ": NOT_FOUND");
    consumed_.push_back(queue);
  }
  std::optional<Delivery> next_delivery(std::chrono::milliseconds timeout) override {
    auto lock = call("next_delivery");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto d = take_consumed_locked()) return d;
      if (state_->changed.wait_until(lock, deadline) == std::cv_status::timeout) return take_consumed_locked();
      check_locked();
    }
  }
  std::optional<Delivery> get(const std::string& queue) override {
    auto lock = call("get");
    auto q = state_->queues.find(queue);
    if (q == state_->queues.end()) fail_locked("get from " + queue + ": NOT_FOUND");
    if (q->second.ready.empty()) return std::nullopt;
    return hold_locked(queue, q->second, false);
  }
  void ack(uint64_t tag, bool multiple) override {
    auto lock = call("ack");
    if (multiple) {
      std::erase_if(held_, [&](const auto& h) { return h.first <= tag; });
      return;
    }
    if (!held_.erase(tag)) fail_locked(fmt::format("ack of unknown delivery tag {}: PRECONDITION_FAILED", tag));
    state_->changed.notify_all();
  }
  void reject(uint64_t tag, bool requeue) override {
    auto lock = call("reject");
    auto it = held_.find(tag);
    if (it == held_.end()) fail_locked(fmt::format("reject of unknown delivery tag {}: PRECONDITION_FAILED", tag));
    Held held = std::move(it->second);
    held_.erase(it);
    if (requeue) {
      state_->requeue(std::move(held));
    } else if (auto q = state_->queues.find(held.queue); q != state_->queues.end() && !q->second.dead_letter.empty()) {
      held.message.redelivered = false;
      state_->route(q->second.dead_letter, std::move(held.message));
    }
    state_->changed.notify_all();
  }
  bool in_touch() const override {
    std::lock_guard lock(state_->mutex);
    return !lost_ && !closed_ && epoch_ == state_->epoch;
  }

  size_t held() const { return held_.size(); }

 private:
  // Runs the fault hook (unlocked), then takes the lock and checks the session is still good.
  std::unique_lock<std::mutex> call(const char* name) {
    std::function<void(const std::string&, unsigned)> hook;
    {
      std::lock_guard lock(state_->mutex);
      hook = state_->hook;
    }
    if (hook) {
      try {
        hook(name, number_);
      } catch (const BrokerError&) {
        std::lock_guard lock(state_->mutex);
        lose_locked();
        throw;
      }
    }
    std::unique_lock lock(state_->mutex);
    check_locked();
    return lock;
  }
  void check_locked() {
    if (lost_ || epoch_ != state_->epoch) {
      lost_ = true;
      throw BrokerError("broker memory-broker: connection lost (broker restarted)");
    }
    for (const std::string& q : consumed_) {
      if (!state_->queues.count(q)) fail_locked("consumer of " + q + " closed by the broker: queue deleted");
    }
  }
  [[noreturn]] void fail_locked(const std::string& why) {
    lose_locked();  // RabbitMQ closes the channel: our AmqpSession is good for nothing after it
    throw BrokerError("broker memory-broker: " + why);
  }
  std::optional<Delivery> take_consumed_locked() {
    size_t in_flight = std::count_if(held_.begin(), held_.end(), [](const auto& h) { return h.second.consumed; });
    if (prefetch_ && in_flight >= prefetch_) return std::nullopt;
    // Round-robin over the consumed queues, as the broker serves several consumers of a channel.
    for (size_t i = 0; i < consumed_.size(); ++i) {
      const std::string& name = consumed_[(next_queue_ + i) % consumed_.size()];
      auto q = state_->queues.find(name);
      if (q == state_->queues.end() || q->second.ready.empty()) continue;
      next_queue_ = (next_queue_ + i + 1) % consumed_.size();
      return hold_locked(name, q->second, true);
    }
    return std::nullopt;
  }
  Delivery hold_locked(const std::string& name, Queue& q, bool consumed) {
    Message m = std::move(q.ready.front());
    q.ready.pop_front();
    Delivery d{++last_tag_, m.redelivered, name, m.body};
    held_.emplace(d.tag, Held{name, std::move(m), consumed});
    return d;
  }

  friend class MemoryBroker;
  std::shared_ptr<MemoryBroker::State> state_;
  unsigned number_;
  uint64_t epoch_;
  bool closed_ = false, lost_ = false;
  uint16_t prefetch_ = 0;
  uint64_t last_tag_ = 0;  // delivery tags count from 1 per session, as per channel in AMQP
  std::map<uint64_t, Held> held_;
  std::set<uint64_t> unconfirmed_;
  std::vector<std::string> consumed_;
  size_t next_queue_ = 0;
  std::vector<std::string> private_queues_;
};

MemoryBroker::MemoryBroker() : state_(std::make_shared<State>()) {}

MemoryBroker::~MemoryBroker() = default;

std::unique_ptr<BrokerSession> MemoryBroker::connect() const {
  std::lock_guard lock(state_->mutex);
  if (state_->down) throw BrokerError("broker memory-broker: connection refused (down)");
  auto session = std::make_unique<MemorySession>(state_, state_->next_session++, state_->epoch);
  state_->sessions.insert(session.get());
  return session;
}

void MemoryBroker::restart() {
  std::lock_guard lock(state_->mutex);
  ++state_->epoch;
  std::set<MemorySession*> sessions = state_->sessions;
  for (MemorySession* s : sessions) s->lose_locked();
  std::erase_if(state_->queues, [](const auto& q) { return q.second.is_private; });
  state_->exchanges.clear();
  state_->changed.notify_all();
}

void MemoryBroker::set_down(bool down) {
  std::lock_guard lock(state_->mutex);
  state_->down = down;
}

void MemoryBroker::on_call(std::function<void(const std::string&, unsigned)> hook) {
  std::lock_guard lock(state_->mutex);
  state_->hook = std::move(hook);
}

std::optional<size_t> MemoryBroker::ready(const std::string& queue) const {
  std::lock_guard lock(state_->mutex);
  auto q = state_->queues.find(queue);
  if (q == state_->queues.end()) return std::nullopt;
  return q->second.ready.size();
}

std::vector<std::string> MemoryBroker::bodies(const std::string& queue) const {
  std::lock_guard lock(state_->mutex);
  std::vector<std::string> out;
  auto q = state_->queues.find(queue);
  if (q != state_->queues.end()) {
    for (const Message& m : q->second.ready) out.push_back(m.body);
  }
  return out;
}

size_t MemoryBroker::unacked() const {
  std::lock_guard lock(state_->mutex);
  size_t n = 0;
  for (const MemorySession* s : state_->sessions) n += s->held();
  return n;
}

unsigned MemoryBroker::sessions_opened() const {
  std::lock_guard lock(state_->mutex);
  return state_->next_session - 1;
}

}  // namespace lmover
