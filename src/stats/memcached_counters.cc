#include "stats/memcached_counters.h"

#include <libmemcached/memcached.h>

#include <unistd.h>

#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

#include "fs/host_name.h"

namespace lmover {


std::pair<std::string, int> parse_host_port(const std::string& text, int default_port) {
  size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  int port = default_port;
  if (colon != std::string::npos) {
    char* end = nullptr;
    long v = std::strtol(text.c_str() + colon + 1, &end, 10);
    port = (*end || v <= 0 || v > 65535) ? -1 : static_cast<int>(v);
  }
  if (host.empty() || port < 0) throw std::invalid_argument("bad address '" + text + "': HOST:PORT");
  return {host, port};
}

std::string this_node() { return host_name(); }

std::string metric_element(std::string_view text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out.empty() ? "_" : out;
}

MemcachedCounters::MemcachedCounters(const std::string& server) : server_(server), mc_(memcached_create(nullptr)) {
  std::pair<std::string, int> address;
  try {
    address = parse_host_port(server, 11211);
  } catch (...) {
    memcached_free(mc_);
    throw;
  }
  auto& [host, port] = address;
  memcached_server_add(mc_, host.c_str(), static_cast<in_port_t>(port));
  // Reads carry CAS tokens (see store); short timeouts so a dead server costs little.
  memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 500);
  memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 500);
  memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
  memcached_behavior_set(mc_, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
}

MemcachedCounters::~MemcachedCounters() { memcached_free(mc_); }

bool MemcachedCounters::failed(const char* what, int rc) {
  error_ = fmt::format("memcached {} at {}: {}", what, server_,
                       memcached_strerror(mc_, static_cast<memcached_return_t>(rc)));
  return false;
}

std::optional<MemcachedCounters::Versioned> MemcachedCounters::read(const std::string& key) {
  const char* keys[] = {key.c_str()};
  size_t lengths[] = {key.size()};
  memcached_return_t rc = memcached_mget(mc_, keys, lengths, 1);
  if (rc != MEMCACHED_SUCCESS) {
    failed("get", rc);
    return std::nullopt;
  }
  Versioned out;
  memcached_result_st* result;
  while ((result = memcached_fetch_result(mc_, nullptr, &rc)) != nullptr) {
    std::string text(memcached_result_value(result), memcached_result_length(result));
    out = {std::strtoull(text.c_str(), nullptr, 10), memcached_result_cas(result)};
    memcached_result_free(result);
  }
  if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
    failed("get", rc);
    return std::nullopt;
  }
  return out;
}

MemcachedCounters::Store MemcachedCounters::store(const std::string& key, uint64_t value, uint64_t cas) {
  std::string text = std::to_string(value);
  memcached_return_t rc = cas ? memcached_cas(mc_, key.data(), key.size(), text.data(), text.size(), 0, 0, cas)
                              : memcached_add(mc_, key.data(), key.size(), text.data(), text.size(), 0, 0);
  if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED) return Store::kStored;
  if (rc == MEMCACHED_DATA_EXISTS || rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_NOTFOUND) return Store::kConflict;
  failed(cas ? "cas" : "add", rc);
  return Store::kFailed;
}

bool MemcachedCounters::remember(const std::string& key, const std::string& line) {
  auto current = get({key});
  if (!current) return false;
  std::string text = current->count(key) ? current->at(key) : "";
  std::string wanted = line + "\n";
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, end - pos, line) == 0 && end - pos == line.size()) return true;
    pos = end + 1;
  }
  memcached_return_t rc = memcached_add(mc_, key.data(), key.size(), wanted.data(), wanted.size(), 0, 0);
  if (rc == MEMCACHED_SUCCESS) return true;
  rc = memcached_append(mc_, key.data(), key.size(), wanted.data(), wanted.size(), 0, 0);
  return rc == MEMCACHED_SUCCESS ? true : failed("append", rc);
}

std::optional<std::map<std::string, std::string>> MemcachedCounters::get(const std::vector<std::string>& keys) {
  std::map<std::string, std::string> out;
  for (const std::string& key : keys) {
    size_t length = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char* value = memcached_get(mc_, key.data(), key.size(), &length, &flags, &rc);
    if (value) {
      out.emplace(key, std::string(value, length));
      free(value);
    } else if (rc != MEMCACHED_NOTFOUND) {
      failed("get", rc);
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace lmover
