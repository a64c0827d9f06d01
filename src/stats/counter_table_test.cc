#include "report/pass_stats.h"
#include "report/version.h"

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "stats/graphite.h"
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
  std::string lines = graphite_lines(values, {}, "lmover", 7);
  // Which build serves the series, once, whatever the counters.
  EXPECT_NE(text.find(fmt::format("lmover_build_info{{version=\"{}\",commit=\"{}\"}} 1\n", lmover_version(),
                                  build_commit())),
            std::string::npos)
      << text.substr(0, 300);
  n = 1;
  for (const CounterInfo& c : PassStats::table()) {
    EXPECT_EQ(json.value(c.name, uint64_t{0}), n) << c.name;
    EXPECT_EQ(values[n - 1].name, c.name);
    EXPECT_EQ(values[n - 1].value, n) << c.name;
    std::string metric = std::string("lmover_") + c.name + "_total";
    EXPECT_NE(text.find("# HELP " + metric + " " + c.help + "\n"), std::string::npos) << metric;
    EXPECT_NE(text.find(metric + "{") , std::string::npos) << metric;
    EXPECT_NE(lines.find(fmt::format("lmover.node1.copy.{} {} 7\n", c.name, n)), std::string::npos) << c.name;
    EXPECT_NE(lines.find(fmt::format("lmover.total.copy.{} {} 7\n", c.name, n)), std::string::npos) << c.name;
    ++n;
  }
  // The typed copy that crosses layers, and its written form (checkpoints, status), lose nothing.
  CounterSet set = stats.snapshot();
  EXPECT_EQ(CounterSet::from_json(set.to_json()), set);
  PassStats back;
  back.assign(set);
  EXPECT_EQ(back.to_json(), json);
}

// A newer worker's counter that this submitter does not know is left out, not a failure; sums add
// per counter.
TEST(CounterTable, ACounterSetSumsByNameAndIgnoresUnknownNames) {
  CounterSet a;
  EXPECT_TRUE(a.add("files_copied", 3));
  EXPECT_FALSE(a.add("counter_of_a_newer_lmover", 5));
  CounterSet b = CounterSet::from_json({{"files_copied", 4}, {"errors", 1}, {"counter_of_a_newer_lmover", 9}});
  a += b;
  EXPECT_EQ(a["files_copied"], 7u);
  EXPECT_EQ(a["errors"], 1u);
  EXPECT_EQ(a["counter_of_a_newer_lmover"], 0u);
  EXPECT_EQ(a.to_json(), nlohmann::json({{"files_copied", 7}, {"errors", 1}}));
}

// Graphite's "total" node sums the nodes, per pass and counter.
TEST(CounterTable, GraphiteTotalsSumTheNodes) {
  std::string lines = graphite_lines({{"n1", "copy", "files_copied", 2}, {"n2.example.org", "copy", "files_copied", 5},
                                      {"n2.example.org", "delete", "removed", 1}},
                                     {}, "p", 9);
  EXPECT_NE(lines.find("p.n2_example_org.copy.files_copied 5 9\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("p.total.copy.files_copied 7 9\n"), std::string::npos) << lines;
  EXPECT_NE(lines.find("p.total.delete.removed 1 9\n"), std::string::npos) << lines;
}

}  // namespace
}  // namespace lmover
