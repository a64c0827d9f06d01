// Which build runs where: `lmover --version` and `lmover version` name the release and the commit
// of the tree it was built from (git's own answer, so a stale build is caught), and the JSON
// summary carries them with the same keys every time, also on stdout with `--json -`.
#include <cstdio>

#include <gtest/gtest.h>

#include "test_support.h"

namespace lmover::test {
namespace {

std::string git_commit() {
  std::string cmd = std::string("git -C '") + LMOVER_SOURCE_DIR + "' rev-parse --short=12 HEAD 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[64] = {0};
  if (p && fgets(buf, sizeof buf, p)) {
    std::string s(buf);
    pclose(p);
    return s.substr(0, s.find('\n'));
  }
  if (p) pclose(p);
  return "";
}

TEST(Version, BothFormsNameTheReleaseAndTheCommitBuiltFrom) {
  std::string expected = std::string("lmover ") + LMOVER_PROJECT_VERSION + " (commit ";
  std::string commit = git_commit();
  for (const char* form : {"--version", "version"}) {
    RunResult r = run_lmover({form}, -1, false);
    EXPECT_EQ(r.exit_code, 0) << form << ": " << r.output;
    EXPECT_EQ(r.output.rfind(expected, 0), 0u) << form << ": " << r.output;
    if (!commit.empty()) EXPECT_NE(r.output.find("(commit " + commit), std::string::npos) << form << ": " << r.output;
  }
}

TEST(Version, TheSummaryHasTheSameKeysEveryTimeAndGoesToStdoutWithADash) {
  TempDir tmp;
  make_dir(tmp / "src");
  write_file(tmp / "src/a", "a");
  RunResult ok = run_lmover({"copy", tmp / "src", tmp / "dst"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  RunResult bad = run_lmover({"copy", tmp / "missing", tmp / "dst2"});
  ASSERT_EQ(bad.exit_code, 2) << bad.output;
  for (const auto* doc : {&ok.summary, &bad.summary}) {
    for (const char* key : {"version", "lmover_version", "lmover_commit", "host", "command", "src", "dst", "dry_run",
                            "started", "ended", "passes", "exit_code", "fatal", "interrupted"}) {
      EXPECT_TRUE(doc->contains(key)) << key << " missing from " << doc->dump();
    }
  }
  EXPECT_EQ(ok.summary["version"], 1);
  EXPECT_EQ(ok.summary["lmover_version"], LMOVER_PROJECT_VERSION);
  EXPECT_TRUE(ok.summary["fatal"].is_null());
  EXPECT_TRUE(bad.summary["fatal"].is_string());
  EXPECT_NE(ok.summary["started"].get<std::string>().find('T'), std::string::npos) << "ISO 8601";

  RunResult piped = run_lmover({"copy", "-q", "--json", "-", tmp / "src", tmp / "dst3"}, -1, false);
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  auto doc = nlohmann::json::parse(piped.output.substr(piped.output.find('{')), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << piped.output;
  EXPECT_EQ(doc["command"], "copy");
}

}  // namespace
}  // namespace lmover::test
