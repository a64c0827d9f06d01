// What an admin sees of a run without a terminal (Slurm, systemd, a pipe): progress lines in the
// log every --progress-interval, with the rates, never silence until the end.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "held_run.h"
#include "test_support.h"

namespace lmover::test {
namespace {

TEST(Observability, ARunWithoutATerminalLogsProgressLinesEveryInterval) {
  TempDir tmp;
  make_dir(tmp / "src");
  for (int i = 0; i < 50; ++i) write_file(tmp / ("src/f" + std::to_string(i)), "x");
  write_file(tmp / "src/zz_big", std::string(100000, 'b'));
  HeldRun run(tmp, {"copy", "-j", "1", "--progress-interval", "0.2", tmp / "src", tmp / "dst"}, "zz_big");
  ASSERT_TRUE(run.held());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // held: the lines go on all the same
  RunResult r = run.finish();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t lines = 0;
  for (size_t at = r.output.find("info: [copy] "); at != std::string::npos; at = r.output.find("info: [copy] ", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 3u) << r.output;
  EXPECT_NE(r.output.find(" entries ("), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("\033[K"), std::string::npos) << "terminal codes in a log";

  HeldRun quiet(tmp, {"copy", "-j", "1", "--progress-interval", "0", tmp / "src", tmp / "dst2"}, "zz_big");
  ASSERT_TRUE(quiet.held());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  RunResult none = quiet.finish();
  EXPECT_EQ(none.output.find("[copy] "), std::string::npos) << "--progress-interval 0 logs none: " << none.output;
}

}  // namespace
}  // namespace lmover::test
