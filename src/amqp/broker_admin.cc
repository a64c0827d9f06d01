#include "amqp/broker_admin.h"

#include <httplib.h>

#include <cstring>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "amqp/broker_address.h"
#include "amqp/tcp_probe.h"

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

// The management API's address: http[s]://HOST[:PORT], and a path it is served under when a
// proxy puts it there (http://gw/rabbitmq/); a trailing slash is the same URL.
struct ApiUrl {
  std::string origin, host, base;  // "http://mq1:15672", "mq1", "" or "/rabbitmq"
  int port = 80;
};

ApiUrl parse_api_url(const std::string& url) {
  static const std::regex form(R"(^(https?)://(\[[0-9a-fA-F:.]+\]|[^:/?#\[\]]+)(?::([0-9]{1,5}))?(/[^?#]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, form)) {
    throw BrokerError(fmt::format("broker API '{}': not an http[s]://HOST[:PORT][/PATH] URL (e.g. http://mq1:15672)", url));
  }
  ApiUrl api;
  bool tls = m[1] == "https";
  api.host = m[2];
  api.port = m[3].matched ? std::stoi(m[3]) : tls ? 443 : 80;
  api.origin = fmt::format("{}://{}:{}", m[1].str(), api.host, api.port);
  api.base = m[4].matched ? m[4].str() : "";
  while (!api.base.empty() && api.base.back() == '/') api.base.pop_back();
  return api;
}

// httplib's error, in words, with the errno a connect gets where it could not connect.
std::string in_words(httplib::Error error, const ApiUrl& api) {
  std::string where = fmt::format("{}:{}", api.host, api.port);
  switch (error) {
    case httplib::Error::Connection: {
      int err = connect_errno(api.host, api.port);
      return fmt::format("connect to {}: {}", where, err ? std::strerror(err) : "refused by the HTTP client");
    }
    case httplib::Error::ConnectionTimeout: return fmt::format("connect to {}: no answer within 10 s", where);
    case httplib::Error::Read:
      return fmt::format("{} closed the connection without an HTTP answer (is it the management port, 15672, "
                         "not AMQP's 5672?)", where);
    case httplib::Error::Write: return fmt::format("the connection to {} broke while the request was sent", where);
    case httplib::Error::SSLConnection: return fmt::format("TLS handshake with {} failed", where);
    case httplib::Error::SSLServerVerification: return fmt::format("{}'s TLS certificate could not be verified", where);
    case httplib::Error::SSLLoadingCerts: return "the CA certificates could not be loaded";
    case httplib::Error::ExceedRedirectCount: return fmt::format("{} redirected too many times", where);
    default: return fmt::format("{}: {}", where, httplib::to_string(error));
  }
}

void put(httplib::Client& client, const BrokerSetup& s, const ApiUrl& api, const std::string& path,
         const nlohmann::json& body) {
  std::string full = api.base + path;
  auto res = client.Put(full.c_str(), body.dump(), "application/json");
  if (!res) throw BrokerError(fmt::format("broker API {}: PUT {}: {}", s.api_url, full, in_words(res.error(), api)));
  if (res->status == 401) {
    throw BrokerError(fmt::format("broker API {}: PUT {}: HTTP 401: login refused for '{}' (wrong password, or the user "
                                  "lacks the administrator tag)", s.api_url, full, s.admin_user));
  }
  if (res->status < 200 || res->status >= 300) {
    throw BrokerError(fmt::format("broker API {}: PUT {}: HTTP {} {}", s.api_url, full, res->status, res->body));
  }
}

}  // namespace

void init_broker(const BrokerSetup& s) {
  ApiUrl api = parse_api_url(s.api_url);
  httplib::Client client(api.origin);
  client.set_basic_auth(s.admin_user, s.admin_password);
  client.set_connection_timeout(10);
  std::string vhost = path_segment(s.vhost), user = path_segment(s.user);
  put(client, s, api, "/api/vhosts/" + vhost, nlohmann::json::object());
  put(client, s, api, "/api/users/" + user, {{"password", s.password}, {"tags", "monitoring"}});
  put(client, s, api, "/api/permissions/" + vhost + "/" + user, {{"configure", ".*"}, {"write", ".*"}, {"read", ".*"}});
}

}  // namespace lmover
