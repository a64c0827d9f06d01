#include "rabbit/broker_address.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <amqp.h>

#include <fmt/format.h>

namespace lmover {

BrokerAddress BrokerAddress::parse(const std::string& url) {
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
    throw BrokerError(fmt::format("broker URL '{}' is malformed (want amqp[s]://user@host:port/vhost)", url));
  }
  BrokerAddress a;
  a.host = info.host;
  a.port = info.port;
  a.vhost = info.vhost;
  a.user = info.user;
  // amqp_parse_url fills in "guest" when the URL names no password: only take an explicit one.
  if (url.find('@') != std::string::npos && url.find(':', url.find("//") + 2) < url.find('@')) a.password = info.password;
  a.tls = info.ssl != 0;
  return a;
}

void BrokerAddress::load_password(const std::string& password_file) {
  if (!password.empty()) return;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in) throw BrokerError(fmt::format("broker password file '{}': {}", password_file, std::strerror(errno)));
    std::getline(in, password);
    return;
  }
  if (const char* env = std::getenv("LMOVER_BROKER_PASSWORD")) password = env;
  if (password.empty()) password = "guest";
}

std::string BrokerAddress::redacted() const {
  return fmt::format("{}://{}@{}:{}/{}", tls ? "amqps" : "amqp", user, host, port, vhost);
}

}  // namespace lmover
