#include "cli/changelog_run.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/target_lock.h"
#include "fs/fs_error.h"
#include "fs/host_name.h"

namespace lmover {
namespace {

using json = nlohmann::json;

json load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  return doc.is_discarded() ? json{{"broken", true}} : doc;
}

// The exclude list a bookmark was taken with: a later pass with another one would leave alone, or
// reach, entries the bookmark's passes did not.
std::string excludes_digest(const Filters& filters) {
  auto paths = filters.excluded_paths();
  std::sort(paths.begin(), paths.end());
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the sorted paths, NUL-separated
  for (const std::string& p : paths) {
    for (unsigned char c : p + '\0') h = (h ^ c) * 1099511628211ull;
  }
  return fmt::format("{}:{:016x}", paths.size(), h);
}

std::string when(int64_t t) {
  std::time_t tt = t;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&tt));
  return buf;
}

}  // namespace

ChangelogRun::ChangelogRun(const RunPlan& plan, const std::string& src_path, int src_root, const LustreApi* api,
                           unsigned threads, Summary& summary)
    : plan_(plan), summary_(summary), path_(path_beside(plan.dst, "lmover-changelog")), bookmark_(load(path_)) {
  bool verify_only = true;
  for (PassKind k : plan.passes) verify_only = verify_only && !pass_info(k).writes;
  writes_ = !plan.options.dry_run && !verify_only;
  for (PassKind k : plan.passes) with_dirtime_ = with_dirtime_ || k == PassKind::kDirtime;
  const ChangelogSettings& settings = plan.changelog;
  if (settings.enabled()) {
    if (!api) throw FsError("--changelog", src_path, "needs liblustreapi and SRC on Lustre (see --lustre)");
    source_.emplace(*api, src_path, ChangelogUsers::parse(settings.users));
    if (!source_->knows_users()) {
      spdlog::warn("changelog: this liblustreapi has no llapi_changelog_start_user, so a deregistered user reads "
                   "as a quiet log; lmover checks the user with a clear up to its bookmark instead");
    }
  }
  if (settings.incremental != ChangelogSettings::Incremental::kNo) {
    std::string why = why_untrusted();
    if (why.empty()) why = scan(threads, src_root);
    if (!why.empty()) {
      if (settings.incremental == ChangelogSettings::Incremental::kYes) {
        throw FsError("--incremental", path_, "the changelog cannot be trusted: " + why +
                                                  " (--incremental=auto walks the whole tree instead)");
      }
      spdlog::warn("--incremental=auto: the changelog cannot be trusted: {}; walking the whole tree", why);
      summary_.set("changelog_fallback", why);
      spool_.reset();
    }
  }
  if (source_ && !spool_ && writes_) record_start();
  if (writes_ && !bookmark_.is_null()) {
    json marked = bookmark_;
    marked["unsettled"] = {{"command", plan.command}, {"since", std::time(nullptr)}, {"host", host_name()}};
    write(marked);
  }
}

ChangelogRun::~ChangelogRun() {
  if (spool_) ::unlink(spool_->path().c_str());
}

std::map<std::string, uint64_t> ChangelogRun::marks(const char* which) const {
  std::map<std::string, uint64_t> out;
  if (!bookmark_.is_object() || !bookmark_.contains("mdts")) return out;
  for (const auto& [mdt, m] : bookmark_["mdts"].items()) {
    if (m.contains(which) && m[which].is_number_unsigned()) out[mdt] = m[which].get<uint64_t>();
  }
  return out;
}

std::string ChangelogRun::why_untrusted() const {
  if (bookmark_.is_null()) return "no bookmark yet (" + path_ + "): run a full pass with --changelog first";
  if (bookmark_.value("broken", false) || !bookmark_.contains("mdts")) return "the bookmark " + path_ + " is unreadable";
  if (bookmark_.contains("unsettled") && !bookmark_["unsettled"].is_null()) {
    const json& u = bookmark_["unsettled"];
    return fmt::format("a '{}' run on {} since the bookmark did not complete (started {})", u.value("command", "?"),
                       u.value("host", "?"), when(u.value("since", int64_t(0))));
  }
  if (bookmark_.value("fsname", "") != source_->fsname()) {
    return fmt::format("the bookmark is of filesystem '{}', SRC is on '{}'", bookmark_.value("fsname", ""),
                       source_->fsname());
  }
  if (bookmark_.value("src", "") != source_->src_in_fs()) {
    return fmt::format("the bookmark is of '/{}' in {}, SRC is '/{}'", bookmark_.value("src", ""), source_->fsname(),
                       source_->src_in_fs());
  }
  if (bookmark_.value("excludes", "") != excludes_digest(plan_.options.filters)) {
    return "the exclude list is not the one the bookmark's passes ran with";
  }
  const json& mdts = bookmark_["mdts"];
  for (const std::string& mdt : source_->mdts()) {
    if (!mdts.contains(mdt)) return mdt + " has no bookmark (an MDT added since?)";
    std::string user = mdts[mdt].value("user", "");
    if (user != source_->user_of(mdt)) return fmt::format("{}'s bookmark is of changelog user {}, not {}", mdt, user, source_->user_of(mdt));
    uint64_t index = mdts[mdt].value("index", uint64_t(0));
    // Where the library cannot say that a user is gone, a clear up to what it already cleared does:
    // -ENOENT for a user the MDS no longer knows. Index 0 would clear everything: not asked.
    if (!source_->knows_users() && index > 0 && source_->clear(mdt, index) == -ENOENT) {
      return fmt::format("changelog user {} is not registered on {} (deregistered? the MDS drops idle users: changelog_gc)",
                         user, mdt);
    }
  }
  return "";
}

std::string ChangelogRun::scan(unsigned threads, int src_root) {
  spool_ = std::make_unique<PlaceSpool>(path_beside(plan_.dst, "lmover-changes"));
  // With dirtime: from where directory times are settled (older, or as old as the entries' mark).
  std::map<std::string, uint64_t> from = marks();
  if (with_dirtime_) {
    auto dirtime = marks("dirtime");
    dirtime_whole_ = dirtime.size() != from.size();
    if (dirtime_whole_) {
      spdlog::info("changelog: no pass set directory times since the bookmark's full pass: dirtime walks the whole tree");
    } else {
      from = dirtime;
    }
  }
  auto start = std::chrono::steady_clock::now();
  auto found = source_->scan(from, threads, src_root, [this](const ChangedPlace& p) { spool_->add(p); });
  if (found.err == -ENOENT && found.where.find("-MDT") != std::string::npos) {
    return fmt::format("changelog user {} is not registered on {} (deregistered? the MDS drops idle users: changelog_gc)",
                       source_->user_of(found.where), found.where);
  }
  if (found.err < 0) return fmt::format("reading it failed at {}: {}", found.where, std::strerror(-found.err));
  spool_->close();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("changelog: {} records since the bookmark name {} places ({} entries gone since), read in {:.2f} s",
               found.records, spool_->places(), found.gone, seconds);
  summary_.set("changelog", {{"records", found.records},
                             {"fids", found.fids},
                             {"gone", found.gone},
                             {"places", spool_->places()},
                             {"seconds", seconds}});
  next_ = found.last;
  return "";
}

std::unique_ptr<LinkFollower> ChangelogRun::follow_links(PassKind kind) const {
  if (!spool_ || kind != PassKind::kCopy) return nullptr;
  return std::make_unique<LinkFollower>(*source_, path_beside(plan_.dst, "lmover-links"));
}

void ChangelogRun::record_start() {
  int err = 0;
  std::string where;
  // From the old bookmark on where it is of this source (reading from 0 reads every record kept).
  std::map<std::string, uint64_t> from = bookmark_.is_object() && bookmark_.value("fsname", "") == source_->fsname()
                                             ? marks()
                                             : std::map<std::string, uint64_t>{};
  next_ = source_->ends(from, &err, &where);
  if (err == -ENOENT) {
    throw FsError("--changelog", where, "changelog user " + source_->user_of(where) + " is not registered there");
  }
  if (err < 0) throw FsError("--changelog: read the changelog of", where, -err);
  std::string at;
  for (const auto& [mdt, index] : next_) at += fmt::format("{}{} record {}", at.empty() ? "" : ", ", mdt, index);
  spdlog::info("changelog: this pass starts at {}", at);
}

void ChangelogRun::write(const json& doc) const {
  std::string temp = path_ + ".new";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << doc.dump(2) << '\n';
    out.flush();
    if (!out) throw FsError("write the changelog bookmark", temp, errno);
  }
  if (::rename(temp.c_str(), path_.c_str()) < 0) throw FsError("rename the changelog bookmark into", path_, errno);
}

void ChangelogRun::finish(bool complete) {
  if (!writes_) return;
  if (!complete) {
    if (source_) spdlog::warn("changelog: the bookmark stays where it was: this run did not complete");
    return;
  }
  if (!source_) {
    if (bookmark_.is_null()) return;
    json settled = bookmark_;
    settled["unsettled"] = nullptr;  // the target follows the source at least as far as before
    return write(settled);
  }
  // Directory times are settled up to where this run read if it set them; an incremental run
  // without dirtime keeps the older mark (the directories it wrote in are named after it); a
  // full one without dirtime wrote in any directory: none.
  auto old_dirtime = marks("dirtime");
  json mdts = json::object();
  std::map<std::string, uint64_t> clear_to;
  for (const auto& [mdt, index] : next_) {
    json m = {{"user", source_->user_of(mdt)}, {"index", index}, {"dirtime", nullptr}};
    if (with_dirtime_) m["dirtime"] = index;
    else if (spool_ && old_dirtime.count(mdt)) m["dirtime"] = old_dirtime[mdt];
    mdts[mdt] = m;
    clear_to[mdt] = m["dirtime"].is_null() ? index : m["dirtime"].get<uint64_t>();
  }
  write({{"version", 1},
         {"fsname", source_->fsname()},
         {"src", source_->src_in_fs()},
         {"excludes", excludes_digest(plan_.options.filters)},
         {"mdts", mdts},
         {"taken_by", plan_.command},
         {"at", std::time(nullptr)},
         {"unsettled", nullptr}});
  // The records up to the bookmark are no longer needed: cleared, which keeps the user alive too.
  for (const auto& [mdt, index] : clear_to) {
    if (index == 0) continue;  // 0 would clear everything
    if (int rc = source_->clear(mdt, index); rc < 0) {
      spdlog::warn("changelog: clearing {}'s records up to {} for {} failed: {}", mdt, index, source_->user_of(mdt),
                   std::strerror(-rc));
    }
  }
}

}  // namespace lmover
