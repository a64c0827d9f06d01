#include "cli/broker_commands.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <optional>
#include <thread>
#include <string.h>
#include <signal.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/broker_tables.h"
#include "cli/interrupt.h"
#include "cli/pass_engines.h"
#include "cli/pass_factory.h"
#include "cli/target_lock.h"
#include "fs/fs_error.h"
#include "fs/remove_tree.h"
#include "fs/resolve.h"
#include "passes/pass_context.h"
#include "passes/pass_table.h"
#include "amqp/broker_admin.h"
#include "distributed/consumer_watch.h"
#include "distributed/control_client.h"
#include "distributed/submitter.h"
#include "distributed/unit_pool.h"
#include "distributed/worker.h"
#include "report/failure_log.h"
#include "report/pass_stats.h"
#include "report/progress_line.h"
#include "report/summary.h"
#include "stats/counter_sink.h"
#include "stats/memcached_counters.h"
#include "stats/pass_counters.h"

namespace lmover {

using json = nlohmann::json;

AmqpBroker broker_for(const BrokerSettings& broker) {
  BrokerAddress address = BrokerAddress::parse(broker.url);
  address.ca_file = broker.ca_file;
  if (!address.password.empty()) {
    spdlog::warn("the broker password is in the URL, visible to every user in ps; prefer --broker-password-file");
  } else if (!broker.password.empty()) {
    address.password = broker.password;
  }
  address.load_password(broker.password_file);
  return AmqpBroker(std::move(address));
}

// Counters arrive as the run's running totals, which go back to a checkpoint's when the submitter
// reconnects: the pass's stats are what the submitter counted itself (`base`) plus those totals.
Submitter::Progress progress_into(PassStats& stats, std::atomic<int64_t>* pending) {
  return [&stats, pending, base = stats.snapshot()](const CounterSet& totals, size_t tasks_pending) {
    CounterSet sum = base;
    sum += totals;
    stats.assign(sum);
    if (pending) *pending = static_cast<int64_t>(tasks_pending);
  };
}

void record_fatal(Summary& summary, const std::exception& error, int& code) {
  spdlog::error("{}", error.what());
  summary.set_fatal(error.what());
  code = kExitFatal;
}

std::string signal_name(int sig) {
  const char* abbrev = sig ? sigabbrev_np(sig) : nullptr;
  return abbrev ? std::string("SIG") + abbrev : "a signal";
}

void drop_shared_budget(const Broker& broker, const json& spec, const BrokerRetry& retry) {
  if (!spec.contains("max_delete")) return;
  std::string queue = spec["max_delete"].at("queue").get<std::string>();
  try {
    retry.run("drop the --max-delete budget", [&] {
      broker.connect()->delete_queue(queue);
    });
  } catch (const BrokerRetry::Stopped&) {
    spdlog::warn("queue {} of the --max-delete budget is left on the broker", queue);
  } catch (const BrokerError& e) {
    // The pass is complete: a leftover queue of grants is untidy, not wrong.
    spdlog::warn("{}: queue {} is left on the broker", e.what(), queue);
  }
}

namespace {

// A login the broker refuses does not get better by trying for ever: a few tries (an auth backend
// may still be starting), then one clear line and false, for systemd's Restart= to show. A broker
// that is away is waited for as always (true).
bool login_accepted(const AmqpBroker& broker) {
  constexpr int kTries = 3;
  for (int attempt = 1;; ++attempt) {
    try {
      broker.connect();
      return true;
    } catch (const LoginRefused& e) {
      if (attempt == kTries) {
        spdlog::error("{} ({} tries); the worker stops", e.what(), kTries);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
    } catch (const BrokerError&) {
      return true;
    }
  }
}

int run_worker(const BrokerPlan& plan) {
  catch_interrupts();  // SIGTERM/SIGINT: finish the tasks in hand, then stop
  AmqpBroker broker = broker_for(plan.broker);
  if (!login_accepted(broker)) return kExitFatal;
  spdlog::info("worker: {} threads on {} (prefix {})", plan.threads, broker.where(), plan.broker.prefix);
  // A run's shared --max-delete budget lives in a queue of grants (UnitPool), one pool per run.
  auto budgets = [&broker](const json& where) -> std::function<bool()> {
    auto pool = std::make_shared<UnitPool>(broker, where.at("queue").get<std::string>());
    return [pool] { return pool->take(); };
  };
  // --metrics-listen: the work this worker did, per pass, for Prometheus. A task redelivered
  // after another worker died is counted again here, by the worker that redid it; the
  // submitter's counts (--json, memcached) count it once. So a worker pushes to no memcached or
  // carbon: the submitter pushes each node's first reports there.
  std::vector<std::string> passes;
  for (const PassInfo& p : all_passes()) passes.push_back(p.name);
  auto tally = std::make_shared<WorkTally>(passes);
  SinkSettings settings;
  settings.metrics_listen = plan.metrics_listen;
  settings.role = "worker";
  Sinks sinks;
  try {
    sinks = make_sinks(settings, [tally, node = this_node()] { return tally->snapshot(node); });
  } catch (const std::runtime_error& e) {
    spdlog::error("{}", e.what());
    return kExitFatal;
  }
  Worker worker(broker, QueueNames{plan.broker.prefix}, plan.threads, pass_runner_factory(budgets, tally));
  worker.grow_for_runs(!plan.threads_chosen);
  worker.run(interrupt_requested());
  spdlog::info("worker stopped");
  return kExitOk;
}

// What the submitter does once its run is complete, done by whoever saw the end (the submitter or
// `wait`): the pass's finish hook, found in the pass table by the run's spec (a copy's hard-link
// staging area goes, its stale groups marked for the next pass).
void finish_run(const json& spec, PassStats& stats, FailureLog& failures) {
  std::string name = spec.value("pass", "");
  const PassInfo* info = find_pass(name);
  if (!info) throw FsError("finish run", name, "no such pass in this lmover (a newer one submitted the run?)");
  UniqueFd src = open_root(spec.at("src").get<std::string>());
  UniqueFd dst = open_root(spec.at("dst").get<std::string>());
  PassOptions options = PassOptions::from_spec(spec);  // the context keeps a reference: it must outlive it
  PassContext ctx(src.get(), dst.get(), options, stats, failures);
  info->make(ctx)->finish();
}

int wait_for_run(const BrokerPlan& plan) {
  catch_interrupts();
  FailureLog failures;
  Summary summary("wait", "", "", false);
  int code = kExitOk;
  try {
    if (!plan.failures_file.empty()) failures.open_list(plan.failures_file);
    AmqpBroker broker = broker_for(plan.broker);
    PassStats stats;
    DistributedGauges gauges;
    Submitter submitter(broker, QueueNames{plan.broker.prefix}, progress_into(stats, &gauges.pending),
                        [&](const std::string& path, const std::string& message) { failures.record_remote(path, message); });
    BrokerRetry retry(plan.broker.retry_for(), &interrupt_requested());
    submitter.retry_for(retry.bound());
    submitter.stop_when(interrupt_requested());
    // The dead submitter's lock names this run: taken over for as long as we follow the run, and
    // kept if we stop following before it is complete.
    json status;
    retry.run("look up run " + plan.run, [&] { status = submitter.status(plan.run); });
    std::string dst = status.value("dst", ""), pass = status.value("pass", "run");
    std::optional<TargetLock> lock;
    if (!dst.empty()) {
      lock.emplace(dst, "wait", plan.run);
      lock->keep(true);
    }
    auto start = std::chrono::steady_clock::now();
    DistributedResult result;
    {
      ProgressLine progress(pass, stats, !plan.no_progress && !plan.verbose && !plan.quiet, plan.progress_interval,
                            [&gauges] { return gauges.text(); });
      ConsumerWatch watch(broker, QueueNames{plan.broker.prefix}, &gauges.consumers, ConsumerWatch::kEvery, &gauges.paused);
      result = submitter.attach(plan.run);
    }
    if (result.cancelled) {
      if (lock) lock->keep(false);
    } else if (!result.interrupted) {
      if (lock) lock->keep(false);
      finish_run(result.spec, stats, failures);
      drop_shared_budget(broker, result.spec, retry);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.add_pass(pass, stats, seconds, {{"run", plan.run}, {"tasks", result.tasks}});
    if (stats.some_failed()) code = kExitSomeFailed;
    if (result.cancelled) {
      summary.set_interrupted("lmover cancel");
      code = kExitSomeFailed;
    } else if (result.interrupted) {
      spdlog::warn("stopped following run {} before its end; it goes on on the workers", plan.run);
      summary.set_interrupted(signal_name(interrupt_signal()));
      code = 128 + (interrupt_signal() ? interrupt_signal() : SIGINT);
    }
  } catch (const BrokerRetry::Stopped&) {
    summary.set_interrupted(signal_name(interrupt_signal()));
    code = 128 + (interrupt_signal() ? interrupt_signal() : SIGINT);
  } catch (const BrokerError& e) {
    record_fatal(summary, e, code);
  } catch (const FsError& e) {
    record_fatal(summary, e, code);
  }
  if (std::string unlogged = failures.unlogged_summary(); !unlogged.empty()) spdlog::warn("{}", unlogged);
  write_summary(summary, code, plan.json_file);
  return code;
}

int show_status(const BrokerPlan& plan) {
  AmqpBroker broker = broker_for(plan.broker);
  Submitter submitter(broker, QueueNames{plan.broker.prefix});
  auto dump = [](const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); };
  if (!plan.run.empty()) {
    json status = submitter.status(plan.run);
    fmt::print("{}", plan.json_output ? dump(status) + "\n" : run_table(status));
    return kExitOk;
  }
  auto runs = submitter.list_runs();
  fmt::print("{}", plan.json_output ? dump(runs) + "\n" : runs_table(runs));
  fmt::print(stderr, "{} run(s) under prefix {}\n", runs.size(), plan.broker.prefix);
  return kExitOk;
}

// `lmover cancel --run ID`: the run is marked and its tasks dropped (Submitter::cancel), and its
// target's lock released where this node sees the target and the run's submitter is gone.
int cancel_run(const BrokerPlan& plan) {
  AmqpBroker broker = broker_for(plan.broker);
  Submitter submitter(broker, QueueNames{plan.broker.prefix});
  json last = submitter.cancel(plan.run);
  std::string dst = last.value("dst", "");
  std::string lock = "its target's lock is left alone (DST unknown)";
  if (!dst.empty()) {
    try {
      lock = release_cancelled_lock(dst, plan.run);
    } catch (const FsError& e) {
      lock = fmt::format("its target's lock is left alone ({}): remove it where {} is mounted", e.what(), dst);
    }
  }
  spdlog::info("run {} ({} {} -> {}) cancelled: workers drop its tasks as they come and stop those in hand at their "
               "next write; {}", plan.run, last.value("pass", "?"), last.value("src", "?"), dst, lock);
  fmt::print("{}", plan.json_output ? last.dump(2) + "\n" : run_table(last));
  return kExitOk;
}

// The answers as a table (or JSON), and how many of the connected workers gave one: a worker that
// did not answer in time is said, and makes the exit code 1.
int control_workers(const BrokerPlan& plan) {
  ControlAnswers got = send_control(broker_for(plan.broker), QueueNames{plan.broker.prefix}, plan.control_command,
                                    plan.control_n, std::chrono::milliseconds(static_cast<long>(plan.control_wait_s * 1000)),
                                    plan.control_node);
  if (plan.json_output) {
    fmt::print("{}\n", json(got.answers).dump(2, ' ', false, json::error_handler_t::replace));
  } else {
    fmt::print("{}", workers_table(got.answers, plan.control_command == "active"));
  }
  fmt::print(stderr, "{}\n", answered_line(got.answers.size(), got.connected, plan.control_wait_s));
  bool all = !got.connected || got.answers.size() >= *got.connected;
  return got.answers.empty() || !all ? kExitSomeFailed : kExitOk;
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
    if (plan.command == "cancel") return cancel_run(plan);
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
