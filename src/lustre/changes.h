// What the changelogs of SRC's filesystem say changed, as places a pass visits (ChangedPlace).
//
// Records are hints that something changed, never a script to replay (CLOSE is logged only for
// opens with write intent, MTIME and CTIME once per object; one log per MDT, no order across them,
// indexes with gaps): each is turned into the places whose real state the passes then read again
// and judge as a full pass would.
//   - CREAT, MKNOD, SLINK, HLINK, UNLNK, RMDIR: the parent directory's listing, and every name the
//     entry still has (a hard link added or removed moves the link count of all of them).
//   - MKDIR: the parent's listing, and the new directory walked whole.
//   - RENME: both parents' listings, the entry renamed walked whole if it is a directory (at its new
//     name it is new to the target), and the names an overwritten entry still has.
//   - CLOSE, TRUNC, SATTR, XATTR, LYOUT, MTIME, CTIME, HSM, FLRW, RESYNC: every name of the entry.
//   - MIGRT, RNMTO, and a type this lmover does not know: the entry's names and its parent's listing.
//   - MARK, OPEN, ATIME, GXATR, NOPEN: nothing (a copy keeps no atime the change rule compares).
// An entry that fid2path no longer finds (ENOENT, ESTALE) is gone since: its parent's listing, named
// by the record that removed it, removes it from the target.
//
// At scale: records are read per MDT in parallel and coalesced per FID in chunks of bounded size
// (a file rewritten 1000 times is resolved once per chunk), and the FIDs of a chunk are resolved on
// many threads (fid2path is a round trip to an MDS). Nothing holds all the records or all the paths.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lustre/changelog_api.h"

namespace lmover {

// A place a changelog-driven pass visits, relative to SRC.
struct ChangedPlace {
  enum class Kind : uint8_t {
    kListing = 'L',  // a directory whose names changed: its entries compared, one level
    kEntry = 'E',    // an entry whose data or metadata changed
    kSubtree = 'S',  // a directory new or renamed on the source: walked whole
    // A directory whose own times are set again: added by the passes (PlaceSpool) for the
    // directory of every changed entry, since writing an entry moves its target directory's mtime.
    kTimes = 'T',
  };
  Kind kind = Kind::kEntry;
  std::string rel;
  // What the source entry was when the place was found (one lookup then, not one per pass):
  // unknown until looked at. A pass judges the entry as it finds it all the same.
  enum class Type : uint8_t { kUnknown = '?', kDirectory = 'd', kOther = 'f' };
  Type type = Type::kUnknown;
  bool operator==(const ChangedPlace&) const = default;
};

// The places a record asks for, by FID: its rules above.
struct WantedPlace {
  Fid fid;
  ChangedPlace::Kind kind;
  // The record says the FID is no directory (it made a file, a link or a node, or changed a file's
  // data): its names need no stat to tell (a FID never changes type). Records of one FID are
  // merged, so one such record is enough.
  mutable bool not_directory = false;
};
std::vector<WantedPlace> places_wanted_by(const ChangelogRecord& record);

// Changelog users by MDT: one user for all ("cl1"), or per MDT ("MDT0000=cl1,MDT0001=cl3").
class ChangelogUsers {
 public:
  // Throws std::invalid_argument naming what is wrong.
  static ChangelogUsers parse(const std::string& spec);
  // The user of MDT `index`; "" when the spec names none for it.
  std::string of(unsigned index) const;
  const std::string& spec() const { return spec_; }

 private:
  std::string spec_, all_;
  std::map<unsigned, std::string> by_mdt_;
};

class ChangelogSource {
 public:
  // SRC's filesystem through `api`: its mount, its name, where SRC is in it, and its MDTs. Throws
  // FsError naming SRC when it is not on Lustre or the library cannot read changelogs.
  ChangelogSource(const LustreApi& api, const std::string& src_path, ChangelogUsers users);

  const std::string& fsname() const { return fsname_; }
  const std::string& mount() const { return mount_; }
  const std::string& src_in_fs() const { return src_in_fs_; }  // "" when SRC is the mount's root
  const std::vector<std::string>& mdts() const { return mdts_; }  // "lustre-MDT0000", ...
  const std::string& user_of(const std::string& mdt) const;
  bool knows_users() const { return api_->knows_users(); }

  // Each MDT's last record index now, read to the end of its log from `from` (0 for an MDT absent
  // from it). A negative errno in *err and the MDT in *where on failure (-ENOENT: not registered).
  std::map<std::string, uint64_t> ends(const std::map<std::string, uint64_t>& from, int* err, std::string* where) const;

  struct Scan {
    std::map<std::string, uint64_t> last;  // per MDT: the last index read (the bookmark to come)
    std::map<std::string, uint64_t> records_by_mdt;
    uint64_t records = 0, fids = 0, gone = 0, places = 0;
    int err = 0;  // a negative errno when reading or resolving failed (`where` says what)
    std::string where;
  };
  // Reads every MDT's records after `after` (its bookmark), and calls `place` (from many threads,
  // one at a time) for each place beneath SRC that is still there, looked at beneath `src_root`
  // (SRC open) for its type. `threads`: fid2path calls and lookups in flight.
  Scan scan(const std::map<std::string, uint64_t>& after, unsigned threads, int src_root,
            const std::function<void(const ChangedPlace&)>& place) const;

  // `path` (relative to the filesystem's root, as fid2path answers) relative to SRC, if it lies
  // beneath it ("" for SRC itself).
  std::optional<std::string> relative_to_src(const std::string& path) const;
  // The places of `want` at its names `paths` (relative to the mount; those outside SRC left out),
  // each with its type, looked at beneath `src_root` unless the record said it is no directory.
  std::vector<ChangedPlace> places_at(const WantedPlace& want, const std::vector<std::string>& paths,
                                      int src_root) const;

  // Clears `mdt`'s records up to `index` for its user: 0 or a negative errno.
  int clear(const std::string& mdt, uint64_t index) const;

  // The FID of the entry `rel` (reached beneath `src_root`, SRC open, following no symlink), and
  // every name beneath SRC it has (its hard links). nullopt with errno set when it cannot be read
  // (ENOENT: gone).
  std::optional<std::pair<Fid, std::vector<std::string>>> names_of(int src_root, const std::string& rel) const;

 private:
  const LustreApi& lustre_;
  std::unique_ptr<ChangelogApi> api_;
  ChangelogUsers users_;
  std::string src_path_;
  std::string mount_, fsname_, src_in_fs_;
  std::vector<std::string> mdts_;
  std::vector<std::string> user_by_mdt_;
};

}  // namespace lmover
