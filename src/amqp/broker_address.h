// BrokerAddress: where the RabbitMQ broker is, parsed from amqp[s]://user@host:port/vhost[?heartbeat=S]. The
// password never has to be in the URL (argv is visible to every user in ps): it comes from a
// password file or the LMOVER_BROKER_PASSWORD environment variable.
#pragma once

#include <string>

#include "distributed/broker.h"

namespace lmover {

struct BrokerAddress {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string vhost = "/";
  std::string user = "guest";
  std::string password;
  bool tls = false;
  std::string ca_file;  // amqps: CA bundle to verify the broker with
  // AMQP heartbeat (URL ?heartbeat=S, 0 = off): a node that vanishes without closing TCP loses its
  // connection, and its unacked tasks go to other workers, after about this long.
  int heartbeat_s = 30;

  // Throws BrokerError on a malformed URL.
  static BrokerAddress parse(const std::string& url);
  // Fills the password from `password_file` (first line) or LMOVER_BROKER_PASSWORD when the URL
  // carried none. Throws BrokerError naming the file when it cannot be read.
  void load_password(const std::string& password_file);
  // The URL without the password, for messages.
  std::string redacted() const;
};

}  // namespace lmover
