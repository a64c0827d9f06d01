// The broker seam: what the distributed protocol relies on from a message broker, and nothing
// more. The worker, the submitter, checkpoints, the shared budget and `lmover control` speak only
// to these two interfaces; amqp/ implements them over RabbitMQ (AMQP 0-9-1), and
// distributed/memory_broker.h implements them in process, with the same delivery semantics, for
// fast unit tests of the protocol.
//
// The promises the protocol is built on (each one is relied on somewhere, named here):
// - publish() + wait_for_confirms(): once confirms return, every message published so far on the
//   session is stored (persistent, on durable queues) and survives a broker restart. A worker
//   acks its task only after that: nothing it spawned can be lost.
// - A delivery stays unacknowledged until ack() or reject(). When its session closes or dies
//   first, the message goes back to its queue, marked redelivered, for any consumer: a killed
//   worker's task runs again elsewhere; a killed submitter's held checkpoint and unacked reports
//   go back for its successor.
// - reject(requeue=true) puts the message back in its queue, marked redelivered, in its original
//   place where it can (RabbitMQ's words), so ahead of newer messages; reject(requeue=false)
//   routes it to the queue's dead-letter queue, if it has one, else drops it.
// - With a prefetch of N, a consumer holds at most N unacknowledged deliveries at a time.
// - get() takes one message without a consumer (basic.get), unacknowledged like a delivery.
// - ready_messages() is a passive declare: it tells whether a queue exists (a run is live while
//   its report queue exists) without creating it.
// - A latest-only queue keeps just its newest message; a fanout exchange copies a message to
//   every private queue bound to it; a private queue lives as long as its session.
// - A message published to a queue that does not exist is dropped, confirmed all the same.
//
// A session is for one thread; connect() may be called from any thread. Every failure throws
// BrokerError; the caller drops the session and connects again.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lmover {

// Any failure to talk to the broker: connect, login, declare, publish, confirm, consume.
class BrokerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The broker refused our login (ACCESS_REFUSED) or the vhost (NOT_ALLOWED): trying again with the
// same password and user does not help, unlike a broker that is away.
class LoginRefused : public BrokerError {
 public:
  using BrokerError::BrokerError;
};

struct Delivery {
  uint64_t tag = 0;
  bool redelivered = false;
  std::string queue;  // the queue it came from: our queues are addressed directly
  std::string body;
};

class BrokerSession {
 public:
  virtual ~BrokerSession() = default;

  // A durable queue. With `dead_letter_queue`, rejected messages are routed there.
  virtual void declare_queue(const std::string& name, const std::string& dead_letter_queue = "") = 0;
  // A durable queue that keeps only its newest message: a notice board.
  virtual void declare_latest_only_queue(const std::string& name) = 0;
  virtual void delete_queue(const std::string& name) = 0;
  // Number of ready messages (passive declare); nullopt when the queue does not exist.
  virtual std::optional<uint32_t> ready_messages(const std::string& name) = 0;
  // Its consumers, by the same passive declare; nullopt when the queue does not exist or the
  // broker cannot say.
  virtual std::optional<uint32_t> consumers(const std::string& name) {
    (void)name;
    return std::nullopt;
  }

  // A transient fanout exchange (the control channel between `lmover control` and workers).
  virtual void declare_fanout_exchange(const std::string& name) = 0;
  // A server-named queue that lives as long as this session; bound to `exchange` if given.
  virtual std::string declare_private_queue(const std::string& exchange = "") = 0;

  // Persistent publish; stored for sure once wait_for_confirms() returns.
  virtual void publish(const std::string& queue, std::string_view body) = 0;
  virtual void publish_to_exchange(const std::string& exchange, std::string_view body) = 0;
  // Blocks until the broker confirmed every publish so far; throws if one was refused. Must not be
  // called while deliveries can arrive (a consumer with prefetch > 1 on this session).
  virtual void wait_for_confirms(std::chrono::seconds timeout = std::chrono::seconds(60)) = 0;

  virtual void set_prefetch(uint16_t count) = 0;
  virtual void consume(const std::string& queue) = 0;
  // The next delivery from a consumed queue, or nullopt after `timeout` without one.
  virtual std::optional<Delivery> next_delivery(std::chrono::milliseconds timeout) = 0;
  // One message from `queue` without a consumer, unacknowledged until ack/reject.
  virtual std::optional<Delivery> get(const std::string& queue) = 0;
  virtual void ack(uint64_t tag, bool multiple = false) = 0;
  virtual void reject(uint64_t tag, bool requeue) = 0;

  // Whether the broker can still count on this session: a worker out of touch gives its task up
  // before the broker hands it to another (engine/give_up.h). Thread-safe.
  virtual bool in_touch() const = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // A new session. Throws BrokerError naming where() when the broker cannot be reached.
  virtual std::unique_ptr<BrokerSession> connect() const = 0;
  // Where the broker is, for messages (never with a password).
  virtual std::string where() const = 0;
};

}  // namespace lmover
