#include "distributed/checkpoint.h"

#include <gtest/gtest.h>

#include "distributed/memory_broker.h"

namespace lmover {
namespace {

Checkpoint checkpoint(uint64_t seq, std::string tracker) { return Checkpoint{{{"seq", seq}, {"run", "r"}, {"n", seq}}, std::move(tracker)}; }

void publish(BrokerSession& session, const std::vector<std::string>& parts) {
  for (const std::string& p : parts) session.publish("state", p);
  session.wait_for_confirms();
}

// A submitter killed while publishing checkpoint 3 left parts of it: checkpoint 2, the newest
// whole one, is taken (held: unacked), the rest dropped. Planted: the oldest whole one kept.
TEST(Checkpoint, TheNewestWholeCheckpointIsHeldAndTheRestDropped) {
  MemoryBroker broker;
  auto session = broker.connect();
  session->declare_queue("state");
  std::string big(kCheckpointPartBytes + 10, 'x');
  big.back() = 'y';
  publish(*session, checkpoint_parts(checkpoint(1, "one")));
  publish(*session, checkpoint_parts(checkpoint(2, big)));
  std::vector<std::string> third = checkpoint_parts(checkpoint(3, big));
  ASSERT_EQ(third.size(), 2u);
  publish(*session, {third[0]});
  publish(*session, checkpoint_parts(checkpoint(1, "one")));  // a part published twice

  auto taker = broker.connect();
  auto held = take_checkpoint(*taker, "state");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->checkpoint.header.at("n"), 2);
  EXPECT_EQ(held->checkpoint.tracker, big);
  EXPECT_EQ(held->tags.size(), 2u);
  EXPECT_EQ(broker.ready("state"), 0u);
  EXPECT_EQ(broker.unacked(), 2u);
  // Held by us: another submitter finds nothing to take; once we are gone, it is back.
  EXPECT_FALSE(take_checkpoint(*broker.connect(), "state"));
  taker.reset();
  auto again = take_checkpoint(*broker.connect(), "state");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->checkpoint.header.at("n"), 2);
}

}  // namespace
}  // namespace lmover
