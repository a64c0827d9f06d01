#include "lustre/hsm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fs/fs_error.h"
#include "fs/host_name.h"

namespace lmover {
namespace {

// Not on Lustre, or a library without HSM: such a file is never released.
bool no_hsm_here(int err) { return err == ENOTTY || err == ENOTSUP || err == EOPNOTSUPP || err == ENOSYS; }

}  // namespace

HsmSettings::Mode HsmSettings::parse_mode(const std::string& text) {
  if (text == "skip") return Mode::kSkip;
  if (text == "stub") return Mode::kStub;
  if (text == "restore") return Mode::kRestore;
  throw std::invalid_argument("bad --hsm '" + text + "': skip, stub or restore");
}

const char* HsmSettings::name(Mode mode) {
  switch (mode) {
    case Mode::kSkip: return "skip";
    case Mode::kStub: return "stub";
    case Mode::kRestore: return "restore";
  }
  return "?";
}

std::string HsmSettings::default_rebind_path(const std::string& dst) {
  // Beside the target, as its lock is: never inside it, where it would be part of the clone.
  std::string path = dst;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return (parent == "/" ? "" : parent) + "/." + name + ".lmover-rebind";
}

void RebindList::add(const Fid& old_fid, const Fid& new_fid) const {
  std::lock_guard lock(mutex_);
  if (!fd_.valid()) {
    int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw FsError("open the HSM rebind list", path_, errno);
    fd_.reset(fd);
    std::string head = fmt::format("# lmover stubs from {} pid {} at {}: old_FID new_FID (lhsmtool_posix --rebind)\n", host_name(),
                                   getpid(), std::time(nullptr));
    if (write(fd, head.data(), head.size()) != static_cast<ssize_t>(head.size())) {
      throw FsError("write the HSM rebind list", path_, errno);
    }
  }
  std::string line = old_fid.text() + " " + new_fid.text() + "\n";
  if (write(fd_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw FsError("write the HSM rebind list", path_, errno);
  }
}

Hsm::Hsm(std::shared_ptr<const LustreApi> api, HsmSettings settings, std::string rebind_path)
    : api_(std::move(api)), settings_(std::move(settings)), rebind_(std::move(rebind_path)) {}

std::optional<HsmState> Hsm::released(int fd, std::string_view rel) const {
  std::optional<HsmState> state = api_->hsm_state(fd);
  if (!state) {
    if (no_hsm_here(errno)) return std::nullopt;
    throw FsError("read the HSM state", rel, errno);
  }
  if (!state->released()) return std::nullopt;
  return state;
}

UniqueFd Hsm::make_stub(int src_fd, const EntryMeta& meta, const HsmState& state, const std::optional<Layout>& layout,
                        int dst_dir, const char* name, std::string_view rel) const {
  std::optional<Fid> old_fid = api_->fid_of(src_fd);
  if (!old_fid) throw FsError("read the FID", rel, errno);
  struct stat st{};
  st.st_mode = meta.type_bits() | (meta.perm & 07777);
  st.st_uid = meta.uid;
  st.st_gid = meta.gid;
  st.st_size = meta.size;
  st.st_atim = meta.atime;
  st.st_mtim = meta.mtime;
  Fid made;
  // The name is new (a create, or the staged name of a rewrite); /proc/self/fd/N pins the
  // directory, so no symlink on the way leads elsewhere.
  std::string path = path_in(dst_dir, name);
  if (api_->hsm_import(path, state.archive_id, st, layout, &made) != 0) {
    throw FsError(fmt::format("create an HSM stub (archive {})", state.archive_id), rel, errno);
  }
  int fd = openat(dst_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw FsError("open", rel, errno);
  UniqueFd out(fd);
  rebind_.add(*old_fid, made);
  return out;
}

std::vector<const Hsm::Released*> Hsm::restore(const std::string& fs_path, const std::vector<Released>& files) const {
  std::vector<const Released*> back;
  size_t batch = std::max(1u, settings_.batch);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(settings_.restore_timeout);
  for (size_t from = 0; from < files.size(); from += batch) {
    std::vector<Fid> fids;
    for (size_t i = from; i < files.size() && i < from + batch; ++i) fids.push_back(files[i].fid);
    if (api_->hsm_restore(fs_path, fids) != 0) {
      throw FsError(fmt::format("request the restore of {} files", fids.size()), fs_path, errno);
    }
  }
  // One file at a time: each poll is an open and an ioctl, and the archive brings them back in
  // its own order anyway, so waiting for the first is as good as waiting for any.
  auto still_released = [&](const Released& f) {
    int fd = openat(f.dir_fd, f.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;  // gone: its copy says what became of it
    UniqueFd held(fd);
    std::optional<HsmState> s = api_->hsm_state(fd);
    return s && s->released();
  };
  auto said = std::chrono::steady_clock::now();
  for (const Released& f : files) {
    while (still_released(f)) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      if (now - said > std::chrono::seconds(60)) {
        spdlog::info("waiting for the HSM restore of '{}' ({} files in this batch)", printable(f.rel), files.size());
        said = now;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (!still_released(f)) back.push_back(&f);
  }
  return back;
}

}  // namespace lmover
