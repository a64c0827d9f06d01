#include "distributed/unit_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "distributed/memory_broker.h"

namespace lmover {
namespace {

// Takes units until the pool is empty; a broker error is tried again, a few times in a row.
uint64_t take_all(UnitPool& pool) {
  uint64_t n = 0;
  for (int errors = 0; errors < 3;) {
    try {
      if (!pool.take()) return n;
      ++n;
      errors = 0;
    } catch (const BrokerError&) {
      ++errors;
    }
  }
  ADD_FAILURE() << "take() keeps failing after " << n << " units";
  return n;
}

// Four workers' pools share a budget of 1000 and race for it: together they spend it exactly.
TEST(UnitPool, WorkersTogetherSpendTheBudgetExactly) {
  MemoryBroker broker;
  UnitPool::fill(*broker.connect(), "budget", 1000);
  std::atomic<uint64_t> spent{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      UnitPool pool(broker, "budget");
      spent += take_all(pool);
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(spent, 1000u);
  EXPECT_EQ(broker.ready("budget"), 0u);
}

// A broker restart in the middle: the pool connects again and goes on; never more than the
// budget is spent. Planted: the lost session kept -> every later take() throws.
TEST(UnitPool, ABrokerRestartNeitherStopsNorOverspendsIt) {
  MemoryBroker broker;
  UnitPool::fill(*broker.connect(), "budget", 50);
  UnitPool pool(broker, "budget");
  uint64_t spent = 0;
  for (int i = 0; i < 20; ++i) spent += pool.take();
  broker.restart();
  EXPECT_THROW(pool.take(), BrokerError);
  spent += take_all(pool);
  EXPECT_EQ(spent, 50u);
  EXPECT_FALSE(pool.take());
}

// Grants of a big budget are consumed before they are spent: a pool that dies holding one loses
// its units rather than handing them out twice.
TEST(UnitPool, AGrantIsTakenBeforeItIsSpent) {
  MemoryBroker broker;
  UnitPool::fill(*broker.connect(), "budget", 1'000'000);
  EXPECT_EQ(broker.ready("budget"), 10000u);  // grants of 100
  {
    UnitPool dying(broker, "budget");
    EXPECT_TRUE(dying.take());
  }
  EXPECT_EQ(broker.ready("budget"), 9999u);
  EXPECT_EQ(broker.unacked(), 0u);
  UnitPool pool(broker, "budget");
  EXPECT_EQ(take_all(pool), 999'900u);
}

}  // namespace
}  // namespace lmover
