#include "report/pass_stats.h"

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "stats/pass_counters.h"
#include "stats/prometheus.h"

namespace lmover {
namespace {

TEST(CounterTable, EveryCounterHasAUniqueNameAndSaysWhatItCounts) {
  std::set<std::string> seen;
  for (const CounterInfo& c : PassStats::table()) {
    EXPECT_TRUE(std::regex_match(c.name, std::regex("[a-z][a-z_]*"))) << c.name;
    EXPECT_TRUE(seen.insert(c.name).second) << c.name;
    EXPECT_GT(std::string(c.help).size(), 10u) << c.name;
    EXPECT_EQ(PassStats::help(c.name), c.help);
  }
  EXPECT_EQ(PassStats::names().size(), PassStats::table().size());
}

// Each counter reaches JSON, the sinks' values and Prometheus' HELP line from the one table: one
// set to a value of its own shows up with that value everywhere.
TEST(CounterTable, EverySinkSeesEveryCounter) {
  PassStats stats;
  uint64_t n = 1;
  for (const CounterInfo& c : PassStats::table()) (stats.*c.member).store(n++);
  nlohmann::json json = stats.to_json();
  std::vector<CounterValue> values = counters_of("node1", "copy", stats);
  ASSERT_EQ(values.size(), PassStats::table().size());
  std::string text = prometheus_text(values, {});
  n = 1;
  for (const CounterInfo& c : PassStats::table()) {
    EXPECT_EQ(json.value(c.name, uint64_t{0}), n) << c.name;
    EXPECT_EQ(values[n - 1].name, c.name);
    EXPECT_EQ(values[n - 1].value, n) << c.name;
    std::string metric = std::string("lmover_") + c.name + "_total";
    EXPECT_NE(text.find("# HELP " + metric + " " + c.help + "\n"), std::string::npos) << metric;
    EXPECT_NE(text.find(metric + "{") , std::string::npos) << metric;
    ++n;
  }
  PassStats back;
  back.assign_json(json);
  EXPECT_EQ(back.to_json(), json);
}

}  // namespace
}  // namespace lmover
