#include "cli/broker_commands.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/interrupt.h"
#include "cli/pass_factory.h"
#include "cli/target_lock.h"
#include "fs/fs_error.h"
#include "fs/remove_tree.h"
#include "fs/resolve.h"
#include "passes/pass_context.h"
#include "rabbit/broker_admin.h"
#include "rabbit/control_client.h"
#include "rabbit/submitter.h"
#include "rabbit/unit_pool.h"
#include "rabbit/worker.h"
#include "report/failure_log.h"
#include "report/pass_stats.h"
#include "report/summary.h"
#include "stats/memcached_counters.h"
#include "stats/prometheus.h"

namespace lmover {

using json = nlohmann::json;

BrokerAddress broker_address(const std::string& url, const std::string& password_file, const std::string& password,
                             const std::string& ca_file) {
  BrokerAddress address = BrokerAddress::parse(url);
  address.ca_file = ca_file;
  if (!address.password.empty()) {
    spdlog::warn("the broker password is in the URL, visible to every user in ps; prefer --broker-password-file");
  } else if (!password.empty()) {
    address.password = password;
  }
  address.load_password(password_file);
  return address;
}

void drop_shared_budget(const BrokerAddress& address, const json& spec) {
  if (!spec.contains("max_delete")) return;
  AmqpSession session(address);
  session.delete_queue(spec["max_delete"].at("queue").get<std::string>());
}

namespace {

int run_worker(const BrokerPlan& plan) {
  catch_interrupts();  // SIGTERM/SIGINT: finish the tasks in hand, then stop
  BrokerAddress address = broker_address(plan.broker_url, plan.broker_password_file, plan.broker_password, plan.broker_ca_file);
  spdlog::info("worker: {} threads on {} (prefix {})", plan.threads, address.redacted(), plan.prefix);
  // A run's shared --max-delete budget lives in a queue of grants (UnitPool), one pool per run.
  auto budgets = [address](const json& where) -> std::function<bool()> {
    auto pool = std::make_shared<UnitPool>(address, where.at("queue").get<std::string>());
    return [pool] { return pool->take(); };
  };
  // --metrics-listen: the work this worker did, per pass, for Prometheus. A task redelivered
  // after another worker died is counted again here, by the worker that redid it; the
  // submitter's counts (--json, memcached) count it once.
  auto tally = std::make_shared<WorkTally>();
  std::optional<MetricsServer> metrics;
  if (!plan.metrics_listen.empty()) {
    std::string node = this_node();
    try {
      metrics.emplace(plan.metrics_listen, [tally, node] { return tally->snapshot(node); });
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return kExitFatal;
    }
  }
  RabbitWorker worker(address, QueueNames{plan.prefix}, plan.threads, pass_runner_factory(budgets, tally));
  worker.grow_for_runs(!plan.threads_chosen);
  worker.run(interrupt_requested());
  spdlog::info("worker stopped");
  return kExitOk;
}

int wait_for_run(const BrokerPlan& plan) {
  FailureLog failures;
  if (!plan.failures_file.empty()) failures.open_list(plan.failures_file);
  RabbitSubmitter submitter(broker_address(plan.broker_url, plan.broker_password_file, plan.broker_password, plan.broker_ca_file), QueueNames{plan.prefix},
                            [](const json&, size_t) {},
                            [&](const std::string& path, const std::string& message) { failures.record_remote(path, message); });
  // The dead submitter's lock names this run: take it over for as long as we follow the run.
  std::string dst = submitter.status(plan.run).value("dst", "");
  std::optional<TargetLock> lock;
  if (!dst.empty()) lock.emplace(dst, "wait", plan.run);
  auto start = std::chrono::steady_clock::now();
  DistributedResult result = submitter.attach(plan.run);
  if (result.spec.value("pass", "") == "copy" && !result.spec.value("dry_run", true)) {
    // What the dead submitter would have done last: drop the hard-link staging area.
    UniqueFd dst = open_root(result.spec.at("dst").get<std::string>());
    remove_entry(dst.get(), kHardlinkFarmName, kHardlinkFarmName, nullptr);
  }
  drop_shared_budget(broker_address(plan.broker_url, plan.broker_password_file, plan.broker_password, plan.broker_ca_file),
                     result.spec);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PassStats stats;
  stats.add_json(result.counters);
  Summary summary("wait", "", "", false);
  summary.add_pass("run " + plan.run, stats, seconds);
  int code = stats.errors > 0 ? kExitSomeFailed : kExitOk;
  write_summary(summary, code, plan.json_file);
  return code;
}

int show_status(const BrokerPlan& plan) {
  RabbitSubmitter submitter(broker_address(plan.broker_url, plan.broker_password_file, plan.broker_password, plan.broker_ca_file),
                            QueueNames{plan.prefix}, [](const json&, size_t) {}, [](const std::string&, const std::string&) {});
  if (!plan.run.empty()) {
    fmt::print("{}\n", submitter.status(plan.run).dump(2, ' ', false, json::error_handler_t::replace));
    return kExitOk;
  }
  auto runs = submitter.list_runs();
  fmt::print("{:<16}  {:<7}  {:<19}  {:>9}  {:>11}  {}\n", "RUN", "PASS", "STARTED", "PENDING", "DONE", "SRC -> DST");
  for (const json& r : runs) {
    std::time_t started = r.value("started", int64_t(0));
    char when[32] = "?";
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&started));
    fmt::print("{:<16}  {:<7}  {:<19}  {:>9}  {:>11}  {} -> {}\n", r.value("run", "?"), r.value("pass", "?"), when,
               r.value("tasks_pending", uint64_t(0)), r.value("tasks_done", uint64_t(0)), r.value("src", "?"), r.value("dst", "?"));
  }
  fmt::print(stderr, "{} run(s) under prefix {}\n", runs.size(), plan.prefix);
  return kExitOk;
}

int control_workers(const BrokerPlan& plan) {
  auto answers = send_control(broker_address(plan.broker_url, plan.broker_password_file, plan.broker_password, plan.broker_ca_file), QueueNames{plan.prefix},
                              plan.control_command, plan.control_n,
                              std::chrono::milliseconds(static_cast<long>(plan.control_wait_s * 1000)), plan.control_node);
  for (const auto& a : answers) fmt::print("{}\n", a.dump());
  fmt::print(stderr, "{} worker(s) answered\n", answers.size());
  return answers.empty() ? kExitSomeFailed : kExitOk;
}

// A password from FILE (first line) or, without a file, from the environment variable ENV.
std::string secret(const std::string& file, const char* env, const char* what) {
  if (!file.empty()) {
    BrokerAddress holder;
    holder.load_password(file);
    return holder.password;
  }
  if (const char* value = std::getenv(env)) return value;
  throw BrokerError(fmt::format("no {} given: use a password file or ${}", what, env));
}

int init_broker_for_migration(const BrokerPlan& plan) {
  BrokerSetup setup{plan.api_url, plan.admin_user,
                    secret(plan.admin_password_file, "LMOVER_BROKER_ADMIN_PASSWORD", "admin password"),
                    plan.vhost, plan.user,
                    secret(plan.user_password_file, "LMOVER_BROKER_PASSWORD", "password for the new user")};
  init_broker(setup);
  spdlog::info("broker {}: vhost '{}' and user '{}' ready", plan.api_url, plan.vhost, plan.user);
  return kExitOk;
}

}  // namespace

int execute(const BrokerPlan& plan) {
  try {
    if (plan.command == "worker") return run_worker(plan);
    if (plan.command == "wait") return wait_for_run(plan);
    if (plan.command == "control") return control_workers(plan);
    if (plan.command == "init") return init_broker_for_migration(plan);
    return show_status(plan);
  } catch (const BrokerError& e) {
    spdlog::error("{}", e.what());
  } catch (const FsError& e) {
    spdlog::error("{}", e.what());
  }
  return kExitFatal;
}

}  // namespace lmover
