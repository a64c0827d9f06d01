#include "amqp/amqp_session.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <fmt/format.h>

#include "amqp/tcp_probe.h"

namespace lmover {
namespace {

constexpr amqp_channel_t kConsumeChannel = 1;
constexpr amqp_channel_t kPublishChannel = 2;

amqp_bytes_t bytes_of(std::string_view s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }

std::string reply_text(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return fmt::format("connection closed by broker: {}", std::string_view((char*)m->reply_text.bytes, m->reply_text.len));
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return fmt::format("channel closed by broker: {}", std::string_view((char*)m->reply_text.bytes, m->reply_text.len));
      }
      return "broker error";
  }
  return "?";
}

// The process's one heartbeat thread (see the header). Sessions register while they live; the
// registry lock is held while beating, so a session is never beaten after it unregistered.
class HeartbeatKeeper {
 public:
  static HeartbeatKeeper& instance() {
    // Never destroyed: a session may outlive static destruction at exit (a thread still running).
    static auto* keeper = new HeartbeatKeeper;
    return *keeper;
  }
  void add(AmqpSession* s) {
    std::lock_guard lock(mutex_);
    sessions_.insert(s);
    if (!started_) {
      started_ = true;
      std::thread([this] { run(); }).detach();
    }
  }
  void remove(AmqpSession* s) {
    std::lock_guard lock(mutex_);
    sessions_.erase(s);
  }
 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      lock.lock();
      auto now = std::chrono::steady_clock::now();
      for (AmqpSession* s : sessions_) s->beat_if_idle(now);
    }
  }

  std::mutex mutex_;
  std::set<AmqpSession*> sessions_;
  bool started_ = false;
};

}  // namespace

bool AmqpSession::in_touch() const {
  if (lost_) return false;
  int interval = conn_ ? amqp_get_heartbeat(conn_) : 0;
  if (interval <= 0) return true;  // no heartbeats: only a closed socket tells
  auto silent = std::chrono::steady_clock::now().time_since_epoch() - std::chrono::steady_clock::duration(heard_ns_.load());
  return silent < std::chrono::milliseconds(interval * 1500);
}

void AmqpSession::beat_if_idle(std::chrono::steady_clock::time_point now) {
  std::unique_lock held(call_mutex_, std::try_to_lock);
  if (!held.owns_lock()) return;  // inside a library call, which sends heartbeats when due
  int fd = amqp_get_sockfd(conn_);
  pollfd look{fd, POLLIN | POLLRDHUP | POLLOUT, 0};
  if (poll(&look, 1, 0) == 1) {
    if (look.revents & (POLLRDHUP | POLLHUP | POLLERR)) lost_ = true;
    int unread = 0;
    if ((look.revents & POLLIN) && ioctl(fd, FIONREAD, &unread) == 0 && unread != idle_bytes_) {
      idle_bytes_ = unread;  // more than at our last look: the broker spoke meanwhile
      heard();
    }
  }
  if (now < next_beat_) return;
  // Never block here: with the send buffer full, data is already on its way (the connection is not
  // idle), or the link is dead and TCP_USER_TIMEOUT will end the connection.
  if (!(look.revents & POLLOUT)) return;
  amqp_frame_t beat{};
  beat.frame_type = AMQP_FRAME_HEARTBEAT;
  beat.channel = 0;
  // A failure is the owner's to find on its next call: the connection is gone either way.
  amqp_send_frame(conn_, &beat);
  next_beat_ = now + std::chrono::milliseconds(amqp_get_heartbeat(conn_) * 500);
}

AmqpSession::AmqpSession(const BrokerAddress& address) : address_(address) {
  conn_ = amqp_new_connection();
  amqp_socket_t* socket = nullptr;
  if (address.tls) {
    socket = amqp_ssl_socket_new(conn_);
    if (socket && !address.ca_file.empty() && amqp_ssl_socket_set_cacert(socket, address.ca_file.c_str()) != AMQP_STATUS_OK) {
      amqp_destroy_connection(conn_);
      throw BrokerError(fmt::format("broker {}: cannot load CA file '{}'", address.redacted(), address.ca_file));
    }
  } else {
    socket = amqp_tcp_socket_new(conn_);
  }
  if (!socket) {
    amqp_destroy_connection(conn_);
    throw BrokerError(fmt::format("broker {}: cannot create socket", address.redacted()));
  }
  timeval connect_timeout{10, 0};
  int rc = amqp_socket_open_noblock(socket, address.host.c_str(), address.port, &connect_timeout);
  if (rc != AMQP_STATUS_OK) {
    amqp_destroy_connection(conn_);
    // "a socket error occurred" says nothing, and rabbitmq-c keeps the connect's errno to itself:
    // one more connect of our own says it ("Connection refused", "No route to host").
    std::string why = amqp_error_string2(rc);
    if (rc == AMQP_STATUS_SOCKET_ERROR) {
      if (int err = connect_errno(address.host, address.port)) why = std::strerror(err);
    }
    throw BrokerError(fmt::format("broker {}: connect to {}:{}: {}", address.redacted(), address.host, address.port, why));
  }
  amqp_rpc_reply_t login = amqp_login(conn_, address.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, address.heartbeat_s,
                                      AMQP_SASL_METHOD_PLAIN, address.user.c_str(), address.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    std::string why = reply_text(login);
    bool refused = login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && login.reply.id == AMQP_CONNECTION_CLOSE_METHOD &&
                   (static_cast<amqp_connection_close_t*>(login.reply.decoded)->reply_code == AMQP_ACCESS_REFUSED ||
                    static_cast<amqp_connection_close_t*>(login.reply.decoded)->reply_code == AMQP_NOT_ALLOWED);
    amqp_destroy_connection(conn_);
    if (refused) {
      throw LoginRefused(fmt::format("broker {}: login refused ({}): check user {}'s password (--broker-password-file "
                                     "or $LMOVER_BROKER_PASSWORD) and its permissions on vhost {}",
                                     address.redacted(), why, address.user, address.vhost));
    }
    throw BrokerError(fmt::format("broker {}: login failed: {}", address.redacted(), why));
  }
  // A throw from here on would skip the destructor: the connection (and its socket) goes with it,
  // or every failed reconnect to a broker that is shutting down would leak one.
  try {
    amqp_channel_open(conn_, kConsumeChannel);
    check_reply("open channel");
    amqp_channel_open(conn_, kPublishChannel);
    check_reply("open channel");
    amqp_confirm_select(conn_, kPublishChannel);
    check_reply("enable publisher confirms");
  } catch (...) {
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
    throw;
  }
  if (int heartbeat = amqp_get_heartbeat(conn_); heartbeat > 0) {
    // rabbitmq-c waits for a full send buffer without a timeout: on a link that went dead, a
    // publish would block forever. The kernel gives up on unacknowledged data after this long.
    unsigned timeout_ms = 2000u * static_cast<unsigned>(heartbeat);
    setsockopt(amqp_get_sockfd(conn_), IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
    HeartbeatKeeper::instance().add(this);
  }
}

AmqpSession::~AmqpSession() {
  if (!conn_) return;
  HeartbeatKeeper::instance().remove(this);
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn_);
}

void AmqpSession::check_reply(const char* what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    throw BrokerError(fmt::format("broker {}: {}: {}", address_.redacted(), what, reply_text(r)));
  }
  heard();
}

void AmqpSession::declare_queue(const std::string& name, const std::string& dead_letter_queue) {
  auto held = hold();
  amqp_table_entry_t args[2];
  amqp_table_t table = amqp_empty_table;
  if (!dead_letter_queue.empty()) {
    args[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
    args[0].value.kind = AMQP_FIELD_KIND_UTF8;
    args[0].value.value.bytes = amqp_cstring_bytes("");
    args[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
    args[1].value.kind = AMQP_FIELD_KIND_UTF8;
    args[1].value.value.bytes = bytes_of(dead_letter_queue);
    table = amqp_table_t{2, args};
  }
  amqp_queue_declare(conn_, kPublishChannel, bytes_of(name), 0, 1, 0, 0, table);
  check_reply(("declare queue " + name).c_str());
}

void AmqpSession::declare_latest_only_queue(const std::string& name) {
  auto held = hold();
  amqp_table_entry_t arg;
  arg.key = amqp_cstring_bytes("x-max-length");
  arg.value.kind = AMQP_FIELD_KIND_I32;
  arg.value.value.i32 = 1;
  amqp_queue_declare(conn_, kPublishChannel, bytes_of(name), 0, 1, 0, 0, amqp_table_t{1, &arg});
  check_reply(("declare queue " + name).c_str());
}

void AmqpSession::delete_queue(const std::string& name) {
  auto held = hold();
  amqp_queue_delete(conn_, kPublishChannel, bytes_of(name), 0, 0);
  check_reply(("delete queue " + name).c_str());
}

std::optional<std::pair<uint32_t, uint32_t>> AmqpSession::queue_counts(const std::string& name) {
  auto held = hold();
  // A passive declare of a missing queue closes the channel: use a throwaway one.
  constexpr amqp_channel_t kProbe = 3;
  amqp_channel_open(conn_, kProbe);
  check_reply("open channel");
  auto* ok = amqp_queue_declare(conn_, kProbe, bytes_of(name), 1, 0, 0, 0, amqp_empty_table);
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    amqp_channel_close_ok_t close_ok{};
    amqp_send_method(conn_, kProbe, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
    return std::nullopt;
  }
  if (r.reply_type != AMQP_RESPONSE_NORMAL || !ok) {
    throw BrokerError(fmt::format("broker {}: inspect queue {}: {}", address_.redacted(), name, reply_text(r)));
  }
  std::pair<uint32_t, uint32_t> counts{ok->message_count, ok->consumer_count};
  amqp_channel_close(conn_, kProbe, AMQP_REPLY_SUCCESS);
  return counts;
}

std::optional<uint32_t> AmqpSession::ready_messages(const std::string& name) {
  auto counts = queue_counts(name);
  return counts ? std::optional<uint32_t>(counts->first) : std::nullopt;
}

std::optional<uint32_t> AmqpSession::consumers(const std::string& name) {
  auto counts = queue_counts(name);
  return counts ? std::optional<uint32_t>(counts->second) : std::nullopt;
}

void AmqpSession::declare_fanout_exchange(const std::string& name) {
  auto held = hold();
  amqp_exchange_declare(conn_, kPublishChannel, bytes_of(name), amqp_cstring_bytes("fanout"), 0, 0, 0, 0,
                        amqp_empty_table);
  check_reply(("declare exchange " + name).c_str());
}

std::string AmqpSession::declare_private_queue(const std::string& exchange) {
  auto held = hold();
  auto* ok = amqp_queue_declare(conn_, kPublishChannel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
  check_reply("declare private queue");
  std::string name(static_cast<char*>(ok->queue.bytes), ok->queue.len);
  if (!exchange.empty()) {
    amqp_queue_bind(conn_, kPublishChannel, bytes_of(name), bytes_of(exchange), amqp_empty_bytes, amqp_empty_table);
    check_reply(("bind to " + exchange).c_str());
  }
  return name;
}

void AmqpSession::publish_to_exchange(const std::string& exchange, std::string_view body) {
  auto held = hold();
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.content_type = amqp_cstring_bytes("application/x-lmover-msgpack");
  int rc = amqp_basic_publish(conn_, kPublishChannel, bytes_of(exchange), amqp_empty_bytes, 0, 0, &props, bytes_of(body));
  if (rc != AMQP_STATUS_OK) {
    throw BrokerError(fmt::format("broker {}: publish to {}: {}", address_.redacted(), exchange, amqp_error_string2(rc)));
  }
  ++published_;
}

void AmqpSession::publish(const std::string& queue, std::string_view body) {
  auto held = hold();
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.delivery_mode = 2;  // persistent: survives a broker restart
  props.content_type = amqp_cstring_bytes("application/x-lmover-msgpack");
  int rc = amqp_basic_publish(conn_, kPublishChannel, amqp_empty_bytes, bytes_of(queue), 0, 0, &props, bytes_of(body));
  if (rc != AMQP_STATUS_OK) {
    throw BrokerError(fmt::format("broker {}: publish to {}: {}", address_.redacted(), queue, amqp_error_string2(rc)));
  }
  ++published_;
}

void AmqpSession::wait_for_confirms(std::chrono::seconds timeout) {
  auto held = hold();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (confirmed_ < published_) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw BrokerError(fmt::format("broker {}: no publisher confirm in time", address_.redacted()));
    timeval tv{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
    amqp_frame_t frame;
    int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) continue;
    if (rc != AMQP_STATUS_OK) throw BrokerError(fmt::format("broker {}: {}", address_.redacted(), amqp_error_string2(rc)));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        confirmed_ = ack->multiple ? ack->delivery_tag : std::max(confirmed_, ack->delivery_tag);
        break;
      }
      case AMQP_BASIC_NACK_METHOD:
        throw BrokerError(fmt::format("broker {}: the broker refused a message", address_.redacted()));
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        throw BrokerError(fmt::format("broker {}: closed while waiting for confirms", address_.redacted()));
      case AMQP_BASIC_DELIVER_METHOD:
        // Reading on would lose this message. Sessions that wait for confirms must hold no
        // deliveries in flight (prefetch 1 with the task in hand unacked, or no consumer).
        throw BrokerError(fmt::format("broker {}: a delivery arrived while waiting for confirms", address_.redacted()));
      default: break;
    }
  }
  heard();
}

void AmqpSession::set_prefetch(uint16_t count) {
  auto held = hold();
  // global: the limit covers all consumers of the channel together (dir and file queues).
  amqp_basic_qos(conn_, kConsumeChannel, 0, count, 1);
  check_reply("set prefetch");
}

void AmqpSession::consume(const std::string& queue) {
  auto held = hold();
  amqp_basic_consume(conn_, kConsumeChannel, bytes_of(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_reply(("consume " + queue).c_str());
}

void AmqpSession::handle_frame_outside_delivery() {
  amqp_frame_t frame;
  int rc = amqp_simple_wait_frame(conn_, &frame);
  if (rc != AMQP_STATUS_OK) throw BrokerError(fmt::format("broker {}: {}", address_.redacted(), amqp_error_string2(rc)));
  if (frame.frame_type != AMQP_FRAME_METHOD) return;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {  // a late publisher confirm
      auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      confirmed_ = ack->multiple ? ack->delivery_tag : std::max(confirmed_, ack->delivery_tag);
      return;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
    case AMQP_BASIC_CANCEL_METHOD:
      throw BrokerError(fmt::format("broker {}: consumer closed by the broker", address_.redacted()));
    default: return;
  }
}

std::optional<Delivery> AmqpSession::next_delivery(std::chrono::milliseconds timeout) {
  auto held = hold();
  amqp_maybe_release_buffers(conn_);
  amqp_envelope_t env;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  amqp_rpc_reply_t r = amqp_consume_message(conn_, &env, &tv, 0);
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) return std::nullopt;
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    handle_frame_outside_delivery();
    return std::nullopt;
  }
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    throw BrokerError(fmt::format("broker {}: consume: {}", address_.redacted(), reply_text(r)));
  }
  heard();
  Delivery d;
  d.tag = env.delivery_tag;
  d.redelivered = env.redelivered != 0;
  d.queue.assign(static_cast<char*>(env.routing_key.bytes), env.routing_key.len);
  d.body.assign(static_cast<char*>(env.message.body.bytes), env.message.body.len);
  amqp_destroy_envelope(&env);
  return d;
}

std::optional<Delivery> AmqpSession::get(const std::string& queue) {
  auto held = hold();
  amqp_rpc_reply_t r = amqp_basic_get(conn_, kConsumeChannel, bytes_of(queue), 0);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    throw BrokerError(fmt::format("broker {}: get from {}: {}", address_.redacted(), queue, reply_text(r)));
  }
  if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::nullopt;
  auto* ok = static_cast<amqp_basic_get_ok_t*>(r.reply.decoded);
  Delivery d;
  d.tag = ok->delivery_tag;
  d.redelivered = ok->redelivered != 0;
  d.queue = queue;
  amqp_message_t message;
  amqp_rpc_reply_t read = amqp_read_message(conn_, kConsumeChannel, &message, 0);
  if (read.reply_type != AMQP_RESPONSE_NORMAL) {
    throw BrokerError(fmt::format("broker {}: read from {}: {}", address_.redacted(), queue, reply_text(read)));
  }
  d.body.assign(static_cast<char*>(message.body.bytes), message.body.len);
  amqp_destroy_message(&message);
  heard();
  return d;
}

void AmqpSession::ack(uint64_t tag, bool multiple) {
  auto held = hold();
  int rc = amqp_basic_ack(conn_, kConsumeChannel, tag, multiple ? 1 : 0);
  if (rc != AMQP_STATUS_OK) throw BrokerError(fmt::format("broker {}: ack: {}", address_.redacted(), amqp_error_string2(rc)));
}

void AmqpSession::reject(uint64_t tag, bool requeue) {
  auto held = hold();
  int rc = amqp_basic_reject(conn_, kConsumeChannel, tag, requeue ? 1 : 0);
  if (rc != AMQP_STATUS_OK) throw BrokerError(fmt::format("broker {}: reject: {}", address_.redacted(), amqp_error_string2(rc)));
}

}  // namespace lmover
