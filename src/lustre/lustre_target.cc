#include "lustre/lustre_target.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "fs/fs_error.h"

namespace lmover {
namespace {

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

void LustreTarget::warn_once(const std::string& what, const std::string& first) const {
  std::lock_guard lock(warned_mutex_);
  if (warned_.insert(what).second) spdlog::warn("{} (said once for all files alike{})", what, first);
}

UniqueFd LustreTarget::create_file(int src_fd, uint64_t size, int dst_dir, const char* name, std::string_view rel,
                                   bool* mirrored) const {
  std::optional<Layout> source = api_->layout_of(src_fd);
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
      if (mirrored) *mirrored = trying && trying->mirror_count() > 1;
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

bool LustreTarget::sync_mirrors(UniqueFd& out, std::string_view rel) const {
  int fd = out.release();
  int err = api_->resync_mirrors(&fd);
  out = UniqueFd(fd);
  if (err == 0) return true;
  // The clone's data are whole in the mirror written; the others wait for a resync the target
  // could not do now. Said, not failed: `lfs mirror resync` finishes it on the target.
  warn_once(fmt::format("FLR mirrors of new target files could not be resynced ({}); they are left stale "
                        "(`lfs mirror resync FILE` on the target brings them in sync; -v names the files)",
                        std::strerror(err)),
            fmt::format(", the first: '{}'", rel));
  return false;
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

int LustreTarget::next_mdt() const {
  // -1: wherever Lustre's own balancing puts it (only striping was asked for).
  return settings_.mdts.empty() ? -1
                                : settings_.mdts[next_mdt_.fetch_add(1, std::memory_order_relaxed) % settings_.mdts.size()];
}

void LustreTarget::make_dir(int dst_dir, const char* name, std::string_view rel) const {
  int mdt = next_mdt();
  if (api_->make_dir_on_mdt(path_in(dst_dir, name), 0700, mdt, settings_.dir_stripes) != 0) {
    throw FsError(fmt::format("mkdir on MDT {}{}", mdt, settings_.dir_stripes ? fmt::format(" striped over {}", settings_.dir_stripes) : ""),
                  rel, errno);
  }
}

std::optional<DirLayout> LustreTarget::striping_to_copy(int src_dir, std::string_view rel) const {
  if (!settings_.dir_layout_copy) return std::nullopt;
  std::optional<DirLayout> striping = api_->dir_layout_of(src_dir, false);
  if (!striping && errno != ENODATA && errno != ENOTTY) throw FsError("read the directory striping", rel, errno);
  return striping;
}

void LustreTarget::make_striped_dir(int dst_dir, const char* name, const DirLayout& striping, std::string_view rel) const {
  // What can be asked again: the hash and the flags that choose it (fixed, overstriped), not the
  // state bits of a migration or split in progress.
  constexpr uint32_t kKeptHashBits = 0xffff | 0x01000000 | 0x02000000;
  uint32_t hash = striping.hash_type & kKeptHashBits;
  int mdt = places(rel) && !settings_.mdts.empty() ? next_mdt() : static_cast<int32_t>(striping.stripe_offset);
  std::string path = path_in(dst_dir, name);
  if (api_->make_dir_on_mdt(path, 0700, mdt, striping.stripe_count, hash) == 0) return;
  if (errno == EEXIST || errno == EACCES || errno == ENOSPC || errno == EDQUOT) throw FsError("mkdir striped", rel, errno);
  if (mdt != -1 && api_->make_dir_on_mdt(path, 0700, -1, striping.stripe_count, hash) == 0) {
    warn_once(fmt::format("target refused MDT {} for a striped directory; those go where Lustre puts them", mdt));
    return;
  }
  if (errno == EEXIST) throw FsError("mkdir striped", rel, errno);
  warn_once(fmt::format("target refused directory striping '{}' ({}); those directories are made plain",
                        striping.describe(), std::strerror(errno)));
  if (mkdirat(dst_dir, name, 0700) < 0) throw FsError("mkdir", rel, errno);
}

void LustreTarget::copy_default_dir_layout(int src_dir, int dst_dir, std::string_view rel) const {
  if (!settings_.dir_layout_copy) return;
  std::optional<DirLayout> wanted = api_->dir_layout_of(src_dir, true);
  if (!wanted) {
    if (errno == ENODATA || errno == ENOTTY) return;  // none of its own: it inherits the parent's
    throw FsError("read the default directory striping", rel, errno);
  }
  if (api_->set_default_dir_layout(dst_dir, *wanted) == 0) return;
  if (errno == EACCES || errno == ENOSPC || errno == EDQUOT) throw FsError("set the default directory striping", rel, errno);
  warn_once(fmt::format("target refused default directory striping '{}' ({}); those directories keep the parent's",
                        wanted->describe(), std::strerror(errno)));
}

nlohmann::json lustre_settings_to_spec(const LustreSettings* s) {
  if (!s) return {{"mode", "off"}};
  return {{"mode", "on"},
          {"layout", s->layout.name()},
          {"mdts", s->mdts},
          {"mdt_depth", s->mdt_depth},
          {"dir_stripes", s->dir_stripes},
          {"dir_layout_copy", s->dir_layout_copy},
          {"hsm", HsmSettings::name(s->hsm.mode)},
          {"hsm_rebind", s->hsm.rebind_path},
          {"hsm_batch", s->hsm.batch},
          {"hsm_restore_timeout", s->hsm.restore_timeout}};
}

LustreSettings lustre_settings_from_spec(const nlohmann::json& l) {
  LustreSettings s;
  s.mode = LustreSettings::Mode::kOff;
  if (!l.is_object() || l.value("mode", "off") != "on") return s;
  s.mode = LustreSettings::Mode::kOn;
  s.layout = LayoutPolicy::parse(l.at("layout").get<std::string>());
  s.mdts = l.at("mdts").get<std::vector<int>>();
  s.mdt_depth = l.at("mdt_depth").get<unsigned>();
  s.dir_stripes = l.value("dir_stripes", 0);
  s.dir_layout_copy = l.value("dir_layout_copy", false);
  s.hsm.mode = HsmSettings::parse_mode(l.value("hsm", std::string("skip")));
  s.hsm.rebind_path = l.value("hsm_rebind", std::string());
  s.hsm.batch = l.value("hsm_batch", s.hsm.batch);
  s.hsm.restore_timeout = l.value("hsm_restore_timeout", s.hsm.restore_timeout);
  return s;
}

}  // namespace lmover
