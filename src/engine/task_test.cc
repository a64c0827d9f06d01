#include "engine/task.h"

#include <gtest/gtest.h>

namespace lmover {
namespace {

TEST(Task, ChildIdsAreDerivedFromParentAndKey) {
  Task root = Task::root();
  EXPECT_EQ(root.id, Task::root().id);
  Task a = root.child_directory("a");
  EXPECT_EQ(a.id, Task::root().child_directory("a").id) << "a re-executed parent must announce the same ids";
  EXPECT_NE(a.id, root.child_directory("b").id);
  EXPECT_NE(a.id, root.child_batch("", {"a"}).id) << "kind is part of the id";
  EXPECT_NE(a.child_directory("a/x").id, root.child_directory("a/x").id) << "parent is part of the id";
}

TEST(Task, PathsAreRawBytes) {
  std::string odd("d\xff\n\0x", 5);
  Task t = Task::root().child_directory(odd);
  EXPECT_EQ(t.dir, odd);
  EXPECT_NE(t.id, Task::root().child_directory("d\xff\n").id);
}

}  // namespace
}  // namespace lmover
