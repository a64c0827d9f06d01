// MemcachedCounters: lmover's statistics counters in memcached, as the original tool kept them, so
// that a dashboard job (`lmover stats graphite`) and `lmover stats show` can read every node's.
//
// A counter is one key, "<metric prefix>.<node>.<pass>.<counter>" (e.g. lmover.mover3.copy.bytes_copied),
// a decimal that only ever grows: it is never read-and-reset (that loses increments made in
// between); Graphite derives rates from it. "<metric prefix>.nodes" lists the nodes, one a line.
// Not thread-safe (libmemcached handles are not): one per thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct memcached_st;

namespace lmover {

// "HOST:PORT" (PORT defaults to `default_port`); throws std::invalid_argument naming the text.
std::pair<std::string, int> parse_host_port(const std::string& text, int default_port);

// This host's name, as counters name their node.
std::string this_node();

// "node1.example.org" -> "node1_example_org": a metric path element (Graphite splits on dots).
std::string metric_element(std::string_view text);

class MemcachedCounters {
 public:
  // `server` is HOST:PORT. Connects lazily; a failure shows as false returns and last_error().
  explicit MemcachedCounters(const std::string& server);
  ~MemcachedCounters();
  MemcachedCounters(const MemcachedCounters&) = delete;
  MemcachedCounters& operator=(const MemcachedCounters&) = delete;

  // The value of `key` and its CAS token (0 and 0 when missing); nullopt if unreachable.
  struct Versioned {
    uint64_t value = 0, cas = 0;
  };
  std::optional<Versioned> read(const std::string& key);
  // Stores `value` at `key` if it is still at version `cas` (0: if it does not exist). Returns
  // kStored, kConflict (someone wrote it meanwhile) or kFailed (unreachable: it may or may not
  // have been stored, which the caller finds out by reading it again).
  enum class Store { kStored, kConflict, kFailed };
  Store store(const std::string& key, uint64_t value, uint64_t cas);
  // Appends `line` to the list at `key` unless it holds it already.
  bool remember(const std::string& key, const std::string& line);
  // The values of `keys` that exist (nullopt: the server cannot be reached).
  std::optional<std::map<std::string, std::string>> get(const std::vector<std::string>& keys);

  const std::string& last_error() const { return error_; }
  const std::string& server() const { return server_; }

 private:
  bool failed(const char* what, int rc);

  std::string server_;
  memcached_st* mc_;
  std::string error_;
};

}  // namespace lmover
