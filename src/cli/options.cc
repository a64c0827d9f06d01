#include "cli/options.h"

#include <cctype>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/config_file.h"
#include "cli/logging.h"
#include "lustre/changes.h"
#include "stats/memcached_counters.h"
#include "fs/fs_error.h"
#include "report/version.h"

namespace lmover {

namespace {

// "90d", "12h", "2w", "30m", "45s": that long before now; nullopt for anything else.
std::optional<timespec> parse_age(const std::string& text) {
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (n < 0 || used == 0 || used + 1 != text.size() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  long long unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return std::nullopt;
  }
  return timespec{static_cast<time_t>(std::time(nullptr) - n * unit), 0};
}

}  // namespace

timespec parse_date(const std::string& text) {
  const std::string wanted = "(want an age like 90d, 12h, 2w, 30m; YYYY-MM-DD[ HH:MM[:SS]] or YYYY-MM-DDTHH:MM[:SS][Z|+HHMM]; or @EPOCH)";
  if (auto age = parse_age(text)) return *age;
  if (!text.empty() && text[0] == '@') {
    size_t used = 0;
    long long secs = 0;
    try {
      secs = std::stoll(text.substr(1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() - 1) throw std::invalid_argument("bad date '" + text + "' " + wanted);
    return timespec{static_cast<time_t>(secs), 0};
  }
  // Local time, or with a zone (ISO 8601: Z or +HHMM) that time in that zone.
  for (const char* format : {"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
                             "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"}) {
    struct tm tm {};
    const char* end = strptime(text.c_str(), format, &tm);
    if (!end || *end != '\0') continue;
    bool zoned = std::strstr(format, "%z") != nullptr;
    long offset = tm.tm_gmtoff;
    tm.tm_isdst = -1;
    struct tm asked = tm;
    time_t t = zoned ? timegm(&tm) - offset : mktime(&tm);
    // mktime rolls 2023-02-30 over to March 2: a date that does not exist is a typo, not a date.
    if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon || tm.tm_year != asked.tm_year) {
      throw std::invalid_argument("bad date '" + text + "': no such day");
    }
    return timespec{t, 0};
  }
  throw std::invalid_argument("bad date '" + text + "' " + wanted);
}

namespace {

struct CommonFlags {
  std::string src, dst, exclude_from, atime_before, mtime_after, json_file, failures_file, only_from;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool dry_run = false, verbose = false, allow_empty_source = false, no_progress = false, no_xattrs = false;
  bool relayout = false, rewrite = false, no_owner = false, quiet = false;
  double progress_interval = 60;
  uint64_t max_delete = 0;
  uint64_t max_errors = 0;  // 0: no limit
  BrokerSettings broker;
  std::string lustre = "auto", layout = "copy", mdts;
  std::string changelog, incremental;  // --changelog USER; --incremental ("yes" | "auto"; "": off)
  SinkSettings sinks;
  unsigned mdt_depth = 1;
  int dir_stripes = 0;
  std::string dir_layout = "keep", hsm = "skip", hsm_rebind;
  unsigned hsm_batch = 100, hsm_restore_timeout = 3600;
  bool verify_content = false;
  uint64_t chunk_threshold = 1ull << 30, chunk_size = 256ull << 20;
  double rebalance_percent = 0;
  uint64_t rebalance_seed = 0;
};

struct PassCommand {
  const char* name;
  const char* help;
  std::vector<PassKind> passes;
};

void add_config(CLI::App& sub) {
  sub.add_option("--config", "TOML file with the migration's settings (also $LMOVER_CONFIG); options override it");
}

void add_broker(CLI::App& sub, BrokerSettings& broker) {
  add_config(sub);
  sub.add_option("--broker-ca-file", broker.ca_file, "CA bundle to verify an amqps:// broker with");
  sub.add_option("--broker", broker.url,
                 "RabbitMQ URL amqp[s]://user@host:port/vhost; the password comes from --broker-password-file "
                 "or LMOVER_BROKER_PASSWORD, never from argv");
  sub.add_option("--broker-password-file", broker.password_file, "file whose first line is the broker password");
  sub.add_option("--prefix", broker.prefix, "queue name prefix, so several migrations can share a broker")
      ->capture_default_str();
}

// What a command that drives a run (a pass over the broker, `wait`) does when the broker goes away.
void add_broker_retry(CLI::App& sub, BrokerSettings& broker) {
  sub.add_option("--broker-retry-for", broker.retry_for_s,
                 "seconds to keep trying a broker that went away (restart, failover) before giving up on "
                 "following the run; the run itself goes on, `lmover wait --run` re-attaches")
      ->capture_default_str();
}

// Whether the admin said how many threads (-j, or threads in the config): then no default applies.
bool threads_chosen(CLI::App& sub, const ConfigFile& config) {
  auto* opt = sub.get_option_no_throw("--threads");
  return (opt && opt->count() > 0) || config.threads.has_value();
}

// The broker settings a config file gives (the password only there), before the options.
BrokerSettings broker_settings_from(const ConfigFile& c) {
  BrokerSettings b;
  b.url = c.broker.value_or(b.url);
  b.password_file = c.password_file.value_or(b.password_file);
  b.password = c.password.value_or(b.password);
  b.prefix = c.prefix.value_or(b.prefix);
  b.ca_file = c.ca_file.value_or(b.ca_file);
  return b;
}

// Settings from the config file become the defaults that command-line options override.
void apply_config(const ConfigFile& c, CommonFlags& f, BrokerPlan& b) {
  f.broker = b.broker = broker_settings_from(c);
  if (c.threads) f.threads = b.threads = *c.threads;
  if (c.exclude_from) f.exclude_from = *c.exclude_from;
  if (c.skip_atime_before) f.atime_before = *c.skip_atime_before;
  if (c.skip_mtime_after) f.mtime_after = *c.skip_mtime_after;
  if (c.xattrs) f.no_xattrs = !*c.xattrs;
  if (c.lustre) f.lustre = *c.lustre;
  if (c.changelog) f.changelog = *c.changelog;
  if (c.memcached) f.sinks.memcached = *c.memcached;
  if (c.metric_prefix) f.sinks.metric_prefix = *c.metric_prefix;
  if (c.report_interval) f.sinks.interval = *c.report_interval;
  if (c.progress_interval) f.progress_interval = b.progress_interval = *c.progress_interval;
  if (c.layout) f.layout = *c.layout;
  if (c.mdts) f.mdts = *c.mdts;
  if (c.mdt_depth) f.mdt_depth = *c.mdt_depth;
  if (c.dir_layout) f.dir_layout = *c.dir_layout;
  if (c.hsm) f.hsm = *c.hsm;
  if (c.hsm_rebind) f.hsm_rebind = *c.hsm_rebind;
  if (c.hsm_batch) f.hsm_batch = *c.hsm_batch;
  if (c.hsm_restore_timeout) f.hsm_restore_timeout = *c.hsm_restore_timeout;
  if (c.chunk_size) f.chunk_size = *c.chunk_size;
  if (c.chunk_threshold) f.chunk_threshold = *c.chunk_threshold;
  if (c.max_delete) f.max_delete = *c.max_delete;
  if (c.max_errors) f.max_errors = *c.max_errors;
  if (c.dir_stripes) f.dir_stripes = *c.dir_stripes;
  if (c.owner) f.no_owner = !*c.owner;
  if (c.metrics_listen) f.sinks.metrics_listen = *c.metrics_listen;
  if (c.metrics_textfile) f.sinks.metrics_textfile = *c.metrics_textfile;
  if (c.carbon) f.sinks.carbon = *c.carbon;
  if (c.broker_retry_for) f.broker.retry_for_s = b.broker.retry_for_s = static_cast<unsigned>(*c.broker_retry_for);
}

// What a pass walks and what it keeps: the roots, filters, and how entries are compared.
void add_scope_flags(CLI::App& sub, CommonFlags& f) {
  sub.add_option("-j,--threads", f.threads,
                 "threads (default: the cores; 32 or 4 per core when a root is on a network or FUSE filesystem)")
      ->check(CLI::Range(1u, 4096u));
  sub.add_option("--exclude-from", f.exclude_from,
                 "file of paths relative to SRC, one a line, to leave alone (neither copied nor deleted)");
  sub.add_option("--only-from", f.only_from,
                 "(copy, dirtime) only these paths, one a line relative to SRC (a --failures list), and their "
                 "parent directories' metadata: no full walk");
  sub.add_option("--skip-atime-before", f.atime_before, "skip files last accessed before DATE: an age (90d, 12h, 2w, 30m), YYYY-MM-DD[ HH:MM[:SS]], "
                 "ISO 8601 (2026-01-31T08:00:00Z) or @EPOCH");
  sub.add_option("--skip-mtime-after", f.mtime_after, "skip files modified after DATE (as --skip-atime-before: 12h is 12 hours ago)");
  sub.add_flag("--no-xattrs", f.no_xattrs,
               "neither read nor write xattrs and ACLs: one request less per entry on Lustre or NFS, for trees "
               "known to have none");
  sub.add_flag("--relayout", f.relayout,
               "copy again an unchanged file whose target layout is not what --layout gives it (Lustre; opens "
               "both files of every unchanged one)");
  sub.add_flag("--rewrite", f.rewrite,
               "(copy, sync) copy every entry reached again, whatever the change rule says; with --only-from "
               "LIST (verify --failures), repairs what verify found");
  sub.add_flag("--no-owner", f.no_owner,
               "keep neither owner nor group (nor compare them); what a run without root does anyway, with a warning");
  sub.add_option("--chunk-threshold", f.chunk_threshold,
                 "files from this size on are copied (and verified with --content) in chunks that any thread or worker can take (0: never)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  sub.add_option("--chunk-size", f.chunk_size, "bytes per chunk of a big file")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 40))
      ->capture_default_str();
}

// Lustre: layouts, MDT placement, directory striping, HSM.
void add_lustre_flags(CLI::App& sub, CommonFlags& f) {
  sub.add_option("--changelog", f.changelog,
                 "changelog user registered on every MDT of SRC (cl1, or MDT0000=cl1,MDT0001=cl2): a pass that "
                 "completes keeps a bookmark beside DST for --incremental");
  sub.add_flag("--incremental{yes}", f.incremental,
               "(copy, delete, dirtime, sync; with --changelog) visit only what the changelog names since the "
               "bookmark; =auto: walk the whole tree when the log cannot be trusted (and say why)");
  sub.add_option("--lustre", f.lustre,
                 "auto: layouts and MDT placement through liblustreapi when SRC or DST is on Lustre; on: insist; off: never")
      ->capture_default_str();
  sub.add_option("--layout", f.layout,
                 "new files' layouts: copy (the source's), seed (its stripe count, all OSTs from 16), "
                 "fixed:COUNT[:SIZE[:POOL]], by-size:SIZE=COUNT[:SIZE[:POOL]],...")
      ->capture_default_str();
  sub.add_option("--mdts", f.mdts, "MDT indexes (0,1,2) to create directories on, in turn, at --mdt-depth");
  sub.add_option("--dir-stripes", f.dir_stripes,
                 "stripe the directories at --mdt-depth over N MDTs (-1: all), as lfs mkdir -c N (Lustre)")
      ->check(CLI::Range(-1, 65535));
  sub.add_option("--mdt-depth", f.mdt_depth, "depth of the directories --mdts places (1: the first level)")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  sub.add_option("--dir-layout", f.dir_layout,
                 "keep: directories striped as Lustre (or --mdts, --dir-stripes) makes them; copy: a striped source "
                 "directory is made striped alike (count, hash) and default directory striping (LMV) is copied")
      ->check(CLI::IsMember({"keep", "copy"}))
      ->capture_default_str();
  sub.add_option("--hsm", f.hsm,
                 "HSM-released source files (data on the archive only): skip (list them as deferred, exit 1), "
                 "stub (make released files on the target bound to the same archive, write the rebind list), "
                 "restore (restore them from the archive, then copy)")
      ->check(CLI::IsMember({"skip", "stub", "restore"}))
      ->capture_default_str();
  sub.add_option("--hsm-rebind", f.hsm_rebind,
                 "(--hsm stub) file the 'old_FID new_FID' lines for lhsmtool_posix --rebind are appended to "
                 "(default: .NAME.lmover-rebind beside DST)");
  sub.add_option("--hsm-batch", f.hsm_batch, "(--hsm restore) FIDs per restore request at most")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  sub.add_option("--hsm-restore-timeout", f.hsm_restore_timeout,
                 "(--hsm restore) seconds to wait for a batch's restores; files still released then are deferred")
      ->check(CLI::Range(1u, 7u * 86400u))
      ->capture_default_str();
}

// Gives the options `add` puts on `sub` a heading of their own in --help, so that each verb's help
// reads by topic: what is walked, Lustre, output, statistics, the broker.
template <class Add>
void in_group(CLI::App& sub, const char* group, Add add) {
  size_t before = sub.get_options().size();
  add();
  std::vector<CLI::Option*> all = sub.get_options();
  for (size_t i = before; i < all.size(); ++i) all[i]->group(group);
}

// Statistics: where the counters go.
void add_sink_flags(CLI::App& sub, CommonFlags& f) {
  sub.add_option("--memcached", f.sinks.memcached, "HOST:PORT of the memcached that keeps the statistics counters");
  sub.add_option("--metrics-listen", f.sinks.metrics_listen,
                 "ADDR:PORT to serve the counters (and, distributed, the queue depths) at /metrics (Prometheus)");
  sub.add_option("--metrics-textfile", f.sinks.metrics_textfile,
                 "PATH (a .prom file in node_exporter's textfile directory): the /metrics series, written at the end "
                 "of each pass");
  sub.add_option("--carbon", f.sinks.carbon,
                 "HOST:PORT of Graphite's carbon (plaintext): push this run's counters there directly");
  sub.add_option("--metric-prefix", f.sinks.metric_prefix, "first element of every counter's name (one per migration)")
      ->capture_default_str();
  sub.add_option("--report-interval", f.sinks.interval, "seconds between pushes of the counters (memcached, carbon)")
      ->check(CLI::Range(0.05, 86400.0))
      ->capture_default_str();
}

// What the run prints and writes about itself, and when it stops.
void add_output_flags(CLI::App& sub, CommonFlags& f, bool deletes) {
  sub.add_flag("-n,--dry-run", f.dry_run, "print what would be done, change nothing");
  sub.add_flag("-v,--verbose", f.verbose, "print every action taken");
  sub.add_flag("-q,--quiet", f.quiet, "print only warnings and errors (and the summary)");
  sub.add_flag("--no-progress", f.no_progress, "no progress line, even on a terminal");
  sub.add_option("--progress-interval", f.progress_interval,
                 "without a terminal (Slurm, systemd, a pipe): a progress line in the log every S seconds (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub.add_option("--json", f.json_file, "write a machine-readable summary to FILE ('-': stdout)");
  sub.add_option("--failures", f.failures_file, "write the path of every failed entry to FILE, one a line");
  sub.add_option("--max-errors", f.max_errors,
                 "stop after N failed entries (a broken target, a wrong option): the pass ends early, exit 1 (0: no limit)")
      ->capture_default_str();
  if (deletes) {
    sub.add_option("--max-delete", f.max_delete, "delete at most N entries, then stop deleting and fail");
    sub.add_flag("--allow-empty-source", f.allow_empty_source,
                 "delete even when SRC is empty (by default an empty SRC looks like an unmounted filesystem)");
  }
}

// Statistics, output and the broker: where the pass reports and where it runs.
void add_common(CLI::App& sub, CommonFlags& f, bool deletes) {
  sub.add_option("SRC", f.src, "source directory")->required();
  sub.add_option("DST", f.dst, "target directory")->required();
  in_group(sub, "What is walked and kept", [&] { add_scope_flags(sub, f); });
  in_group(sub, "Lustre", [&] { add_lustre_flags(sub, f); });
  in_group(sub, "Output and limits", [&] { add_output_flags(sub, f, deletes); });
  in_group(sub, "Statistics", [&] { add_sink_flags(sub, f); });
  in_group(sub, "Broker (a distributed run: --broker)", [&] {
    add_broker(sub, f.broker);
    add_broker_retry(sub, f.broker);
  });
}

// A verb per row of the pass table, and `sync`, the final pass, after the passes it runs.
const std::vector<PassCommand>& pass_commands() {
  static const std::vector<PassCommand> commands = [] {
    std::vector<PassCommand> out;
    for (const PassInfo& p : all_passes()) {
      out.push_back({p.name, p.help, {p.kind}});
      if (p.kind == PassKind::kDirtime) {
        out.push_back({"sync", "the final pass: copy, delete, then dirtime: an exact clone",
                       {PassKind::kCopy, PassKind::kDelete, PassKind::kDirtime}});
        out.push_back({"changes",
                       "(Lustre, --changelog) what the changelog names since the bookmark, per MDT, and what an "
                       "incremental sync would cost now; writes nothing, and renews the changelog user (a clear "
                       "no further than the last complete pass cleared): a daily cron job keeps it registered",
                       {PassKind::kCopy, PassKind::kDelete, PassKind::kDirtime}});
      }
    }
    return out;
  }();
  return commands;
}

// The pass verbs, in the order of pass_commands().
std::vector<CLI::App*> add_pass_commands(CLI::App& app, CommonFlags& flags) {
  std::vector<CLI::App*> subs;
  for (const PassCommand& c : pass_commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    bool deletes = std::find(c.passes.begin(), c.passes.end(), PassKind::kDelete) != c.passes.end();
    add_common(*sub, flags, deletes);
    if (std::string(c.name) == "verify") {
      sub->add_flag("--content", flags.verify_content, "also compare file data (XXH3-128 of both sides)");
    }
    if (std::string(c.name) == "delete") {
      sub->add_option("--rebalance-percent", flags.rebalance_percent,
                      "also remove this share of the target's files that are unchanged copies, so that the next "
                      "copy pass writes them again with the new layouts (the original's percent_to_delete)")
          ->check(CLI::Range(0.0, 100.0));
      sub->add_option("--seed", flags.rebalance_seed, "which files --rebalance-percent picks (the same seed, the same files)")
          ->capture_default_str();
    }
    subs.push_back(sub);
  }
  return subs;
}

struct BrokerVerbs {
  CLI::App *worker, *wait, *status, *control, *init, *cancel;
};

// worker, wait, status, control, broker init.
BrokerVerbs add_broker_commands(CLI::App& app, BrokerPlan& broker_plan) {
  CLI::App* worker = app.add_subcommand("worker", "run distributed tasks from the broker on this node");
  CLI::App* wait = app.add_subcommand("wait", "re-attach to a distributed run and wait until it is complete");
  CLI::App* status = app.add_subcommand("status", "show a distributed run's progress");
  CLI::App* cancel = app.add_subcommand("cancel", "cancel a distributed run: its tasks are dropped, its lock released");
  cancel->add_option("--run", broker_plan.run, "the run id printed at submission (lmover status lists them)")->required();
  CLI::App* control = app.add_subcommand("control", "talk to the workers: workers|active|stop|pause|resume|grow N|shrink N");
  control->add_option("COMMAND", broker_plan.control_command, "what to ask")
      ->required()
      ->check(CLI::IsMember({"workers", "active", "stop", "pause", "resume", "grow", "shrink"}));
  control->add_option("N", broker_plan.control_n, "threads to add (grow) or remove (shrink)");
  control->add_option("--wait", broker_plan.control_wait_s, "seconds to gather answers")->capture_default_str();
  control->add_option("--node", broker_plan.control_node,
                      "only the workers of this host (as they name it, or its short name), or one worker HOST:PID");
  for (CLI::App* sub : {worker, wait, status, control, cancel}) {
    add_broker(*sub, broker_plan.broker);
  }
  CLI::App* broker = app.add_subcommand("broker", "prepare a RabbitMQ broker for a migration");
  broker->require_subcommand(1);
  CLI::App* init = broker->add_subcommand("init", "create vhost, user and permissions (idempotent), via the management API");
  add_config(*init);
  init->add_option("--api", broker_plan.api_url, "management API, e.g. http://mq1:15672")->required();
  init->add_option("--vhost", broker_plan.vhost, "vhost of this migration")->required();
  init->add_option("--user", broker_plan.user, "user the workers log in as")->required();
  init->add_option("--password-file", broker_plan.user_password_file, "the user's password (else $LMOVER_BROKER_PASSWORD)");
  init->add_option("--admin", broker_plan.admin_user, "an administrator of the broker")->capture_default_str();
  init->add_option("--admin-password-file", broker_plan.admin_password_file,
                   "the administrator's password (else $LMOVER_BROKER_ADMIN_PASSWORD)");
  worker->add_option("--metrics-listen", broker_plan.metrics_listen,
                     "ADDR:PORT to serve this worker's counters at /metrics (Prometheus)");
  worker->add_option("-j,--threads", broker_plan.threads, "worker threads (default: number of cores)")
      ->check(CLI::Range(1u, 4096u));
  wait->add_option("--run", broker_plan.run, "the run id printed at submission")->required();
  status->add_option("--run", broker_plan.run, "the run id printed at submission (default: list the runs)");
  for (CLI::App* sub : {status, control, cancel}) sub->add_flag("--json", broker_plan.json_output, "JSON instead of a table");
  // The output flags of the pass commands, so that a script can hand `wait` the same ones.
  wait->add_option("--json", broker_plan.json_file, "write a machine-readable summary to FILE ('-': stdout)");
  wait->add_option("--failures", broker_plan.failures_file, "write the path of every failed entry to FILE");
  wait->add_flag("--no-progress", broker_plan.no_progress, "no progress line, even on a terminal");
  wait->add_option("--progress-interval", broker_plan.progress_interval,
                   "without a terminal: a progress line in the log every S seconds (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  wait->add_flag("-v,--verbose", broker_plan.verbose, "more detail on what the run does");
  wait->add_flag("-q,--quiet", broker_plan.quiet, "print only warnings and errors (and the summary)");
  add_broker_retry(*wait, broker_plan.broker);
  return {worker, wait, status, control, init, cancel};
}

struct StatsVerbs {
  CLI::App *show, *graphite;
};

// stats show, stats graphite: they read memcached, not the trees.
StatsVerbs add_stats_commands(CLI::App& app, StatsPlan& stats_plan, const ConfigFile& config) {
  CLI::App* stats = app.add_subcommand("stats", "the statistics counters every node keeps in memcached");
  stats->require_subcommand(1);
  CLI::App* show = stats->add_subcommand("show", "every node's counters, and with --interval their rates");
  CLI::App* to_graphite = stats->add_subcommand("graphite", "push the counters to Graphite (carbon plaintext)");
  stats_plan.memcached = config.memcached.value_or("");
  stats_plan.metric_prefix = config.metric_prefix.value_or("lmover");
  stats_plan.carbon = config.graphite.value_or("");
  stats_plan.broker = broker_settings_from(config);
  add_config(*show);  // graphite gets it with the broker options below
  for (CLI::App* sub : {show, to_graphite}) {
    sub->add_option("--memcached", stats_plan.memcached, "HOST:PORT of the memcached with the counters");
    sub->add_option("--metric-prefix", stats_plan.metric_prefix, "the migration's counters")->capture_default_str();
  }
  show->add_option("--interval", stats_plan.interval, "read twice, this many seconds apart, and show rates")
      ->check(CLI::Range(0.0, 3600.0));
  show->add_flag("--json", stats_plan.json, "a JSON document instead of a table");
  to_graphite->add_option("--carbon", stats_plan.carbon, "HOST:PORT of carbon's plaintext receiver");
  add_broker(*to_graphite, stats_plan.broker);
  to_graphite->add_flag("--once", stats_plan.once, "push once and exit (for cron)");
  to_graphite->add_option("--interval", stats_plan.interval, "seconds between pushes (default 60)")
      ->check(CLI::Range(1.0, 86400.0));
  return {show, to_graphite};
}

ParsedCommand finish_stats(const CLI::App& sub, StatsPlan plan) {
  plan.command = sub.get_name();
  if (plan.command == "graphite" && !plan.once && plan.interval == 0) plan.interval = 60;
  try {
    if (!plan.memcached.empty()) parse_host_port(plan.memcached, 11211);
    if (!plan.carbon.empty()) parse_host_port(plan.carbon, 2003);
  } catch (const std::invalid_argument& e) {
    spdlog::error("{}", e.what());
    return kExitFatal;
  }
  return plan;
}

ParsedCommand finish_broker(CLI::App& sub, BrokerPlan plan, const ConfigFile& config) {
  plan.command = sub.get_name();
  if (plan.command == "init") return plan;
  if (plan.broker.empty()) {
    spdlog::error("{} needs --broker (or 'broker' in the config file)", plan.command);
    return kExitFatal;
  }
  plan.threads_chosen = threads_chosen(sub, config);
  return plan;
}

// The flags of a pass verb as its plan's fields; nothing parsed yet.
void take_flags(RunPlan& plan, const CommonFlags& flags) {
  plan.src = flags.src;
  plan.dst = flags.dst;
  plan.threads = flags.threads;
  plan.allow_empty_source = flags.allow_empty_source;
  plan.progress = !flags.no_progress && !flags.dry_run && !flags.verbose && !flags.quiet;
  plan.progress_interval = flags.progress_interval;
  plan.quiet = flags.quiet && !flags.verbose;
  plan.max_errors = flags.max_errors;
  plan.json_file = flags.json_file;
  plan.failures_file = flags.failures_file;
  plan.broker = flags.broker;
  plan.options.dry_run = flags.dry_run;
  plan.options.verbose = flags.verbose;
  plan.options.metadata.owner = geteuid() == 0 && !flags.no_owner;
  plan.owner_refused = flags.no_owner;
  plan.options.metadata.xattrs = !flags.no_xattrs;
  plan.options.relayout = flags.relayout;
  plan.options.rewrite = flags.rewrite;
  plan.options.rebalance_percent = flags.rebalance_percent;
  plan.options.rebalance_seed = flags.rebalance_seed;
  plan.options.verify_content = flags.verify_content;
  plan.options.chunk_threshold = flags.chunk_threshold;
  plan.options.chunk_size = flags.chunk_size;
  plan.sinks = flags.sinks;
}

// --changelog and --incremental, refused where they cannot apply. Throws std::invalid_argument.
void parse_changelog_settings(RunPlan& plan, const CommonFlags& flags) {
  using Incremental = ChangelogSettings::Incremental;
  plan.changelog.users = flags.changelog;
  if (!flags.changelog.empty()) ChangelogUsers::parse(flags.changelog);  // said now, not after the walk
  const Filters& filters = plan.options.filters;
  if (!flags.changelog.empty() && (filters.limited() || filters.atime_before() || filters.mtime_after())) {
    // Such a pass leaves entries out on purpose: it cannot vouch for the target as a bookmark does.
    throw std::invalid_argument("--changelog does not go with --only-from or --skip-atime-before/--skip-mtime-after");
  }
  if (flags.incremental.empty()) return;
  if (flags.incremental != "yes" && flags.incremental != "auto") {
    throw std::invalid_argument("--incremental takes no value or =auto, not '" + flags.incremental + "'");
  }
  if (flags.changelog.empty()) throw std::invalid_argument("--incremental needs --changelog USER (the changelog it reads)");
  for (PassKind k : plan.passes) {
    if (!pass_info(k).writes) throw std::invalid_argument(std::string("--incremental does not apply to ") + pass_name(k));
  }
  plan.changelog.incremental = flags.incremental == "auto" ? Incremental::kAuto : Incremental::kYes;
}

// The flags that need parsing (files, dates, Lustre policies). Throws std::invalid_argument
// (or FsError for a list file) naming what is wrong.
void parse_pass_settings(RunPlan& plan, const CommonFlags& flags) {
  if (!flags.exclude_from.empty()) plan.options.filters.exclude_from_file(flags.exclude_from);
  if (!flags.only_from.empty()) {
    // A deletion confined to a list would judge a directory by a partial view: refused.
    if (std::count(plan.passes.begin(), plan.passes.end(), PassKind::kDelete)) {
      throw std::invalid_argument("--only-from works with copy and dirtime, not with a pass that deletes");
    }
    plan.options.filters.only_from_file(flags.only_from);
  }
  if (!flags.atime_before.empty()) plan.options.filters.skip_atime_before(parse_date(flags.atime_before));
  if (!flags.mtime_after.empty()) plan.options.filters.skip_mtime_after(parse_date(flags.mtime_after));
  plan.lustre.mode = LustreSettings::parse_mode(flags.lustre);
  plan.lustre.layout = LayoutPolicy::parse(flags.layout);
  if (!flags.mdts.empty()) plan.lustre.mdts = LustreSettings::parse_mdts(flags.mdts);
  plan.lustre.mdt_depth = flags.mdt_depth;
  plan.lustre.dir_stripes = flags.dir_stripes;
  plan.lustre.dir_layout_copy = flags.dir_layout == "copy";
  plan.lustre.hsm.mode = HsmSettings::parse_mode(flags.hsm);
  plan.lustre.hsm.rebind_path = flags.hsm_rebind;
  plan.lustre.hsm.batch = flags.hsm_batch;
  plan.lustre.hsm.restore_timeout = flags.hsm_restore_timeout;
  if (!flags.sinks.memcached.empty()) parse_host_port(flags.sinks.memcached, 11211);
  if (!flags.sinks.carbon.empty()) parse_host_port(flags.sinks.carbon, 2003);
  parse_changelog_settings(plan, flags);
}

ParsedCommand finish_pass(CLI::App& sub, const PassCommand& command, const CommonFlags& flags, const ConfigFile& config) {
  RunPlan plan;
  plan.command = command.name;
  plan.passes = command.passes;
  if (auto* opt = sub.get_option_no_throw("--max-delete"); opt && (opt->count() > 0 || config.max_delete)) {
    plan.options.max_delete = flags.max_delete;
  }
  plan.threads_chosen = threads_chosen(sub, config);
  take_flags(plan, flags);
  try {
    parse_pass_settings(plan, flags);
    if (plan.command == "changes") {
      // The incremental sync's reading of the log, and nothing it would write.
      if (!plan.changelog.enabled()) throw std::invalid_argument("changes needs --changelog USER (the changelog it reads)");
      plan.report_changes = true;
      plan.options.dry_run = true;
      plan.progress = false;
      plan.changelog.incremental = ChangelogSettings::Incremental::kYes;
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitFatal;
  }
  return plan;
}

}  // namespace

ParsedCommand parse_command_line(int argc, char** argv) {
  CLI::App app{"lmover: clone large POSIX and Lustre trees in passes (copy, delete, dirtime)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_line());
  // Given before or after the verb (fallthrough): `lmover copy --log-level debug SRC DST`.
  app.fallthrough();
  std::optional<std::string> log_level;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (default: info; -v debug, -q warn)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "off"}));
  CLI::App* version = app.add_subcommand("version", "print lmover's version and the commit it was built from");
  ConfigFile config;
  try {
    if (std::string path = config_path_from(argc, argv); !path.empty()) config = ConfigFile::load(path);
  } catch (const FsError& e) {
    spdlog::error("{}", e.what());
    return kExitFatal;
  }
  CommonFlags flags;
  BrokerPlan broker_plan;
  StatsPlan stats_plan;
  apply_config(config, flags, broker_plan);
  if (config.log_level) log_level = *config.log_level;
  broker_plan.threads = flags.threads;
  std::vector<CLI::App*> passes = add_pass_commands(app, flags);
  BrokerVerbs broker = add_broker_commands(app, broker_plan);
  StatsVerbs stats = add_stats_commands(app, stats_plan, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitFatal;
  }
  set_log_level(log_level, flags.verbose || broker_plan.verbose, flags.quiet || broker_plan.quiet);
  if (version->parsed()) {
    fmt::print("{}\n", version_line());
    return kExitOk;
  }
  for (CLI::App* sub : {stats.show, stats.graphite}) {
    if (sub->parsed()) return finish_stats(*sub, stats_plan);
  }
  for (CLI::App* sub : {broker.init, broker.worker, broker.wait, broker.status, broker.control, broker.cancel}) {
    if (sub->parsed()) return finish_broker(*sub, broker_plan, config);
  }
  for (size_t i = 0; i < passes.size(); ++i) {
    if (passes[i]->parsed()) return finish_pass(*passes[i], pass_commands()[i], flags, config);
  }
  return kExitFatal;  // not reached: CLI11 requires one subcommand
}

}  // namespace lmover
