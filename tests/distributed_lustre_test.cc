// Over RabbitMQ a Lustre run behaves the same on every node: a worker that cannot load
// liblustreapi refuses the run (and hands its tasks back) rather than copy files without their
// layouts; a worker that can copies them, through the fake library the suite builds.
#include <sys/xattr.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "distributed_support.h"
#include "test_support.h"

namespace lmover::test {
namespace {

using namespace std::chrono_literals;

std::string layout_of(const std::string& path) {
  char buf[4096];
  ssize_t n = lgetxattr(path.c_str(), "trusted.lov", buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

TEST_F(DistributedTest, LustreRunIsRefusedByANodeWithoutTheLibraryAndDoneByOneWithIt) {
  const std::string wide = "composite 0\n0 18446744073709551615 4 4194304 0 -\n";
  for (int d = 0; d < 10; ++d) {
    make_dir(src_ + "/d" + std::to_string(d));
    for (int f = 0; f < 20; ++f) {
      std::string path = src_ + "/d" + std::to_string(d) + "/f" + std::to_string(f);
      write_file(path, "data " + path);
      set_xattr(path, "trusted.lov", wide);
    }
  }
  setenv("LMOVER_LUSTREAPI", "/nonexistent/liblustreapi.so", 1);
  auto without = worker(1);
  setenv("LMOVER_LUSTREAPI", FAKE_LUSTREAPI, 1);
  Process submitter({"copy", src_, dst_, "--lustre", "on", "--broker", broker_url(), "--prefix", prefix_},
                    tmp_ / "submitter.log");
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = submitter.log().find("refuses the tasks of run") != std::string::npos;
    if (!refused) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(refused) << submitter.log() << without->log();
  EXPECT_NE(without->log().find("the run copies Lustre layouts and this node cannot"), std::string::npos)
      << without->log();
  EXPECT_FALSE(exists(dst_ + "/d0/f0")) << "the node without the library copied files";
  auto with = worker(2);
  EXPECT_EQ(submitter.wait(), 0) << submitter.log();
  unsetenv("LMOVER_LUSTREAPI");
  for (int d = 0; d < 10; ++d) {
    for (int f = 0; f < 20; ++f) {
      std::string rel = "/d" + std::to_string(d) + "/f" + std::to_string(f);
      ASSERT_EQ(layout_of(dst_ + rel), wide) << rel;
      ASSERT_EQ(read_file(dst_ + rel), "data " + src_ + rel);
    }
  }
}

}  // namespace
}  // namespace lmover::test
