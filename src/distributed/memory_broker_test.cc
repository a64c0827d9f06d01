#include "distributed/memory_broker.h"

#include <gtest/gtest.h>

#include "distributed/broker_contract.h"

namespace lmover {
namespace {

struct InMemory {
  static std::unique_ptr<Broker> make() { return std::make_unique<MemoryBroker>(); }
  static std::string queue(const std::string& name) { return name; }
};

INSTANTIATE_TYPED_TEST_SUITE_P(MemoryBroker, BrokerContract, InMemory);

// What only the in-process broker can show: a restart loses what no confirm covered, keeps the
// rest, and puts every unacked delivery back.
TEST(MemoryBroker, ARestartLosesUnconfirmedPublishesAndRequeuesUnackedDeliveries) {
  MemoryBroker broker;
  auto a = broker.connect();
  a->declare_queue("q");
  a->publish("q", "kept");
  a->wait_for_confirms();
  a->publish("q", "unconfirmed");
  auto b = broker.connect();
  auto held = b->get("q");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->body, "kept");
  broker.restart();
  EXPECT_FALSE(a->in_touch());
  EXPECT_THROW(a->publish("q", "x"), BrokerError);
  EXPECT_THROW(b->ack(held->tag), BrokerError);
  EXPECT_EQ(broker.bodies("q"), std::vector<std::string>{"kept"});
  auto c = broker.connect();
  auto again = c->get("q");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->redelivered);
}

TEST(MemoryBroker, DeclaringAQueueWithOtherArgumentsFailsAsRabbitMQDoes) {
  MemoryBroker broker;
  broker.connect()->declare_queue("q", "dead");
  EXPECT_THROW(broker.connect()->declare_queue("q"), BrokerError);
  EXPECT_THROW(broker.connect()->declare_latest_only_queue("q"), BrokerError);
  EXPECT_NO_THROW(broker.connect()->declare_queue("q", "dead"));
}

TEST(MemoryBroker, ADownBrokerRefusesConnections) {
  MemoryBroker broker;
  broker.set_down(true);
  EXPECT_THROW(broker.connect(), BrokerError);
  broker.set_down(false);
  EXPECT_NO_THROW(broker.connect());
}

}  // namespace
}  // namespace lmover
