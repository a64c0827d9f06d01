#include "report/summary.h"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fs/fs_error.h"
#include "fs/host_name.h"
#include "report/pass_stats.h"
#include "report/progress_line.h"
#include "report/version.h"

namespace lmover {

namespace {

std::string iso_time(std::time_t t) {
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
  return buf;
}

}  // namespace

Summary::Summary(std::string command, std::string src, std::string dst, bool dry_run)
    : command_(std::move(command)), src_(std::move(src)), dst_(std::move(dst)), dry_run_(dry_run),
      started_(std::time(nullptr)) {}

void Summary::add_pass(const std::string& pass, const PassStats& stats, double seconds, const nlohmann::json& details) {
  nlohmann::json p = {{"pass", pass}, {"seconds", seconds}, {"counters", stats.to_json()}};
  p.update(details);
  passes_.push_back(std::move(p));
}

nlohmann::json Summary::to_json() const {
  // The keys below are in every summary (null when they do not apply); README "The JSON summary".
  nlohmann::json j = {{"version", kSchemaVersion},
                      {"lmover_version", lmover_version()},
                      {"lmover_commit", build_commit()},
                      {"host", host_name()},
                      {"command", command_},
                      {"src", src_},
                      {"dst", dst_},
                      {"dry_run", dry_run_},
                      {"started", iso_time(started_)},
                      {"ended", ended_ ? nlohmann::json(iso_time(ended_)) : nlohmann::json(nullptr)},
                      {"passes", passes_},
                      {"exit_code", exit_code_},
                      {"fatal", fatal_.empty() ? nlohmann::json(nullptr) : nlohmann::json(fatal_)},
                      {"interrupted", interrupted_.empty() ? nlohmann::json(nullptr) : nlohmann::json(interrupted_)}};
  j.update(extra_);
  return j;
}

void Summary::print_human() const {
  if (!interrupted_.empty()) fmt::print(stderr, "interrupted by {}: the passes below did not finish\n", interrupted_);
  for (const auto& p : passes_) {
    const auto& c = p["counters"];
    if (p["pass"] == "verify") {  // nothing written: what it found
      fmt::print(stderr, "verify: {} entries in {:.2f}s; {} differences, {} the same, {} excluded, {} vanished, {} errors\n",
                 c["entries"].get<uint64_t>(), p["seconds"].get<double>(), c["differences"].get<uint64_t>(),
                 c["unchanged"].get<uint64_t>(), c["excluded"].get<uint64_t>(), c["vanished"].get<uint64_t>(),
                 c["errors"].get<uint64_t>());
      continue;
    }
    fmt::print(stderr,
               "{}{}: {} entries in {:.2f}s; {} actions ({} dirs, {} files, {}, {} specials, {} links, {} metadata, "
               "{} removed, {} dir times); {} unchanged, {} excluded, {} skipped, {} vanished, {} changed during copy, "
               "{} errors\n",
               dry_run_ ? "(dry run) " : "", p["pass"].get<std::string>(), c["entries"].get<uint64_t>(),
               p["seconds"].get<double>(), c["actions"].get<uint64_t>(), c["dirs_created"].get<uint64_t>(),
               c["files_copied"].get<uint64_t>(), human_bytes(double(c["bytes_copied"].get<uint64_t>())),
               c["specials_created"].get<uint64_t>(), c["links_made"].get<uint64_t>(),
               c["metadata_updated"].get<uint64_t>(), c["removed"].get<uint64_t>(), c["dir_times_set"].get<uint64_t>(),
               c["unchanged"].get<uint64_t>(), c["excluded"].get<uint64_t>(), c["skipped_by_time"].get<uint64_t>(),
               c["vanished"].get<uint64_t>(), c["changed_during_copy"].get<uint64_t>(), c["errors"].get<uint64_t>());
    if (c.value("hsm_released", uint64_t{0}) > 0) {
      fmt::print(stderr, "{}: {} HSM-released source files: {} deferred, {} stubbed, {} restored ({})\n",
                 p["pass"].get<std::string>(), c["hsm_released"].get<uint64_t>(), c["hsm_deferred"].get<uint64_t>(),
                 c["hsm_stubbed"].get<uint64_t>(), c["hsm_restored"].get<uint64_t>(),
                 human_bytes(double(c["hsm_restored_bytes"].get<uint64_t>())));
    }
  }
}

void Summary::write_json(const std::string& file) const {
  // Paths are raw bytes: invalid UTF-8 is replaced rather than failing the whole summary.
  std::string text = to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
  if (file == "-") {  // stdout: the human lines go to stderr, so a pipe gets the JSON alone
    fmt::print(stdout, "{}", text);
    if (std::fflush(stdout) != 0) throw FsError("write summary", "stdout", errno);
    return;
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw FsError("write summary", file, errno);
  out << text;
  if (!out) throw FsError("write summary", file, errno);
}

bool Summary::finish(int exit_code, const std::string& json_file) {
  set_exit_code(exit_code);
  ended_ = std::time(nullptr);
  print_human();
  if (json_file.empty()) return true;
  try {
    write_json(json_file);
    return true;
  } catch (const FsError& e) {
    spdlog::error("{}", e.what());
    return false;
  }
}

}  // namespace lmover
