// ConfigFile: the TOML file that holds a migration's settings (what the original tool kept in
// config.py): broker, queue prefix, filters, exclude list, statistics addresses. Command-line
// options override it. It may hold the broker password only if no one else can read it.
//
//   broker = "amqp://lmover@mq1:5672/proj1"     password = "..." (file mode 0600 or stricter)
//   password_file = "/etc/lmover/broker.pass"   prefix = "proj1"      threads = 16
//   exclude_from = "/etc/lmover/exceptions"     skip_atime_before = "2020-01-01"
//   skip_mtime_after = "2026-11-01"             memcached = "host:11211"  graphite = "host:2003"
//   ca_file = "/etc/pki/mq-ca.pem" (amqps://)    xattrs = false (--no-xattrs)
//   lustre = "auto"  layout = "seed"  mdts = "0,1"  mdt_depth = 1
//   metric_prefix = "lmover.proj1"  report_interval = 30
//   ... and every flag that belongs in a file, named like it: chunk_size = 268435456 (--chunk-size),
//   max_delete, max_errors, log_level = "info", metrics_listen, carbon, broker_password_file (an
//   alias of password_file), broker_ca_file (of ca_file). contrib/examples/proj1.toml has them all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lmover {

struct ConfigFile {
  std::optional<std::string> broker, password, password_file, prefix, ca_file;
  std::optional<std::string> exclude_from, skip_atime_before, skip_mtime_after;
  std::optional<std::string> log_level;
  std::optional<std::string> memcached, graphite;  // for the statistics sinks
  std::optional<unsigned> threads;
  std::optional<bool> xattrs;  // false: --no-xattrs
  std::optional<std::string> lustre, layout, mdts;  // --lustre, --layout, --mdts ("0,1")
  std::optional<std::string> changelog;  // --changelog: the changelog user(s)
  std::optional<std::string> dir_layout, hsm, hsm_rebind;  // --dir-layout, --hsm, --hsm-rebind
  std::optional<unsigned> hsm_batch, hsm_restore_timeout;
  std::optional<unsigned> mdt_depth;
  std::optional<std::string> metric_prefix;
  std::optional<double> report_interval;  // seconds
  std::optional<double> progress_interval;  // seconds: --progress-interval
  // Keys named like their flags (chunk_size is --chunk-size):
  std::optional<uint64_t> chunk_size, chunk_threshold, max_delete, max_errors;
  std::optional<int> dir_stripes;
  std::optional<double> broker_retry_for;
  std::optional<std::string> metrics_listen, metrics_textfile, carbon;
  std::optional<bool> owner;  // false: --no-owner

  // Throws FsError naming the file: unreadable, not TOML, an unknown key (a typo must not be
  // silently ignored), or a password in a file that group or others can read.
  static ConfigFile load(const std::string& path);
};

// The config file named by --config FILE / --config=FILE in argv, else $LMOVER_CONFIG, else "".
std::string config_path_from(int argc, char** argv);

}  // namespace lmover
