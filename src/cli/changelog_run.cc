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

std::string not_registered(const std::string& user, const std::string& mdt) {
  return fmt::format("changelog user {} is not registered on {} (deregistered? the MDS drops idle users: changelog_gc)",
                     user, mdt);
}

// The oldest of the three passes' marks, by MDT, of a bookmark's "mdts" (an MDT with none is absent).
std::map<std::string, uint64_t> oldest_marks_of(const json& mdts) {
  std::map<std::string, uint64_t> out;
  if (!mdts.is_object()) return out;
  for (const auto& [mdt, m] : mdts.items()) {
    for (const char* pass : {"copy", "delete", "dirtime"}) {
      if (!m.contains(pass) || !m[pass].is_number_unsigned()) continue;
      uint64_t index = m[pass].get<uint64_t>();
      out[mdt] = out.count(mdt) ? std::min(out[mdt], index) : index;
    }
  }
  return out;
}

std::string when(int64_t t) {
  std::time_t tt = t;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&tt));
  return buf;
}

// A duration as an admin plans a downtime with it.
std::string duration_text(double s) {
  if (s < 1) return "under a second";
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

}  // namespace

ChangelogRun::ChangelogRun(const RunPlan& plan, const std::string& src_path, int src_root, const LustreApi* api,
                           unsigned threads, Summary& summary)
    : plan_(plan), summary_(summary), path_(path_beside(plan.dst, "lmover-changelog")), bookmark_(load(path_)),
      src_root_(src_root) {
  for (PassKind k : plan.passes) {
    if (pass_info(k).writes && std::find(writing_.begin(), writing_.end(), k) == writing_.end()) writing_.push_back(k);
  }
  writes_ = !plan.options.dry_run && !writing_.empty();
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
  // Last: nothing above may throw with the thread running.
  if (source_ && writes_) {
    auto every = std::chrono::seconds(kKeepAlive);
    if (const char* s = getenv("LMOVER_CHANGELOG_KEEPALIVE_S")) every = std::chrono::seconds(std::max(1L, atol(s)));
    keepalive_ = std::thread([this, every] {
      std::unique_lock lock(keepalive_mutex_);
      while (!keepalive_stop_.wait_for(lock, every, [this] { return stopping_; })) keep_user_alive();
    });
  }
  if (source_ && plan.report_changes) keep_user_alive();
}

ChangelogRun::~ChangelogRun() {
  stop_keeping_alive();
  if (spool_) ::unlink(spool_->path().c_str());
}

void ChangelogRun::stop_keeping_alive() {
  {
    std::lock_guard lock(keepalive_mutex_);
    stopping_ = true;
  }
  keepalive_stop_.notify_all();
  if (keepalive_.joinable()) keepalive_.join();
}

void ChangelogRun::keep_user_alive() const {
  // No further than the bookmark's oldest mark (cleared already by the run that wrote it), and than
  // where this run began reading (its start, or its scan's beginning).
  std::map<std::string, uint64_t> safe = oldest_marks_of_this_fs();
  for (const std::string& mdt : source_->mdts()) {
    uint64_t upto = safe.count(mdt) ? safe.at(mdt) : UINT64_MAX;
    if (next_.count(mdt) && !spool_) upto = std::min(upto, next_.at(mdt));
    if (from_.count(mdt)) upto = std::min(upto, from_.at(mdt));
    if (upto == 0 || upto == UINT64_MAX) continue;  // 0 would clear everything
    if (int rc = source_->clear(mdt, upto); rc < 0) {
      spdlog::warn("changelog: renewing user {} on {} (a clear up to record {}) failed: {}", source_->user_of(mdt),
                   mdt, upto, std::strerror(-rc));
    } else {
      spdlog::debug("changelog: user {} on {} renewed (cleared up to record {})", source_->user_of(mdt), mdt, upto);
    }
  }
}

std::map<std::string, uint64_t> ChangelogRun::marks(const std::string& pass) const {
  std::map<std::string, uint64_t> out;
  if (!bookmark_.is_object() || !bookmark_.contains("mdts")) return out;
  for (const auto& [mdt, m] : bookmark_["mdts"].items()) {
    if (m.contains(pass) && m[pass].is_number_unsigned()) out[mdt] = m[pass].get<uint64_t>();
  }
  return out;
}

std::map<std::string, uint64_t> ChangelogRun::oldest_marks_of_this_fs() const {
  return bookmark_.is_object() && bookmark_.value("fsname", "") == source_->fsname() ? oldest_marks()
                                                                                      : std::map<std::string, uint64_t>{};
}

std::map<std::string, uint64_t> ChangelogRun::oldest_marks() const {
  return bookmark_.is_object() && bookmark_.contains("mdts") ? oldest_marks_of(bookmark_["mdts"])
                                                             : std::map<std::string, uint64_t>{};
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
  const auto oldest = oldest_marks();
  for (const std::string& mdt : source_->mdts()) {
    if (!mdts.contains(mdt)) return mdt + " has no bookmark (an MDT added since?)";
    std::string user = mdts[mdt].value("user", "");
    if (user != source_->user_of(mdt)) return fmt::format("{}'s bookmark is of changelog user {}, not {}", mdt, user, source_->user_of(mdt));
    uint64_t index = oldest.count(mdt) ? oldest.at(mdt) : 0;
    // Where the library cannot say that a user is gone, a clear up to what it already cleared does:
    // -ENOENT for a user the MDS no longer knows. Index 0 would clear everything: not asked.
    if (!source_->knows_users() && index > 0 && source_->clear(mdt, index) == -ENOENT) return not_registered(user, mdt);
  }
  return "";
}

std::string ChangelogRun::scan(unsigned threads, int src_root) {
  // From the oldest mark of the run's passes; a pass without a mark walks the whole tree.
  for (PassKind k : writing_) {
    auto m = marks(pass_name(k));
    if (m.size() != source_->mdts().size()) {
      if (k == PassKind::kCopy) return "no copy pass with --changelog has completed since the bookmark was taken";
      whole_.insert(k);
      spdlog::info("changelog: no {} pass with --changelog has completed since the bookmark was taken: it walks the "
                   "whole tree (directories only)", pass_name(k));
      continue;
    }
    for (const auto& [mdt, index] : m) from_[mdt] = from_.count(mdt) ? std::min(from_[mdt], index) : index;
  }
  if (from_.empty()) return "";  // every pass walks the whole tree: a full run, recorded as one
  spool_ = std::make_unique<PlaceSpool>(path_beside(plan_.dst, "lmover-changes"));
  auto start = std::chrono::steady_clock::now();
  auto found = source_->scan(from_, threads, src_root, [this](const ChangedPlace& p) { spool_->add(p); });
  if (found.err == -ENOENT && found.where.find("-MDT") != std::string::npos) {
    return not_registered(source_->user_of(found.where), found.where);
  }
  if (found.err < 0) return fmt::format("reading it failed at {}: {}", found.where, std::strerror(-found.err));
  spool_->close();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("changelog: {} records since the bookmark name {} places ({} entries gone since), read in {:.2f} s",
               found.records, spool_->places(), found.gone, seconds);
  using Kind = ChangedPlace::Kind;
  scanned_ = {{"records", found.records},
              {"records_by_mdt", found.records_by_mdt},
              {"fids", found.fids},
              {"gone", found.gone},
              {"places", spool_->places()},
              {"subtrees", spool_->places_of(Kind::kSubtree)},
              {"listings", spool_->places_of(Kind::kListing)},
              {"entries", spool_->places_of(Kind::kEntry)},
              {"seconds", seconds}};
  summary_.set("changelog", scanned_);
  next_ = found.last;
  return "";
}

LinkFollower* ChangelogRun::follow_links(PassKind kind) {
  if (!spool_ || kind != PassKind::kCopy) return nullptr;
  std::string path = path_beside(plan_.dst, fmt::format("lmover-links-{}", followers_.size()));
  return followers_.emplace_back(std::make_unique<LinkFollower>(*source_, src_root_, path)).get();
}

std::vector<const PlaceSpool*> ChangelogRun::followed_for(PassKind kind) const {
  std::vector<const PlaceSpool*> out;
  if (kind != PassKind::kDirtime) return out;
  for (const auto& f : followers_) {
    if (const PlaceSpool* places = f->places()) out.push_back(places);
  }
  return out;
}

void ChangelogRun::record_start() {
  int err = 0;
  std::string where;
  // From the old bookmark on where it is of this source (reading from 0 reads every record kept).
  std::map<std::string, uint64_t> from = oldest_marks_of_this_fs();
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

json ChangelogRun::next_marks(const std::string& mdt) const {
  json m = json::object();
  for (const char* pass : {"copy", "delete", "dirtime"}) {
    PassKind kind = pass_kind(pass);
    auto old = marks(pass);
    json now = old.count(mdt) ? json(old.at(mdt)) : json(nullptr);  // as before, by default
    bool ran = std::find(writing_.begin(), writing_.end(), kind) != writing_.end();
    if (ran && source_) {
      now = next_.at(mdt);  // where this run started reading (a full one) or stopped (an incremental one)
    } else if (!ran && kind == PassKind::kDirtime && !writing_.empty()) {
      // The run wrote in directories it does not set the times of: those are named by the records
      // after the run's own start (incremental), or anywhere (full).
      bool bounded = !now.is_null() && spool_ && from_.count(mdt);
      now = bounded ? json(std::min(now.get<uint64_t>(), from_.at(mdt))) : json(nullptr);
    } else if (!ran && kind == PassKind::kCopy && groups_split_) {
      now = nullptr;
    }
    // A pass of this run that took no mark (no --changelog) settled it again as far as before.
    m[pass] = now;
  }
  return m;
}

json ChangelogRun::next_rates() const {
  json rates = bookmark_.is_object() ? bookmark_.value("rates", json::object()) : json::object();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  json passes = summary_.to_json()["passes"];
  if (spool_) {
    rates["incremental"] = {{"places", spool_->places()}, {"seconds", seconds}, {"at", std::time(nullptr)},
                            {"passes", passes.size()}};
    return rates;
  }
  uint64_t entries = 0;
  for (const json& p : passes) entries += p["counters"].value("entries", uint64_t(0));
  rates["full"] = {{"entries", entries}, {"seconds", seconds}, {"at", std::time(nullptr)}, {"passes", passes.size()}};
  return rates;
}

void ChangelogRun::finish(bool complete) {
  stop_keeping_alive();
  if (!writes_) return;
  if (!complete) {
    if (source_) spdlog::warn("changelog: the bookmark stays where it was: this run did not complete");
    return;
  }
  json doc;
  if (source_) {
    doc = {{"version", 1},
           {"fsname", source_->fsname()},
           {"src", source_->src_in_fs()},
           {"excludes", excludes_digest(plan_.options.filters)},
           {"taken_by", plan_.command},
           {"at", std::time(nullptr)}};
    for (const std::string& mdt : source_->mdts()) {
      json m = next_marks(mdt);
      m["user"] = source_->user_of(mdt);
      doc["mdts"][mdt] = m;
    }
  } else if (!bookmark_.is_null()) {
    doc = bookmark_;  // the target follows the source at least as far as before, for this run's passes
    for (auto& [mdt, m] : doc["mdts"].items()) {
      json next = next_marks(mdt);
      for (auto& [pass, value] : next.items()) m[pass] = value;
    }
  } else {
    return;
  }
  doc["unsettled"] = nullptr;
  if (source_) doc["rates"] = next_rates();
  write(doc);
  if (!source_) return;
  // The records up to the oldest mark are no longer needed: cleared, which keeps the user alive too.
  for (const auto& [mdt, oldest] : oldest_marks_of(doc["mdts"])) {
    if (oldest == 0) continue;  // 0 would clear everything
    if (int rc = source_->clear(mdt, oldest); rc < 0) {
      spdlog::warn("changelog: clearing {}'s records up to {} for {} failed: {}", mdt, oldest, source_->user_of(mdt),
                   std::strerror(-rc));
    }
  }
}

void ChangelogRun::report() const {
  if (!spool_) {  // every pass would walk the whole tree (no marks for them): nothing to follow
    fmt::print("{}: no pass has a mark in the bookmark yet: the next sync walks the whole tree\n", path_);
    return;
  }
  fmt::print("changelog of {} since the bookmark {} (taken by '{}' at {}):\n", source_->fsname(), path_,
             bookmark_.value("taken_by", "?"), when(bookmark_.value("at", int64_t(0))));
  for (const auto& [mdt, records] : scanned_["records_by_mdt"].items()) {
    fmt::print("  {}: {} records after record {}\n", mdt, records.get<uint64_t>(), from_.count(mdt) ? from_.at(mdt) : 0);
  }
  fmt::print("  {} places to visit: {} directories new or renamed (walked whole), {} listings, {} entries, and "
             "directory times ({} FIDs resolved, {} gone since); read in {:.1f} s\n",
             scanned_["places"].get<uint64_t>(), scanned_["subtrees"].get<uint64_t>(),
             scanned_["listings"].get<uint64_t>(), scanned_["entries"].get<uint64_t>(), scanned_["fids"].get<uint64_t>(),
             scanned_["gone"].get<uint64_t>(), scanned_["seconds"].get<double>());
  for (PassKind k : whole_) fmt::print("  {}: no mark yet, walks the whole tree (directories only)\n", pass_name(k));
  json rates = bookmark_.value("rates", json::object());
  uint64_t places = spool_->places();
  if (rates.contains("incremental") && rates["incremental"].value("places", uint64_t(0)) > 0) {
    const json& r = rates["incremental"];
    double per_place = r["seconds"].get<double>() / r["places"].get<double>();
    fmt::print("  the next incremental sync: about {}, at the last incremental run's {:.2f} ms a place ({} "
               "places in {}, {})\n",
               duration_text(places * per_place), per_place * 1000, r["places"].get<uint64_t>(),
               duration_text(r["seconds"].get<double>()), when(r.value("at", int64_t(0))));
  } else if (rates.contains("full") && rates["full"].value("seconds", 0.0) > 0) {
    // No incremental run yet: each place costs about what an entry of each pass did in the full run
    // (a floor: a listing compares a whole directory, a subtree is walked whole).
    const json& r = rates["full"];
    double per_entry = r["seconds"].get<double>() / std::max<double>(1, r["entries"].get<double>());
    fmt::print("  the next incremental sync: at least {}, at the last full run's {:.3f} ms an entry (no "
               "incremental run yet)\n",
               duration_text(places * 3 * per_entry), per_entry * 1000);
  } else {
    fmt::print("  the next incremental sync: no run with --changelog has measured a rate yet\n");
  }
  if (rates.contains("full")) {
    const json& r = rates["full"];
    fmt::print("  a full {}: {} when it last ran ({} entries, {})\n", r.value("passes", 1) > 1 ? "sync" : "pass",
               duration_text(r["seconds"].get<double>()), r["entries"].get<uint64_t>(), when(r.value("at", int64_t(0))));
  }
}

}  // namespace lmover
