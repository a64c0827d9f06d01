// What the changelog tests share (changelog_test.cc, distributed_changelog_test.cc): the MDS side
// of the fake liblustreapi's changelog (fake_changelog.c), users who mutate the source for real and
// log what lustre-release's mdd would, and a fixture that points lmover at them.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {

// enum changelog_rec_type (lustre_user.h).
// A close's open flags (enum mds_open_flags): O_WRONLY|O_CREAT|O_TRUNC, and r+.
constexpr unsigned kWriteCreateTrunc = 00000002 | 00000100 | 00001000, kReadWrite = 00000003;

enum : unsigned { CREAT = 1, MKDIR = 2, HLINK = 3, SLINK = 4, UNLNK = 6, RMDIR = 7, RENME = 8, CLOSE = 11,
                  TRUNC = 13, SATTR = 14, XATTR = 15 };

inline std::string hex(const std::string& s) {
  if (s.empty()) return "-";
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

// The MDS side: each MDT's log and its users, as fake_changelog.c reads them.
class Mds {
 public:
  Mds(std::string dir, int mdts, uint32_t seed) : dir_(std::move(dir)), next_(mdts, 1), rng_(seed) { make_dir(dir_); }
  std::string mdt(int i) const { return fmt::format("lustre-MDT{:04x}", i); }
  int mdts() const { return static_cast<int>(next_.size()); }
  void register_user(const std::string& user) {
    for (int i = 0; i < mdts(); ++i) write_file(dir_ + "/" + mdt(i) + ".users", user + " 0\n");
  }
  // changelog_gc's doing: the user goes, and with it the records only it held.
  void deregister(int i) {
    write_file(dir_ + "/" + mdt(i) + ".users", "");
    write_file(dir_ + "/" + mdt(i) + ".log", "");
  }
  static std::string fid(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) < 0) return "0";
    return fmt::format("[{:#x}:{:#x}:0x0]", 0x200000400ULL + (uint64_t(st.st_ino) >> 32), uint32_t(st.st_ino));
  }
  // One record on a random MDT (no order across them), its index after a random gap.
  // `flags`: the record's low 12 bits of cr_flags (a close's open flags, as mdd_close keeps them).
  void log(unsigned type, const std::string& tfid, const std::string& pfid, const std::string& name,
           const std::string& rename_tail = "", unsigned flags = 0) {
    int i = static_cast<int>(rng_() % next_.size());
    uint64_t index = next_[i];
    next_[i] += 1 + rng_() % 3;
    std::ofstream(dir_ + "/" + mdt(i) + ".log", std::ios::app) << index << ' ' << type << ' ' << flags << ' ' << tfid
                                                                << ' ' << pfid << ' ' << hex(name) << rename_tail << '\n';
  }
  void log_rename(const std::string& overwritten, const std::string& new_parent, const std::string& new_name,
                  const std::string& renamed, const std::string& old_parent, const std::string& old_name) {
    log(RENME, overwritten, new_parent, new_name, " " + renamed + " " + old_parent + " " + hex(old_name));
  }
  // The last line of MDT i's log, as written (to duplicate it).
  std::string last_line(int i) const {
    std::ifstream in(dir_ + "/" + mdt(i) + ".log");
    std::string line, last;
    while (std::getline(in, line)) last = line;
    return last;
  }
  // MDT i's line for `user`: the index it cleared up to and when (0: never), as mdd keeps them.
  std::pair<long long, long long> cleared(int i, const std::string& user) const {
    std::ifstream in(dir_ + "/" + mdt(i) + ".users");
    std::string name;
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      long long index = -1, at = 0;
      if (fields >> name >> index && name == user) {
        fields >> at;
        return {index, at};
      }
    }
    return {-1, 0};
  }
  void set_cleared(int i, const std::string& user, long long index, long long at) {
    write_file(dir_ + "/" + mdt(i) + ".users", user + " " + std::to_string(index) + " " + std::to_string(at) + "\n");
  }
  size_t records_left() const {
    size_t n = 0;
    for (int i = 0; i < mdts(); ++i) {
      std::ifstream in(dir_ + "/" + mdt(i) + ".log");
      for (std::string line; std::getline(in, line);) n += !line.empty();
    }
    return n;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<uint64_t> next_;
  std::mt19937 rng_;
};

// Every directory (or every other entry) below and at `root`, read O_NOATIME: a user's listing
// would move directory atimes, which a quiet sync rightly leaves alone.
inline void walk(int dir, const std::string& path, bool dirs, std::vector<std::string>& out) {
  if (dirs) out.push_back(path);
  DIR* d = fdopendir(dir);
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      if (!dirs) out.push_back(path + "/" + name);
      continue;
    }
    int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);
    if (sub >= 0) walk(sub, path + "/" + name, dirs, out);
  }
  closedir(d);
}

inline std::vector<std::string> entries_of(const std::string& root, bool dirs) {
  std::vector<std::string> out;
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);
  if (fd >= 0) walk(fd, root, dirs, out);
  return out;
}

inline std::string parent_of(const std::string& p) { return p.substr(0, p.rfind('/')); }
inline std::string name_of(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// Users at work on the source: each mutation done for real, then logged as mdd logs it.
class Users {
 public:
  Users(const std::string& src, Mds& mds, uint32_t seed) : src_(src), mds_(mds), rng_(seed) {}

  void create(const std::string& dir, const std::string& name, const std::string& content) {
    std::string p = dir + "/" + name;
    write_file(p, content);
    mds_.log(CREAT, Mds::fid(p), Mds::fid(dir), name);
    mds_.log(CLOSE, Mds::fid(p), "0", "", "", kWriteCreateTrunc);
  }
  void mkdir_with_files(const std::string& dir, const std::string& name, int files) {
    std::string p = dir + "/" + name;
    make_dir(p);
    mds_.log(MKDIR, Mds::fid(p), Mds::fid(dir), name);
    for (int i = 0; i < files; ++i) create(p, "f" + std::to_string(i), std::string(i * 37 % 500, 'a' + i % 26));
  }
  // Same size, same mtime (set back): only the data and the ctime tell.
  void rewrite_in_place(const std::string& p) {
    struct stat st;
    lstat(p.c_str(), &st);
    std::string data = read_file(p);
    for (char& c : data) c = static_cast<char>(c ^ 0x5a);
    std::ofstream(p, std::ios::in | std::ios::out | std::ios::binary) << data;
    timespec times[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW);
    mds_.log(CLOSE, Mds::fid(p), "0", "", "", kReadWrite);
    mds_.log(SATTR, Mds::fid(p), "0", "");
  }
  void unlink_file(const std::string& p) {
    std::string f = Mds::fid(p), parent = Mds::fid(parent_of(p));
    ::unlink(p.c_str());
    mds_.log(UNLNK, f, parent, name_of(p));
  }
  void remove_tree(const std::string& p) {
    for (const std::string& f : entries_of(p, false)) unlink_file(f);
    auto dirs = entries_of(p, true);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      std::string f = Mds::fid(*it), parent = Mds::fid(parent_of(*it));
      ::rmdir(it->c_str());
      mds_.log(RMDIR, f, parent, name_of(*it));
    }
  }
  void rename_to(const std::string& from, const std::string& dir, const std::string& name) {
    std::string to = dir + "/" + name;
    std::string overwritten = Mds::fid(to), renamed = Mds::fid(from), old_parent = Mds::fid(parent_of(from));
    if (::rename(from.c_str(), to.c_str()) != 0) return;
    mds_.log_rename(overwritten, Mds::fid(dir), name, renamed, old_parent, name_of(from));
  }
  void hard_link(const std::string& p, const std::string& dir, const std::string& name) {
    if (::link(p.c_str(), (dir + "/" + name).c_str()) != 0) return;
    mds_.log(HLINK, Mds::fid(p), Mds::fid(dir), name);
  }
  void symlink_to(const std::string& target, const std::string& dir, const std::string& name) {
    if (::symlink(target.c_str(), (dir + "/" + name).c_str()) != 0) return;
    mds_.log(SLINK, Mds::fid(dir + "/" + name), Mds::fid(dir), name);
  }
  void chmod_(const std::string& p) {
    ::chmod(p.c_str(), 0600 | (rng_() % 2 ? 0044 : 0));
    mds_.log(SATTR, Mds::fid(p), "0", "");
  }
  void setxattr_(const std::string& p) {
    std::string v = "v" + std::to_string(rng_());
    ::lsetxattr(p.c_str(), "user.tag", v.data(), v.size(), 0);
    mds_.log(XATTR, Mds::fid(p), "0", "");
  }
  void truncate_(const std::string& p) {
    ::truncate(p.c_str(), static_cast<off_t>(rng_() % 50));
    mds_.log(TRUNC, Mds::fid(p), "0", "");
  }

  // One random mutation of the source.
  void any() {
    auto files = entries_of(src_, false), dirs = entries_of(src_, true);
    auto pick = [&](const std::vector<std::string>& v) { return v[rng_() % v.size()]; };
    std::string dir = pick(dirs), name = "n" + std::to_string(counter_++);
    std::vector<std::string> regular;
    for (const auto& f : files) {
      struct stat st;
      if (lstat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)) regular.push_back(f);
    }
    switch (rng_() % 12) {
      case 0: return create(dir, name, std::string(rng_() % 3000, 'x'));
      case 1: return mkdir_with_files(dir, name, static_cast<int>(rng_() % 4));
      case 2: if (!regular.empty()) return rewrite_in_place(pick(regular)); break;
      case 3: if (!regular.empty()) return unlink_file(pick(regular)); break;
      case 4: if (dirs.size() > 1) { std::string d = pick(dirs); if (d != src_) return remove_tree(d); } break;
      case 5: if (!files.empty()) return rename_to(pick(files), dir, rng_() % 3 == 0 && !files.empty() ? name_of(pick(files)) : name); break;
      case 6: {  // a directory moved elsewhere, never into itself
        std::string d = pick(dirs);
        if (d != src_ && dir.rfind(d, 0) != 0) return rename_to(d, dir, name);
        break;
      }
      case 7: if (!regular.empty()) return hard_link(pick(regular), dir, name); break;
      case 8: return symlink_to("../t" + std::to_string(rng_() % 9), dir, name);
      case 9: if (!files.empty()) return chmod_(pick(regular.empty() ? dirs : regular)); break;
      case 10: if (!regular.empty()) return setxattr_(pick(regular)); break;
      case 11: if (!regular.empty()) return truncate_(pick(regular)); break;
    }
    create(dir, name, "fallback");
  }

 private:
  std::string src_;
  Mds& mds_;
  std::mt19937 rng_;
  int counter_ = 0;
};

class ChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI, 1);
    setenv("FAKE_LUSTRE_MOUNT", (tmp_ / "fs").c_str(), 1);
    setenv("FAKE_LUSTRE_CHANGELOG", mds_.dir().c_str(), 1);
    setenv("FAKE_LUSTRE_MDTS", "2", 1);
    make_dir(tmp_ / "fs");
    make_dir(src_);
    mds_.register_user("cl1");
  }
  void TearDown() override {
    for (const char* name : {"LMOVER_LUSTREAPI", "FAKE_LUSTRE_MOUNT", "FAKE_LUSTRE_CHANGELOG", "FAKE_LUSTRE_MDTS"}) unsetenv(name);
  }
  // A starting tree: directories, files, a hard-link group across directories, a symlink.
  void initial_tree(int dirs, int files) {
    Users u(src_, mds_, 7);
    for (int d = 0; d < dirs; ++d) u.mkdir_with_files(src_, "d" + std::to_string(d), files);
    u.hard_link(src_ + "/d0/f0", src_ + (dirs > 1 ? "/d1" : "/d0"), "link0");
    u.symlink_to("d0/f0", src_, "sym");
  }
  RunResult lmover(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--lustre", "on"});
    return run_lmover(args);
  }
  std::vector<std::string> differences() {
    OracleOptions o;
    o.ignored_xattrs = {"trusted.lov", "trusted.lmv", "trusted.hsm", "trusted.lmover.dv"};  // the last: lmover's own (#18)
    return compare_trees(src_, dst_, o);
  }
  void expect_exact(const std::string& context, const std::string& log = "") {
    auto diffs = differences();
    EXPECT_TRUE(diffs.empty()) << context << ": " << ::testing::PrintToString(diffs) << "\n" << log;
    RunResult v = lmover({"verify", src_, dst_});
    EXPECT_EQ(v.exit_code, 0) << context << "\n" << v.output;
  }

  TempDir tmp_;
  std::string src_ = tmp_ / "fs/data", dst_ = tmp_ / "dst";
  Mds mds_{tmp_ / "mds", 2, 11};
};

}  // namespace lmover::test
