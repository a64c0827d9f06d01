// The promises of distributed/broker.h as tests, run against both brokers: the in-process one
// (unit_tests, src/distributed/memory_broker_test.cc) and RabbitMQ (distributed_tests,
// tests/distributed_broker_contract_test.cc). The fake is only worth its speed while it behaves as
// the real broker does; this is where a difference shows.
//
// Instantiate with a type that has `static std::unique_ptr<Broker> make()` and
// `static std::string queue(const std::string& name)` (a name of its own per test run).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "distributed/broker.h"

namespace lmover {

template <typename Maker>
class BrokerContract : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = Maker::make();
    session_ = broker_->connect();
  }
  void TearDown() override {
    if (!session_) session_ = broker_->connect();
    for (const std::string& q : made_) session_->delete_queue(q);
  }
  std::string queue(const std::string& name, const std::string& dead_letter = "") {
    std::string q = Maker::queue(name);
    session_->declare_queue(q, dead_letter);
    made_.push_back(q);
    return q;
  }
  void put(BrokerSession& s, const std::string& q, const std::vector<std::string>& bodies) {
    for (const auto& b : bodies) s.publish(q, b);
    s.wait_for_confirms();
  }
  std::string next_body(BrokerSession& s) {
    auto d = s.next_delivery(std::chrono::seconds(5));
    return d ? d->body : "(nothing)";
  }

  std::unique_ptr<Broker> broker_;
  std::unique_ptr<BrokerSession> session_;
  std::vector<std::string> made_;
};

TYPED_TEST_SUITE_P(BrokerContract);

TYPED_TEST_P(BrokerContract, AnUnackedDeliveryComesBackMarkedWhenItsSessionCloses) {
  std::string q = this->queue("tasks");
  this->put(*this->session_, q, {"a", "b"});
  {
    auto consumer = this->broker_->connect();
    consumer->set_prefetch(1);
    consumer->consume(q);
    auto d = consumer->next_delivery(std::chrono::seconds(5));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->body, "a");
    EXPECT_FALSE(d->redelivered);
  }
  auto again = this->broker_->connect();
  again->set_prefetch(1);
  again->consume(q);
  auto d = again->next_delivery(std::chrono::seconds(5));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "a");
  EXPECT_TRUE(d->redelivered);
  again->ack(d->tag);
  EXPECT_EQ(this->next_body(*again), "b");
}

TYPED_TEST_P(BrokerContract, APrefetchOfOneHoldsOneDeliveryUntilItsAck) {
  std::string q = this->queue("tasks");
  this->put(*this->session_, q, {"a", "b"});
  auto consumer = this->broker_->connect();
  consumer->set_prefetch(1);
  consumer->consume(q);
  auto first = consumer->next_delivery(std::chrono::seconds(5));
  ASSERT_TRUE(first);
  EXPECT_FALSE(consumer->next_delivery(std::chrono::milliseconds(300)));
  consumer->ack(first->tag);
  EXPECT_EQ(this->next_body(*consumer), "b");
}

TYPED_TEST_P(BrokerContract, ARequeuedMessageGoesAheadOfNewerOnes) {
  std::string q = this->queue("tasks");
  this->put(*this->session_, q, {"a", "b"});
  auto d = this->session_->get(q);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "a");
  this->session_->reject(d->tag, true);
  auto back = this->session_->get(q);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->body, "a");
  EXPECT_TRUE(back->redelivered);
  this->session_->ack(back->tag);
}

TYPED_TEST_P(BrokerContract, ARejectedMessageGoesToTheDeadLetterQueue) {
  std::string dead = this->queue("dead");
  std::string q = this->queue("tasks", dead);
  this->put(*this->session_, q, {"bad"});
  auto d = this->session_->get(q);
  ASSERT_TRUE(d);
  this->session_->reject(d->tag, false);
  std::optional<Delivery> there;
  for (int i = 0; i < 50 && !there; ++i) {
    there = this->session_->get(dead);
    if (!there) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(there);
  EXPECT_EQ(there->body, "bad");
  this->session_->ack(there->tag);
  EXPECT_EQ(this->session_->ready_messages(q), 0u);
}

TYPED_TEST_P(BrokerContract, ALatestOnlyQueueKeepsTheNewestMessage) {
  std::string q = TypeParam::queue("status");
  this->session_->declare_latest_only_queue(q);
  this->made_.push_back(q);
  this->put(*this->session_, q, {"1", "2", "3"});
  EXPECT_EQ(this->session_->ready_messages(q), 1u);
  auto d = this->session_->get(q);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "3");
  this->session_->reject(d->tag, true);  // a peek, as `lmover status` does
  EXPECT_EQ(this->session_->ready_messages(q), 1u);
}

TYPED_TEST_P(BrokerContract, APassiveDeclareTellsAQueueExistsAndAMissingOneDropsWhatIsSentToIt) {
  std::string q = TypeParam::queue("never-declared");
  EXPECT_EQ(this->session_->ready_messages(q), std::nullopt);
  this->put(*this->session_, q, {"lost"});  // confirmed all the same
  EXPECT_EQ(this->session_->ready_messages(q), std::nullopt);
  std::string there = this->queue("there");
  EXPECT_EQ(this->session_->ready_messages(there), 0u);
  this->session_->delete_queue(there);
  EXPECT_EQ(this->session_->ready_messages(there), std::nullopt);
}

TYPED_TEST_P(BrokerContract, AFanoutReachesEveryBoundPrivateQueueWhileItsSessionLives) {
  std::string exchange = TypeParam::queue("control");
  auto a = this->broker_->connect(), b = this->broker_->connect();
  a->declare_fanout_exchange(exchange);
  std::string inbox_a = a->declare_private_queue(exchange);
  b->declare_fanout_exchange(exchange);
  std::string inbox_b = b->declare_private_queue(exchange);
  this->session_->declare_fanout_exchange(exchange);
  this->session_->publish_to_exchange(exchange, "stop");
  this->session_->wait_for_confirms();
  for (BrokerSession* s : {a.get(), b.get()}) {
    s->set_prefetch(10);
    s->consume(s == a.get() ? inbox_a : inbox_b);
    EXPECT_EQ(this->next_body(*s), "stop");
  }
  a.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(this->session_->ready_messages(inbox_a), std::nullopt);
}

REGISTER_TYPED_TEST_SUITE_P(BrokerContract, AnUnackedDeliveryComesBackMarkedWhenItsSessionCloses,
                            APrefetchOfOneHoldsOneDeliveryUntilItsAck, ARequeuedMessageGoesAheadOfNewerOnes,
                            ARejectedMessageGoesToTheDeadLetterQueue, ALatestOnlyQueueKeepsTheNewestMessage,
                            APassiveDeclareTellsAQueueExistsAndAMissingOneDropsWhatIsSentToIt,
                            AFanoutReachesEveryBoundPrivateQueueWhileItsSessionLives);

}  // namespace lmover
