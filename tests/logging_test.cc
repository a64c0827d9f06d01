// What lmover's log lines look like where an admin reads them: stamped with the time and the level
// in a batch log, at the level asked for, and under systemd written to the journal with each
// line's priority (journalctl -p err finds the errors).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include <gtest/gtest.h>

#include "distributed_support.h"
#include "test_support.h"

namespace lmover::test {
namespace {

TEST(Logging, LinesCarryTheTimeAndTheLevel) {
  TempDir tmp;
  RunResult r = run_lmover({"copy", tmp / "missing", tmp / "dst"}, -1, false);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  std::regex stamped(R"((^|\n)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:?\d\d error: source '[^']*missing': No such file or directory)");
  EXPECT_TRUE(std::regex_search(r.output, stamped)) << r.output;
}

TEST(Logging, LogLevelChoosesTheLinesBeforeOrAfterTheVerbAndFromTheConfig) {
  TempDir tmp;
  make_dir(tmp / "src");
  write_file(tmp / "src/f", "x");
  RunResult debug = run_lmover({"copy", "--log-level", "debug", tmp / "src", tmp / "d1"}, -1, false);
  ASSERT_EQ(debug.exit_code, 0) << debug.output;
  EXPECT_NE(debug.output.find(" debug: concurrency: "), std::string::npos) << debug.output;
  RunResult before = run_lmover({"--log-level", "debug", "copy", tmp / "src", tmp / "d2"}, -1, false);
  EXPECT_NE(before.output.find(" debug: concurrency: "), std::string::npos) << before.output;
  RunResult info = run_lmover({"copy", tmp / "src", tmp / "d3"}, -1, false);
  EXPECT_EQ(info.output.find(" debug: "), std::string::npos) << info.output;

  // off: not even the error (the exit code still says it).
  write_file(tmp / "quiet.toml", "log_level = \"off\"\n");
  RunResult off = run_lmover({"copy", "--config", tmp / "quiet.toml", tmp / "missing", tmp / "d4"}, -1, false);
  EXPECT_EQ(off.exit_code, 2);
  EXPECT_EQ(off.output.find("missing"), std::string::npos) << off.output;

  RunResult bad = run_lmover({"copy", "--log-level", "loud", tmp / "src", tmp / "d5"}, -1, false);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--log-level: loud not in"), std::string::npos) << bad.output;
  write_file(tmp / "loud.toml", "log_level = \"loud\"\n");
  RunResult bad_config = run_lmover({"copy", "--config", tmp / "loud.toml", tmp / "src", tmp / "d6"}, -1, false);
  EXPECT_EQ(bad_config.exit_code, 2) << bad_config.output;
  EXPECT_NE(bad_config.output.find("loud.toml': --log-level: 'loud' is not one of"), std::string::npos) << bad_config.output;
}

// journald's own socket, held by the test where no journald runs (a container, CI): lmover's
// lines arrive as journal entries, with PRIORITY (3 = err) and SYSLOG_IDENTIFIER.
class JournalSocket {
 public:
  static constexpr const char* kPath = "/run/systemd/journal/socket";
  JournalSocket() {
    struct stat st;
    if (lstat(kPath, &st) == 0) return;  // a real journald: not ours to take over
    made_dir_ = mkdir("/run/systemd/journal", 0755) == 0;
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, kPath);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~JournalSocket() {
    if (fd_ < 0) return;
    close(fd_);
    unlink(kPath);
    if (made_dir_) rmdir("/run/systemd/journal");
  }
  bool ours() const { return fd_ >= 0; }
  std::string next_entry() {
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, n) : std::string();
  }

 private:
  int fd_ = -1;
  bool made_dir_ = false;
};

TEST(Logging, UnderSystemdLinesGoToTheJournalWithTheirPriority) {
  JournalSocket journal;
  if (!journal.ours()) GTEST_SKIP() << "a journald runs here; its socket is not the test's to take";
  TempDir tmp;
  std::string log = tmp / "stderr.log";
  // What systemd does for a unit: stderr is the journal's stream, and JOURNAL_STREAM names it.
  std::string script = std::string("JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec ") + LMOVER_BIN +
                       " copy " + (tmp / "missing") + " " + (tmp / "dst");
  Process p({"sh", "-c", script}, log, true);
  EXPECT_EQ(p.wait(), 2) << p.log();
  std::string entry = journal.next_entry();
  EXPECT_NE(entry.find("MESSAGE=source '" + (tmp / "missing") + "': No such file or directory"), std::string::npos)
      << entry;
  EXPECT_NE(entry.find("PRIORITY=3"), std::string::npos) << entry;
  EXPECT_NE(entry.find("SYSLOG_IDENTIFIER=lmover"), std::string::npos) << entry;
  EXPECT_EQ(p.log().find("No such file"), std::string::npos) << "written twice: " << p.log();
}

}  // namespace
}  // namespace lmover::test
