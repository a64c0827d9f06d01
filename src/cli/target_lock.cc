#include "cli/target_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "fs/fs_error.h"
#include "fs/host_name.h"

namespace lmover {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kBeat = 15s;
constexpr auto kStaleAfter = 60s;

std::string this_host() { return host_name(); }

// Field 22 of /proc/PID/stat: when the process started, so a recycled pid is not taken for it.
std::string start_time(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  return field;
}

// "a/b/c" -> {"a/b", "c"}; "c" -> {".", "c"}; "/c" -> {"/", "c"}.
std::pair<std::string, std::string> split_parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

// The lock is keyed by what DST resolves to, not by how it was spelt: `dst`, `dstlink` (a symlink
// to it), `dst/.` and `./` are one target and must meet at one lock, which is never beneath DST
// (a delete pass would remove it). A DST that does not exist yet resolves through its parent.
std::string path_beside(const std::string& dst, const std::string& suffix) {
  std::string trimmed = dst;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  if (char* real = realpath(trimmed.c_str(), nullptr)) {
    trimmed = real;
    free(real);
  } else if (auto [parent, name] = split_parent(trimmed); char* real_parent = realpath(parent.c_str(), nullptr)) {
    trimmed = std::string(real_parent) + "/" + name;
    free(real_parent);
  }
  auto [parent, name] = split_parent(trimmed);
  if (name.empty() || name == "/" || name == "." || name == "..") name = "root";
  return (parent == "/" ? "" : parent) + "/." + name + "." + suffix;
}

namespace {

std::string lock_path_for(const std::string& dst) { return path_beside(dst, "lmover-lock"); }

struct Holder {
  json doc;
  bool dead = false;
  std::string describe() const {
    std::string who = fmt::format("{} on {} (pid {})", doc.value("command", "?"), doc.value("host", "?"),
                                  doc.value("pid", 0L));
    if (!doc.value("run", "").empty()) who += ", distributed run " + doc.value("run", "");
    return who;
  }
};

// The holder of the lock file at `path`, or nullopt when there is none.
std::optional<Holder> read_holder(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw FsError("read lock", path, errno);
  }
  Holder h;
  h.doc = json::parse(in, nullptr, false);
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return std::nullopt;  // released meanwhile
  if (h.doc.is_discarded() || !h.doc.is_object()) {
    h.doc = json::object();
    h.dead = true;  // half-written by a holder that died while writing it
    return h;
  }
  long pid = h.doc.value("pid", 0L);
  if (h.doc.value("host", "") == this_host()) {
    std::string started = start_time(pid);
    h.dead = started.empty() || started != h.doc.value("started", "");
  } else {
    auto age = std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    h.dead = age > kStaleAfter;
  }
  return h;
}

}  // namespace

std::string release_cancelled_lock(const std::string& dst, const std::string& run) {
  std::string path = lock_path_for(dst);
  auto holder = read_holder(path);
  if (!holder || holder->doc.value("run", "") != run) return fmt::format("the lock of {} is not run {}'s", dst, run);
  if (!holder->dead) return fmt::format("its holder ({}) lets the lock of {} go as it ends", holder->describe(), dst);
  if (unlink(path.c_str()) < 0 && errno != ENOENT) throw FsError("remove lock", path, errno);
  return fmt::format("the lock of {} is released", dst);
}

TargetLock::TargetLock(const std::string& dst, const std::string& command, const std::string& adopt_run)
    : path_(lock_path_for(dst)), command_(command), run_(adopt_run) {
  bool taken = false;
  for (int attempt = 0; attempt < 3 && !taken; ++attempt) {
    auto holder = read_holder(path_);
    if (!holder) {
      try {
        write_lock(false);
        taken = true;
      } catch (const FsError& e) {
        if (e.err() != EEXIST) throw;  // EEXIST: someone was faster; look at them
      }
      continue;
    }
    std::string run = holder->doc.value("run", "");
    bool ours = !adopt_run.empty() && run == adopt_run;
    if (!ours && !holder->dead) {
      throw FsError("lock", dst,
                    fmt::format("another lmover run holds this target: {} (lock {})", holder->describe(), path_));
    }
    if (!ours && !run.empty()) {
      throw FsError("lock", dst,
                    fmt::format("its holder is gone ({}) but its run may still be going on the workers: re-attach "
                                "with 'lmover wait --run {}', or remove {} if that run is abandoned",
                                holder->describe(), run, path_));
    }
    if (!ours) spdlog::warn("taking over the lock of {} from a run that is gone: {}", dst, holder->describe());
    write_lock(true);
    taken = true;
  }
  if (!taken) throw FsError("lock", dst, "the lock " + path_ + " changed hands too often");
  beat_ = std::thread([this] { heartbeat(); });
}

TargetLock::~TargetLock() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_signal_.notify_all();
  if (beat_.joinable()) beat_.join();
  if (keep_) return;
  auto holder = read_holder(path_);
  if (holder && holder->doc.value("pid", 0L) == getpid() && holder->doc.value("host", "") == this_host()) {
    unlink(path_.c_str());
  }
}

void TargetLock::set_run(const std::string& run) {
  run_ = run;
  write_lock(true);
}

void TargetLock::write_lock(bool replace) {
  json doc = {{"host", this_host()}, {"pid", long(getpid())}, {"started", start_time(getpid())},
              {"command", command_}, {"run", run_},          {"since", long(time(nullptr))}};
  std::string staged = fmt::format("{}.{}.tmp", path_, getpid());
  {
    std::ofstream out(staged, std::ios::trunc);
    out << doc.dump() << '\n';
    if (!out) throw FsError("write lock", staged, errno);
  }
  // Published whole: link fails if a lock exists (taking it), rename replaces one (taking over).
  int rc = replace ? rename(staged.c_str(), path_.c_str()) : link(staged.c_str(), path_.c_str());
  int err = errno;
  unlink(staged.c_str());
  if (rc < 0) throw FsError("lock", path_, err);
}

void TargetLock::heartbeat() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_for(lock, kBeat, [this] { return stop_; })) {
    if (utimensat(AT_FDCWD, path_.c_str(), nullptr, 0) < 0) spdlog::warn("{}", FsError("refresh lock", path_, errno).what());
  }
}

}  // namespace lmover
