// Helpers for the end-to-end tests: scratch directories, running the real lmover binary, and
// small builders for trees with exact attributes.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmover::test {

// A fresh directory under $LMOVER_TEST_DIR (default /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// A small tmpfs mounted at `dir` (made here) for as long as the object lives, detached however the
// test ends: a target that fills up ("size=256k") or is read-only (MS_RDONLY). `error()` is ""
// when it is mounted, else what mount(2) said.
class SmallMount {
 public:
  SmallMount(const std::string& dir, const std::string& options, unsigned long flags = 0);
  ~SmallMount();
  SmallMount(const SmallMount&) = delete;
  SmallMount& operator=(const SmallMount&) = delete;
  const std::string& error() const { return error_; }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_, error_;
};

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
  nlohmann::json summary;  // the --json document, if written
  uint64_t actions(const std::string& pass) const;
  uint64_t counter(const std::string& pass, const std::string& name) const;
};

// Runs build/lmover with `args` (a --json file is added unless `summary` is false). `as_uid` >= 0
// runs it as that user; `max_fds` > 0 caps its descriptors (RLIMIT_NOFILE, soft and hard).
RunResult run_lmover(const std::vector<std::string>& args, int as_uid = -1, bool summary = true, long max_fds = 0);

// Builders. All abort the test on failure (they throw std::runtime_error with the errno text).
void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);
bool exists(const std::string& path);  // lstat: a dangling symlink exists
void make_dir(const std::string& path, mode_t mode = 0755);
void set_times(const std::string& path, timespec atime, timespec mtime);  // never follows symlinks
void set_xattr(const std::string& path, const std::string& key, const std::string& value);  // nofollow
void set_acl(const std::string& path, const std::string& text, bool default_acl = false);
void run_shell(const std::string& command);  // for the rare case a tool says it best
timespec ts(time_t sec, long nsec);

// Statistics: this host as counters name their node (dots and the like made '_'), and the value
// of memcached `key` at `server` as libmemcached-tools' memccat prints it (0 when missing), read
// independently of lmover's own client. `scratch` is a file memccat's output may go to.
std::string metric_node_name();
uint64_t memcached_value(const std::string& server, const std::string& key, const std::string& scratch);

// Big files in chunks: how many part files (.lmover-part-*) directory `dir` holds.
size_t part_files(const std::string& dir);

}  // namespace lmover::test
