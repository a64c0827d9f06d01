#include "lustre/lustre_target.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "fs/fs_error.h"

namespace lmover {
namespace {

// liblustreapi takes paths: the target directory is pinned by its fd and reached through its
// /proc magic link, so no symlink on the way can lead elsewhere; the name itself is created
// (O_EXCL / mkdir), which never follows one either.
std::string path_in(int dir_fd, const char* name) { return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name; }

unsigned depth_of(std::string_view rel) {
  if (rel.empty()) return 0;
  return 1 + static_cast<unsigned>(std::count(rel.begin(), rel.end(), '/'));
}

}  // namespace

LustreSettings::Mode LustreSettings::parse_mode(const std::string& text) {
  if (text == "auto") return Mode::kAuto;
  if (text == "on") return Mode::kOn;
  if (text == "off") return Mode::kOff;
  throw std::invalid_argument("bad --lustre '" + text + "': auto, on or off");
}

std::vector<int> LustreSettings::parse_mdts(const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end || v < 0 || v > 65535) throw std::invalid_argument("bad --mdts '" + text + "': MDT indexes like 0,1,2");
    out.push_back(static_cast<int>(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

void LustreTarget::warn_once(const std::string& what) const {
  std::lock_guard lock(warned_mutex_);
  if (warned_.insert(what).second) spdlog::warn("{} (said once for all files alike)", what);
}

UniqueFd LustreTarget::create_file(int src_fd, uint64_t size, int dst_dir, const char* name, std::string_view rel) const {
  std::optional<Layout> source = api_->layout_of(src_fd);
  if (source && source->mirrors_dropped) {
    warn_once("FLR mirrored files get their first mirror's layout only (mirrors are not recreated; `lfs mirror "
              "extend` them on the target if needed)");
  }
  std::optional<Layout> wanted = target_layout(settings_.layout, source, size);
  std::optional<Layout> trying = wanted;
  std::string path = path_in(dst_dir, name);
  for (;;) {
    int fd = api_->create_file(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600, trying);
    if (fd >= 0) {
      if (trying != wanted) {
        warn_once(fmt::format("target refused layout '{}'; files that want it get '{}'", describe(*wanted),
                              trying ? describe(*trying) : "the filesystem default"));
      }
      return UniqueFd(fd);
    }
    int err = errno;
    // EINVAL/EDOM/ENOENT...: the layout is the problem (a missing pool, too many stripes);
    // anything the name or the space causes is the entry's failure, as without Lustre.
    if (!trying || err == EEXIST || err == ENOSPC || err == EDQUOT || err == EACCES || err == ENAMETOOLONG) {
      throw FsError("create", rel, err);
    }
    trying = relaxed(*trying);
  }
}

bool LustreTarget::needs_relayout(int src_dir, int dst_dir, const char* name, uint64_t size, std::string_view rel) const {
  auto open_file = [&](int dir) {
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw FsError("open", rel, errno);
    return UniqueFd(fd);
  };
  UniqueFd src = open_file(src_dir), dst = open_file(dst_dir);
  std::optional<Layout> wanted = target_layout(settings_.layout, api_->layout_of(src.get()), size);
  if (!wanted) return false;  // the filesystem's default: nothing to hold the target to
  std::optional<Layout> actual = api_->layout_of(dst.get());
  return !actual || !satisfies(*actual, *wanted);
}

void LustreTarget::copy_dir_default(int src_dir, int dst_dir, std::string_view rel) const {
  std::optional<Layout> source = api_->layout_of(src_dir);
  if (!source) return;  // ENODATA: no default of its own, it inherits the filesystem's
  std::optional<Layout> wanted = target_layout(settings_.layout, source);
  std::string path = "/proc/self/fd/" + std::to_string(dst_dir);
  for (std::optional<Layout> trying = wanted; trying; trying = relaxed(*trying)) {
    if (api_->set_default_layout(path, *trying) == 0) {
      if (trying != wanted) {
        warn_once(fmt::format("target refused directory default layout '{}'; those directories get '{}'",
                              describe(*wanted), describe(*trying)));
      }
      return;
    }
    if (errno == EACCES || errno == ENOSPC || errno == EDQUOT) throw FsError("set default layout", rel, errno);
  }
  warn_once(fmt::format("target refused directory default layout '{}' and every relaxed form of it; those "
                        "directories keep the filesystem default", describe(*wanted)));
}

bool LustreTarget::places(std::string_view rel) const {
  return (!settings_.mdts.empty() || settings_.dir_stripes != 0) && depth_of(rel) == settings_.mdt_depth;
}

void LustreTarget::make_dir(int dst_dir, const char* name, std::string_view rel) const {
  // -1: wherever Lustre's own balancing puts it (only striping was asked for).
  int mdt = settings_.mdts.empty() ? -1
                                   : settings_.mdts[next_mdt_.fetch_add(1, std::memory_order_relaxed) % settings_.mdts.size()];
  if (api_->make_dir_on_mdt(path_in(dst_dir, name), 0700, mdt, settings_.dir_stripes) != 0) {
    throw FsError(fmt::format("mkdir on MDT {}{}", mdt, settings_.dir_stripes ? fmt::format(" striped over {}", settings_.dir_stripes) : ""),
                  rel, errno);
  }
}

}  // namespace lmover
