#include "cli/lustre_setup.h"

#include <climits>
#include <cstdlib>
#include <mutex>

#include <spdlog/spdlog.h>

#include "fs/fs_error.h"
#include "fs/fs_identity.h"

namespace lmover {
namespace {

// Loaded once per process (a worker serves many runs); a failure is remembered with its reason.
std::shared_ptr<const LustreApi> shared_api(std::string* why) {
  static std::mutex mutex;
  static std::shared_ptr<const LustreApi> api;
  static std::string failure;
  static bool tried = false;
  std::lock_guard lock(mutex);
  if (!tried) {
    tried = true;
    api = LustreApi::load(&failure);
  }
  *why = failure;
  return api;
}

bool on_lustre(int fd, const std::string& path) {
  return fd >= 0 && identify_root(fd, path).fs_type == kLustreMagic;
}

}  // namespace

std::shared_ptr<const LustreTarget> lustre_for_run(LustreSettings settings, int src_fd, const std::string& src,
                                                   int dst_fd, const std::string& dst) {
  using Mode = LustreSettings::Mode;
  if (settings.mode == Mode::kOff) return nullptr;
  bool source_on_lustre = on_lustre(src_fd, src);
  bool lustre_roots = source_on_lustre || on_lustre(dst_fd, dst);
  bool asked = !settings.mdts.empty() || settings.dir_stripes != 0 || settings.layout.kind != LayoutPolicy::Kind::kCopy ||
               settings.dir_layout_copy || settings.hsm.mode != HsmSettings::Mode::kSkip;
  if (settings.mode == Mode::kAuto && !lustre_roots) {
    if (asked) {
      spdlog::warn("neither SRC nor DST is on Lustre: --layout, --mdts, --dir-stripes, --dir-layout and --hsm do "
                   "nothing (--lustre on forces them)");
    }
    return nullptr;
  }
  std::string why;
  auto api = shared_api(&why);
  if (!api) {
    if (settings.mode == Mode::kOn) throw FsError("use Lustre (--lustre on)", dst, why);
    spdlog::warn("a root is on Lustre but {}: copying without layouts or MDT placement (plain POSIX){}", why,
                 source_on_lustre ? "; HSM states cannot be read, so a released source file is read, and restored "
                                    "from its archive, like any other"
                                  : "");
    return nullptr;
  }
  // Resolved once, by the submitting command: every worker appends to the same list.
  if (settings.hsm.rebind_path.empty()) {
    char real[PATH_MAX];
    settings.hsm.rebind_path = HsmSettings::default_rebind_path(realpath(dst.c_str(), real) ? real : dst);
  }
  spdlog::debug("lustre: {} loaded; layouts by policy '{}'{}", api->library(), settings.layout.name(),
                settings.mdts.empty() ? "" : fmt::format(", directories at depth {} over MDTs {}", settings.mdt_depth,
                                                         fmt::join(settings.mdts, ",")));
  return std::make_shared<LustreTarget>(api, std::move(settings));
}

}  // namespace lmover
