#pragma once

#include <chrono>
#include <string>

namespace lmover {

// Where the broker is and how a command talks to it, from the command line and the config file
// (the password only from a private config file or the environment, never from argv). One value,
// built while parsing and handed to whatever needs the broker.
struct BrokerSettings {
  std::string url;  // empty: no broker (a pass then runs on the embedded engine)
  std::string password_file;
  std::string password;  // from a private config file only
  std::string ca_file;   // amqps://
  std::string prefix = "lmover";
  unsigned retry_for_s = 600;  // a lost broker is tried again this long (BrokerRetry)

  bool empty() const { return url.empty(); }
  std::chrono::seconds retry_for() const { return std::chrono::seconds(retry_for_s); }
};

}  // namespace lmover
