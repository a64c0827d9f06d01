// What an admin sees of a run without a terminal (Slurm, systemd, a pipe): progress lines in the
// log every --progress-interval, with the rates, never silence until the end.
#include <chrono>
#include <filesystem>
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

// A batch job's counters for node_exporter's textfile collector: the /metrics series, written at
// the end of each pass (the job is gone before the next scrape), whole (renamed into place).
TEST(Observability, MetricsTextfileHoldsEveryPassAtItsEnd) {
  TempDir tmp;
  make_dir(tmp / "src");
  make_dir(tmp / "src/d");
  for (int i = 0; i < 7; ++i) write_file(tmp / ("src/d/f" + std::to_string(i)), std::string(i * 10, 'x'));
  make_dir(tmp / "textfiles");
  std::string prom = tmp / "textfiles/lmover.prom";
  RunResult r = run_lmover({"sync", "--metrics-textfile", prom, tmp / "src", tmp / "dst"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string text = read_file(prom);
  EXPECT_NE(text.find("lmover_build_info{"), std::string::npos) << text;
  for (const char* pass : {"copy", "delete", "dirtime"}) {
    EXPECT_NE(text.find(std::string("lmover_entries_total{pass=\"") + pass + "\""), std::string::npos) << pass << "\n" << text;
  }
  std::string copied = "lmover_files_copied_total{pass=\"copy\"";
  size_t at = text.find(copied);
  ASSERT_NE(at, std::string::npos) << text;
  std::string line = text.substr(at, text.find('\n', at) - at);
  EXPECT_NE(line.find("role=\"submitter\""), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.rfind(' ') + 1), std::to_string(r.counter("copy", "files_copied"))) << line;
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp / "textfiles")) files += entry.exists();
  EXPECT_EQ(files, 1u) << "a temporary file was left beside it";
}

}  // namespace
}  // namespace lmover::test
