// Changelog records parsed as lustre-release lays them out (lustre_user.h: struct changelog_rec,
// then the extensions its flags name, then the name), built here byte by byte from those rules
// (independently of the fake library's packer), and the places each record type asks for.
#include "lustre/changes.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lmover {
namespace {

// Appends the bytes of a value, as a packed struct holds it.
template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_fid(std::string& out, uint64_t seq, uint32_t oid, uint32_t ver) {
  put(out, seq);
  put(out, oid);
  put(out, ver);
}

// A record: 64 bytes of header, then rename (32), jobid (32), extra flags (8) and, by the extra
// flags, uid/gid (16), nid (24), open mode (4), xattr name (256), then the name.
std::string record(uint32_t type, uint16_t flags, const std::string& name, uint64_t extra = 0) {
  std::string r;
  put<uint16_t>(r, static_cast<uint16_t>(name.size()));
  put<uint16_t>(r, flags);
  put<uint32_t>(r, type);
  put<uint64_t>(r, 4242);  // cr_index
  put<uint64_t>(r, 4200);  // cr_prev
  put<uint64_t>(r, 1700000000ull << 30);  // cr_time
  put_fid(r, 0x200000401, 0x11, 0);  // cr_tfid
  put_fid(r, 0x200000401, 0x22, 0);  // cr_pfid
  if (flags & 0x2000) {
    put_fid(r, 0x200000402, 0x33, 0);  // cr_sfid
    put_fid(r, 0x200000402, 0x44, 0);  // cr_spfid
  }
  if (flags & 0x4000) r += std::string(32, 'J');
  if (flags & 0x8000) {
    put<uint64_t>(r, extra);
    if (extra & 0x1) r += std::string(16, 'U');
    if (extra & 0x2) r += std::string(24, 'N');
    if (extra & 0x4) r += std::string(4, 'O');
    if (extra & 0x8) r += std::string(256, 'X');
  }
  return r + name;
}

TEST(ChangelogRecord, HeaderFieldsAndNameAfterEveryExtension) {
  for (uint64_t extra : {0x0ull, 0x1ull, 0x3ull, 0x7ull, 0xfull, 0x9ull}) {
    std::string raw = record(cl::kCreate, 0x1000 | 0x4000 | 0x8000 | 0x1, "new file", extra);
    ChangelogRecord r = parse_changelog_record(raw.data());
    EXPECT_EQ(r.index, 4242u);
    EXPECT_EQ(r.type, cl::kCreate);
    EXPECT_EQ(r.flags, 0x1);  // the per-type bits only
    EXPECT_EQ(r.target, (Fid{0x200000401, 0x11, 0}));
    EXPECT_EQ(r.parent, (Fid{0x200000401, 0x22, 0}));
    EXPECT_EQ(r.name, "new file") << "extra flags " << extra;
    EXPECT_FALSE(r.has_rename);
  }
}

TEST(ChangelogRecord, ARenameCarriesItsSourceAndBothNames) {
  std::string raw = record(cl::kRename, 0x1000 | 0x2000 | 0x4000 | 0x8000, std::string("to\0from", 7), 0x1);
  ChangelogRecord r = parse_changelog_record(raw.data());
  ASSERT_TRUE(r.has_rename);
  EXPECT_EQ(r.source, (Fid{0x200000402, 0x33, 0}));
  EXPECT_EQ(r.source_parent, (Fid{0x200000402, 0x44, 0}));
  EXPECT_EQ(r.name, "to");
  EXPECT_EQ(r.source_name, "from");
  // As the oldest libraries hand it out: no jobid, no extra flags.
  ChangelogRecord plain = parse_changelog_record(record(cl::kRename, 0x1000 | 0x2000, std::string("a\0b", 3)).data());
  EXPECT_EQ(plain.source, (Fid{0x200000402, 0x33, 0}));
  EXPECT_EQ(plain.name, "a");
  EXPECT_EQ(plain.source_name, "b");
}

TEST(ChangelogRecord, TypeNamesAreUpstreams) {
  EXPECT_STREQ(changelog_type_name(cl::kCreate), "CREAT");
  EXPECT_STREQ(changelog_type_name(cl::kRename), "RENME");
  EXPECT_STREQ(changelog_type_name(cl::kExt), "RNMTO");
  EXPECT_STREQ(changelog_type_name(cl::kDeniedOpen), "NOPEN");
  EXPECT_STREQ(changelog_type_name(99), "?");
}

// The rules of changes.h, record type by record type.
TEST(ChangelogRecord, EachTypeAsksForItsPlaces) {
  using K = ChangedPlace::Kind;
  auto kinds = [](uint32_t type, bool rename = false) {
    ChangelogRecord r;
    r.type = type;
    r.target = {1, 1, 0};
    r.parent = {1, 2, 0};
    if (rename) {
      r.has_rename = true;
      r.source = {1, 3, 0};
      r.source_parent = {1, 4, 0};
    }
    std::vector<std::pair<uint32_t, K>> out;
    for (const WantedPlace& w : places_wanted_by(r)) out.emplace_back(w.fid.oid, w.kind);
    return out;
  };
  using V = std::vector<std::pair<uint32_t, K>>;
  EXPECT_EQ(kinds(cl::kCreate), (V{{2, K::kListing}, {1, K::kEntry}}));
  EXPECT_EQ(kinds(cl::kHardlink), (V{{2, K::kListing}, {1, K::kEntry}}));
  EXPECT_EQ(kinds(cl::kUnlink), (V{{2, K::kListing}, {1, K::kEntry}}));
  EXPECT_EQ(kinds(cl::kMkdir), (V{{2, K::kListing}, {1, K::kSubtree}}));
  EXPECT_EQ(kinds(cl::kRename, true), (V{{2, K::kListing}, {1, K::kEntry}, {4, K::kListing}, {3, K::kSubtree}}));
  EXPECT_EQ(kinds(cl::kClose), (V{{1, K::kEntry}}));
  EXPECT_EQ(kinds(cl::kSetxattr), (V{{1, K::kEntry}}));
  EXPECT_EQ(kinds(cl::kMtime), (V{{1, K::kEntry}}));
  EXPECT_EQ(kinds(cl::kAtime), V{});
  EXPECT_EQ(kinds(cl::kMark), V{});
  EXPECT_EQ(kinds(cl::kMigrate), (V{{1, K::kEntry}, {2, K::kListing}}));
  EXPECT_EQ(kinds(77), (V{{1, K::kEntry}, {2, K::kListing}})) << "a type newer than lmover is not ignored";
  ChangelogRecord unnamed;
  unnamed.type = cl::kCreate;
  unnamed.target = {1, 1, 0};
  EXPECT_EQ(places_wanted_by(unnamed).size(), 1u) << "a zero FID asks for nothing";
}

// Which records say their FID is no directory, so that its names need no stat: those that make a
// file, a link or a node, and a close with write intent (its open flags, as mdd_close keeps them:
// MDS_FMODE_WRITE 02, MDS_OPEN_TRUNC 01000, MDS_OPEN_APPEND 02000); not a close without it (with
// CL_OPEN in the mask a directory's last close is logged too), nor a setattr.
TEST(PlacesWanted, RecordsThatNameNoDirectorySaySo) {
  auto entry_not_dir = [](unsigned type, uint16_t flags) {
    ChangelogRecord r;
    r.type = type;
    r.flags = flags;
    r.target = {1, 1, 0};
    r.parent = {1, 2, 0};
    for (const WantedPlace& w : places_wanted_by(r)) {
      if (w.kind == ChangedPlace::Kind::kEntry) return w.not_directory;
    }
    return false;
  };
  EXPECT_TRUE(entry_not_dir(cl::kCreate, 0));
  EXPECT_TRUE(entry_not_dir(cl::kSoftlink, 0));
  EXPECT_TRUE(entry_not_dir(cl::kHardlink, 0));
  EXPECT_TRUE(entry_not_dir(cl::kClose, 00000002));
  EXPECT_TRUE(entry_not_dir(cl::kClose, 00000003 | 00001000));
  EXPECT_TRUE(entry_not_dir(cl::kClose, 00002000));
  EXPECT_TRUE(entry_not_dir(cl::kTrunc, 0));
  EXPECT_FALSE(entry_not_dir(cl::kClose, 00000001)) << "a read-only last close (CL_OPEN on) may be a directory's";
  EXPECT_FALSE(entry_not_dir(cl::kSetattr, 0));
  EXPECT_FALSE(entry_not_dir(cl::kRmdir, 0));
  EXPECT_FALSE(entry_not_dir(cl::kRename, 0)) << "what a rename overwrote may be a directory";
}

TEST(ChangelogUsers, OneForAllOrOnePerMdt) {
  EXPECT_EQ(ChangelogUsers::parse("cl1").of(0), "cl1");
  EXPECT_EQ(ChangelogUsers::parse("cl1").of(7), "cl1");
  ChangelogUsers per = ChangelogUsers::parse("MDT0000=cl1,lustre-MDT000a=cl3,1=cl2");
  EXPECT_EQ(per.of(0), "cl1");
  EXPECT_EQ(per.of(1), "cl2");
  EXPECT_EQ(per.of(10), "cl3");
  EXPECT_EQ(per.of(2), "");
  EXPECT_THROW(ChangelogUsers::parse(""), std::invalid_argument);
  EXPECT_THROW(ChangelogUsers::parse("MDT0000="), std::invalid_argument);
  EXPECT_THROW(ChangelogUsers::parse("MDTzz=cl1"), std::invalid_argument);
}

}  // namespace
}  // namespace lmover
