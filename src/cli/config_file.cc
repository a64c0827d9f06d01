#include "cli/config_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cli/logging.h"
#include "fs/fs_error.h"

namespace lmover {

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
    auto text = [&]() -> std::string {
      if (auto v = node.value<std::string>()) return *v;
      throw FsError("read config", path, "'" + k + "' must be a string");
    };
    if (k == "broker") c.broker = text();
    else if (k == "password") c.password = text();
    else if (k == "password_file") c.password_file = text();
    else if (k == "prefix") c.prefix = text();
    else if (k == "ca_file") c.ca_file = text();
    else if (k == "exclude_from") c.exclude_from = text();
    else if (k == "skip_atime_before") c.skip_atime_before = text();
    else if (k == "skip_mtime_after") c.skip_mtime_after = text();
    else if (k == "memcached") c.memcached = text();
    else if (k == "graphite") c.graphite = text();
    else if (k == "lustre") c.lustre = text();
    else if (k == "changelog") c.changelog = text();
    else if (k == "metric_prefix") c.metric_prefix = text();
    else if (k == "log_level") {
      try {
        parse_log_level(text());
      } catch (const std::invalid_argument& e) {
        throw FsError("read config", path, e.what());
      }
      c.log_level = text();
    }
    else if (k == "report_interval") {
      auto v = node.value<double>();
      if (!v || *v < 0.05 || *v > 86400) throw FsError("read config", path, "'report_interval' must be seconds, 0.05 to 86400");
      c.report_interval = *v;
    }
    else if (k == "progress_interval") {
      auto v = node.value<double>();
      if (!v || *v < 0 || *v > 86400) throw FsError("read config", path, "'progress_interval' must be seconds, 0 to 86400");
      c.progress_interval = *v;
    }
    else if (k == "layout") c.layout = text();
    else if (k == "mdts") c.mdts = text();
    else if (k == "dir_layout") c.dir_layout = text();
    else if (k == "hsm") c.hsm = text();
    else if (k == "hsm_rebind") c.hsm_rebind = text();
    else if (k == "hsm_batch") {
      auto v = node.value<int64_t>();
      if (!v || *v < 1 || *v > 100000) throw FsError("read config", path, "'hsm_batch' must be a number from 1 to 100000");
      c.hsm_batch = static_cast<unsigned>(*v);
    } else if (k == "hsm_restore_timeout") {
      auto v = node.value<int64_t>();
      if (!v || *v < 1 || *v > 7 * 86400) throw FsError("read config", path, "'hsm_restore_timeout' must be seconds, 1 to 604800");
      c.hsm_restore_timeout = static_cast<unsigned>(*v);
    }
    else if (k == "mdt_depth") {
      auto v = node.value<int64_t>();
      if (!v || *v < 1 || *v > 64) throw FsError("read config", path, "'mdt_depth' must be a number from 1 to 64");
      c.mdt_depth = static_cast<unsigned>(*v);
    } else if (k == "xattrs") {
      auto v = node.value<bool>();
      if (!v) throw FsError("read config", path, "'xattrs' must be true or false");
      c.xattrs = *v;
    } else if (k == "threads") {
      auto v = node.value<int64_t>();
      if (!v || *v < 1 || *v > 4096) throw FsError("read config", path, "'threads' must be a number from 1 to 4096");
      c.threads = static_cast<unsigned>(*v);
    } else {
      throw FsError("read config", path, "unknown key '" + k + "'");
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
