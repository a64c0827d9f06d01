#include "test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace lmover::test {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(fmt::format("{} '{}': {}", what, path, strerror(errno)));
}

}  // namespace

TempDir::TempDir() {
  const char* base = getenv("LMOVER_TEST_DIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/lmover-test-XXXXXX";
  if (!mkdtemp(tmpl.data())) fail("mkdtemp", tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  // chmod first: the trees contain mode-000 directories; then remove.
  std::string cmd = fmt::format("chmod -R u+rwx '{0}' 2>/dev/null; rm -rf '{0}'", path_);
  if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path_.c_str());
}

uint64_t RunResult::counter(const std::string& pass, const std::string& name) const {
  if (!summary.contains("passes")) return ~0ull;
  for (const auto& p : summary["passes"]) {
    if (p["pass"] == pass) return p["counters"][name].get<uint64_t>();
  }
  return ~0ull;
}

uint64_t RunResult::actions(const std::string& pass) const { return counter(pass, "actions"); }

SmallMount::SmallMount(const std::string& dir, const std::string& options, unsigned long flags) : dir_(dir) {
  make_dir(dir);
  if (mount("tmpfs", dir.c_str(), "tmpfs", flags, options.c_str()) < 0) error_ = std::strerror(errno);
}

SmallMount::~SmallMount() {
  if (error_.empty()) umount2(dir_.c_str(), MNT_DETACH);
}

RunResult run_lmover(const std::vector<std::string>& args, int as_uid, bool summary, long max_fds) {
  char out_tmpl[] = "/tmp/lmover-out-XXXXXX";
  int out_fd = mkstemp(out_tmpl);
  std::string json_path = std::string(out_tmpl) + ".json";
  std::vector<std::string> full = {LMOVER_BIN};
  full.insert(full.end(), args.begin(), args.end());
  if (summary) {
    full.push_back("--json");
    full.push_back(json_path);
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    // That user alone: none of root's supplementary groups.
    if (as_uid >= 0 && (setgroups(0, nullptr) < 0 || setgid(as_uid) < 0 || setuid(as_uid) < 0)) _exit(99);
    rlimit fds{static_cast<rlim_t>(max_fds), static_cast<rlim_t>(max_fds)};
    if (max_fds > 0 && setrlimit(RLIMIT_NOFILE, &fds) < 0) _exit(97);
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(98);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  close(out_fd);
  r.output = read_file(out_tmpl);
  unlink(out_tmpl);
  std::ifstream js(json_path);
  if (js) {
    try {
      js >> r.summary;
    } catch (...) {
    }
  }
  unlink(json_path.c_str());
  return r;
}

void write_file(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
  if (fd < 0) fail("create", path);
  if (write(fd, content.data(), content.size()) != ssize_t(content.size())) fail("write", path);
  close(fd);
}

// O_NOATIME: a test that looks at a file must not change what the oracle compares next.
std::string read_file(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_NOATIME);
  if (fd < 0) fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fd);
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void make_dir(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) < 0) fail("mkdir", path);
  if (chmod(path.c_str(), mode) < 0) fail("chmod", path);
}

void set_times(const std::string& path, timespec atime, timespec mtime) {
  timespec t[2] = {atime, mtime};
  if (utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW) < 0) fail("utimensat", path);
}

void set_xattr(const std::string& path, const std::string& key, const std::string& value) {
  if (lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0) < 0) fail("setxattr " + key, path);
}

void set_acl(const std::string& path, const std::string& text, bool default_acl) {
  acl_t acl = acl_from_text(text.c_str());
  if (!acl) fail("acl_from_text " + text, path);
  if (acl_set_file(path.c_str(), default_acl ? ACL_TYPE_DEFAULT : ACL_TYPE_ACCESS, acl) < 0) fail("acl_set_file", path);
  acl_free(acl);
}

void run_shell(const std::string& command) {
  if (system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

timespec ts(time_t sec, long nsec) { return timespec{sec, nsec}; }

std::string metric_node_name() {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  std::string out;
  for (char c : std::string(host)) out += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out;
}

uint64_t memcached_value(const std::string& server, const std::string& key, const std::string& scratch) {
  std::string cmd = "memccat --servers=" + server + " '" + key + "' > '" + scratch + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return 0;
  return std::strtoull(read_file(scratch).c_str(), nullptr, 10);
}

size_t part_files(const std::string& dir) {
  size_t n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) n += std::string(e->d_name).rfind(".lmover-part-", 0) == 0;
  closedir(d);
  return n;
}

}  // namespace lmover::test
