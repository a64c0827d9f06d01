#include "lustre/mdc_slots.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace lmover {
namespace {

std::optional<unsigned> read_number(const std::string& path) {
  std::ifstream in(path);
  unsigned value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::optional<MdcSlots> slots_of(const LustreApi& api, const std::string& root) {
  auto name = api.fsname_instance(root);
  if (!name) return std::nullopt;  // not on Lustre
  return read_mdc_slots(lustre_sysfs_root(), name->first, name->second);
}

// How many threads the slots of `s` serve: every MDT's, read or written.
unsigned served(const MdcSlots& s, bool writes) { return s.mdts * (writes ? s.mod_rpcs : s.rpcs); }

std::string describe(const MdcSlots& s, const char* role) {
  return fmt::format("{} {} has {} MDT{}, {} requests in flight per MDT of them {} modifying", role, s.fsname, s.mdts,
                     s.mdts == 1 ? "" : "s", s.rpcs, s.mod_rpcs);
}

}  // namespace

std::string lustre_sysfs_root() {
  const char* forced = std::getenv("LMOVER_LUSTRE_SYSFS");
  return forced && *forced ? forced : "/sys/fs/lustre";
}

std::optional<MdcSlots> read_mdc_slots(const std::string& sysfs_root, const std::string& fsname,
                                       const std::string& instance) {
  std::string dir = sysfs_root + "/mdc";
  DIR* d = opendir(dir.c_str());
  if (!d) return std::nullopt;
  MdcSlots out{fsname};
  // The fsname may hold dashes itself: matched whole, as liblustreapi splits its names.
  const std::string head = fsname + "-MDT", tail = "-mdc-" + instance;
  while (dirent* e = readdir(d)) {
    std::string entry = e->d_name;
    if (entry.rfind(head, 0) != 0 || !ends_with(entry, tail)) continue;
    auto rpcs = read_number(dir + "/" + entry + "/max_rpcs_in_flight");
    auto mod = read_number(dir + "/" + entry + "/max_mod_rpcs_in_flight");
    if (!rpcs || !mod) continue;
    out.rpcs = out.mdts ? std::min(out.rpcs, *rpcs) : *rpcs;
    out.mod_rpcs = out.mdts ? std::min(out.mod_rpcs, *mod) : *mod;
    ++out.mdts;
  }
  closedir(d);
  if (out.mdts == 0) return std::nullopt;
  return out;
}

SlotAdvice advise_slots(const std::optional<MdcSlots>& src, const std::optional<MdcSlots>& dst, unsigned threads) {
  SlotAdvice advice;
  std::vector<std::string> parts;
  if (src) parts.push_back(describe(*src, "source"));
  if (dst) parts.push_back(describe(*dst, "target"));
  advice.detail = fmt::format("{} threads; {}", threads, fmt::join(parts, "; "));
  // The side that serves fewest decides: the target's modifying slots (creates, setattrs,
  // xattrs), the source's slots of any kind (lookups, opens, getattrs, readdirs).
  const MdcSlots* tight = nullptr;
  bool writes = false;
  if (dst && served(*dst, true) < threads) tight = &*dst, writes = true;
  if (src && served(*src, false) < threads && (!tight || served(*src, false) < served(*tight, writes))) {
    tight = &*src, writes = false;
  }
  if (!tight) return advice;
  unsigned per_mdt = (threads + tight->mdts - 1) / tight->mdts;
  advice.warning = fmt::format(
      "{} threads, but this client keeps at most {} {}metadata requests in flight to the {}'s {} MDT{} "
      "(mdc.{}-*.{}={}): the other threads wait inside the client. Raise the slots on this node with "
      "`lctl set_param mdc.{}-*.max_rpcs_in_flight={} mdc.{}-*.max_mod_rpcs_in_flight={}` (max_mod_rpcs_in_flight "
      "stays below max_rpcs_in_flight and at most the MDS's mdt.*.max_mod_rpcs_in_flight), or run with -j {}",
      threads, served(*tight, writes), writes ? "modifying " : "", writes ? "target" : "source", tight->mdts,
      tight->mdts == 1 ? "" : "s", tight->fsname, writes ? "max_mod_rpcs_in_flight" : "max_rpcs_in_flight",
      writes ? tight->mod_rpcs : tight->rpcs, tight->fsname, per_mdt + 1, tight->fsname, per_mdt,
      served(*tight, writes));
  return advice;
}

void say_mdc_slots(const LustreApi& api, const std::string& src, const std::string& dst, unsigned threads) {
  std::optional<MdcSlots> from = slots_of(api, src), to = slots_of(api, dst);
  if (!from && !to) return;
  SlotAdvice advice = advise_slots(from, to, threads);
  spdlog::debug("lustre: metadata slots: {}", advice.detail);
  if (advice.warning.empty()) return;
  static std::mutex mutex;
  static std::set<std::string> said;  // a worker serves many runs: once per filesystem pair
  std::lock_guard lock(mutex);
  if (said.insert((from ? from->fsname : "") + "/" + (to ? to->fsname : "") + "/" + std::to_string(threads)).second) {
    spdlog::warn("{}", advice.warning);
  }
}

}  // namespace lmover
