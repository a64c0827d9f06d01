// A live filesystem under the mover: directories swapped for symlinks mid-pass, entries vanishing,
// hard-link groups split over batches and threads, very large directories, a SIGTERM mid-pass.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"
#include "tree_oracle.h"

namespace lmover::test {
namespace {

int count_entries(const std::string& dir) {
  int n = 0;
  std::string cmd = "find '" + dir + "' | wc -l";
  FILE* p = popen(cmd.c_str(), "r");
  if (fscanf(p, "%d", &n) != 1) n = -1;
  pclose(p);
  return n;
}

TEST(LiveTree, DirectorySwappedForSymlinkNeverLeadsOutsideTheRoots) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst", outside = tmp / "outside";
  make_dir(src);
  make_dir(outside);
  write_file(outside + "/secret", "must never be copied");
  constexpr int kDirs = 40;
  for (int d = 0; d < kDirs; ++d) {
    std::string dir = src + "/d" + std::to_string(d);
    make_dir(dir);
    make_dir(dir + "/inner");
    for (int f = 0; f < 50; ++f) write_file(dir + "/inner/f" + std::to_string(f), "data");
  }
  std::atomic<bool> stop{false};
  // The attacker: swaps each directory for a symlink to `outside` and back, as fast as it can.
  std::thread swapper([&] {
    while (!stop) {
      for (int d = 0; d < kDirs && !stop; ++d) {
        std::string dir = src + "/d" + std::to_string(d);
        rename((dir + "/inner").c_str(), (dir + "/inner.real").c_str());
        symlink(outside.c_str(), (dir + "/inner").c_str());
        usleep(50);
        unlink((dir + "/inner").c_str());
        rename((dir + "/inner.real").c_str(), (dir + "/inner").c_str());
      }
    }
  });
  for (int round = 0; round < 15; ++round) {
    RunResult r = run_lmover({"sync", src, dst, "--threads", "4"});
    EXPECT_LE(r.exit_code, 1) << r.output;
  }
  stop = true;
  swapper.join();
  EXPECT_EQ(count_entries(outside), 2) << "something was written outside the roots";
  // Once the tree holds still, a sync makes the clone exact.
  RunResult r = run_lmover({"sync", src, dst});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto diffs = compare_trees(src, dst);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  // Last, as grep reads (and so touches the atimes of) the whole target.
  std::string found;
  FILE* p = popen(("grep -rl 'must never' '" + dst + "' 2>/dev/null").c_str(), "r");
  char line[4096];
  while (fgets(line, sizeof line, p)) found += line;
  pclose(p);
  EXPECT_EQ(found, "") << "content from outside the source reached the target";
}

TEST(LiveTree, SymlinkPlantedInTheTargetIsReplacedNotFollowed) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst", outside = tmp / "outside";
  make_dir(src);
  make_dir(src + "/a");
  write_file(src + "/a/file", "payload");
  write_file(src + "/plain", "x");
  make_dir(dst);
  make_dir(outside);
  symlink(outside.c_str(), (dst + "/a").c_str());          // where a directory belongs
  symlink((outside + "/hijack").c_str(), (dst + "/plain").c_str());  // where a file belongs
  RunResult r = run_lmover({"sync", src, dst});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_entries(outside), 1) << "lmover wrote through a symlink in the target";
  EXPECT_TRUE(compare_trees(src, dst).empty());
}

TEST(LiveTree, HardLinkGroupsSplitOverBatchesDirectoriesAndThreadsStayOneInode) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  for (const char* d : {"/x", "/y", "/z"}) make_dir(src + d);
  // 2500 files in x: a batch holds 1000, so link partners land in different batches; every 7th
  // file also has names in y and z, handled by other directory tasks.
  for (int i = 0; i < 2500; ++i) {
    std::string f = src + "/x/f" + std::to_string(i);
    write_file(f, "content " + std::to_string(i));
    if (i % 7 == 0) {
      link(f.c_str(), (src + "/y/l" + std::to_string(i)).c_str());
      link(f.c_str(), (src + "/z/l" + std::to_string(i)).c_str());
    }
    if (i >= 1250 && i % 5 == 0) link((src + "/x/f" + std::to_string(i - 1250)).c_str(), (f + ".twin").c_str());
  }
  RunResult r = run_lmover({"sync", src, dst, "--threads", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto diffs = compare_trees(src, dst);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  EXPECT_FALSE(exists(dst + "/.lmover-hardlinks")) << "the hard-link farm was left behind";
  RunResult again = run_lmover({"sync", src, dst, "--threads", "8"});
  EXPECT_EQ(again.actions("copy"), 0u) << again.output;
}

TEST(LiveTree, EntriesVanishingMidPassAreNotFailures) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  constexpr int kFiles = 20000;
  for (int d = 0; d < 20; ++d) make_dir(src + "/d" + std::to_string(d));
  for (int i = 0; i < kFiles; ++i) write_file(src + "/d" + std::to_string(i % 20) + "/f" + std::to_string(i), "v");
  std::thread remover([&] {
    for (int i = kFiles - 1; i >= 0; i -= 2) unlink((src + "/d" + std::to_string(i % 20) + "/f" + std::to_string(i)).c_str());
  });
  RunResult r = run_lmover({"copy", src, dst, "--threads", "2"});
  remover.join();
  EXPECT_EQ(r.exit_code, 0) << r.output.substr(0, 2000);
  EXPECT_EQ(r.counter("copy", "errors"), 0u);
  RunResult settle = run_lmover({"sync", src, dst});
  EXPECT_EQ(settle.exit_code, 0) << settle.output.substr(0, 2000);
  EXPECT_TRUE(compare_trees(src, dst).empty());
}

TEST(LiveTree, DirectoriesRenamedAndRemovedMidPassAreVanishedNotFailures) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  constexpr int kDirs = 3000;
  for (int d = 0; d < kDirs; ++d) {
    std::string dir = src + "/p" + std::to_string(d % 10) + "/d" + std::to_string(d);
    if (d < 10) make_dir(src + "/p" + std::to_string(d));
    make_dir(dir);
    make_dir(dir + "/sub");
    for (int f = 0; f < 3; ++f) write_file(dir + "/sub/f" + std::to_string(f), "v");
  }
  // Users at work: directories renamed away and removed while the copy walks them.
  std::atomic<bool> done{false};
  std::thread users([&] {
    for (int d = kDirs - 1; d >= 0 && !done; d -= 3) {
      std::string dir = src + "/p" + std::to_string(d % 10) + "/d" + std::to_string(d);
      rename(dir.c_str(), (dir + "-renamed").c_str());
      if (d % 2) run_shell("rm -rf '" + dir + "-renamed/sub'");
    }
  });
  RunResult r = run_lmover({"copy", src, dst, "--threads", "2"});
  done = true;
  users.join();
  EXPECT_EQ(r.exit_code, 0) << r.output.substr(0, 2000);
  EXPECT_EQ(r.counter("copy", "errors"), 0u);
  EXPECT_GT(r.counter("copy", "vanished"), 0u) << "the users were too slow to race the copy";
  RunResult settle = run_lmover({"sync", src, dst});
  EXPECT_EQ(settle.exit_code, 0) << settle.output.substr(0, 2000);
  auto diffs = compare_trees(src, dst);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front() << "\n"
                             << settle.output.substr(0, 2000);
}

TEST(LiveTree, SigtermStopsThePassCleanlyWithASummary) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst", summary = tmp / "summary.json";
  make_dir(src);
  for (int d = 0; d < 200; ++d) {
    std::string dir = src + "/d" + std::to_string(d);
    make_dir(dir);
    for (int f = 0; f < 100; ++f) write_file(dir + "/f" + std::to_string(f), std::string(4000, 'x'));
    link((dir + "/f0").c_str(), (dir + "/twin").c_str());  // the hard-link area is in use
  }
  pid_t pid = fork();
  if (pid == 0) {
    execl(LMOVER_BIN, LMOVER_BIN, "sync", src.c_str(), dst.c_str(), "-j", "2", "--json", summary.c_str(),
          "--no-progress", (char*)nullptr);
    _exit(98);
  }
  for (int i = 0; i < 400 && !exists(dst + "/.lmover-hardlinks"); ++i) usleep(5000);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 143);
  auto doc = nlohmann::json::parse(read_file(summary));
  EXPECT_EQ(doc["interrupted"], "SIGTERM") << doc.dump();
  EXPECT_EQ(doc["exit_code"], 143);
  EXPECT_EQ(doc["passes"].size(), 1u) << "no pass may run after the interrupted one: " << doc.dump();
  EXPECT_FALSE(exists(dst + "/.lmover-hardlinks")) << "the hard-link area was left behind";
  EXPECT_FALSE(exists(tmp / ".dst.lmover-lock")) << "the lock was left behind";
  RunResult again = run_lmover({"sync", src, dst});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(compare_trees(src, dst).empty());
}

TEST(LiveTree, HundredThousandEntriesInOneDirectory) {
  TempDir tmp;
  std::string src = tmp / "src", dst = tmp / "dst";
  make_dir(src);
  make_dir(src + "/big");
  int dir = open((src + "/big").c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 100000; ++i) {
    int fd = openat(dir, ("entry-" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    if (i % 1000 == 0) {
      ASSERT_EQ(write(fd, "x", 1), 1);
    }
    close(fd);
  }
  close(dir);
  RunResult r = run_lmover({"sync", src, dst});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.counter("copy", "files_copied"), 100000u);
  EXPECT_TRUE(compare_trees(src, dst).empty());
  // Deleting most of them on the source: the delete pass prunes them all.
  run_shell("find '" + src + "/big' -name 'entry-*[1-9]' -delete");
  RunResult d = run_lmover({"sync", src, dst});
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.counter("delete", "removed"), 90000u);
  EXPECT_TRUE(compare_trees(src, dst).empty());
}

}  // namespace
}  // namespace lmover::test
