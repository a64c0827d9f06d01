// Preparing a broker for a migration (what the original rabbitmq_init.sh did): a vhost, a user
// with a password, and full permissions for that user on that vhost, through the RabbitMQ
// management HTTP API. Every call is a PUT, so running it again changes nothing (or resets the
// password to the one given).
#pragma once

#include <string>

namespace lmover {

struct BrokerSetup {
  std::string api_url;  // http://host:15672
  std::string admin_user, admin_password;
  std::string vhost, user, password;
};

// Throws BrokerError naming the API URL, the call and the broker's answer.
void init_broker(const BrokerSetup& setup);

}  // namespace lmover
