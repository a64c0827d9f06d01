#include "amqp/broker_address.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <amqp.h>

#include <fmt/format.h>

namespace lmover {

namespace {

// The query of an AMQP URI (the RabbitMQ URI spec): only heartbeat=SECONDS is understood.
int parse_heartbeat(const std::string& url, const std::string& query) {
  int heartbeat = BrokerAddress{}.heartbeat_s;
  size_t at = 0;
  while (at < query.size()) {
    size_t end = query.find('&', at);
    std::string item = query.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? query.size() : end + 1;
    char* rest = nullptr;
    if (item.rfind("heartbeat=", 0) != 0) {
      throw BrokerError(fmt::format("broker URL '{}': unknown parameter '{}' (only heartbeat=SECONDS)", url, item));
    }
    long v = std::strtol(item.c_str() + 10, &rest, 10);
    if (*rest || rest == item.c_str() + 10 || v < 0 || v > 3600) {
      throw BrokerError(fmt::format("broker URL '{}': heartbeat wants seconds from 0 (off) to 3600", url));
    }
    heartbeat = static_cast<int>(v);
  }
  return heartbeat;
}

}  // namespace

BrokerAddress BrokerAddress::parse(const std::string& full_url) {
  size_t question = full_url.find('?');
  std::string url = full_url.substr(0, question);
  int heartbeat = question == std::string::npos ? BrokerAddress{}.heartbeat_s : parse_heartbeat(full_url, full_url.substr(question + 1));
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
  a.heartbeat_s = heartbeat;
  return a;
}

void BrokerAddress::load_password(const std::string& password_file) {
  if (!password.empty()) return;
  if (!password_file.empty()) {
    // Refused like a config file holding the password: a secret others can read is none.
    struct stat st {};
    if (::stat(password_file.c_str(), &st) == 0 && (st.st_mode & 077)) {
      throw BrokerError(fmt::format("broker password file '{}' is readable by others (mode {:04o}): chmod 600 it",
                                    password_file, st.st_mode & 07777));
    }
    std::ifstream in(password_file);
    if (!in) throw BrokerError(fmt::format("broker password file '{}': {}", password_file, std::strerror(errno)));
    std::getline(in, password);
    return;
  }
  if (const char* env = std::getenv("LMOVER_BROKER_PASSWORD")) password = env;
  // Never a silent try as guest: a login refused later says less than this.
  if (password.empty()) {
    throw BrokerError(fmt::format("broker {}: no password: use --broker-password-file or $LMOVER_BROKER_PASSWORD",
                                  redacted()));
  }
}

std::string BrokerAddress::redacted() const {
  return fmt::format("{}://{}@{}:{}/{}", tls ? "amqps" : "amqp", user, host, port, vhost);
}

}  // namespace lmover
