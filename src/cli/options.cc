#include "cli/options.h"

#include <cstring>
#include <stdexcept>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "fs/fs_error.h"

namespace lmover {

timespec parse_date(const std::string& text) {
  if (!text.empty() && text[0] == '@') {
    size_t used = 0;
    long long secs = std::stoll(text.substr(1), &used);
    if (used != text.size() - 1) throw std::invalid_argument("bad date: " + text);
    return timespec{static_cast<time_t>(secs), 0};
  }
  for (const char* format : {"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    struct tm tm {};
    const char* end = strptime(text.c_str(), format, &tm);
    if (end && *end == '\0') {
      tm.tm_isdst = -1;
      return timespec{mktime(&tm), 0};
    }
  }
  throw std::invalid_argument("bad date '" + text + "' (want YYYY-MM-DD[ HH:MM[:SS]] or @EPOCH)");
}

namespace {

struct CommonFlags {
  std::string src, dst, exclude_from, atime_before, mtime_after, json_file, failures_file;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool dry_run = false, verbose = false, allow_empty_source = false, no_progress = false;
  uint64_t max_delete = 0;
};

void add_common(CLI::App& sub, CommonFlags& f, bool deletes) {
  sub.add_option("SRC", f.src, "source directory")->required();
  sub.add_option("DST", f.dst, "target directory")->required();
  sub.add_option("-j,--threads", f.threads, "worker threads (default: number of cores)")->check(CLI::Range(1u, 4096u));
  sub.add_option("--exclude-from", f.exclude_from,
                 "file of paths relative to SRC, one a line, to leave alone (neither copied nor deleted)");
  sub.add_option("--skip-atime-before", f.atime_before, "skip files last accessed before DATE (YYYY-MM-DD or @EPOCH)");
  sub.add_option("--skip-mtime-after", f.mtime_after, "skip files modified after DATE (YYYY-MM-DD or @EPOCH)");
  sub.add_flag("-n,--dry-run", f.dry_run, "print what would be done, change nothing");
  sub.add_flag("-v,--verbose", f.verbose, "print every action taken");
  sub.add_flag("--no-progress", f.no_progress, "no progress line, even on a terminal");
  sub.add_option("--json", f.json_file, "write a machine-readable summary to FILE");
  sub.add_option("--failures", f.failures_file, "write the path of every failed entry to FILE, one a line");
  if (deletes) {
    sub.add_option("--max-delete", f.max_delete, "delete at most N entries, then stop deleting and fail");
    sub.add_flag("--allow-empty-source", f.allow_empty_source,
                 "delete even when SRC is empty (by default an empty SRC looks like an unmounted filesystem)");
  }
}

}  // namespace

int parse_command_line(int argc, char** argv, RunPlan& plan) {
  CLI::App app{"lmover: clone large POSIX and Lustre trees in passes (copy, delete, dirtime)"};
  app.require_subcommand(1);
  CommonFlags flags;
  struct Command {
    const char* name;
    const char* help;
    std::vector<PassKind> passes;
  };
  const Command commands[] = {
      {"copy", "create missing dirs, copy new and changed entries with all metadata", {PassKind::kCopy}},
      {"delete", "remove from DST what is no longer in SRC", {PassKind::kDelete}},
      {"dirtime", "set DST directory atime/mtime from SRC (run last)", {PassKind::kDirtime}},
      {"sync", "the final pass: copy, delete, then dirtime: an exact clone",
       {PassKind::kCopy, PassKind::kDelete, PassKind::kDirtime}},
  };
  std::vector<std::pair<CLI::App*, const Command*>> subs;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    bool deletes = std::find(c.passes.begin(), c.passes.end(), PassKind::kDelete) != c.passes.end();
    add_common(*sub, flags, deletes);
    subs.emplace_back(sub, &c);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitFatal;
  }

  for (auto& [sub, command] : subs) {
    if (!sub->parsed()) continue;
    plan.command = command->name;
    plan.passes = command->passes;
    if (auto* opt = sub->get_option_no_throw("--max-delete"); opt && opt->count() > 0) {
      plan.options.max_delete = flags.max_delete;
    }
  }
  plan.src = flags.src;
  plan.dst = flags.dst;
  plan.threads = flags.threads;
  plan.allow_empty_source = flags.allow_empty_source;
  plan.progress = !flags.no_progress && !flags.dry_run && !flags.verbose;
  plan.json_file = flags.json_file;
  plan.failures_file = flags.failures_file;
  plan.options.dry_run = flags.dry_run;
  plan.options.verbose = flags.verbose;
  plan.options.metadata.owner = geteuid() == 0;
  try {
    if (!flags.exclude_from.empty()) plan.options.filters.exclude_from_file(flags.exclude_from);
    if (!flags.atime_before.empty()) plan.options.filters.skip_atime_before(parse_date(flags.atime_before));
    if (!flags.mtime_after.empty()) plan.options.filters.skip_mtime_after(parse_date(flags.mtime_after));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitFatal;
  }
  return -1;
}

}  // namespace lmover
