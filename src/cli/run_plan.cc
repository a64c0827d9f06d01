#include "cli/run_plan.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/roots.h"
#include "engine/thread_engine.h"
#include "fs/fs_error.h"
#include "passes/copy_pass.h"
#include "passes/delete_pass.h"
#include "passes/dirtime_pass.h"
#include "report/failure_log.h"
#include "report/progress_line.h"
#include "report/summary.h"

namespace lmover {
namespace {

const char* pass_name(PassKind kind) {
  switch (kind) {
    case PassKind::kCopy: return "copy";
    case PassKind::kDelete: return "delete";
    case PassKind::kDirtime: return "dirtime";
  }
  return "?";
}

// Runs one pass over the whole tree; its counters end up in ctx.stats().
void run_pass(PassKind kind, const PassContext& ctx, unsigned threads) {
  ThreadEngine engine(threads);
  uint64_t broken = 0;
  switch (kind) {
    case PassKind::kCopy: {
      CopyPass pass(ctx);
      pass.prepare();
      broken = engine.run(pass, Task::root());
      pass.finish();
      break;
    }
    case PassKind::kDelete: {
      DeletePass pass(ctx);
      broken = engine.run(pass, Task::root());
      break;
    }
    case PassKind::kDirtime: {
      DirtimePass pass(ctx);
      broken = engine.run(pass, Task::root());
      break;
    }
  }
  PassStats::add(ctx.stats().errors, broken);
}

}  // namespace

int execute(const RunPlan& plan) {
  Summary summary(plan.command, plan.src, plan.dst, plan.options.dry_run);
  FailureLog failures;
  int code = kExitOk;
  try {
    if (!plan.failures_file.empty()) failures.open_list(plan.failures_file);
    bool deletes = std::count(plan.passes.begin(), plan.passes.end(), PassKind::kDelete) > 0;
    bool copies = std::count(plan.passes.begin(), plan.passes.end(), PassKind::kCopy) > 0;
    RootCheck check;
    check.create_dst = copies && !plan.options.dry_run;
    check.dst_may_be_missing = copies && plan.options.dry_run;
    check.refuse_empty_source = deletes && !plan.allow_empty_source;
    Roots roots = open_roots(plan.src, plan.dst, check);

    for (PassKind kind : plan.passes) {
      // A dry run onto a DST that does not exist yet: only the copy has something to say.
      if (!roots.dst.valid() && kind != PassKind::kCopy) continue;
      PassStats stats;
      PassContext ctx(roots.src.get(), roots.dst.get(), plan.options, stats, failures);
      auto start = std::chrono::steady_clock::now();
      {
        ProgressLine progress(pass_name(kind), stats, plan.progress);
        run_pass(kind, ctx, plan.threads);
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      summary.add_pass(pass_name(kind), stats, seconds);
      if (stats.errors > 0) code = kExitSomeFailed;
    }
  } catch (const FsError& e) {
    spdlog::error("{}", e.what());
    summary.set_fatal(e.what());
    code = kExitFatal;
  }
  summary.set_exit_code(code);
  summary.print_human();
  if (!plan.json_file.empty()) {
    try {
      summary.write_json(plan.json_file);
    } catch (const FsError& e) {
      spdlog::error("{}", e.what());
      code = std::max(code, kExitSomeFailed);
    }
  }
  return code;
}

}  // namespace lmover
