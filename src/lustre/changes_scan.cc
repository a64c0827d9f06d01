// ChangelogSource::scan: the MDTs' logs read in parallel, each in chunks of distinct (FID, kind)
// pairs resolved on many threads. See changes.h.
#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "lustre/changes.h"

#include "fs/resolve.h"

namespace lmover {
namespace {

struct WantHash {
  size_t operator()(const WantedPlace& w) const {
    return std::hash<uint64_t>()(w.fid.seq * 0x9E3779B97F4A7C15ull ^ (uint64_t(w.fid.oid) << 8) ^ w.fid.ver ^
                                 uint64_t(w.kind));
  }
};
struct WantEqual {
  bool operator()(const WantedPlace& a, const WantedPlace& b) const { return a.fid == b.fid && a.kind == b.kind; }
};
using Chunk = std::unordered_set<WantedPlace, WantHash, WantEqual>;

// How many distinct (FID, kind) pairs a chunk holds before it is resolved: bounds what a scan holds
// whatever the number of records, and is large enough that a file rewritten many times in a row is
// resolved once.
constexpr size_t kChunkWants = 1 << 16;

}  // namespace

std::vector<ChangedPlace> ChangelogSource::places_at(const WantedPlace& want, const std::vector<std::string>& paths,
                                                    int src_root) const {
  using Type = ChangedPlace::Type;
  std::vector<ChangedPlace> found;
  for (const std::string& p : paths) {
    auto rel = relative_to_src(p);
    if (!rel) continue;
    if (want.not_directory) {  // a record said so: no stat (a round trip) needed to tell
      found.push_back(ChangedPlace{want.kind, std::move(*rel), Type::kOther});
      continue;
    }
    // Looked at here, on many threads, once for all the passes.
    int err = 0;
    auto meta = stat_beneath(src_root, *rel, &err);
    if (!meta && (err == ENOENT || err == ENOTDIR || err == ELOOP)) continue;  // gone since
    Type type = !meta ? Type::kUnknown : meta->type == EntryType::kDirectory ? Type::kDirectory : Type::kOther;
    found.push_back(ChangedPlace{want.kind, std::move(*rel), type});
  }
  return found;
}

ChangelogSource::Scan ChangelogSource::scan(const std::map<std::string, uint64_t>& after, unsigned threads, int src_root,
                                            const std::function<void(const ChangedPlace&)>& place) const {
  std::mutex emit;  // `place` is called one at a time, and the counts below are kept under it
  Scan total;
  auto fail = [&](int err, const std::string& where) {
    std::lock_guard lock(emit);
    if (total.err == 0) total.err = err, total.where = where;
  };
  // A chunk's pairs, resolved on up to `threads` threads; false once anything failed.
  auto resolve = [&](Chunk& chunk) {
    std::vector<WantedPlace> wants(chunk.begin(), chunk.end());
    chunk.clear();
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next++) < wants.size();) {
        std::vector<std::string> paths;
        int rc = api_->paths_of(mount_, wants[i].fid, &paths);
        std::vector<ChangedPlace> found = places_at(wants[i], paths, src_root);
        std::lock_guard lock(emit);
        ++total.fids;
        if (rc == -ENOENT || rc == -ESTALE) {
          ++total.gone;  // gone since the record: its parent's listing says so on the target
          continue;
        }
        if (rc < 0) {
          if (total.err == 0) total.err = rc, total.where = "fid2path " + wants[i].fid.text();
          return;
        }
        for (const ChangedPlace& p : found) {
          ++total.places;
          place(p);
        }
      }
    };
    std::vector<std::thread> pool;
    size_t n = std::min<size_t>(std::max(1u, threads), wants.size());
    for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    std::lock_guard lock(emit);
    return total.err == 0;
  };
  auto read_one = [&](const std::string& mdt) {
    auto it = after.find(mdt);
    uint64_t last = it == after.end() ? 0 : it->second;
    Chunk chunk;
    uint64_t records = 0;
    bool ok = true;
    int rc = api_->read(mdt, user_of(mdt), last + 1, [&](const ChangelogRecord& r) {
      ++records;
      last = std::max(last, r.index);
      for (const WantedPlace& w : places_wanted_by(r)) {
        auto [at, fresh] = chunk.insert(w);
        if (!fresh && w.not_directory) at->not_directory = true;  // one record of the FID says so: enough
      }
      if (chunk.size() >= kChunkWants) ok = resolve(chunk);
      return ok;
    });
    if (rc < 0) return fail(rc, mdt);
    if (ok && !chunk.empty()) resolve(chunk);
    std::lock_guard lock(emit);
    total.records += records;
    total.records_by_mdt[mdt] = records;
    total.last[mdt] = last;
  };
  std::vector<std::thread> readers;
  for (size_t i = 1; i < mdts_.size(); ++i) readers.emplace_back(read_one, mdts_[i]);
  if (!mdts_.empty()) read_one(mdts_[0]);
  for (auto& t : readers) t.join();
  return total;
}

}  // namespace lmover
