// RunPlan: what one lmover command does, as data, and the driver that carries it out: check the
// roots, then run each pass in order (copy, delete, dirtime) on the engine, then report.
#pragma once

#include <chrono>

#include <string>
#include <vector>

#include "cli/broker_settings.h"
#include "passes/pass_context.h"
#include "passes/pass_table.h"
#include "stats/counter_sink.h"

namespace lmover {

// --changelog USER (or MDT=USER,...) and --incremental[=auto]: see changelog_run.h.
struct ChangelogSettings {
  std::string users;  // "": the changelog is not used
  enum class Incremental { kNo, kYes, kAuto } incremental = Incremental::kNo;
  bool enabled() const { return !users.empty(); }
};

struct RunPlan {
  std::string command;  // copy | delete | dirtime | sync | verify | changes
  std::vector<PassKind> passes;
  std::string src, dst;
  PassOptions options;
  unsigned threads = 1;
  bool threads_chosen = false;  // -j or the config said how many: no default of ours applies
  bool allow_empty_source = false;
  uint64_t max_errors = 0;  // --max-errors N: a pass stops after N failures (0: never)
  bool progress = true;
  double progress_interval = 60;  // without a terminal: a progress line in the log every so often (0: none)
  bool quiet = false;  // -q: warnings and errors only
  bool owner_refused = false;  // --no-owner: owners are not kept because the admin said so
  std::string json_file;      // empty: none
  std::string failures_file;  // empty: none
  // Distributed: run the passes on `lmover worker`s through this broker (empty: embedded engine).
  BrokerSettings broker;
  LustreSettings lustre;  // --lustre, --layout, --mdts, --mdt-depth
  SinkSettings sinks;  // where the counters go: memcached, Prometheus, Graphite
  ChangelogSettings changelog;
  bool report_changes = false;  // `lmover changes`: the changelog's report instead of the passes
};

// `lmover worker`, `lmover wait`, `lmover status`.
struct BrokerPlan {
  std::string command;
  BrokerSettings broker;
  unsigned threads = 1;
  bool threads_chosen = false;  // -j or the config: a run's roots do not change it
  std::string run;  // wait/status
  std::string control_command;  // control: workers|active|stop|pause|resume|grow|shrink
  unsigned control_n = 0;       // control grow/shrink
  double control_wait_s = 2;    // control: how long to gather answers
  std::string control_node;     // control: only this host (or host:pid)
  bool json_output = false;     // status, control: JSON instead of a table
  std::string metrics_listen;   // worker: ADDR:PORT for Prometheus ("" = none)
  // broker init
  std::string api_url, vhost, user, user_password_file, admin_user = "admin", admin_password_file;
  // wait: the output flags of the pass commands
  std::string json_file, failures_file;
  bool no_progress = false, verbose = false, quiet = false;
  double progress_interval = 60;
};

// Exit codes: 0 all went well, 1 some entries failed, 2 usage or fatal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitSomeFailed = 1;
inline constexpr int kExitFatal = 2;

int execute(const RunPlan& plan);
int execute(const BrokerPlan& plan);

}  // namespace lmover
