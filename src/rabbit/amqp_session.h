// AmqpSession: one connection to the broker, for one thread (rabbitmq-c is not thread-safe).
// Channel 1 consumes (manual acks, a per-channel prefetch); channel 2 publishes persistent
// messages with publisher confirms. Keeping them apart means waiting for confirms never swallows
// a delivery. Every failure throws BrokerError; the caller reconnects with a new session.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rabbit/broker_address.h"

struct amqp_connection_state_t_;

namespace lmover {

struct Delivery {
  uint64_t tag = 0;
  bool redelivered = false;
  std::string queue;  // the routing key it was published with: our queues are addressed directly
  std::string body;
};

class AmqpSession {
 public:
  explicit AmqpSession(const BrokerAddress& address);
  ~AmqpSession();
  AmqpSession(const AmqpSession&) = delete;
  AmqpSession& operator=(const AmqpSession&) = delete;

  // A durable queue. With `dead_letter_queue`, rejected messages are routed there.
  void declare_queue(const std::string& name, const std::string& dead_letter_queue = "");
  // A durable queue that keeps only its newest message (x-max-length 1): a notice board.
  void declare_latest_only_queue(const std::string& name);
  void delete_queue(const std::string& name);
  // Number of ready messages (passive declare); nullopt when the queue does not exist.
  std::optional<uint32_t> ready_messages(const std::string& name);

  // A transient fanout exchange (the control channel between `lmover control` and workers).
  void declare_fanout_exchange(const std::string& name);
  // A server-named queue that lives as long as this connection; bound to `exchange` if given.
  std::string declare_private_queue(const std::string& exchange = "");

  // Persistent publish on the confirm channel; confirmed by wait_for_confirms().
  void publish(const std::string& queue, std::string_view body);
  void publish_to_exchange(const std::string& exchange, std::string_view body);
  // Blocks until the broker confirmed every publish so far; throws if one was refused. Must not be
  // called while deliveries can arrive (a consumer with prefetch > 1 on this session).
  void wait_for_confirms(std::chrono::seconds timeout = std::chrono::seconds(60));

  void set_prefetch(uint16_t count);
  void consume(const std::string& queue);
  // The next delivery, or nullopt after `timeout` without one.
  std::optional<Delivery> next_delivery(std::chrono::milliseconds timeout);
  // One message from `queue` without a consumer (basic.get), unacknowledged until ack/reject.
  std::optional<Delivery> get(const std::string& queue);
  void ack(uint64_t tag, bool multiple = false);
  // Rejected without requeue: dead-lettered when the queue has a dead-letter queue.
  void reject(uint64_t tag, bool requeue);

  const BrokerAddress& address() const { return address_; }

 private:
  void check_reply(const char* what);
  void handle_frame_outside_delivery();

  BrokerAddress address_;
  amqp_connection_state_t_* conn_ = nullptr;
  uint64_t published_ = 0;  // delivery tags on the confirm channel count from 1
  uint64_t confirmed_ = 0;
};

}  // namespace lmover
