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

// The metric paths `lmover stats graphite` sends with --metric-prefix `prefix`, with / for the dots
// (fnmatch's FNM_PATHNAME then keeps Graphite's * within one element).
std::vector<std::string> sent_paths(const std::string& prefix) {
  std::string lines = graphite_lines(every_counter(), {queue_gauge("lmover.dirs", 3)}, prefix, 1);
  std::vector<std::string> paths;
  for (size_t pos = 0; pos < lines.size();) {
    size_t end = lines.find('\n', pos);
    std::string path = lines.substr(pos, lines.find(' ', pos) - pos);
    std::replace(path.begin(), path.end(), '.', '/');
    paths.push_back(path);
    pos = end + 1;
  }
  return paths;
}

// Graphite's aliasByNode: the elements at `nodes` (negative: from the end), joined by dots.
std::string alias_by_node(const std::string& slashed, const std::vector<int>& nodes) {
  std::vector<std::string> parts;
  for (size_t pos = 0; pos <= slashed.size();) {
    size_t end = slashed.find('/', pos);
    if (end == std::string::npos) end = slashed.size();
    parts.push_back(slashed.substr(pos, end - pos));
    pos = end + 1;
  }
  std::string out;
  for (int n : nodes) out += (out.empty() ? "" : ".") + parts.at(n < 0 ? parts.size() + n : n);
  return out;
}

// Each target, with the template variable $prefix set to a prefix with a dot in it (one element
// more than the default): the metrics it names are sent; where it excludes, exclude() drops the
// totals; its aliasByNode names the node (per node) or the pass, never the prefix or "total".
TEST(Dashboards, GraphiteTargetsNameMetricsLmoverSendsWithAnyPrefix) {
  json board = dashboard("lmover-graphite.json");
  bool has_prefix_variable = false;
  for (const auto& v : board.at("templating").at("list")) has_prefix_variable |= v.at("name") == "prefix";
  ASSERT_TRUE(has_prefix_variable) << "no $prefix template variable";
  const std::string prefix = "lmover.proj1";
  std::vector<std::string> paths = sent_paths(prefix);
  std::regex metric(R"(\$prefix(\.[A-Za-z0-9_*]+)+)");
  std::regex excluded(R"(exclude\([^,]+, '([^']+)'\))");
  std::regex alias(R"(aliasByNode\(.*\), (-?\d+)(?:, (-?\d+))?\)$)");
  size_t checked = 0;
  for (const auto& panel : board.at("panels")) {
    const std::string title = panel.at("title");
    for (const auto& t : panel.at("targets")) {
      std::string target = t.at("target");
      EXPECT_EQ(target.find("lmover."), std::string::npos) << target << ": a fixed prefix";
      std::smatch ex, al;
      bool excludes = std::regex_search(target, ex, excluded), aliased = std::regex_search(target, al, alias);
      for (std::sregex_iterator m(target.begin(), target.end(), metric), end; m != end; ++m) {
        std::string pattern = m->str().replace(0, 7, prefix);
        std::replace(pattern.begin(), pattern.end(), '.', '/');
        size_t matched = 0;
        for (const auto& p : paths) {
          if (fnmatch(pattern.c_str(), p.c_str(), FNM_PATHNAME) != 0) continue;
          std::string dotted = p;
          std::replace(dotted.begin(), dotted.end(), '/', '.');
          if (excludes && std::regex_search(dotted, std::regex(ex[1].str()))) continue;
          ++matched;
          if (title.find("per node") != std::string::npos) {
            EXPECT_EQ(dotted.find(".total."), std::string::npos) << target << " counts the total as a node: " << dotted;
            ASSERT_TRUE(aliased) << target;
            EXPECT_EQ(alias_by_node(p, {std::stoi(al[1])}), "node1") << target << " names " << dotted << " wrongly";
          }
          if (aliased) {
            std::string name = alias_by_node(p, {std::stoi(al[1])});
            EXPECT_NE(name, "proj1") << target << ": an alias of the prefix";
          }
        }
        EXPECT_GT(matched, 0u) << "'" << m->str() << "' in " << target << " matches nothing lmover sends";
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 8u);
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
