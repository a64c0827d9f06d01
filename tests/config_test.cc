// The TOML config file: settings as defaults, typos refused, a password only in a private file.
#include <sys/stat.h>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lmover::test
