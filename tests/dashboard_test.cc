// The Grafana dashboards in contrib/grafana query only metrics lmover really emits: every Graphite
// target's metric path matches a line `lmover stats graphite` sends, and every Prometheus
// expression's metric and labels appear in what --metrics-listen serves (both made here by the
// very functions lmover emits with, from a table holding every counter).
#include <fnmatch.h>

#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/pass_stats.h"
#include "distributed/task_queues.h"
#include "stats/graphite.h"
#include "stats/memcached_counters.h"
#include "stats/prometheus.h"
#include "test_support.h"

namespace lmover::test {
namespace {

using json = nlohmann::json;

json dashboard(const std::string& name) { return json::parse(read_file(std::string(LMOVER_SOURCE_DIR) + "/contrib/grafana/" + name)); }

std::vector<std::string> targets(const json& board, const char* field) {
  std::vector<std::string> out;
  for (const auto& panel : board.at("panels")) {
    for (const auto& t : panel.at("targets")) out.push_back(t.at(field).get<std::string>());
  }
  return out;
}

// Every counter of every pass on one node, as lmover names them.
std::vector<CounterValue> every_counter() {
  std::vector<CounterValue> out;
  for (const char* pass : {"copy", "delete", "dirtime"}) {
    for (const std::string& name : PassStats::names()) out.push_back({"node1", pass, name, 1});
  }
  return out;
}

TEST(Dashboards, GraphiteTargetsNameMetricsLmoverSends) {
  std::string lines = graphite_lines(every_counter(), {queue_gauge("lmover.dirs", 3)}, "lmover", 1);
  std::vector<std::string> paths;
  for (size_t pos = 0; pos < lines.size();) {
    size_t end = lines.find('\n', pos);
    std::string path = lines.substr(pos, lines.find(' ', pos) - pos);
    std::replace(path.begin(), path.end(), '.', '/');  // Graphite's * stays within one element
    paths.push_back(path);
    pos = end + 1;
  }
  std::regex metric(R"(lmover\.[A-Za-z0-9_*.]+)");
  auto all = targets(dashboard("lmover-graphite.json"), "target");
  ASSERT_GE(all.size(), 6u);
  for (const std::string& target : all) {
    for (std::sregex_iterator m(target.begin(), target.end(), metric), end; m != end; ++m) {
      std::string pattern = m->str();
      std::replace(pattern.begin(), pattern.end(), '.', '/');
      bool found = false;
      for (const auto& p : paths) found = found || fnmatch(pattern.c_str(), p.c_str(), FNM_PATHNAME) == 0;
      EXPECT_TRUE(found) << "'" << m->str() << "' in " << target << " matches nothing lmover sends";
    }
  }
}

TEST(Dashboards, PrometheusExpressionsNameMetricsAndLabelsLmoverServes) {
  std::string text = prometheus_text(every_counter(), {queue_gauge("lmover.dirs", 3)});
  std::set<std::string> names, labels;
  std::regex sample(R"(^(lmover_[a-z_]+)\{([^}]*)\})");
  std::regex label(R"(([a-z_]+)=)");
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    std::smatch m;
    if (std::regex_search(line, m, sample)) {
      names.insert(m[1]);
      std::string l = m[2];
      for (std::sregex_iterator k(l.begin(), l.end(), label), e; k != e; ++k) labels.insert((*k)[1]);
    }
    pos = end + 1;
  }
  std::regex metric(R"(lmover_[a-z_]+)");
  std::regex by(R"((?:by|without) \(([^)]*)\)|\{([a-z_]+)=)");
  auto all = targets(dashboard("lmover-prometheus.json"), "expr");
  ASSERT_GE(all.size(), 6u);
  for (const std::string& expr : all) {
    for (std::sregex_iterator m(expr.begin(), expr.end(), metric), end; m != end; ++m) {
      EXPECT_TRUE(names.count(m->str())) << "'" << m->str() << "' in " << expr << " is not served";
    }
    for (std::sregex_iterator m(expr.begin(), expr.end(), by), end; m != end; ++m) {
      std::string list = (*m)[1].matched ? (*m)[1].str() : (*m)[2].str();
      std::regex word(R"([a-z_]+)");
      for (std::sregex_iterator w(list.begin(), list.end(), word), e; w != e; ++w) {
        EXPECT_TRUE(labels.count(w->str())) << "label '" << w->str() << "' in " << expr << " is not served";
      }
    }
  }
}

}  // namespace
}  // namespace lmover::test
