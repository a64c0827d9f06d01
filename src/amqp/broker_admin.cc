#include "amqp/broker_admin.h"

#include <httplib.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "amqp/broker_address.h"

namespace lmover {
namespace {

std::string path_segment(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

void put(httplib::Client& client, const BrokerSetup& s, const std::string& path, const nlohmann::json& body) {
  auto res = client.Put(path.c_str(), body.dump(), "application/json");
  if (!res) {
    throw BrokerError(fmt::format("broker API {}: PUT {}: {}", s.api_url, path, httplib::to_string(res.error())));
  }
  if (res->status < 200 || res->status >= 300) {
    throw BrokerError(fmt::format("broker API {}: PUT {}: HTTP {} {}", s.api_url, path, res->status, res->body));
  }
}

}  // namespace

void init_broker(const BrokerSetup& s) {
  httplib::Client client(s.api_url);
  client.set_basic_auth(s.admin_user, s.admin_password);
  client.set_connection_timeout(10);
  std::string vhost = path_segment(s.vhost), user = path_segment(s.user);
  put(client, s, "/api/vhosts/" + vhost, nlohmann::json::object());
  put(client, s, "/api/users/" + user, {{"password", s.password}, {"tags", "monitoring"}});
  put(client, s, "/api/permissions/" + vhost + "/" + user, {{"configure", ".*"}, {"write", ".*"}, {"read", ".*"}});
}

}  // namespace lmover
