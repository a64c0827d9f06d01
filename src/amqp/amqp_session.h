// AmqpSession: one connection to the broker, for one thread (rabbitmq-c is not thread-safe).
// Channel 1 consumes (manual acks, a per-channel prefetch); channel 2 publishes persistent
// messages with publisher confirms. Keeping them apart means waiting for confirms never swallows
// a delivery. Every failure throws BrokerError; the caller reconnects with a new session.
//
// Heartbeats: rabbitmq-c sends them only inside its own calls, and a worker copying a huge file
// makes none for hours. So one process-wide keeper thread sends a heartbeat frame on every idle
// session every half interval; each call takes the session's mutex, and the keeper only tries it
// (a session in a library call is serviced by the library itself). The broker thus hears from
// every live process, and a node that vanishes without closing TCP is dropped after about one
// interval, its unacked tasks redelivered; a live worker is never dropped, however long its task.
//
// The keeper also watches what comes back: a session has *heard* from the broker when a call of
// ours got an answer, or while idle when bytes arrived on its socket (the broker's own heartbeats,
// every half interval). in_touch() says whether it heard within 1.5 intervals and the socket was
// not closed. RabbitMQ drops a silent client only after 2 to 3 intervals, so a worker that is no
// longer in touch gives its task up (engine/give_up.h) before the broker can hand it to another.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "amqp/broker_address.h"
#include "distributed/broker.h"

struct amqp_connection_state_t_;

namespace lmover {

class AmqpSession : public BrokerSession {
 public:
  explicit AmqpSession(const BrokerAddress& address);
  ~AmqpSession() override;
  AmqpSession(const AmqpSession&) = delete;
  AmqpSession& operator=(const AmqpSession&) = delete;

  // A durable queue. With `dead_letter_queue`, rejected messages are routed there.
  void declare_queue(const std::string& name, const std::string& dead_letter_queue = "") override;
  // A durable queue that keeps only its newest message (x-max-length 1): a notice board.
  void declare_latest_only_queue(const std::string& name) override;
  void delete_queue(const std::string& name) override;
  // Number of ready messages (passive declare); nullopt when the queue does not exist.
  std::optional<uint32_t> ready_messages(const std::string& name) override;
  std::optional<uint32_t> consumers(const std::string& name) override;

  // A transient fanout exchange (the control channel between `lmover control` and workers).
  void declare_fanout_exchange(const std::string& name) override;
  // A server-named queue that lives as long as this connection; bound to `exchange` if given.
  std::string declare_private_queue(const std::string& exchange = "") override;

  // Persistent publish on the confirm channel; confirmed by wait_for_confirms().
  void publish(const std::string& queue, std::string_view body) override;
  void publish_to_exchange(const std::string& exchange, std::string_view body) override;
  // Blocks until the broker confirmed every publish so far; throws if one was refused. Must not be
  // called while deliveries can arrive (a consumer with prefetch > 1 on this session).
  void wait_for_confirms(std::chrono::seconds timeout = std::chrono::seconds(60)) override;

  void set_prefetch(uint16_t count) override;
  void consume(const std::string& queue) override;
  // The next delivery, or nullopt after `timeout` without one.
  std::optional<Delivery> next_delivery(std::chrono::milliseconds timeout) override;
  // One message from `queue` without a consumer (basic.get), unacknowledged until ack/reject.
  std::optional<Delivery> get(const std::string& queue) override;
  void ack(uint64_t tag, bool multiple = false) override;
  // Rejected without requeue: dead-lettered when the queue has a dead-letter queue.
  void reject(uint64_t tag, bool requeue) override;

  const BrokerAddress& address() const { return address_; }

  // Whether the broker can still count on this session (see above). Thread-safe.
  bool in_touch() const override;

  // For the heartbeat keeper: while no call is in progress, sends a heartbeat frame if one is due
  // and notes what the socket shows of the broker (bytes arrived: heard; closed: lost).
  void beat_if_idle(std::chrono::steady_clock::time_point now);

 private:
  // Ready messages and consumers of `name` (a passive declare); nullopt when it does not exist.
  std::optional<std::pair<uint32_t, uint32_t>> queue_counts(const std::string& name);
  std::unique_lock<std::recursive_mutex> hold() {
    std::unique_lock held(call_mutex_);
    idle_bytes_ = -1;  // our call may read what is waiting: the keeper's count starts again
    return held;
  }
  void check_reply(const char* what);
  void heard() { heard_ns_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
  void handle_frame_outside_delivery();

  BrokerAddress address_;
  amqp_connection_state_t_* conn_ = nullptr;
  uint64_t published_ = 0;  // delivery tags on the confirm channel count from 1
  uint64_t confirmed_ = 0;
  std::recursive_mutex call_mutex_;  // one library call at a time: the owner's or the keeper's
  std::chrono::steady_clock::time_point next_beat_;
  std::atomic<int64_t> heard_ns_{0};  // steady_clock ticks of the last sign of the broker
  std::atomic<bool> lost_{false};     // the socket was closed or failed
  int idle_bytes_ = -1;                // unread bytes on the socket at the keeper's last look
};

// RabbitMQ behind the broker seam: each session is an AmqpSession to `address`.
class AmqpBroker : public Broker {
 public:
  explicit AmqpBroker(BrokerAddress address) : address_(std::move(address)) {}
  std::unique_ptr<BrokerSession> connect() const override { return std::make_unique<AmqpSession>(address_); }
  std::string where() const override { return address_.redacted(); }
  const BrokerAddress& address() const { return address_; }

 private:
  BrokerAddress address_;
};

}  // namespace lmover
