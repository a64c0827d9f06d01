// The TOML config file: settings as defaults, typos refused, a password only in a private file.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "cli/config_file.h"
#include "fs/fs_error.h"
#include "test_support.h"

namespace lmover::test {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dir(src_);
    make_dir(src_ + "/keep");
    make_dir(src_ + "/scratch");
    write_file(src_ + "/keep/a", "a");
    write_file(src_ + "/scratch/tmp", "t");
  }
  TempDir tmp_;
  std::string src_ = tmp_ / "src", dst_ = tmp_ / "dst", config_ = tmp_ / "lmover.toml";
};

TEST_F(ConfigTest, SettingsApplyAndTheCommandLineOverrides) {
  write_file(tmp_ / "exceptions", "scratch\n");
  write_file(config_, "exclude_from = \"" + tmp_ / "exceptions" + "\"\nthreads = 3\nprefix = \"proj\"\n");
  RunResult r = run_lmover({"copy", src_, dst_, "--config", config_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(exists(dst_ + "/keep/a"));
  EXPECT_FALSE(exists(dst_ + "/scratch"));
  write_file(tmp_ / "none", "");
  RunResult over = run_lmover({"copy", src_, dst_, "--config", config_, "--exclude-from", tmp_ / "none"});
  ASSERT_EQ(over.exit_code, 0) << over.output;
  EXPECT_TRUE(exists(dst_ + "/scratch/tmp"));
}

TEST_F(ConfigTest, UnknownKeyIsRefusedWithFileAndKey) {
  write_file(config_, "treads = 4\n");
  RunResult r = run_lmover({"copy", src_, dst_, "--config", config_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(config_), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unknown key 'treads'"), std::string::npos) << r.output;
  EXPECT_FALSE(exists(dst_));
}

TEST_F(ConfigTest, PasswordInAReadableFileIsRefused) {
  write_file(config_, "broker = \"amqp://u@127.0.0.1:1/v\"\npassword = \"secret\"\n");
  chmod(config_.c_str(), 0644);
  RunResult r = run_lmover({"copy", src_, dst_, "--config", config_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("chmod 600"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("secret"), std::string::npos) << "the password was printed";
}

TEST_F(ConfigTest, NotTomlIsRefusedWithTheLine) {
  write_file(config_, "threads = 4\nthis is not toml\n");
  RunResult r = run_lmover({"copy", src_, dst_, "--config", config_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("line 2"), std::string::npos) << r.output;
}

// Every flag that belongs in a file has a key named like it; the shipped example holds them all
// and loads as it is.
TEST_F(ConfigTest, FlagNamedKeysApplyAndTheShippedExampleLoads) {
  ConfigFile example = ConfigFile::load(LMOVER_SOURCE_DIR "/contrib/examples/proj1.toml");
  EXPECT_EQ(example.max_errors, 10000u);
  EXPECT_EQ(example.chunk_size, 268435456u);
  EXPECT_EQ(example.password_file, "/etc/lmover/proj1.pass") << "broker_password_file is password_file";
  EXPECT_EQ(example.log_level, "info");

  make_dir(dst_);
  for (int i = 0; i < 5; ++i) write_file(dst_ + "/stale" + std::to_string(i), "s");
  write_file(config_, "max_delete = 2\nowner = false\nlog_level = \"warn\"\n");
  RunResult r = run_lmover({"delete", src_, dst_, "--config", config_});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--max-delete"), std::string::npos) << r.output;
  EXPECT_EQ(r.counter("delete", "removed"), 2u) << r.output;
  RunResult over = run_lmover({"delete", src_, dst_, "--config", config_, "--max-delete", "100"});
  EXPECT_EQ(over.exit_code, 0) << over.output;

  write_file(config_, "chunk_size = 1000\n");
  RunResult small = run_lmover({"copy", src_, dst_, "--config", config_});
  EXPECT_EQ(small.exit_code, 2);
  EXPECT_NE(small.output.find("'chunk_size' must be a number from 65536"), std::string::npos) << small.output;
  write_file(config_, "owner = \"no\"\n");
  EXPECT_THROW(ConfigFile::load(config_), FsError);
}

}  // namespace
}  // namespace lmover::test
