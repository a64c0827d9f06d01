// Lustre layouts and MDT placement, through the same dlopen path as on a real client, with the fake
// liblustreapi.so the suite builds (tests/fake_lustreapi.c): it keeps each file's layout in
// trusted.lov and each directory's MDT in trusted.lmv, which lmover never copies as plain xattrs,
// so a target file only has the layout lmover asked liblustreapi for.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace lmover::test {
namespace {

constexpr unsigned long long kEof = ~0ULL, kWide = 0x1000000000000003ULL, kMiB = 1 << 20;

struct Comp {
  unsigned long long start = 0, end = kEof, count = 1, size = kMiB, pattern = 0;
  std::string pool;
  unsigned mirror_id = 0, flags = 0;  // FLR (LCME_FL_*: 1 stale, 2 prefer reads, 4 prefer writes)
};

// The fake's text form of a layout (see fake_lustreapi.c); `mirrors` and `flr` (LCM_FL_* state:
// 1 in sync, 2 write pending) only for an FLR file.
std::string lov(const std::vector<Comp>& comps, bool composite = false, unsigned mirrors = 0, unsigned flr = 0) {
  std::string out = "composite " + std::to_string(composite ? 1 : 0);
  if (mirrors) out += " mirrors=" + std::to_string(mirrors) + " flr=" + std::to_string(flr);
  out += "\n";
  for (const Comp& c : comps) {
    out += std::to_string(c.start) + " " + std::to_string(c.end) + " " + std::to_string(c.count) + " " +
           std::to_string(c.size) + " " + std::to_string(c.pattern) + " " + (c.pool.empty() ? "-" : c.pool);
    if (mirrors) out += " m=" + std::to_string(c.mirror_id) + " f=" + std::to_string(c.flags);
    out += "\n";
  }
  return out;
}

std::string get_xattr(const std::string& path, const char* key) {
  char buf[4096];
  ssize_t n = lgetxattr(path.c_str(), key, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

class LustreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI, 1);
    setenv("FAKE_LUSTRE_OSTS", "32", 1);
    unsetenv("FAKE_LUSTRE_POOLS");
    make_dir(src_);
  }
  void TearDown() override {
    for (const char* name : {"LMOVER_LUSTREAPI", "FAKE_LUSTRE_OSTS", "FAKE_LUSTRE_POOLS", "LD_PRELOAD",
                             "FAKE_LUSTRE_NO_RESYNC", "FAKE_LUSTRE_NO_FLR", "LMOVER_LUSTRE_SYSFS"}) {
      unsetenv(name);
    }
  }
  // A source file with layout `layout` (as the fake stores it) and some content.
  void file_with_layout(const std::string& rel, const std::string& layout) {
    write_file(src_ + "/" + rel, "content of " + rel);
    set_xattr(src_ + "/" + rel, "trusted.lov", layout);
  }
  std::string target_layout(const std::string& rel) { return get_xattr(dst_ + "/" + rel, "trusted.lov"); }

  TempDir tmp_;
  std::string src_ = tmp_ / "src";
  std::string dst_ = tmp_ / "dst";
};

const std::vector<std::pair<std::string, std::string>>& sample_layouts() {
  static const std::vector<std::pair<std::string, std::string>> layouts = {
      {"plain", lov({{.count = 4, .size = 4 * kMiB}})},
      {"wide", lov({{.count = 24, .size = kMiB}})},
      {"pool", lov({{.count = 2, .size = kMiB, .pool = "fast"}})},
      {"pfl", lov({{.start = 0, .end = 64 * kMiB, .count = 1, .size = kMiB},
                   {.start = 64 * kMiB, .end = 1024 * kMiB, .count = 4, .size = 4 * kMiB},
                   {.start = 1024 * kMiB, .end = kEof, .count = 16, .size = 16 * kMiB, .pool = "slow"}},
                  true)},
      {"dom", lov({{.start = 0, .end = kMiB, .count = 0, .size = kMiB, .pattern = 2},
                   {.start = kMiB, .end = kEof, .count = 8, .size = 4 * kMiB}},
                  true)},
  };
  return layouts;
}

TEST_F(LustreTest, LayoutsAreCopiedExactlyAndNeverAsXattrs) {
  make_dir(src_ + "/d");
  for (const auto& [name, layout] : sample_layouts()) file_with_layout("d/" + name, layout);
  RunResult r = run_lmover({"copy", "--lustre", "on", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& [name, layout] : sample_layouts()) {
    EXPECT_EQ(target_layout("d/" + name), layout) << name;
    EXPECT_EQ(read_file(dst_ + "/d/" + name), "content of d/" + name) << name;
  }
  EXPECT_EQ(r.output.find("warn"), std::string::npos) << r.output;

  // Without Lustre the same files get no layout at all: trusted.lov is never copied as an xattr.
  std::string plain_dst = tmp_ / "plain";
  RunResult off = run_lmover({"copy", "--lustre", "off", src_, plain_dst});
  ASSERT_EQ(off.exit_code, 0) << off.output;
  for (const auto& [name, layout] : sample_layouts()) {
    EXPECT_EQ(get_xattr(plain_dst + "/d/" + name, "trusted.lov"), "") << name;
  }
}

// FLR: mirrors of the source as the fake keeps them (their ids the source's own, any numbers),
// and the target's as lmover must leave them: every mirror with its components and flags, ids
// given afresh by the target, none stale (writing the data made all but one stale: the resync),
// and the times set after the resync moved them.
struct Mirrored {
  std::string name, source, target;
};
std::vector<Mirrored> mirrored_files() {
  return {
      {"two", lov({{.start = 0, .end = 64 * kMiB, .count = 1, .mirror_id = 1},
                   {.start = 64 * kMiB, .end = kEof, .count = 4, .mirror_id = 1},
                   {.start = 0, .end = kEof, .count = 2, .size = 4 * kMiB, .pool = "slow", .mirror_id = 2, .flags = 2}},
                  true, 2, 1),
       lov({{.start = 0, .end = 64 * kMiB, .count = 1, .mirror_id = 1},
            {.start = 64 * kMiB, .end = kEof, .count = 4, .mirror_id = 1},
            {.start = 0, .end = kEof, .count = 2, .size = 4 * kMiB, .pool = "slow", .mirror_id = 2, .flags = 2}},
           true, 2, 1)},
      // Written through its third mirror (preferred for writes): the resync brings the first two.
      {"three", lov({{.count = 1, .mirror_id = 3}, {.count = 2, .mirror_id = 5}, {.count = 3, .mirror_id = 9, .flags = 4}}, true, 3, 1),
       lov({{.count = 1, .mirror_id = 1}, {.count = 2, .mirror_id = 2}, {.count = 3, .mirror_id = 3, .flags = 4}}, true, 3, 1)},
  };
}

TEST_F(LustreTest, MirroredFilesKeepEveryMirrorInSync) {
  setenv("LD_PRELOAD", FAKE_LUSTRE_KERNEL, 1);  // the client's part: a write makes mirrors stale
  for (const Mirrored& m : mirrored_files()) file_with_layout(m.name, m.source);
  run_shell("head -c 3M /dev/urandom > '" + src_ + "/big'");  // copied in chunks: resynced by the finisher
  set_xattr(src_ + "/big", "trusted.lov", mirrored_files()[1].source);
  RunResult r = run_lmover({"copy", "--lustre", "on", "--chunk-threshold", "1M", "--chunk-size", "1M", src_, dst_});
  unsetenv("LD_PRELOAD");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("warn"), std::string::npos) << r.output;
  for (const Mirrored& m : mirrored_files()) {
    EXPECT_EQ(target_layout(m.name), m.target) << m.name;
    EXPECT_EQ(read_file(dst_ + "/" + m.name), "content of " + m.name) << m.name;
  }
  EXPECT_EQ(target_layout("big"), mirrored_files()[1].target);
  EXPECT_EQ(read_file(dst_ + "/big"), read_file(src_ + "/big"));
  for (const char* f : {"two", "three", "big"}) {
    struct stat a {}, b {};
    ASSERT_EQ(lstat((src_ + "/" + f).c_str(), &a), 0);
    ASSERT_EQ(lstat((dst_ + "/" + f).c_str(), &b), 0);
    EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << f;
    EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << f;
    EXPECT_EQ(get_xattr(dst_ + "/" + f, "trusted.fake_lease"), "") << f << ": the lease was given back";
  }
  // The target's mirrors are what the source asks for: a later pass has nothing to relayout.
  RunResult again = run_lmover({"copy", "--lustre", "on", "--relayout", src_, dst_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.counter("copy", "files_copied"), 0u) << again.output;
}

// A target that cannot resync keeps the data whole in one mirror, the others stale, and says so
// once; one without FLR gets the first mirror only, said as any refused layout.
TEST_F(LustreTest, TargetsThatCannotResyncOrMirrorAreSaidOnce) {
  setenv("LD_PRELOAD", FAKE_LUSTRE_KERNEL, 1);
  const Mirrored two = mirrored_files()[0];
  for (const char* f : {"a", "b"}) file_with_layout(f, two.source);
  setenv("FAKE_LUSTRE_NO_RESYNC", "1", 1);
  RunResult r = run_lmover({"copy", "--lustre", "on", src_, dst_});
  unsetenv("FAKE_LUSTRE_NO_RESYNC");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t said = r.output.find("could not be resynced");
  EXPECT_NE(said, std::string::npos) << r.output;
  EXPECT_EQ(said, r.output.rfind("could not be resynced")) << r.output;
  EXPECT_NE(r.output.find("lfs mirror resync"), std::string::npos) << r.output;
  for (const char* f : {"a", "b"}) {
    EXPECT_EQ(target_layout(f), lov({{.start = 0, .end = 64 * kMiB, .count = 1, .mirror_id = 1},
                                     {.start = 64 * kMiB, .end = kEof, .count = 4, .mirror_id = 1},
                                     {.start = 0, .end = kEof, .count = 2, .size = 4 * kMiB, .pool = "slow", .mirror_id = 2, .flags = 3}},
                                    true, 2, 2))
        << f << ": the second mirror stale, the file write-pending";
    EXPECT_EQ(read_file(dst_ + "/" + f), std::string("content of ") + f);
  }

  setenv("FAKE_LUSTRE_NO_FLR", "1", 1);
  std::string flat = tmp_ / "flat";
  RunResult no_flr = run_lmover({"copy", "--lustre", "on", src_, flat});
  unsetenv("FAKE_LUSTRE_NO_FLR");
  unsetenv("LD_PRELOAD");
  ASSERT_EQ(no_flr.exit_code, 0) << no_flr.output;
  said = no_flr.output.find("target refused layout 'mirror 1:");
  EXPECT_NE(said, std::string::npos) << no_flr.output;
  EXPECT_EQ(said, no_flr.output.rfind("target refused layout")) << no_flr.output;
  for (const char* f : {"a", "b"}) {
    EXPECT_EQ(get_xattr(flat + "/" + f, "trusted.lov"),
              lov({{.start = 0, .end = 64 * kMiB, .count = 1}, {.start = 64 * kMiB, .end = kEof, .count = 4}}, true))
        << f;
  }
}

// `lfs setstripe DIR`: a directory's default layout is what users' new files there get later.
TEST_F(LustreTest, DirectoryDefaultLayoutsAreCopied) {
  setenv("FAKE_LUSTRE_POOLS", "fast", 1);
  const std::string striped = lov({{.count = 4, .size = 4 * kMiB, .pool = "fast"}});
  const std::string pfl = lov({{.start = 0, .end = kMiB, .count = 1, .size = kMiB}, {.start = kMiB, .end = kEof, .count = 8, .size = kMiB}}, true);
  for (const char* d : {"striped", "pfl", "plain", "gone-pool", "striped/inner"}) make_dir(src_ + "/" + d);
  set_xattr(src_ + "/striped", "trusted.lov", striped);
  set_xattr(src_ + "/pfl", "trusted.lov", pfl);
  set_xattr(src_ + "/gone-pool", "trusted.lov", lov({{.count = 2, .size = kMiB, .pool = "archive"}}));
  RunResult r = run_lmover({"copy", "--lustre", "on", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(target_layout("striped"), striped);
  EXPECT_EQ(target_layout("pfl"), pfl);
  EXPECT_EQ(target_layout("plain"), "");          // no default of its own: none set
  EXPECT_EQ(target_layout("striped/inner"), "");  // inherits on Lustre; nothing to copy
  EXPECT_EQ(target_layout("gone-pool"), lov({{.count = 2, .size = kMiB}}));
  EXPECT_NE(r.output.find("target refused directory default layout 'count=2 size=1M pool=archive'"), std::string::npos)
      << r.output;
}

// Lustre's own xattrs describe the source's objects (layout, FID, links, HSM, SOM, LMV): copied as
// plain xattrs they would corrupt the target's. Only the user's own reach the target.
TEST_F(LustreTest, LustreInternalXattrsNeverReachTheTarget) {
  write_file(src_ + "/f", "x");
  make_dir(src_ + "/d");
  for (const std::string& path : {src_ + "/f", src_ + "/d"}) {
    for (const char* key : {"trusted.lov", "trusted.lma", "trusted.link", "trusted.som", "trusted.hsm", "trusted.fid",
                            "trusted.lmv", "trusted.dmv"}) {
      set_xattr(path, key, std::string("source's ") + key);
    }
    set_xattr(path, "user.project", "kept");
  }
  for (const char* mode : {"off", "on"}) {
    std::string dst = tmp_ / (std::string("dst-") + mode);
    RunResult r = run_lmover({"copy", "--lustre", mode, src_, dst});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (std::string rel : {"/f", "/d"}) {
      char names[4096];
      ssize_t n = llistxattr((dst + rel).c_str(), names, sizeof names);
      ASSERT_GE(n, 0);
      std::vector<std::string> keys;
      for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1) keys.emplace_back(names + i);
      if (std::string(mode) == "on" && rel == "/f") {
        // the fake keeps the layout it was asked to create in trusted.lov: that one is its own
        std::erase(keys, std::string("trusted.lov"));
        EXPECT_NE(get_xattr(dst + rel, "trusted.lov").find("composite"), std::string::npos);
        // and lmover keeps the data version it copied ("[FID] 0xDV"), its own, never the source's
        std::erase(keys, std::string("trusted.lmover.dv"));
        EXPECT_EQ(get_xattr(dst + rel, "trusted.lmover.dv").rfind("[0x2", 0), 0u);
      }
      EXPECT_EQ(keys, std::vector<std::string>{"user.project"}) << mode << rel;
    }
  }
}

TEST_F(LustreTest, SeedPolicyKeepsNarrowCountsAndWidensFromSixteen) {
  setenv("FAKE_LUSTRE_OSTS", "20", 1);
  file_with_layout("narrow", lov({{.count = 4, .size = 4 * kMiB}}));
  file_with_layout("sixteen", lov({{.count = 16, .size = kMiB}}));
  file_with_layout("pfl", lov({{.start = 0, .end = 64 * kMiB, .count = 2}, {.start = 64 * kMiB, .end = kEof, .count = 8}}, true));
  RunResult r = run_lmover({"copy", "--lustre", "on", "--layout", "seed", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The original's rule: the same count below 16 (stripe size back to the default), all OSTs from 16.
  EXPECT_EQ(target_layout("narrow"), lov({{.count = 4, .size = kMiB}}));
  EXPECT_EQ(target_layout("sixteen"), lov({{.count = 20, .size = kMiB}}));
  EXPECT_EQ(target_layout("pfl"), lov({{.count = 2, .size = kMiB}}));
}

TEST_F(LustreTest, FixedPolicyGivesEveryFileTheSameLayout) {
  for (const auto& [name, layout] : sample_layouts()) file_with_layout(name, layout);
  RunResult r = run_lmover({"copy", "--lustre", "on", "--layout", "fixed:2:8M:slow", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& [name, layout] : sample_layouts()) {
    EXPECT_EQ(target_layout(name), lov({{.count = 2, .size = 8 * kMiB, .pool = "slow"}})) << name;
  }
  EXPECT_EQ(run_lmover({"copy", "--lustre", "on", "--layout", "fixed:0", src_, tmp_ / "x"}).exit_code, 2);
  EXPECT_EQ(run_lmover({"copy", "--lustre", "on", "--layout", "striped", src_, tmp_ / "x"}).exit_code, 2);
}

// A big file's chunks are cut at multiples of its stripe sizes (here lcm(1M, 3M) = 3M: 4M asked,
// 6M cut), so that no two chunks write into one stripe; the file still gets its layout, whole.
TEST_F(LustreTest, BigFileChunksFollowTheStripes) {
  std::string layout = lov({{.start = 0, .end = 6 * kMiB, .count = 1, .size = kMiB},
                            {.start = 6 * kMiB, .end = kEof, .count = 2, .size = 3 * kMiB}},
                           true);
  run_shell("head -c 20M /dev/urandom > '" + src_ + "/big'");
  set_xattr(src_ + "/big", "trusted.lov", layout);
  RunResult r = run_lmover({"copy", "-v", "-j", "3", "--lustre", "on", "--chunk-threshold", "8M", "--chunk-size", "4M",
                            src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("copy-in-chunks(4x6291456) big"), std::string::npos) << r.output;
  EXPECT_EQ(target_layout("big"), layout);
  EXPECT_EQ(read_file(dst_ + "/big"), read_file(src_ + "/big"));
  EXPECT_EQ(r.counter("copy", "files_copied"), 1u);

  // Without Lustre the same file is cut as asked.
  RunResult plain = run_lmover({"copy", "-v", "--lustre", "off", "--chunk-threshold", "8M", "--chunk-size", "4M", src_,
                                tmp_ / "plain"});
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_NE(plain.output.find("copy-in-chunks(5x4194304) big"), std::string::npos) << plain.output;
}

// by-size: the moment of a migration is the moment to re-stripe big files wider.
TEST_F(LustreTest, BySizePolicyStripesBigFilesWider) {
  const std::string source_layout = lov({{.count = 1, .size = kMiB}});
  write_file(src_ + "/empty", "");
  write_file(src_ + "/small", std::string(2048, 's'));
  write_file(src_ + "/big", std::string(3 * kMiB, 'b'));
  for (const char* f : {"empty", "small", "big"}) set_xattr(src_ + "/" + f, "trusted.lov", source_layout);
  RunResult r = run_lmover({"copy", "--lustre", "on", "--layout", "by-size:1K=2,2M=4:4M", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(target_layout("empty"), lov({{.count = 1, .size = kMiB}}));  // below 1K: the default
  EXPECT_EQ(target_layout("small"), lov({{.count = 2, .size = kMiB}}));
  EXPECT_EQ(target_layout("big"), lov({{.count = 4, .size = 4 * kMiB}}));
  EXPECT_EQ(read_file(dst_ + "/big"), std::string(3 * kMiB, 'b'));
}

// A layout the target cannot honour falls back to the nearest one it can, with one warning per
// distinct case however many files share it, and no failed file.
TEST_F(LustreTest, RefusedLayoutsFallBackWithOneWarningPerCase) {
  setenv("FAKE_LUSTRE_OSTS", "8", 1);
  setenv("FAKE_LUSTRE_POOLS", "fast", 1);
  for (int i = 0; i < 5; ++i) {
    file_with_layout("gone-pool-" + std::to_string(i), lov({{.count = 2, .size = kMiB, .pool = "archive"}}));
    file_with_layout("too-wide-" + std::to_string(i), lov({{.count = 12, .size = kMiB}}));
  }
  RunResult r = run_lmover({"copy", "--lustre", "on", "-j", "3", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(target_layout("gone-pool-" + std::to_string(i)), lov({{.count = 2, .size = kMiB}}));
    EXPECT_EQ(target_layout("too-wide-" + std::to_string(i)), lov({{.count = 8, .size = kMiB}}));
  }
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t pos = r.output.find(needle); pos != std::string::npos; pos = r.output.find(needle, pos + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("target refused layout 'count=2 size=1M pool=archive'"), 1u) << r.output;
  EXPECT_EQ(count("target refused layout 'count=12 size=1M'"), 1u) << r.output;
}

// A re-run never rewrites a file only because its layout differs from what the policy would give,
// unless --relayout asks for it.
TEST_F(LustreTest, RerunRewritesForLayoutOnlyWithRelayout) {
  file_with_layout("f", lov({{.count = 4, .size = kMiB}}));
  ASSERT_EQ(run_lmover({"sync", "--lustre", "on", src_, dst_}).exit_code, 0);
  RunResult again = run_lmover({"sync", "--lustre", "on", "--layout", "fixed:1", src_, dst_});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.actions("copy"), 0u) << again.output;
  EXPECT_EQ(target_layout("f"), lov({{.count = 4, .size = kMiB}}));

  // Unless asked: --relayout copies it again with the policy's layout, once; g already has it.
  file_with_layout("g", lov({{.count = 2, .size = kMiB}}));
  ASSERT_EQ(run_lmover({"copy", "--lustre", "on", src_, dst_}).exit_code, 0);
  RunResult relayout = run_lmover({"copy", "--lustre", "on", "--relayout", "--layout", "fixed:2", src_, dst_});
  ASSERT_EQ(relayout.exit_code, 0) << relayout.output;
  EXPECT_EQ(relayout.counter("copy", "files_copied"), 1u) << relayout.output;
  EXPECT_EQ(target_layout("f"), lov({{.count = 2, .size = kMiB}}));
  EXPECT_EQ(read_file(dst_ + "/f"), "content of f");
  RunResult settled = run_lmover({"copy", "--lustre", "on", "--relayout", "--layout", "fixed:2", src_, dst_});
  EXPECT_EQ(settled.actions("copy"), 0u) << settled.output;
}

std::map<int, int> mdts_of(const std::vector<std::string>& dirs) {
  std::map<int, int> per_mdt;
  for (const auto& d : dirs) {
    std::string v = get_xattr(d, "trusted.lmv");
    per_mdt[v.empty() ? -1 : std::stoi(v.substr(4))]++;
  }
  return per_mdt;
}

TEST_F(LustreTest, DirectoriesAreSpreadRoundRobinOverMdtsAtTheChosenDepth) {
  std::vector<std::string> top, second;
  for (int i = 0; i < 6; ++i) {
    std::string t = "top" + std::to_string(i);
    make_dir(src_ + "/" + t);
    top.push_back(dst_ + "/" + t);
    for (int j = 0; j < 3; ++j) {
      make_dir(src_ + "/" + t + "/sub" + std::to_string(j));
      second.push_back(dst_ + "/" + t + "/sub" + std::to_string(j));
    }
  }
  RunResult r = run_lmover({"copy", "--lustre", "on", "--mdts", "0,1,2", src_, dst_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(mdts_of(top), (std::map<int, int>{{0, 2}, {1, 2}, {2, 2}}));
  EXPECT_EQ(mdts_of(second), (std::map<int, int>{{-1, 18}}));  // left where Lustre puts them

  std::string deeper = tmp_ / "deeper";
  RunResult d = run_lmover({"copy", "--lustre", "on", "--mdts", "1,3", "--mdt-depth", "2", src_, deeper});
  ASSERT_EQ(d.exit_code, 0) << d.output;
  std::vector<std::string> top2, second2;
  for (auto& p : top) top2.push_back(deeper + p.substr(dst_.size()));
  for (auto& p : second) second2.push_back(deeper + p.substr(dst_.size()));
  EXPECT_EQ(mdts_of(top2), (std::map<int, int>{{-1, 6}}));
  EXPECT_EQ(mdts_of(second2), (std::map<int, int>{{1, 9}, {3, 9}}));

  // Striped on request (lfs mkdir -c): over 2 MDTs from each one's turn, or over all of them.
  std::string striped = tmp_ / "striped";
  RunResult st = run_lmover({"copy", "--lustre", "on", "--mdts", "0,2", "--dir-stripes", "2", src_, striped});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  std::map<std::string, int> kinds;
  for (int i = 0; i < 6; ++i) kinds[get_xattr(striped + "/top" + std::to_string(i), "trusted.lmv")]++;
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"mdt=0 stripes=2 hash=2", 3}, {"mdt=2 stripes=2 hash=2", 3}}));
  EXPECT_EQ(get_xattr(striped + "/top0/sub0", "trusted.lmv"), "");
  std::string all = tmp_ / "all";
  ASSERT_EQ(run_lmover({"copy", "--lustre", "on", "--dir-stripes", "-1", src_, all}).exit_code, 0);
  EXPECT_EQ(get_xattr(all + "/top3", "trusted.lmv"), "mdt=-1 stripes=4 hash=2");

  // An MDT the target does not have fails those directories, clearly, and nothing else.
  RunResult bad = run_lmover({"copy", "--lustre", "on", "--mdts", "0,7", src_, tmp_ / "bad"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("mkdir on MDT 7"), std::string::npos) << bad.output;
}

TEST_F(LustreTest, MissingOrBrokenLibraryFailsOnAndIsIgnoredOff) {
  file_with_layout("f", lov({{.count = 4, .size = kMiB}}));
  setenv("LMOVER_LUSTREAPI", "/nonexistent/liblustreapi.so", 1);
  RunResult on = run_lmover({"copy", "--lustre", "on", src_, dst_});
  EXPECT_EQ(on.exit_code, 2) << on.output;
  EXPECT_NE(on.output.find("cannot load liblustreapi"), std::string::npos) << on.output;
  EXPECT_FALSE(exists(dst_ + "/f"));

  setenv("LMOVER_LUSTREAPI", BROKEN_LUSTREAPI, 1);
  RunResult broken = run_lmover({"copy", "--lustre", "on", src_, dst_});
  EXPECT_EQ(broken.exit_code, 2) << broken.output;
  EXPECT_NE(broken.output.find("lacks llapi_layout_alloc"), std::string::npos) << broken.output;

  // auto on a filesystem that is not Lustre: plain POSIX, the library is not even opened.
  RunResult plain = run_lmover({"copy", src_, dst_});
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(read_file(dst_ + "/f"), "content of f");
  EXPECT_EQ(target_layout("f"), "");
}

// MDC slots: a fake client sysfs with the old filesystem on two MDTs (8 slots each) and the new
// one on one MDT (7 modifying): 32 threads are more than the target's 7 can serve, said once
// with the lctl line; 4 threads are served, and -v says how threads and slots compare.
TEST_F(LustreTest, ThreadsBeyondTheTargetsMetadataSlotsAreSaidOnce) {
  std::string sysfs = tmp_ / "sysfs";
  for (const char* dev : {"oldfs-MDT0000-mdc-ffff01", "oldfs-MDT0001-mdc-ffff01", "newfs-MDT0000-mdc-ffff02",
                          "other-MDT0000-mdc-ffff03"}) {
    run_shell("mkdir -p '" + sysfs + "/mdc/" + dev + "'");
    write_file(sysfs + "/mdc/" + dev + "/max_rpcs_in_flight", "8\n");
    write_file(sysfs + "/mdc/" + dev + "/max_mod_rpcs_in_flight", "7\n");
  }
  setenv("LMOVER_LUSTRE_SYSFS", sysfs.c_str(), 1);
  write_file(src_ + "/f", "x");
  set_xattr(src_, "trusted.fake_clilov", "oldfs-clilov-ffff01");
  auto copy_with = [&](const std::string& dst, const char* threads) {
    make_dir(dst);
    set_xattr(dst, "trusted.fake_clilov", "newfs-clilov-ffff02");
    return run_lmover({"copy", "--lustre", "on", "-v", "-j", threads, src_, dst});
  };
  RunResult many = copy_with(tmp_ / "many", "32");
  RunResult few = copy_with(tmp_ / "few", "4");
  unsetenv("LMOVER_LUSTRE_SYSFS");
  ASSERT_EQ(many.exit_code, 0) << many.output;
  ASSERT_EQ(few.exit_code, 0) << few.output;
  EXPECT_NE(many.output.find("32 threads, but this client keeps at most 7 modifying metadata requests in flight to "
                             "the target's 1 MDT (mdc.newfs-*.max_mod_rpcs_in_flight=7)"),
            std::string::npos)
      << many.output;
  EXPECT_NE(many.output.find("lctl set_param mdc.newfs-*.max_rpcs_in_flight=33 mdc.newfs-*.max_mod_rpcs_in_flight=32"),
            std::string::npos)
      << many.output;
  EXPECT_EQ(few.output.find("metadata requests in flight"), std::string::npos) << few.output;
  EXPECT_NE(few.output.find("4 threads; source oldfs has 2 MDTs, 8 requests in flight per MDT of them 7 modifying; "
                            "target newfs has 1 MDT"),
            std::string::npos)
      << few.output;
}

}  // namespace
}  // namespace lmover::test
