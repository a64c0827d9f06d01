#include "cli/config_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cli/logging.h"
#include "fs/fs_error.h"

namespace lmover {

namespace {

// One key's value, read as the type its key wants; a wrong type or range names the file and key.
class Value {
 public:
  Value(const std::string& path, const std::string& key, const toml::node& node) : path_(path), key_(key), node_(node) {}
  std::string text() const {
    if (auto v = node_.value<std::string>()) return *v;
    throw wrong("must be a string");
  }
  bool flag() const {
    if (auto v = node_.value<bool>()) return *v;
    throw wrong("must be true or false");
  }
  double seconds(double lo, double hi) const {
    auto v = node_.value<double>();
    if (!v || *v < lo || *v > hi) throw wrong(fmt::format("must be seconds, {} to {}", lo, hi));
    return *v;
  }
  int64_t number(int64_t lo, int64_t hi) const {
    auto v = node_.value<int64_t>();
    if (!v || *v < lo || *v > hi) throw wrong(fmt::format("must be a number from {} to {}", lo, hi));
    return *v;
  }

 private:
  FsError wrong(const std::string& what) const { return FsError("read config", path_, "'" + key_ + "' " + what); }
  const std::string& path_;
  const std::string& key_;
  const toml::node& node_;
};

using KeyReader = std::function<void(ConfigFile&, const Value&)>;

// Every key a config file may hold, and what it sets.
const std::map<std::string, KeyReader>& key_readers() {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  static const std::map<std::string, KeyReader> readers = {
      {"broker", [](ConfigFile& c, const Value& v) { c.broker = v.text(); }},
      {"password", [](ConfigFile& c, const Value& v) { c.password = v.text(); }},
      {"password_file", [](ConfigFile& c, const Value& v) { c.password_file = v.text(); }},
      {"broker_password_file", [](ConfigFile& c, const Value& v) { c.password_file = v.text(); }},
      {"prefix", [](ConfigFile& c, const Value& v) { c.prefix = v.text(); }},
      {"ca_file", [](ConfigFile& c, const Value& v) { c.ca_file = v.text(); }},
      {"broker_ca_file", [](ConfigFile& c, const Value& v) { c.ca_file = v.text(); }},
      {"broker_retry_for", [](ConfigFile& c, const Value& v) { c.broker_retry_for = v.seconds(0, 30 * 86400); }},
      {"exclude_from", [](ConfigFile& c, const Value& v) { c.exclude_from = v.text(); }},
      {"skip_atime_before", [](ConfigFile& c, const Value& v) { c.skip_atime_before = v.text(); }},
      {"skip_mtime_after", [](ConfigFile& c, const Value& v) { c.skip_mtime_after = v.text(); }},
      {"memcached", [](ConfigFile& c, const Value& v) { c.memcached = v.text(); }},
      {"graphite", [](ConfigFile& c, const Value& v) { c.graphite = v.text(); }},
      {"carbon", [](ConfigFile& c, const Value& v) { c.carbon = v.text(); }},
      {"metrics_listen", [](ConfigFile& c, const Value& v) { c.metrics_listen = v.text(); }},
      {"metrics_textfile", [](ConfigFile& c, const Value& v) { c.metrics_textfile = v.text(); }},
      {"lustre", [](ConfigFile& c, const Value& v) { c.lustre = v.text(); }},
      {"changelog", [](ConfigFile& c, const Value& v) { c.changelog = v.text(); }},
      {"metric_prefix", [](ConfigFile& c, const Value& v) { c.metric_prefix = v.text(); }},
      {"log_level", [](ConfigFile& c, const Value& v) {
         parse_log_level(v.text());  // throws for a level that does not exist
         c.log_level = v.text();
       }},
      {"report_interval", [](ConfigFile& c, const Value& v) { c.report_interval = v.seconds(0.05, 86400); }},
      {"progress_interval", [](ConfigFile& c, const Value& v) { c.progress_interval = v.seconds(0, 86400); }},
      {"layout", [](ConfigFile& c, const Value& v) { c.layout = v.text(); }},
      {"mdts", [](ConfigFile& c, const Value& v) { c.mdts = v.text(); }},
      {"mdt_depth", [](ConfigFile& c, const Value& v) { c.mdt_depth = v.number(1, 64); }},
      {"dir_layout", [](ConfigFile& c, const Value& v) { c.dir_layout = v.text(); }},
      {"dir_stripes", [](ConfigFile& c, const Value& v) { c.dir_stripes = v.number(-1, 65535); }},
      {"hsm", [](ConfigFile& c, const Value& v) { c.hsm = v.text(); }},
      {"hsm_rebind", [](ConfigFile& c, const Value& v) { c.hsm_rebind = v.text(); }},
      {"hsm_batch", [](ConfigFile& c, const Value& v) { c.hsm_batch = v.number(1, 100000); }},
      {"hsm_restore_timeout", [](ConfigFile& c, const Value& v) { c.hsm_restore_timeout = v.number(1, 7 * 86400); }},
      {"xattrs", [](ConfigFile& c, const Value& v) { c.xattrs = v.flag(); }},
      {"owner", [](ConfigFile& c, const Value& v) { c.owner = v.flag(); }},
      {"threads", [](ConfigFile& c, const Value& v) { c.threads = v.number(1, 4096); }},
      {"chunk_size", [](ConfigFile& c, const Value& v) { c.chunk_size = v.number(65536, 1ll << 40); }},
      {"chunk_threshold", [](ConfigFile& c, const Value& v) { c.chunk_threshold = v.number(0, kMax); }},
      {"max_delete", [](ConfigFile& c, const Value& v) { c.max_delete = v.number(0, kMax); }},
      {"max_errors", [](ConfigFile& c, const Value& v) { c.max_errors = v.number(0, kMax); }},
  };
  return readers;
}

}  // namespace

ConfigFile ConfigFile::load(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) throw FsError("read config", path, errno);
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw FsError("read config", path, fmt::format("line {}: {}", e.source().begin.line, e.description()));
  }
  ConfigFile c;
  for (const auto& [key, node] : table) {
    std::string k(key.str());
    auto reader = key_readers().find(k);
    if (reader == key_readers().end()) throw FsError("read config", path, "unknown key '" + k + "'");
    try {
      reader->second(c, Value(path, k, node));
    } catch (const std::invalid_argument& e) {
      throw FsError("read config", path, e.what());
    }
  }
  if (c.password && (st.st_mode & 077)) {
    throw FsError("read config", path,
                  fmt::format("holds the broker password but is readable by others (mode {:04o}); chmod 600 it",
                              st.st_mode & 07777));
  }
  return c;
}

std::string config_path_from(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
    if (std::strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
  }
  const char* env = std::getenv("LMOVER_CONFIG");
  return env ? env : "";
}

}  // namespace lmover
